"""A small routing HTTP(S) server on loopback, shared by every vendor sandbox.

Usage::

    app = SandboxApp("salesforce", faults=FaultInjector(FaultConfig(rate=0.1)))

    @app.route("GET", r"/services/data/v(?P<version>[\\d.]+)/limits/?", name="limits")
    def limits(req: Request, version: str) -> Response:
        return Response.json({...})

    with SandboxServer(app, tls=True) as server:
        print(server.base_url, server.ca_file)

Handlers receive a :class:`Request` and the named groups of the route as keyword
arguments and return a :class:`Response` (or raise :class:`DropConnection`).
Faults are applied before routing; a sandbox decides how a fault looks on the
wire through ``app.fault_renderer`` (default: JSON body, ``Retry-After`` header).
``drop_mid_body`` is the one fault applied after routing: the handler runs (a write
happens), then the answer is cut off half-way through its body.
"""
from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from concord.hub.sandbox.faults import FaultInjector, RequestStats


class DropConnection(Exception):
    """Raise from a handler to close the connection without answering."""


class Headers(dict):
    """Case-insensitive header mapping (keys stored lower-case)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for k, v in (items.items() if hasattr(items, "items") else items):
            self[k] = v

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key).lower())


@dataclass
class Request:
    method: str
    path: str                      # percent-encoded path as sent (no query)
    raw_query: str                 # query string as sent
    headers: Headers
    body: bytes
    scheme: str
    host: str                      # Host header as the client sent it (host:port)
    client: tuple[str, int] | None = None

    @property
    def query(self) -> dict[str, list[str]]:
        """Query decoded as x-www-form-urlencoded (``+`` is a space, ``%24`` is ``$``)."""
        return parse_qs(self.raw_query, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def origin(self) -> str:
        """``scheme://host:port`` exactly as the client addressed this server."""
        return f"{self.scheme}://{self.host}"

    @property
    def url(self) -> str:
        return self.origin + self.path + (("?" + self.raw_query) if self.raw_query else "")

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def text(self) -> str:
        return self.body.decode("utf-8")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: set by the ``drop_mid_body`` fault: send the headers and half the body, then close
    cut_body: bool = False

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None,
             content_type: str = "application/json;charset=UTF-8") -> "Response":
        h = {"Content-Type": content_type}
        h.update(headers or {})
        return cls(status, json.dumps(data, ensure_ascii=False, default=str).encode("utf-8"), h)

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain;charset=UTF-8",
             headers: dict[str, str] | None = None) -> "Response":
        h = {"Content-Type": content_type}
        h.update(headers or {})
        return cls(status, text.encode("utf-8"), h)

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> "Response":
        return cls(status, b"", dict(headers or {}))


Handler = Callable[..., Response]
FaultRenderer = Callable[[str, Request, FaultInjector], Response]


def default_fault_renderer(kind: str, req: Request, faults: FaultInjector) -> Response:
    retry = max(1, int(round(faults.config.retry_after + 0.499)))
    if kind == "429":
        return Response.json({"error": "rate_limited", "message": "Too many requests"}, 429,
                             {"Retry-After": str(retry)})
    if kind == "503":
        return Response.json({"error": "unavailable", "message": "Service unavailable"}, 503,
                             {"Retry-After": str(retry)})
    return Response.json({"error": "server_error", "message": "Internal server error"}, 500)


class SandboxApp:
    """Routes, fault injection and request counting for one sandbox."""

    def __init__(self, name: str, faults: FaultInjector | None = None) -> None:
        self.name = name
        self.faults = faults or FaultInjector()
        self.fault_renderer: FaultRenderer = default_fault_renderer
        self.stats = RequestStats()
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self._lock = threading.Lock()
        #: paths (regexes) that faults never hit, e.g. health checks
        self.fault_exempt: list[re.Pattern[str]] = []

    def route(self, method: str, pattern: str, name: str | None = None) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.add_route(method, pattern, fn, name)
            return fn
        return deco

    def add_route(self, method: str, pattern: str, fn: Handler, name: str | None = None) -> None:
        methods = method.upper()
        self._routes.append((methods, re.compile(pattern + r"\Z"), name or fn.__name__, fn))

    def count(self, route: str, status: int) -> None:
        with self._lock:
            self.stats.total += 1
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = RequestStats()

    def dispatch(self, req: Request) -> tuple[str, Response]:
        """Apply faults, then the first matching route. Returns (route name, response)."""
        exempt = any(p.match(req.path) for p in self.fault_exempt)
        if self.faults.config.base_latency_s:
            time.sleep(self.faults.config.base_latency_s)
        if not exempt:
            kind = self.faults.next_request_fault()
            if kind == "latency":
                self.faults.sleep_latency()
            elif kind == "drop":
                raise DropConnection()
            elif kind == "drop_mid_body":
                _name, resp = self._route(req)
                resp.cut_body = True
                return "fault:drop_mid_body", resp
            elif kind is not None:
                return f"fault:{kind}", self.fault_renderer(kind, req, self.faults)
        return self._route(req)

    def _route(self, req: Request) -> tuple[str, Response]:
        allowed: list[str] = []
        for methods, rx, name, fn in self._routes:
            m = rx.match(req.path)
            if not m:
                continue
            if methods != "*" and req.method not in methods.split("|"):
                allowed.append(methods)
                continue
            return name, fn(req, **m.groupdict())
        if allowed:
            return "method_not_allowed", self.not_allowed(req)
        return "not_found", self.not_found(req)

    # Sandboxes override these to answer in the vendor's error shape.
    def not_found(self, req: Request) -> Response:
        return Response.json({"error": "not_found", "message": f"no resource at {req.path}"}, 404)

    def not_allowed(self, req: Request) -> Response:
        return Response.json({"error": "method_not_allowed", "message": f"{req.method} not allowed on {req.path}"}, 405)

    def server_error(self, req: Request, exc: BaseException) -> Response:
        return Response.json({"error": "server_error", "message": f"{type(exc).__name__}: {exc}"}, 500)


def _make_handler(app: SandboxApp, scheme: str) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"ConcordSandbox/{app.name}"
        # headers and body go out in two writes: without TCP_NODELAY every answer waits ~40 ms for a delayed ACK
        disable_nagle_algorithm = True

        def log_message(self, fmt: str, *args: Any) -> None:  # quiet
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if not length and self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self._read_chunked()
            parts = urlsplit(self.path)
            req = Request(method=self.command, path=parts.path, raw_query=parts.query,
                          headers=Headers(self.headers.items()), body=body, scheme=scheme,
                          host=self.headers.get("Host") or "%s:%s" % self.server.server_address[:2],
                          client=self.client_address)
            try:
                route, resp = app.dispatch(req)
            except DropConnection:
                app.count("fault:drop", 0)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            except Exception as exc:  # a sandbox bug answers 500, like a real server would
                route, resp = "error", app.server_error(req, exc)
            app.count(route, resp.status)
            if resp.cut_body:
                self._send_cut(resp)
                return
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if self.command != "HEAD" or "Content-Length" not in resp.headers:
                self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if self.command != "HEAD" and resp.body:
                self.wfile.write(resp.body)

        def _send_cut(self, resp: Response) -> None:
            """The answer announces its full length, then the connection closes half-way through the body."""
            self.close_connection = True
            try:
                if resp.body:
                    self.send_response(resp.status)
                    for k, v in resp.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(resp.body)))
                    self.end_headers()
                    self.wfile.write(resp.body[: max(1, len(resp.body) // 2)])
                    self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _read_chunked(self) -> bytes:
            out = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_MERGE = do_OPTIONS = _handle

    return _Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class SandboxServer:
    """Runs a :class:`SandboxApp` on 127.0.0.1 (free port by default) in a background thread."""

    def __init__(self, app: SandboxApp, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> None:
        self.app = app
        self.tls = tls
        self._httpd = _Server((host, port), _make_handler(app, "https" if tls else "http"))
        self.ca_file: str | None = None
        if tls:
            from concord.hub.sandbox.tls import loopback_certificate

            certs = loopback_certificate()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certs.cert_file, certs.key_file)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            self.ca_file = certs.cert_file
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> "SandboxServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"sandbox-{self.app.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (used by ``concord sandbox up``)."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
