"""HTTP toolkit: the one ``requests.Session`` a connector and its client library share.

The session carries auth (with refresh on an auth failure), retries that honour
``Retry-After`` (this is the *only* retry layer for HTTP), a per-system rate
limiter, API-call counting per run and stream, and secret redaction in logs.
"""
from concord.hub.http.auth import AuthHandler, BasicAuth, BearerAuth, HeaderAuth
from concord.hub.http.breaker import BreakerPolicy, CircuitBreaker
from concord.hub.http.ledger import CallLedger
from concord.hub.http.limiter import RateLimiter
from concord.hub.http.redact import Redactor, redact
from concord.hub.http.session import HttpToolkit, RetryPolicy, classify_response

__all__ = ["AuthHandler", "BasicAuth", "BearerAuth", "HeaderAuth", "BreakerPolicy", "CircuitBreaker", "CallLedger", "RateLimiter", "Redactor",
           "redact", "HttpToolkit", "RetryPolicy", "classify_response"]
