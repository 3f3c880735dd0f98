"""The sandbox's OAuth 2.0 token endpoint: refresh_token, client_credentials and JWT bearer.

JWT bearer assertions are verified as Salesforce does: RS256 signature against the
connected app's certificate (public key), ``iss`` = consumer key, ``sub`` = a known
username, ``aud`` = the login URL (or the sandbox origin), and ``exp`` in the future.
"""
from __future__ import annotations

import base64
import json
import time
from typing import Any

GRANTS = ("refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer", "password")


def _b64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def check_grant(org: Any, form: dict[str, str]) -> tuple[str, str] | None:
    """None when the grant is good; else (error, error_description) as Salesforce answers."""
    grant = form.get("grant_type", "")
    if grant not in GRANTS:
        return "unsupported_grant_type", "grant type not supported"
    if grant == "refresh_token":
        if form.get("client_id") != org.client_id:
            return "invalid_client_id", "client identifier invalid"
        if form.get("client_secret") not in (None, org.client_secret):
            return "invalid_client", "invalid client credentials"
        if form.get("refresh_token") != org.refresh_token:
            return "invalid_grant", "expired access/refresh token"
        return None
    if grant == "client_credentials":
        if form.get("client_id") != org.client_id:
            return "invalid_client_id", "client identifier invalid"
        if form.get("client_secret") != org.client_secret:
            return "invalid_client", "invalid client credentials"
        return None
    if grant == "password":
        return "invalid_grant", "authentication failure"
    return _check_jwt(org, form.get("assertion", ""))


def _check_jwt(org: Any, assertion: str) -> tuple[str, str] | None:
    try:
        head_b, claims_b, sig_b = assertion.split(".")
        header = json.loads(_b64(head_b))
        claims = json.loads(_b64(claims_b))
        signature = _b64(sig_b)
    except (ValueError, json.JSONDecodeError):
        return "invalid_grant", "invalid assertion"
    if header.get("alg") != "RS256":
        return "invalid_grant", "invalid assertion: algorithm must be RS256"
    if org.public_key_pem:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        key = serialization.load_pem_public_key(org.public_key_pem)
        try:
            key.verify(signature, f"{head_b}.{claims_b}".encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
        except InvalidSignature:
            return "invalid_grant", "invalid assertion signature"
    if claims.get("iss") != org.client_id:
        return "invalid_client_id", "client identifier invalid"
    if claims.get("sub") != org.username:
        return "invalid_grant", "user hasn't approved this consumer"
    aud = claims.get("aud", "")
    if not (aud.startswith("https://") and (aud.endswith(".salesforce.com") or "127.0.0.1" in aud or "localhost" in aud)):
        return "invalid_grant", "audience is invalid"
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < time.time():
        return "invalid_grant", "expired authorization code"
    return None
