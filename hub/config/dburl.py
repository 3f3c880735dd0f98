"""The warehouse URL: no literal password in it, ``${ENV}`` references expanded, and never shown.

A password in the URL is a secret like any other: concord.yaml, ``--warehouse`` and
``CONCORD_DATABASE_URL`` may hold ``postgresql+psycopg://u:${PGPASSWORD}@host/db`` (one
``${ENV_VAR}`` reference as the whole password), or no password at all (libpq then reads
``PGPASSWORD`` or ``~/.pgpass`` itself). A literal password, in the user-info part or as a
``?password=`` query parameter, is refused in concord.yaml and on the command line; in the
environment variable ``CONCORD_DATABASE_URL`` itself it is allowed (the environment is where a
deployment keeps secrets) and registered with the redactor, so it is never shown. Errors never repeat the URL, and an expanded
password is registered with the log redactor.
"""
from __future__ import annotations

import os
import re
import typing
import urllib.parse

from concord.hub.errors import ConfigError

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# the shape SQLAlchemy's make_url parses: name://[user[:password]@]host-part[?query]
_URL = re.compile(r"^(?P<name>[\w+]+)://(?:(?P<user>[^:/]*)(?::(?P<pw>[^@]*))?@)?(?P<rest>[^?]*)(?:\?(?P<query>.*))?$",
                  re.DOTALL)
_SECRET_PARAM = re.compile(r"(?i)^(?:.*[_-])?(?:ssl)?(?:password|passwd|pwd|secret|token)$")
OVERRIDE = "--warehouse / CONCORD_DATABASE_URL"


def _env_hint(name: str) -> str:
    return "PGPASSWORD" if name.startswith("postgres") else "CONCORD_WAREHOUSE_PASSWORD"


def literal_password_problem(url: str) -> str | None:
    """Why ``url`` (as written, before ``${ENV}`` expansion) holds a literal password, or None."""
    m = _URL.match(url.strip())
    if m is None:
        return None      # not a URL with a scheme: no password to find (the warehouse says what is wrong)
    name, user, pw = m.group("name"), m.group("user") or "u", m.group("pw")
    var = _env_hint(name)
    example = f"{name}://{user}:${{{var}}}@host/db"
    driver = (f", or leave the password out of the URL and let the driver read {var} or ~/.pgpass"
              if name.startswith("postgres") else "")
    if pw and not ENV_REF.fullmatch(urllib.parse.unquote(pw)):
        return (f"a literal password in the warehouse URL is refused; reference an environment variable "
                f"instead, e.g. {example}{driver}")
    for key, value in urllib.parse.parse_qsl(m.group("query") or "", keep_blank_values=True):
        if _SECRET_PARAM.match(key) and value and not ENV_REF.fullmatch(value):
            return (f"a literal {key} in the warehouse URL's query is refused; reference an environment "
                    f"variable instead, e.g. ?{key}=${{{var}}}{driver}")
    return None


def expand_url(url: str, environ: typing.Mapping[str, str] | None = None, *, where: str = OVERRIDE) -> str:
    """Replace ``${VAR}`` references; a value put in the password or query is URL-quoted and redacted."""
    from concord.hub.http.redact import redactor

    env = os.environ if environ is None else environ
    m = _URL.match(url.strip())
    pw_span = m.span("pw") if m and m.group("pw") is not None else (-1, -1)
    q_start = m.start("query") if m and m.group("query") is not None else len(url) + 1
    url = url.strip()
    out, last = [], 0
    for ref in ENV_REF.finditer(url):
        name = ref.group(1)
        if name not in env:
            raise ConfigError(f"environment variable {name} (in the warehouse URL) is not set", file=where)
        value = env[name]
        secret = pw_span[0] <= ref.start() < pw_span[1] or ref.start() >= q_start
        if secret:
            redactor.add(value)
            value = urllib.parse.quote(value, safe="")
        out.append(url[last:ref.start()] + value)
        last = ref.end()
    out.append(url[last:])
    return "".join(out)


def check_override(url: str | None) -> str | None:
    """``--warehouse`` / ``CONCORD_DATABASE_URL`` as given: refuse a literal password (the URL is not shown)."""
    if url:
        problem = literal_password_problem(url)
        if problem:
            raise ConfigError(problem, file=OVERRIDE)
    return url


def resolve_warehouse_url(base_dir: str, configured: str, override: str | None = None,
                          environ: typing.Mapping[str, str] | None = None) -> str:
    """The URL to open: ``override`` (else $CONCORD_DATABASE_URL) checked and expanded, else the configured
    one (already checked and expanded by ``load_project``); a relative SQLite path is under ``base_dir``."""
    env = os.environ if environ is None else environ
    raw = override if override else env.get("CONCORD_DATABASE_URL") or None
    if raw:
        if override:
            check_override(raw)   # a command line is seen by `ps` and kept in shell history
        else:
            _redact_password(raw)  # the environment is where a secret belongs: allowed, never shown
        url = expand_url(raw, env)
    else:
        url = configured
    _parses(url, OVERRIDE if raw else "warehouse")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///"):]
        if rel and rel != ":memory:" and not os.path.isabs(rel):
            url = "sqlite:///" + os.path.join(base_dir, rel)
    return url


def _redact_password(url: str) -> None:
    """A password given in $CONCORD_DATABASE_URL is registered with the log redactor."""
    from concord.hub.http.redact import redactor

    m = _URL.match(url.strip())
    if m and m.group("pw") and not ENV_REF.fullmatch(urllib.parse.unquote(m.group("pw"))):
        redactor.add(urllib.parse.unquote(m.group("pw")))
        redactor.add(m.group("pw"))


def _parses(url: str, where: str) -> None:
    """SQLAlchemy's own parser must accept the URL; its error would repeat the URL, so say it here."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        detail = "the port is not a number" if isinstance(exc, ValueError) else "not a database URL"
        raise ConfigError(f"the warehouse URL is invalid ({detail}); expected e.g. sqlite:///concord.db or "
                          "postgresql+psycopg://user@host/db", file=where) from None


def shown(url: str) -> str:
    """The URL as it may be shown: password hidden, query (which may hold one) left out."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).set(query={}).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(an invalid URL)"
