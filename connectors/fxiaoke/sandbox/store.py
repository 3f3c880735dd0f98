"""The Fxiaoke sandbox's data: one table per object, a query engine for
``search_query_info`` and the validation rules of ``data/create`` / ``data/update``.

Every table keeps its rows by ``_id`` plus an index sorted by ``(last_modified_time, _id)``
so the incremental query (``last_modified_time GTE t`` ordered ascending) is answered
without scanning everything, even with 100k rows. Other orders and filters fall back
to a scan. Thread-safe: one lock around every read and write.
"""
from __future__ import annotations

import bisect
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from concord.connectors.fxiaoke.sandbox.objects import DETAILS, READ_ONLY, SYSTEM_READ_ONLY, build_describes

LMT = "last_modified_time"
NUMERIC = {"number", "currency", "percentile", "date", "date_time", "time"}


class ApiError(Exception):
    """A business error answered as HTTP 200 with a non-zero ``errorCode``."""

    def __init__(self, code: int, message: str, description: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.description = code, message, description or message


class Table:
    def __init__(self, api_name: str, describe: dict[str, Any]) -> None:
        self.api_name, self.describe = api_name, describe
        self.fields: dict[str, dict[str, Any]] = describe["fields"]
        self.rows: dict[str, dict[str, Any]] = {}
        self.index: list[tuple[int, str]] = []     # sorted (last_modified_time, _id)
        self.truth: dict[str, int] = {}            # _id -> world index (never in the payload)
        self._auto = 0

    def load(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            self.rows[r["_id"]] = r
        self.index = sorted((r[LMT], r["_id"]) for r in self.rows.values())

    def put(self, row: dict[str, Any], old_lmt: int | None = None) -> None:
        if old_lmt is not None:
            i = bisect.bisect_left(self.index, (old_lmt, row["_id"]))
            if i < len(self.index) and self.index[i] == (old_lmt, row["_id"]):
                del self.index[i]
        self.rows[row["_id"]] = row
        bisect.insort(self.index, (row[LMT], row["_id"]))

    def remove(self, _id: str) -> None:
        row = self.rows.pop(_id)
        i = bisect.bisect_left(self.index, (row[LMT], _id))
        if i < len(self.index) and self.index[i] == (row[LMT], _id):
            del self.index[i]

    def next_number(self, prefix: str) -> str:
        self._auto += 1
        return f"{prefix}{self._auto:08d}"


def _num(v: Any) -> Decimal | None:
    try:
        return Decimal(str(v))
    except (InvalidOperation, ValueError):
        return None


class Store:
    """All tables of one sandbox enterprise."""

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self.describes = build_describes()
        self.tables = {name: Table(name, d) for name, d in self.describes.items()}
        self.lock = threading.RLock()
        self._clock = clock or (lambda: int(time.time() * 1000))
        self.high_water = 0

    # ---- time ------------------------------------------------------------------------------
    def now_ms(self) -> int:
        """Write timestamps never go behind the newest seeded change (seeded data may be 'in the future')."""
        with self.lock:
            self.high_water = max(self._clock(), self.high_water)
            return self.high_water

    def table(self, api_name: str | None) -> Table:
        t = self.tables.get(api_name or "")
        if t is None:
            raise ApiError(320001404, f"对象 {api_name} 不存在或未启用", "object describe not found")
        return t

    def load(self, api_name: str, rows: list[dict[str, Any]], truth: dict[str, int]) -> None:
        with self.lock:
            t = self.tables[api_name]
            t.load(rows)
            t.truth.update(truth)
            if t.index:
                self.high_water = max(self.high_water, t.index[-1][0])

    # ---- queries ---------------------------------------------------------------------------
    def query(self, api_name: str, sqi: dict[str, Any], *, want_total: bool) -> dict[str, Any]:
        t = self.table(api_name)
        limit, offset = sqi.get("limit"), sqi.get("offset", 0)
        if not isinstance(limit, int) or not isinstance(offset, int) or isinstance(limit, bool):
            raise ApiError(15002, "参数不合法: search_query_info.limit/offset 必须是整数")
        if limit < 1 or limit > 100:
            raise ApiError(15002, f"参数不合法: limit 取值范围 1-100 (got {limit})")
        if offset < 0 or offset % limit:
            raise ApiError(15002, f"参数不合法: offset 必须是 limit 的整数倍 (offset={offset}, limit={limit})")
        if offset > 10000:
            raise ApiError(10013, "offset out of range 10000", "offset 不能超过10000")
        filters = sqi.get("filters") or []
        if not isinstance(filters, list):
            raise ApiError(15002, "参数不合法: filters 必须是列表")
        preds = [self._predicate(t, flt) for flt in filters]
        orders = sqi.get("orders") or []
        projection = sqi.get("fieldProjection") or None
        with self.lock:
            matches = self._scan(t, filters, preds, orders)
            page, total = [], 0
            for row in matches:
                if total >= offset and len(page) < limit:
                    page.append(row)
                total += 1
                if len(page) >= limit and not want_total:
                    break
            out = [self._project(r, projection) for r in page]
        return {"dataList": out, "total": total if want_total else 0, "offset": offset, "limit": limit}

    @staticmethod
    def _project(row: dict[str, Any], projection: list[str] | None) -> dict[str, Any]:
        if not projection:
            return dict(row)
        return {k: row[k] for k in projection if k in row}

    def _scan(self, t: Table, filters: list[dict], preds: list[Callable], orders: list[dict]) -> Iterator[dict[str, Any]]:
        keys = [(o.get("fieldName"), bool(o.get("isAsc", True))) for o in orders]
        if keys and keys[0] == (LMT, True) and all(k == (LMT, True) or k == ("_id", True) for k in keys) \
                and (len(keys) == 1 or keys[1] == ("_id", True)):
            lo, hi = 0, len(t.index)
            for flt in filters:
                op = flt.get("operator")
                if flt.get("field_name") != LMT or not flt.get("field_values"):
                    continue
                v = int(_num(flt["field_values"][0]) or 0)
                if op in ("GT", "GTE", "EQ"):
                    lo = max(lo, bisect.bisect_left(t.index, (v + (1 if op == "GT" else 0), "")))
                if op in ("LT", "LTE", "EQ"):
                    hi = min(hi, bisect.bisect_left(t.index, (v + (0 if op == "LT" else 1), "")))
            for i in range(lo, hi):
                row = t.rows[t.index[i][1]]
                if all(p(row) for p in preds):
                    yield row
            return
        rows = [r for r in t.rows.values() if all(p(r) for p in preds)]
        for name, asc in reversed(keys or [("_id", True)]):
            rows.sort(key=lambda r, n=name: (r.get(n) is None, r.get(n) if r.get(n) is not None else 0), reverse=not asc)
        yield from rows

    def _predicate(self, t: Table, flt: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
        name, op, values = flt.get("field_name"), flt.get("operator"), flt.get("field_values")
        fd = t.fields.get(name or "")
        if fd is None:
            raise ApiError(15002, f"参数不合法: 字段 {name} 不存在")
        if not isinstance(values, list) and op not in ("IS", "ISN"):
            raise ApiError(15002, f"参数不合法: field_values 必须是列表 ({name})")
        numeric = fd["type"] in NUMERIC
        conv: Callable[[Any], Any] = (lambda v: _num(v)) if numeric else (lambda v: v if isinstance(v, (bool, list)) else str(v))
        if fd["type"] == "true_or_false":
            conv = lambda v: v if isinstance(v, bool) else str(v).lower() == "true"  # noqa: E731
        vals = [conv(v) for v in (values or [])]
        first = vals[0] if vals else None

        def get(row: dict[str, Any]) -> Any:
            v = row.get(name)
            if v is None:
                return None
            return conv(v) if not isinstance(v, list) else v

        def cmp(fn: Callable[[Any, Any], bool]) -> Callable[[dict[str, Any]], bool]:
            return lambda r: (x := get(r)) is not None and first is not None and fn(x, first)

        ops: dict[str, Callable[[dict[str, Any]], bool]] = {
            "EQ": lambda r: (x := get(r)) == first or (isinstance(x, list) and first in x),
            "N": lambda r: get(r) != first,
            "GT": cmp(lambda a, b: a > b), "GTE": cmp(lambda a, b: a >= b),
            "LT": cmp(lambda a, b: a < b), "LTE": cmp(lambda a, b: a <= b),
            "IN": lambda r: (x := get(r)) in vals or (isinstance(x, list) and any(v in vals for v in x)),
            "NIN": lambda r: get(r) not in vals,
            "IS": lambda r: get(r) in (None, "", []), "ISN": lambda r: get(r) not in (None, "", []),
            "LIKE": lambda r: first is not None and str(first) in str(get(r) or ""),
            "NLIKE": lambda r: first is None or str(first) not in str(get(r) or ""),
            "STARTWITH": lambda r: str(get(r) or "").startswith(str(first)),
            "ENDWITH": lambda r: str(get(r) or "").endswith(str(first)),
            "BETWEEN": lambda r: (x := get(r)) is not None and len(vals) == 2 and vals[0] <= x <= vals[1],
            "NBETWEEN": lambda r: (x := get(r)) is None or len(vals) != 2 or not vals[0] <= x <= vals[1],
            "CONTAINS": lambda r: isinstance(get(r), list) and all(v in get(r) for v in vals),
            "HASANYOF": lambda r: isinstance(get(r), list) and any(v in get(r) for v in vals),
        }
        fn = ops.get(op or "")
        if fn is None:
            raise ApiError(15002, f"参数不合法: 不支持的 operator {op}")
        return fn

    def get(self, api_name: str, _id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.table(api_name).rows.get(_id)
            return dict(row) if row else None

    # ---- writes ----------------------------------------------------------------------------
    def validate(self, t: Table, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in data.items():
            if name in ("dataObjectApiName", "_id"):
                continue
            fd = t.fields.get(name)
            if fd is None:
                raise ApiError(320001400, f"字段 {name} 不存在于对象 {t.api_name}", "field not found")
            if name in SYSTEM_READ_ONLY or fd["type"] in READ_ONLY:
                raise ApiError(320001400, f"字段 {fd['label']}({name}) 为只读字段，不能写入", "read-only field")
            if not creating and fd.get("is_readonly_on_edit"):
                raise ApiError(320001400, f"{fd['label']}不能通过编辑修改，请使用更换负责人接口", "use changeOwner")
            out[name] = self._coerce(t, fd, value)
        if creating:
            for name, fd in t.fields.items():
                if fd["is_required"] and out.get(name) in (None, "", []) and fd["type"] not in READ_ONLY:
                    raise ApiError(201111006, f"{fd['label']}({name}) 为必填字段，不能为空", "required field missing")
        return out

    def _coerce(self, t: Table, fd: dict[str, Any], value: Any) -> Any:
        typ, label = fd["type"], f"{fd['label']}({fd['api_name']})"
        if value is None or value == "":
            return None
        if typ in ("number", "currency", "percentile"):
            n = _num(value) if isinstance(value, str) else None
            if n is None:
                raise ApiError(201111007, f"{label} 的值 {value!r} 不是合法的数字字符串 (如 \"100.01\")", "invalid number")
            return str(value)
        if typ in ("date", "date_time", "time"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ApiError(201111007, f"{label} 需要毫秒时间戳 (Long)，收到 {value!r}", "invalid date")
            return value
        if typ == "true_or_false":
            if not isinstance(value, bool):
                raise ApiError(201111007, f"{label} 需要布尔值，收到 {value!r}", "invalid boolean")
            return value
        if typ == "select_one":
            allowed = {o["value"] for o in fd.get("options", [])}
            if str(value) not in allowed:
                raise ApiError(201111008, f"{label} 的选项值 {value!r} 不存在", "invalid option")
            return str(value)
        if typ in ("employee", "department"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ApiError(201111007, f"{label} 需要列表，如 [\"FSUID_...\"]", "employee must be a list")
            return value
        if typ in ("object_reference", "master_detail"):
            target = self.tables.get(fd.get("target_api_name", ""))
            ref = target.rows.get(str(value)) if target else None
            if ref is None or ref.get("life_status") == "invalid":
                raise ApiError(201112011, f"{label}: 关联关系不存在 ({value})", "lookup target not found")
            return str(value)
        if not isinstance(value, str):
            raise ApiError(201111007, f"{label} 需要字符串，收到 {type(value).__name__}", "invalid text")
        if fd.get("max_length") and len(value) > fd["max_length"]:
            raise ApiError(201111009, f"{label} 超过最大长度 {fd['max_length']}", "too long")
        return value

    def _system(self, user: str, now: int) -> dict[str, Any]:
        return {"owner": [user], "owner_department": "总部", "created_by": [user], "create_time": now,
                "last_modified_by": [user], "last_modified_time": now, "life_status": "normal", "is_deleted": False,
                "lock_status": "0", "record_type": "default__c", "version": "1"}

    def create(self, api_name: str, object_data: dict[str, Any], details: dict[str, list[dict[str, Any]]] | None,
               user: str) -> str:
        with self.lock:
            t = self.table(api_name)
            values = self.validate(t, object_data, creating=True)
            detail_rows: list[tuple[Table, dict[str, Any]]] = []
            for det_api, rows in (details or {}).items():
                spec = DETAILS.get(api_name)
                if not spec or spec[0] != det_api:
                    raise ApiError(320001400, f"{det_api} 不是 {api_name} 的从对象", "not a detail object")
                dt_ = self.table(det_api)
                for r in rows:
                    r = {k: v for k, v in r.items() if k not in (spec[1], "dataObjectApiName")}
                    detail_rows.append((dt_, self._validate_detail(dt_, spec[1], r)))
            now = self.now_ms()
            row = self._system(user, now) | {"_id": uuid.uuid4().hex[:24]} | values
            if "owner" in values and values["owner"]:
                row["owner"] = values["owner"]
            if "name" in t.fields and t.fields["name"]["type"] == "auto_number":
                row["name"] = t.next_number("SO" if api_name == "SalesOrderObj" else "NO")
            for dt_, vals in detail_rows:
                self._insert_detail(dt_, DETAILS[api_name][1], row["_id"], {"owner": row["owner"]} | vals, user, now)
            t.put(row)
            return row["_id"]

    def _validate_detail(self, dt_: Table, link: str, r: dict[str, Any]) -> dict[str, Any]:
        fds = {k: v for k, v in dt_.fields.items()}
        for name in (link, "owner"):    # set from the master
            fds[name] = dict(fds[name], is_required=False)
        return self.validate(Table(dt_.api_name, {"fields": fds}), r, creating=True)

    def _insert_detail(self, dt_: Table, link: str, master_id: str, vals: dict[str, Any], user: str, now: int) -> None:
        row = self._system(user, now) | {"_id": uuid.uuid4().hex[:24], link: master_id} | vals
        row["name"] = dt_.next_number("OP")
        if vals.get("product_id"):
            prod = self.tables["ProductObj"].rows.get(vals["product_id"])
            row["product_code"] = prod.get("product_code") if prod else None
        if "subtotal" in dt_.fields and vals.get("quantity") and vals.get("sales_price"):
            # 小计 is a formula field: Fxiaoke computes quantity x sales price (2 decimals), whatever was sent
            row["subtotal"] = str((Decimal(vals["quantity"]) * Decimal(vals["sales_price"]))
                                  .quantize(Decimal("0.01"), ROUND_HALF_UP))
        dt_.put(row)

    def update(self, api_name: str, object_data: dict[str, Any], user: str, *, skip_lock: bool = False) -> str:
        with self.lock:
            t = self.table(api_name)
            _id = object_data.get("_id")
            row = t.rows.get(str(_id or ""))
            if row is None:
                raise ApiError(201112001, f"数据不存在或已被删除 ({_id})", "record not found")
            if row.get("life_status") == "invalid":
                raise ApiError(201112002, "数据已作废，不能编辑", "record is invalid")
            if row.get("lock_status") == "1" and not skip_lock:
                raise ApiError(201112003, "数据已锁定，不能编辑", "record is locked")
            values = self.validate(t, object_data, creating=False)
            self._bump(t, row, values, user)
            return row["_id"]

    def _bump(self, t: Table, row: dict[str, Any], values: dict[str, Any], user: str) -> None:
        old = row[LMT]
        new = dict(row)
        for k, v in values.items():
            if v is None:
                new.pop(k, None)
            else:
                new[k] = v
        new[LMT] = self.now_ms()
        new["last_modified_by"] = [user]
        new["version"] = str(int(row.get("version", "1")) + 1)
        t.put(new, old_lmt=old)

    def change_owner(self, api_name: str, _id: str, owner: list[str], user: str) -> None:
        with self.lock:
            t = self.table(api_name)
            row = t.rows.get(_id)
            if row is None:
                raise ApiError(201112001, f"数据不存在或已被删除 ({_id})", "record not found")
            fd = t.fields["owner"]
            self._bump(t, row, {"owner": self._coerce(t, fd, owner)}, user)

    def invalid(self, api_name: str, _id: str, user: str) -> None:
        with self.lock:
            t = self.table(api_name)
            row = t.rows.get(str(_id or ""))
            if row is None:
                raise ApiError(201112001, f"数据不存在或已被删除 ({_id})", "record not found")
            if row.get("life_status") == "invalid":
                raise ApiError(201112002, "数据已作废", "record is already invalid")
            self._bump(t, row, {}, user)
            row = t.rows[row["_id"]]
            row["life_status"], row["is_deleted"] = "invalid", True

    def recover(self, api_name: str, ids: list[str], user: str) -> None:
        with self.lock:
            t = self.table(api_name)
            for _id in ids:
                row = t.rows.get(_id)
                if row is None or row.get("life_status") != "invalid":
                    raise ApiError(201112004, f"只能恢复已作废的数据 ({_id})", "not invalid")
                self._bump(t, row, {}, user)
                row = t.rows[_id]
                row["life_status"], row["is_deleted"] = "normal", False

    def delete(self, api_name: str, ids: list[str]) -> None:
        with self.lock:
            t = self.table(api_name)
            for _id in ids:
                row = t.rows.get(_id)
                if row is None:
                    raise ApiError(201112001, f"数据不存在或已被删除 ({_id})", "record not found")
                if row.get("life_status") != "invalid":
                    raise ApiError(201112005, f"删除之前请先作废数据 ({_id})", "invalidate first")
            for _id in ids:
                t.remove(_id)
                t.truth.pop(_id, None)

    def count(self, api_name: str, *, include_invalid: bool = False) -> int:
        with self.lock:
            rows = self.table(api_name).rows.values()
            return sum(1 for r in rows if include_invalid or r.get("life_status") != "invalid")
