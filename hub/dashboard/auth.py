"""Who may see and do what: tokens, roles, signed session cookies and CSRF tokens.

Two roles: ``operator`` (every page and every action) and ``read`` (pages only). Tokens come from
``concord.yaml`` (``dashboard.token`` / ``dashboard.read_token``, written as ``${ENV}`` references)
or from the environment (``CONCORD_DASHBOARD_TOKEN`` / ``CONCORD_DASHBOARD_READ_TOKEN``, which win).

A request proves its role with ``Authorization: Bearer <token>`` or with the session cookie that the
login form sets. The cookie holds ``role``, a random session id and an expiry, signed by itsdangerous
with a key derived from the configured tokens: the token itself is never in it, and rotating a token
ends every session. Forms carry a CSRF token, the session id's signature (required for cookie sessions;
a bearer header cannot be sent cross-site by a browser). All comparisons are constant-time.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from itsdangerous import BadData, Signer, URLSafeSerializer

from concord.hub.errors import ConfigError

OPERATOR, READ = "operator", "read"
COOKIE = "concord_session"
LOGIN_COOKIE = "concord_login_csrf"
SESSION_SECONDS = 12 * 3600
MIN_TOKEN_LENGTH = 8
MAX_COOKIE = 4096          # a real session cookie is ~150 characters


@dataclass(frozen=True)
class Tokens:
    operator: str | None
    read: str | None

    def __post_init__(self) -> None:
        if not self.operator and not self.read:
            raise ConfigError("the dashboard needs a token: set CONCORD_DASHBOARD_TOKEN (operator) and/or "
                              "CONCORD_DASHBOARD_READ_TOKEN (read-only), or dashboard.token / dashboard.read_token "
                              "in concord.yaml as ${ENV_VAR} references")
        for name, value in (("operator", self.operator), ("read-only", self.read)):
            if value is not None and len(value) < MIN_TOKEN_LENGTH:
                raise ConfigError(f"the dashboard {name} token is shorter than {MIN_TOKEN_LENGTH} characters")
        if self.operator and self.read and hmac.compare_digest(self.operator, self.read):
            raise ConfigError("the dashboard operator and read-only tokens must differ")

    @classmethod
    def resolve(cls, config_token: str | None = None, config_read_token: str | None = None,
                environ: Mapping[str, str] | None = None) -> "Tokens":
        env = os.environ if environ is None else environ
        op = env.get("CONCORD_DASHBOARD_TOKEN") or config_token or None
        rd = env.get("CONCORD_DASHBOARD_READ_TOKEN") or config_read_token or None
        return cls(op, rd)

    def role_of(self, presented: str | None) -> str | None:
        """The role a presented token grants (None: no role). Both tokens are always compared."""
        if not presented:
            return None
        p = _digest(presented)   # equal-length digests: the comparison leaks neither value nor length
        is_op = hmac.compare_digest(p, _digest(self.operator or "")) and bool(self.operator)
        is_rd = hmac.compare_digest(p, _digest(self.read or "")) and bool(self.read)
        return OPERATOR if is_op else READ if is_rd else None

    def signing_key(self) -> bytes:
        material = json.dumps(["concord-dashboard-v1", self.operator, self.read]).encode("utf-8")
        return hashlib.sha256(material).digest()


@dataclass(frozen=True)
class Principal:
    role: str
    via: str            # bearer | cookie
    sid: str            # session id (cookie) or a digest of the bearer token

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class SessionSigner:
    """Session cookies and CSRF tokens, signed with itsdangerous (HMAC-SHA256 under the tokens' key).

    The cookie is ``URLSafeSerializer`` JSON ``{"r": role, "s": session id, "e": expiry}``; the expiry is in
    the signed body (not itsdangerous' timestamp) so that a test can pass ``now``. A CSRF token is the
    signature of the session id under its own salt."""

    def __init__(self, key: bytes) -> None:
        self._cookies = URLSafeSerializer(key, salt="concord-dashboard-session",
                                          signer_kwargs={"digest_method": hashlib.sha256})
        self._csrf = Signer(key, salt="concord-dashboard-csrf", digest_method=hashlib.sha256)

    def issue(self, role: str, *, now: float | None = None) -> str:
        body = {"r": role, "s": secrets.token_urlsafe(16), "e": int((now or time.time()) + SESSION_SECONDS)}
        return str(self._cookies.dumps(body))

    def verify(self, cookie: str | None, *, now: float | None = None) -> Principal | None:
        """The session a cookie proves, or None for anything else (never an exception: a mangled,
        non-ASCII, oversized or forged cookie is simply no login)."""
        if not cookie or len(cookie) > MAX_COOKIE or not cookie.isascii():
            return None
        try:
            body = self._cookies.loads(cookie)
            expires = int(body.get("e", 0)) if isinstance(body, dict) else 0
        except (BadData, ValueError, TypeError, OverflowError, AttributeError, UnicodeError):
            return None
        if not isinstance(body, dict) or body.get("r") not in (OPERATOR, READ) or expires < (now or time.time()):
            return None
        return Principal(role=body["r"], via="cookie", sid=str(body.get("s", "")))

    def csrf_token(self, principal: Principal) -> str:
        return self._csrf.get_signature(f"{principal.via}:{principal.sid}").decode("ascii")

    def check_csrf(self, principal: Principal, presented: str | None) -> bool:
        if not presented or not presented.isascii():
            return False
        return self._csrf.verify_signature(f"{principal.via}:{principal.sid}", presented)


def bearer_principal(tokens: Tokens, header: str | None) -> Principal | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    role = tokens.role_of(value.strip())
    if role is None:
        return None
    return Principal(role=role, via="bearer", sid=hashlib.sha256(value.strip().encode()).hexdigest()[:32])
