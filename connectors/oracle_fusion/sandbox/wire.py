"""How the sandbox puts things on the wire: media types, error bodies per framework version, items and links."""
from __future__ import annotations

import copy
from typing import Any

from concord.hub.sandbox import Response
from concord.connectors.oracle_fusion.sandbox.resources import ResourceDef
from concord.connectors.oracle_fusion.sandbox.store import VendorError

COLLECTION = "application/vnd.oracle.adf.resourcecollection+json"
ITEM = "application/vnd.oracle.adf.resourceitem+json"
DESCRIBE = "application/vnd.oracle.adf.description+json"
BATCH = "application/vnd.oracle.adf.batch+json"
ERROR = "application/vnd.oracle.adf.error+json"
VERSION_ROOT = "11.13.18.05"
ALLOWED_VERSIONS = tuple(str(v) for v in range(1, 10))
DEFAULT_VERSION = "1"
CHILD_RANGE = 25

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 412: "Precondition Failed", 415: "Unsupported Media Type", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


def error_body(version: int, err: VendorError) -> Any:
    """The error as framework ``version`` states it: plain text below 4, o:errorDetails JSON from 4."""
    if version < 4:
        return err.message
    detail: dict[str, Any] = {"detail": err.message}
    if err.code:
        detail["o:errorCode"] = err.code
    if err.path:
        detail["o:errorPath"] = err.path
    return {"title": _REASONS.get(err.status, "Error"), "status": str(err.status), "o:errorDetails": [detail]}


def error_response(version: int, err: VendorError, headers: dict[str, str] | None = None) -> Response:
    body = error_body(version, err)
    if isinstance(body, str):
        return Response.text(body, err.status, headers=headers)
    return Response.json(body, err.status, headers=headers, content_type=ERROR)


def parse_fields(text: str | None, rdef: ResourceDef) -> dict[str | None, list[str]] | None:
    """``fields=A,B;child:C,D`` -> {None: [A, B], child: [C, D]}."""
    if not text:
        return None
    out: dict[str | None, list[str]] = {}
    for seg in text.split(";"):
        owner: ResourceDef | None = rdef
        name: str | None = None
        if ":" in seg:
            name, seg = seg.split(":", 1)
            owner = rdef.child(name)
            if owner is None:
                raise VendorError(400, f"The child {name} in fields is not defined for {rdef.name}.", "JBO-REST-0010")
        names = [f.strip() for f in seg.split(",") if f.strip()]
        for f in names:
            if owner.attr(f) is None and owner.child(f) is None:
                raise VendorError(400, f"The attribute {f} in fields is not defined for {owner.name}.", "JBO-REST-0011")
        out[name] = names
    return out


def parse_expand(text: str | None, rdef: ResourceDef) -> set[str]:
    if not text:
        return set()
    if text.strip().lower() == "all":
        return {c.name for c in rdef.children}
    out = set()
    for name in text.split(","):
        name = name.strip().split(".", 1)[0]
        if rdef.child(name) is None:
            raise VendorError(400, f"The child {name} in expand is not defined for {rdef.name}.", "JBO-REST-0012")
        out.add(name)
    return out


def links(href: str, name: str, kind: str, etag: str | None = None) -> list[dict[str, Any]]:
    self_link: dict[str, Any] = {"rel": "self", "href": href, "name": name, "kind": kind}
    if etag:
        self_link["properties"] = {"changeIndicator": etag}
    return [self_link, {"rel": "canonical", "href": href, "name": name, "kind": kind}]


def child_collection(version: int, href: str, name: str, rows: list[dict[str, Any]], offset: int, limit: int,
                     only_data: bool) -> Any:
    """A nested child: an array below framework 3, a paged collection from 3 on."""
    if version < 3:
        return rows
    page = rows[offset:offset + limit]
    out: dict[str, Any] = {"items": page, "count": len(page), "hasMore": offset + len(page) < len(rows),
                           "limit": limit, "offset": offset}
    if not only_data:
        out["links"] = [{"rel": "self", "href": href, "name": name, "kind": "collection"}]
    return out


def serialize(row: dict[str, Any], rdef: ResourceDef, *, version: int, href: str, etag: str | None,
              expand: set[str], fields: dict[str | None, list[str]] | None, only_data: bool) -> dict[str, Any]:
    """One item as the REST framework returns it."""
    wanted = fields.get(None) if fields else None
    out: dict[str, Any] = {}
    for a in rdef.all_attrs:
        if wanted is None or a.name in wanted:
            out[a.name] = row.get(a.name)
    for child in rdef.children:
        if child.name not in expand:
            continue
        ch_href = f"{href}/child/{child.name}"
        cfields = fields.get(child.name) if fields else None
        rows = []
        for c in row.get(child.name) or []:
            item = {k: v for k, v in c.items() if cfields is None or k in cfields}
            if not only_data:
                item["links"] = links(f"{ch_href}/{c[child.key]}", child.name, "item")
            rows.append(copy.deepcopy(item))
        out[child.name] = child_collection(version, ch_href, child.name, rows, 0, CHILD_RANGE, only_data)
    if not only_data:
        out["links"] = links(href, rdef.name, "item", etag) + [
            {"rel": "child", "href": f"{href}/child/{c.name}", "name": c.name, "kind": "collection"}
            for c in rdef.children]
    return out
