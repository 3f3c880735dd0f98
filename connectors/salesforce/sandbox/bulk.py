"""Bulk API 2.0: ingest jobs (CSV upload, states, per-record result CSVs) and query jobs
(CSV result pages with ``Sforce-NumberOfRecords`` and ``Sforce-Locator``).

States follow the real machine: ingest ``Open -> UploadComplete -> InProgress -> JobComplete``
(or ``Aborted``/``Failed``), query ``UploadComplete -> InProgress -> JobComplete``. Each job
reports ``InProgress`` to its first ``in_progress_polls`` status checks, then completes.
"""
from __future__ import annotations

import base64
import csv
import io
import itertools
import threading
from collections.abc import Callable
from typing import Any

from concord.hub.sandbox import Request, Response, SandboxApp
from concord.connectors.salesforce.sandbox.query import Executor
from concord.connectors.salesforce.sandbox.store import SfError, Store, fmt_dt

V = r"/services/data/v(?P<v>\d+\.\d)"
INGEST_OPS = ("insert", "update", "upsert", "delete", "hardDelete")


def _err(status: int, code: str, message: str) -> Response:
    return Response.json([{"errorCode": code, "message": message}], status)


def _csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    for r in rows:
        w.writerow(["" if v is None else ("true" if v is True else "false" if v is False else v) for v in r])
    return buf.getvalue()


def _result_csv(header: list[str], rows: list[list[Any]], sf_cols: tuple[str, str]) -> str:
    """Result CSVs quote the ``sf__`` columns, as Salesforce writes them."""
    def q(v: Any) -> str:
        return '"' + str(v).replace('"', '""') + '"'
    lines = [",".join([q(sf_cols[0]), q(sf_cols[1])] + [_csv([header]).rstrip("\n")] if header else
                      [q(sf_cols[0]), q(sf_cols[1])])]
    for r in rows:
        rest = _csv([r[2:]]).rstrip("\n") if r[2:] else ""
        lines.append(",".join([q(r[0]), q(r[1])] + ([rest] if rest or header else [])))
    return "\n".join(lines) + "\n"


def install(app: SandboxApp, org: Any, api: Callable, executor: Executor, *, in_progress_polls: int = 1) -> None:
    store: Store = org.store
    jobs: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    seq = itertools.count(1)

    def info(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def new_job(kind: str, v: str, **fields: Any) -> dict[str, Any]:
        jid = f"750{next(seq):012d}AAA"
        now = fmt_dt(store.now())
        job = {"id": jid, "operation": fields.pop("operation"), "object": fields.pop("object"),
               "createdById": store.users[0], "createdDate": now, "systemModstamp": now,
               "state": "Open" if kind == "ingest" else "UploadComplete", "concurrencyMode": "Parallel",
               "contentType": "CSV", "apiVersion": float(v), "lineEnding": "LF", "columnDelimiter": "COMMA",
               **fields, "_kind": kind, "_polls": 0, "_data": [], "_results": None}
        if kind == "ingest":
            job["contentUrl"] = f"services/data/v{v}/jobs/ingest/{jid}/batches"
        with lock:
            jobs[jid] = job
        return job

    def get(kind: str, jid: str) -> dict[str, Any]:
        job = jobs.get(jid)
        if job is None or job["_kind"] != kind:
            raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
        return job

    # ---- ingest ------------------------------------------------------------------------------
    @api
    def create_ingest(req: Request, v: str) -> Response:
        body = req.json() or {}
        op, obj = body.get("operation"), body.get("object")
        if op not in INGEST_OPS:
            return _err(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {op}")
        o = store.obj(obj or "")
        extra: dict[str, Any] = {}
        if op == "upsert":
            ext = body.get("externalIdFieldName")
            f = o.field(ext or "")
            if f is None or not (f.ext or f.name == "Id"):
                return _err(400, "INVALIDJOB", f"InvalidJob : Field name provided, {ext} does not match an External "
                            f"ID, Salesforce Id, or indexed field for {o.name}")
            extra["externalIdFieldName"] = f.name
        return Response.json(info(new_job("ingest", v, operation=op, object=o.name, **extra)))

    app.add_route("POST", V + r"/jobs/ingest/?", create_ingest, name="bulk_ingest_create")

    @api
    def upload(req: Request, v: str, jid: str) -> Response:
        job = get("ingest", jid)
        if job["state"] != "Open":
            return _err(409, "INVALIDJOBSTATE", f"Job {jid} is not in the Open state")
        if "text/csv" not in (req.headers.get("Content-Type") or ""):
            return _err(400, "INVALIDCONTENTTYPE", "Content-Type must be text/csv")
        job["_data"].append(req.body.decode("utf-8"))
        return Response.empty(201)

    app.add_route("PUT", V + r"/jobs/ingest/(?P<jid>\w+)/batches/?", upload, name="bulk_ingest_upload")

    @api
    def ingest_job(req: Request, v: str, jid: str) -> Response:
        job = get("ingest", jid)
        if req.method == "DELETE":
            if job["state"] not in ("UploadComplete", "JobComplete", "Aborted", "Failed"):
                return _err(400, "INVALIDJOBSTATE", "Job must be closed or aborted before deleting")
            with lock:
                jobs.pop(jid, None)
            return Response.empty(204)
        if req.method == "PATCH":
            state = (req.json() or {}).get("state")
            if state == "UploadComplete" and job["state"] == "Open":
                job["state"] = "UploadComplete"
                _process(job)
            elif state == "Aborted" and job["state"] in ("Open", "UploadComplete", "InProgress"):
                job["state"] = "Aborted"
            else:
                return _err(400, "INVALIDJOBSTATE", f"Cannot change the state of job {jid} from {job['state']} to {state}")
            return Response.json(info(job))
        _advance(job)
        return Response.json(info(job))

    app.add_route("GET|PATCH|DELETE", V + r"/jobs/ingest/(?P<jid>\w+)/?", ingest_job, name="bulk_ingest_job")

    def _advance(job: dict[str, Any]) -> None:
        if job["state"] in ("UploadComplete", "InProgress"):
            job["_polls"] += 1
            job["state"] = "InProgress" if job["_polls"] <= in_progress_polls else "JobComplete"
            job["systemModstamp"] = fmt_dt(store.now())

    def _process(job: dict[str, Any]) -> None:
        ok: list[list[Any]] = []
        bad: list[list[Any]] = []
        header: list[str] = []
        for chunk in job["_data"]:
            rows = list(csv.reader(io.StringIO(chunk)))
            if not rows:
                continue
            header = rows[0]
            for row in rows[1:]:
                rec = dict(zip(header, row))
                try:
                    if app.faults.fail_record() or app.faults.fail_record_transient():
                        raise SfError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
                    rid, created = _apply(job, rec)
                    ok.append([rid, "true" if created else "false", *row])
                except SfError as e:
                    fields = ":".join(e.fields)
                    bad.append([rec.get("Id", ""), f"{e.code}:{e.message}:{fields} --", *row])
        job["numberRecordsProcessed"] = len(ok) + len(bad)
        job["numberRecordsFailed"] = len(bad)
        job["_results"] = {"successfulResults": _result_csv(header, ok, ("sf__Id", "sf__Created")),
                           "failedResults": _result_csv(header, bad, ("sf__Id", "sf__Error")),
                           "unprocessedrecords": _csv([header])}
        job["_data"] = []

    def _apply(job: dict[str, Any], rec: dict[str, str]) -> tuple[str, bool]:
        o = store.obj(job["object"])
        fields: dict[str, Any] = {}
        for k, val in rec.items():
            if val == "":
                continue                            # empty cell: leave the field alone
            val = None if val == "#N/A" else val
            if "." in k:                            # Account.Concord_Id__c: a parent by external id
                rel, ext = k.split(".", 1)
                fields[rel] = {ext: val}
            else:
                fields[k] = val
        op = job["operation"]
        if op == "insert":
            return store.insert(o.name, fields), True
        if op in ("update", "delete", "hardDelete"):
            rid = fields.pop("Id", None)
            if not rid:
                raise SfError("MISSING_ARGUMENT", "Id not specified", ["Id"])
            if op == "update":
                store.update(o.name, rid, fields)
            else:
                store.delete(o.name, rid)
            return rid, False
        ext = job["externalIdFieldName"]
        value = fields.pop(ext, None)
        ids = store.find_ext(o.name, ext, value) if value else []
        if len(ids) > 1:
            raise SfError("DUPLICATE_EXTERNAL_ID", f"{ext}: more than one record found for external id field: "
                          f"[{', '.join(ids)}]", [ext])
        if ids:
            store.update(o.name, ids[0], fields)
            return ids[0], False
        if value is None:
            raise SfError("MISSING_ARGUMENT", f"{ext} not specified", [ext])
        return store.insert(o.name, {**fields, ext: value}), True

    @api
    def ingest_results(req: Request, v: str, jid: str, kind: str) -> Response:
        job = get("ingest", jid)
        if job["state"] != "JobComplete" or job["_results"] is None:
            return _err(400, "INVALIDJOBSTATE", f"Job {jid} is not complete")
        key = {"successfulresults": "successfulResults", "failedresults": "failedResults",
               "unprocessedrecords": "unprocessedrecords"}[kind.lower()]
        return Response.text(job["_results"][key], content_type="text/csv")

    app.add_route("GET", V + r"/jobs/ingest/(?P<jid>\w+)/(?P<kind>successfulResults|failedResults|unprocessedrecords)/?",
                  ingest_results, name="bulk_ingest_results")

    # ---- query -------------------------------------------------------------------------------
    @api
    def create_query(req: Request, v: str) -> Response:
        body = req.json() or {}
        op = body.get("operation", "query")
        if op not in ("query", "queryAll"):
            return _err(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {op}")
        q, ids = executor.run(body.get("query") or "", include_deleted=op == "queryAll")
        if q.subqueries:
            return _err(400, "API_ERROR", "Nested queries aren't supported in Bulk API 2.0 query jobs")
        job = new_job("query", v, operation=op, object=q.sobject)
        job.update({"_q": q, "_ids": ids, "numberRecordsProcessed": len(ids)})
        return Response.json(info(job))

    app.add_route("POST", V + r"/jobs/query/?", create_query, name="bulk_query_create")

    @api
    def query_job(req: Request, v: str, jid: str) -> Response:
        job = get("query", jid)
        if req.method == "DELETE":
            with lock:
                jobs.pop(jid, None)
            return Response.empty(204)
        if req.method == "PATCH":
            if (req.json() or {}).get("state") == "Aborted":
                job["state"] = "Aborted"
            return Response.json(info(job))
        _advance(job)
        return Response.json(info(job))

    app.add_route("GET|PATCH|DELETE", V + r"/jobs/query/(?P<jid>\w+)/?", query_job, name="bulk_query_job")

    @api
    def query_results(req: Request, v: str, jid: str) -> Response:
        job = get("query", jid)
        if job["state"] != "JobComplete":
            return _err(400, "INVALIDJOBSTATE", f"Job {jid} is not complete")
        start = int(base64.b64decode(req.arg("locator")).decode()) if req.arg("locator") else 0
        size = min(int(req.arg("maxRecords") or 50000), 100000) or 50000
        ids = job["_ids"][start:start + size]
        q, obj = job["_q"], store.obj(job["object"])
        cols = [f.dotted for f in q.fields]
        rows = [cols]
        for rec in executor.render_page(q, obj, ids):
            rows.append([_flat(rec, f.path) for f in q.fields])
        nxt = start + size
        locator = base64.b64encode(str(nxt).encode()).decode() if nxt < len(job["_ids"]) else "null"
        return Response.text(_csv(rows), content_type="text/csv",
                             headers={"Sforce-NumberOfRecords": str(len(ids)), "Sforce-Locator": locator})

    app.add_route("GET", V + r"/jobs/query/(?P<jid>\w+)/results/?", query_results, name="bulk_query_results")


def _flat(rec: dict[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = rec
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = next((v for k, v in cur.items() if k.lower() == p.lower()), None)
    return cur
