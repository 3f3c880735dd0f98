"""HTTP routes of the Fxiaoke sandbox: the open API's envelopes on loopback.

Everything is ``POST`` with a JSON body, and every business answer is HTTP 200 with
``errorCode`` (0 = success), ``errorMessage``, ``errorDescription`` and ``traceId``.
Credentials travel in the body (``corpAccessToken``, ``corpId``, ``currentOpenUserId``).
Gateway-level faults (429, 503, 500) come as HTTP errors with the same envelope.
"""
from __future__ import annotations

import collections
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from concord.connectors.fxiaoke.sandbox.objects import is_custom
from concord.connectors.fxiaoke.sandbox.seed import USERS
from concord.connectors.fxiaoke.sandbox.store import ApiError, Store
from concord.hub.sandbox import FaultInjector, Request, Response, SandboxApp

EA = "fsbox001"


def trace_id() -> str:
    return f"E-O.{EA}.1000-{uuid.uuid4().hex[:16]}"


def envelope(code: int = 0, message: str = "OK", description: str = "success", **extra: Any) -> dict[str, Any]:
    return {"errorCode": code, "errorMessage": message, "errorDescription": description, "traceId": trace_id(), **extra}


def fault_renderer(kind: str, req: Request, faults: FaultInjector) -> Response:
    retry = str(max(1, int(round(faults.config.retry_after + 0.499))))
    if kind == "429":
        return Response.json(envelope(30004, "秒频次超限", "request rate limit exceeded"), 429, {"Retry-After": retry})
    if kind == "503":
        return Response.json(envelope(-1, "系统繁忙", "service busy"), 503, {"Retry-After": retry})
    return Response.json(envelope(-2, "系统错误", "system error"), 500)


class Credentials:
    def __init__(self) -> None:
        self.app_id = "FSAID_SANDBOX0001"
        self.app_secret = "fxsbx-secret-" + secrets.token_hex(8)
        self.permanent_code = "FXSBXPERM" + secrets.token_hex(8).upper()
        self.corp_id = "FSCID_SANDBOX0001"


class FxiaokeSandbox(SandboxApp):
    def __init__(self, store: Store, faults: FaultInjector, *, token_ttl: int = 7200,
                 throttle: tuple[int, float] | None = None, daily_quota: int | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__("fxiaoke", faults)
        self.store, self.creds, self.token_ttl = store, Credentials(), token_ttl
        self.fault_renderer = fault_renderer
        self.throttle, self.daily_quota, self.clock = throttle, daily_quota, clock
        self.tokens: dict[str, float] = {}             # token -> expiry (clock seconds)
        self._issued: tuple[str, float] | None = None  # (token, issued at): re-issued within 6600 s
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._used = 0
        self._tlock = threading.Lock()
        self.add_route("POST", r"/cgi/corpAccessToken/get/V2", self.token, "token")
        self.add_route("POST", r"/cgi/crm/v2/object/list", self.object_list, "object_list")
        self.add_route("POST", r"/cgi/crm/v2/object/describe", self.describe, "describe")
        for action in ("query", "get", "create", "update", "invalid", "recover", "delete", "changeOwner"):
            self.add_route("POST", rf"/cgi/crm/v2/data/(?P<action>{action})", self.data, f"data/{action}")
            self.add_route("POST", rf"/cgi/crm(?P<custom>/custom)/v2/data/(?P<action>{action})", self.data,
                           f"custom/data/{action}")

    # ---- vendor-shaped errors ------------------------------------------------------------------
    def not_found(self, req: Request) -> Response:
        return Response.json({"errorCode": 404, "errorMessage": f"no api at {req.path}", "traceId": trace_id()}, 404)

    def not_allowed(self, req: Request) -> Response:
        return Response.json({"errorCode": 405, "errorMessage": f"{req.method} not supported", "traceId": trace_id()}, 405)

    def server_error(self, req: Request, exc: BaseException) -> Response:
        return Response.json(envelope(-2, "系统错误", f"{type(exc).__name__}"), 500)

    # ---- auth ----------------------------------------------------------------------------------
    def token(self, req: Request) -> Response:
        body = _body(req)
        if not isinstance(body, dict) or body.get("appId") != self.creds.app_id:
            return Response.json(envelope(20006, "appId或appSecret错误", "appId or appSecret is wrong"))
        if body.get("appSecret") != self.creds.app_secret:
            return Response.json(envelope(10006, "the parameter appSecret is missing or illegal", "缺少参数或参数不合法"))
        if body.get("permanentCode") != self.creds.permanent_code:
            return Response.json(envelope(20015, "永久授权码错误", "permanentCode is wrong"))
        now = self.clock()
        with self._tlock:
            # Asking again within 6600 s of issue answers the same token (documented behaviour).
            if self._issued and now - self._issued[1] < min(6600, self.token_ttl) and self._issued[0] in self.tokens:
                tok, issued = self._issued
            else:
                tok, issued = "FXTOKEN" + secrets.token_hex(16).upper(), now
                self._issued = (tok, issued)
                self.tokens[tok] = issued + self.token_ttl
        expires_in = max(0, int(self.tokens[tok] - now))
        return Response.json(envelope(corpAccessToken=tok, corpId=self.creds.corp_id, expiresIn=expires_in))

    def _auth(self, body: dict[str, Any], route: str) -> str:
        tok = body.get("corpAccessToken")
        if not tok:
            raise ApiError(20017, "corpAccessToken为必填项，不能为空", "corpAccessToken is required")
        expiry = self.tokens.get(tok)
        if expiry is None or body.get("corpId") != self.creds.corp_id or self.clock() >= expiry \
                or self.faults.token_expired():
            raise ApiError(20016, "the cropId,cropAccessToken or authorization is error", "corpAccessToken 不存在或者已经过期")
        user = body.get("currentOpenUserId")
        if user not in USERS:
            raise ApiError(20012, f"openUserId未找到: {user}", "currentOpenUserId not found")
        self._meter(route)
        return user

    def _meter(self, route: str) -> None:
        now = self.clock()
        with self._tlock:
            self._used += 1
            if self.daily_quota is not None and self._used > self.daily_quota:
                raise ApiError(30002, "当天访问频次超限", "daily quota exceeded")
            if self.throttle:
                calls, window = self.throttle
                q = self._calls[route]
                while q and now - q[0] >= window:
                    q.popleft()
                if len(q) >= calls:
                    raise ApiError(30004, "秒频次超限", "rate limit exceeded")
                q.append(now)

    def expire_all_tokens(self) -> None:
        """Make every issued token expired (as if 7200 s had passed)."""
        with self._tlock:
            self.tokens = {t: 0.0 for t in self.tokens}
            self._issued = None

    # ---- routes --------------------------------------------------------------------------------
    def _call(self, req: Request, route: str, fn: Callable[[dict[str, Any], str], dict[str, Any]]) -> Response:
        body = _body(req)
        if not isinstance(body, dict):
            return Response.json(envelope(32000, "参数错误: 请求体不是合法的 JSON", "invalid json"))
        try:
            user = self._auth(body, route)
            return Response.json(envelope(**fn(body, user)))
        except ApiError as e:
            return Response.json(envelope(e.code, e.message, e.description))

    def object_list(self, req: Request) -> Response:
        def run(body: dict[str, Any], user: str) -> dict[str, Any]:
            objs = [{"describeApiName": n, "describeDisplayName": d["display_name"], "defineType": d["define_type"],
                     "isActive": True, "hideButton": False, "publicObject": False}
                    for n, d in self.store.describes.items()]
            return {"data": {"objects": objs}}
        return self._call(req, "object_list", run)

    def describe(self, req: Request) -> Response:
        def run(body: dict[str, Any], user: str) -> dict[str, Any]:
            name = (body.get("data") or {}).get("apiName")
            if not name:
                raise ApiError(15002, "参数不合法: data.apiName 为必填项")
            return {"data": {"describe": self.store.table(name).describe}}
        return self._call(req, "describe", run)

    def data(self, req: Request, action: str, custom: str | None = None) -> Response:
        body = _body(req)
        if isinstance(body, dict) and action in ("query", "get") and isinstance(body.get("data"), dict) \
                and not body["data"].get("dataObjectApiName") and body.get("dataObjectApiName"):
            # the documented common mistake: dataObjectApiName at the top level answers HTTP 500
            return Response.json(envelope(-2, "系统错误", "dataObjectApiName must be inside data"), 500)

        def run(body: dict[str, Any], user: str) -> dict[str, Any]:
            data = body.get("data")
            if not isinstance(data, dict):
                raise ApiError(15002, "参数不合法: data 为必填项")
            od = data.get("object_data") if action in ("create", "update") else None
            if action in ("create", "update"):
                if not isinstance(od, dict) or not od.get("dataObjectApiName"):
                    raise ApiError(15002, "参数不合法: object_data.dataObjectApiName 为必填项 (放在 object_data 里)")
                api = od["dataObjectApiName"]
            else:
                api = data.get("dataObjectApiName")
            self.store.table(api)
            if bool(custom) != is_custom(api):
                raise ApiError(15002, f"参数不合法: {api} 应使用 "
                                      f"{'/cgi/crm/custom/v2/data' if is_custom(api) else '/cgi/crm/v2/data'} 接口")
            return getattr(self, "_" + action.lower())(api, body, data, user)
        return self._call(req, f"data/{action}", run)

    def _query(self, api: str, body: dict, data: dict, user: str) -> dict[str, Any]:
        sqi = data.get("search_query_info")
        if not isinstance(sqi, dict):
            raise ApiError(15002, "参数不合法: search_query_info 为必填项")
        want_total = data.get("find_explicit_total_num", True) not in (False, "false")
        return {"data": self.store.query(api, sqi, want_total=want_total)}

    def _get(self, api: str, body: dict, data: dict, user: str) -> dict[str, Any]:
        row = self.store.get(api, str(data.get("objectDataId") or ""))
        if row is None:
            raise ApiError(201112001, "数据不存在或已被删除", "record not found")
        return {"data": row}

    def _create(self, api: str, body: dict, data: dict, user: str) -> dict[str, Any]:
        if self.faults.fail_record():
            raise ApiError(201111010, "触发验证规则: 数据校验未通过 (sandbox partial failure)", "validation rule")
        if self.faults.fail_record_transient():
            raise ApiError(-1, "系统繁忙，请稍后重试", "system busy, try again later (sandbox transient failure)")
        od = dict(data["object_data"])
        od.setdefault("owner", [user])
        return {"dataId": self.store.create(api, od, data.get("details"), user)}

    def _update(self, api: str, body: dict, data: dict, user: str) -> dict[str, Any]:
        if self.faults.fail_record():
            raise ApiError(201111010, "触发验证规则: 数据校验未通过 (sandbox partial failure)", "validation rule")
        if self.faults.fail_record_transient():
            raise ApiError(-1, "系统繁忙，请稍后重试", "system busy, try again later (sandbox transient failure)")
        return {"dataId": self.store.update(api, data["object_data"], user,
                                            skip_lock=bool(data.get("skipDataStatusValidate")))}

    def _invalid(self, api: str, body: dict, data: dict, user: str) -> dict[str, Any]:
        self.store.invalid(api, str(data.get("object_data_id") or ""), user)
        return {}

    def _recover(self, api: str, body: dict, data: dict, user: str) -> dict[str, Any]:
        self.store.recover(api, list(data.get("idList") or []), user)
        return {}

    def _delete(self, api: str, body: dict, data: dict, user: str) -> dict[str, Any]:
        self.store.delete(api, list(data.get("idList") or []))
        return {}

    def _changeowner(self, api: str, body: dict, data: dict, user: str) -> dict[str, Any]:
        for item in data.get("Data") or []:
            self.store.change_owner(api, str(item.get("objectDataId")), item.get("ownerId"), user)
        return {}


def _body(req: Request) -> Any:
    try:
        return req.json()
    except (ValueError, UnicodeDecodeError):
        return None
