"""Auth handlers: how a session signs requests and recovers from an expired credential.

A connector implements :class:`AuthHandler` for its vendor (OAuth flows, CSRF
tokens...) or uses one of the simple ones here. The session calls ``apply`` on
every request, and when ``is_auth_failure(response)`` is true it calls
``refresh()`` once and re-sends the request.
"""
from __future__ import annotations

import base64
import threading
from typing import Protocol, runtime_checkable

import requests
from pydantic import SecretStr


@runtime_checkable
class AuthHandler(Protocol):
    def apply(self, request: requests.PreparedRequest) -> None: ...

    def refresh(self) -> None: ...

    def is_auth_failure(self, response: requests.Response) -> bool: ...

    def secrets(self) -> list[str]: ...


class _Base:
    def refresh(self) -> None:  # nothing to refresh for static credentials
        pass

    def is_auth_failure(self, response: requests.Response) -> bool:
        return response.status_code == 401

    def secrets(self) -> list[str]:
        return []


class BasicAuth(_Base):
    def __init__(self, user: str, password: SecretStr | str) -> None:
        pw = password.get_secret_value() if isinstance(password, SecretStr) else password
        self._header = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
        self._pw = pw

    def apply(self, request: requests.PreparedRequest) -> None:
        request.headers["Authorization"] = self._header

    def secrets(self) -> list[str]:
        return [self._pw, self._header.split(" ", 1)[1]]


class HeaderAuth(_Base):
    """A static header (API keys such as SAP API Hub's ``APIKey``)."""

    def __init__(self, header: str, value: SecretStr | str) -> None:
        self.header = header
        self._value = value.get_secret_value() if isinstance(value, SecretStr) else value

    def apply(self, request: requests.PreparedRequest) -> None:
        request.headers[self.header] = self._value

    def secrets(self) -> list[str]:
        return [self._value]


class BearerAuth(_Base):
    """A bearer token obtained by ``fetch()`` (any OAuth flow), refreshed on 401.

    ``fetch`` returns the new token string. ``scheme`` can be changed for
    vendors such as Zoho (``Zoho-oauthtoken``).
    """

    def __init__(self, fetch, scheme: str = "Bearer") -> None:  # type: ignore[no-untyped-def]
        self._fetch = fetch
        self.scheme = scheme
        self._token: str | None = None
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def token(self) -> str:
        with self._lock:
            if self._token is None:
                self._token = self._fetch()
                self._generation += 1
            return self._token

    def apply(self, request: requests.PreparedRequest) -> None:
        request.headers["Authorization"] = f"{self.scheme} {self.token}"

    def refresh(self) -> None:
        with self._lock:
            self._token = self._fetch()
            self._generation += 1

    def secrets(self) -> list[str]:
        return [self._token] if self._token else []
