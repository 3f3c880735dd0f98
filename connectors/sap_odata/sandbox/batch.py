"""``$batch``: multipart/mixed requests with changesets, answered 202 with a multipart body.

Each top-level part is a GET (``application/http``) or a changeset (``multipart/mixed``). A changeset
is atomic: when one of its requests fails, the changes already made are undone and the changeset is
answered with one error response (not a nested multipart), as SAP Gateway does.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from concord.connectors.sap_odata.sandbox.odata import _REASONS, ODataRequest, gw_error
from concord.connectors.sap_odata.sandbox.store import ServiceStore, StoreError
from concord.hub.sandbox.server import Headers, Response

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)


def _split(body: str, boundary: str) -> list[str]:
    delim = "--" + boundary
    if delim not in body:
        raise StoreError(400, "/IWBEP/CM_MGW_RT/009", f"Batch body does not contain the boundary '{boundary}'")
    chunks = body.split(delim)
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith("--"):
            break
        parts.append(chunk.lstrip("\r\n") if chunk.startswith(("\r\n", "\n")) else chunk)
    return parts


def _headers_and_body(text: str) -> tuple[Headers, str]:
    text = text.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    headers = Headers()
    for line in head.split("\n"):
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip()] = v.strip()
    return headers, body


def _http_part(response: Response, content_id: str | None = None) -> str:
    lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}"]
    for k, v in response.headers.items():
        lines.append(f"{k}: {v}")
    body = response.body.decode("utf-8")
    lines.append(f"Content-Length: {len(response.body)}")
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    return "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" + \
        "\r\n".join(lines) + "\r\n\r\n" + body


def _inner_request(text: str, base: str, outer_headers: Headers) -> ODataRequest:
    _, rest = _headers_and_body(text)
    line, _, after = rest.partition("\n")
    bits = line.strip().split(" ")
    if len(bits) < 2:
        raise StoreError(400, "/IWBEP/CM_MGW_RT/009", f"Invalid request line in batch part: '{line.strip()}'")
    method, target = bits[0].upper(), bits[1]
    headers, body = _headers_and_body(after)
    parsed = urlsplit(target)
    path = parsed.path
    if path.startswith(("http://", "https://")) or parsed.scheme:
        path = urlsplit(target).path
    root = urlsplit(base).path
    if path.startswith(root):
        path = path[len(root):]
    query = {k: v[0] for k, v in parse_qs(parsed.query, keep_blank_values=True).items()}
    for h in ("Authorization", "Cookie"):
        if h in outer_headers and h not in headers:
            headers[h] = outer_headers[h]
    return ODataRequest(method=method, rel=unquote(path), query=query, headers=headers,
                        body=body.rstrip("\r\n").encode("utf-8"), base=base, raw_query=parsed.query, in_batch=True)


def _undo(store: ServiceStore, done: list[ODataRequest]) -> None:
    with store.lock:
        for r in reversed(done):
            for set_name, key in reversed(r.extra.get("undo", [])):
                store.delete(set_name, key)
            if "restore" in r.extra:
                set_name, key, before = r.extra["restore"]
                if store.get(set_name, key) is not None:
                    store.get(set_name, key).clear()
                    store.get(set_name, key).update(before)
                else:
                    store.put(set_name, before)


def handle_batch(body: bytes, content_type: str, base: str, outer_headers: Headers, store: ServiceStore,
                 dispatch: Callable[[ODataRequest], Response], fail_changeset: Callable[[], bool]) -> Response:
    m = _BOUNDARY.search(content_type or "")
    if not (content_type or "").lower().startswith("multipart/mixed") or not m:
        raise StoreError(400, "/IWBEP/CM_MGW_RT/009", "A $batch request needs Content-Type multipart/mixed;boundary=...")
    out_boundary = f"batchresponse_{uuid.uuid4()}"
    out: list[str] = []
    for part in _split(body.decode("utf-8"), m.group(1)):
        headers, inner = _headers_and_body(part)
        ctype = headers.get("Content-Type", "")
        if ctype.lower().startswith("multipart/mixed"):
            out.append(_changeset(inner, ctype, base, outer_headers, store, dispatch, fail_changeset))
            continue
        req = _inner_request(part, base, outer_headers)
        if req.method != "GET":
            resp = gw_error(400, "/IWBEP/CM_MGW_RT/009", f"{req.method} is only allowed inside a changeset",
                            service=store.name)
        else:
            resp = dispatch(req)
        out.append(_http_part(resp))
    text = "".join(f"--{out_boundary}\r\n{p}\r\n" for p in out) + f"--{out_boundary}--\r\n"
    return Response(202, text.encode("utf-8"), {"Content-Type": f"multipart/mixed; boundary={out_boundary}",
                                               "dataserviceversion": "2.0"})


def _changeset(text: str, ctype: str, base: str, outer_headers: Headers, store: ServiceStore,
               dispatch: Callable[[ODataRequest], Response], fail_changeset: Callable[[], bool]) -> str:
    m = _BOUNDARY.search(ctype)
    if not m:
        return _http_part(gw_error(400, "/IWBEP/CM_MGW_RT/009", "Changeset without boundary", service=store.name))
    done: list[ODataRequest] = []
    responses: list[tuple[Response, str | None]] = []
    with store.lock:
        for part in _split(text, m.group(1)):
            part_headers, _ = _headers_and_body(part)
            req = _inner_request(part, base, outer_headers)
            if req.method == "GET":
                resp = gw_error(400, "/IWBEP/CM_MGW_RT/009", "GET is not allowed inside a changeset", service=store.name)
            elif fail_changeset():
                resp = gw_error(400, "CONCORD/SBX", "Injected business error: the record was rejected "
                                "(sandbox partial_batch fault)", service=store.name)
            else:
                resp = dispatch(req)
            if resp.status >= 400:
                _undo(store, done)
                return _http_part(resp)
            done.append(req)
            responses.append((resp, part_headers.get("Content-ID")))
    cs = f"changesetresponse_{uuid.uuid4()}"
    inner = "".join(f"--{cs}\r\n{_http_part(r, cid)}\r\n" for r, cid in responses) + f"--{cs}--"
    return f"Content-Type: multipart/mixed; boundary={cs}\r\n\r\n{inner}"

