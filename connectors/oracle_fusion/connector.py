"""The Oracle Fusion Cloud REST connector: four verbs over one shared hub session."""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import requests

from concord.hub.contracts import Change, ConnectorContext, Cursor, EntitySpec, Page, WriteResult, entity_by_name
from concord.hub.errors import ConfigError, FatalError, TransientError
from concord.hub.http import HttpToolkit
from concord.connectors.oracle_fusion.auth import build_auth
from concord.connectors.oracle_fusion import qgrammar
from concord.connectors.oracle_fusion import rollup
from concord.connectors.oracle_fusion.config import OAuthConfig, OracleFusionConfig
from concord.connectors.oracle_fusion.metadata import load_entity, parse_json
from concord.connectors.oracle_fusion.read import Reader
from concord.connectors.oracle_fusion.vendor_errors import from_response
from concord.connectors.oracle_fusion.write import Writer


class OracleFusionConnector:
    name: ClassVar[str] = "oracle_fusion"
    Config: ClassVar[type[OracleFusionConfig]] = OracleFusionConfig

    def __init__(self, config: OracleFusionConfig, context: ConnectorContext | None = None) -> None:
        self.config = config
        self.context = context or ConnectorContext(system="oracle_fusion")
        self.system = self.context.system
        self.http: HttpToolkit = self.context.http or HttpToolkit()
        verify: bool | str = config.ca_file or True
        token_session = None
        if isinstance(config.auth, OAuthConfig):
            token_session = self.http.session(self.system, verify=verify, safe_posts=True,
                                              secrets=[config.auth.client_secret.get_secret_value()])
        self.auth = build_auth(config.auth, token_session, system=self.system)
        self.session: requests.Session = self.http.session(self.system, auth=self.auth, verify=verify,
                                                           rate_per_second=config.rate_limit)
        self.session.headers["REST-Framework-Version"] = str(config.framework_version)
        self.session.headers["Accept"] = "application/json"
        self._entities: list[EntitySpec] | None = None
        self._lock = threading.Lock()
        self.reader = Reader(self._get, config, system=self.system)
        self.writer = Writer(self._send, config, system=self.system)

    # ---- transport ---------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"{self.config.base_url}/{path.lstrip('/')}"

    def _get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        return self._send("GET", path, params=params)

    def _send(self, method: str, path: str, **kw: Any) -> requests.Response:
        """One call through the hub session (which already retried); a lost connection is a TransientError."""
        try:
            return self.session.request(method, self.url(path), **kw)
        except requests.RequestException as exc:
            maybe = "" if method == "GET" else " (it may or may not have been applied: re-read before re-sending)"
            raise TransientError(f"{self.system}: {method} {path.split('?')[0]} failed: {type(exc).__name__}{maybe}",
                                 system=self.system) from None

    # ---- the four verbs ----------------------------------------------------------------------
    def entities(self) -> Sequence[EntitySpec]:
        with self._lock:
            if self._entities is None:
                specs = [load_entity(lambda p: self._get(p), name, rc, self.config, system=self.system)
                         for name, rc in self.config.resources.items()]
                self._entities = [rollup.with_fields(s) if rollup.applies(s) else s for s in specs]
            return list(self._entities)

    def check(self) -> None:
        """Credentials, framework version and every configured resource path."""
        v = str(self.config.framework_version)
        for api in sorted({rc.api_root for rc in self.config.resources.values()}):
            resp = self._get(api + "/")
            if resp.status_code >= 400:
                raise from_response(resp, system=self.system, reading=True)
            for version in (parse_json(resp) or {}).get("items") or []:
                allowed = [str(x) for x in (version.get("adf:extension") or {}).get("allowedFrameworkVersions") or ()]
                if allowed and v not in allowed:
                    raise ConfigError(f"{self.system}: REST-Framework-Version {v} is not allowed by {api} "
                                      f"{version.get('version')}; allowed: {', '.join(allowed)}", key="framework_version",
                                      system=self.system)
        self.entities()

    def read(self, entity: str, *, since: Cursor | None = None) -> Iterator[Page]:
        spec = entity_by_name(self, entity)
        rc = self.config.resources[entity]
        pages = self.reader.pages(spec, rc, since)
        return rollup.with_rollups(pages) if rollup.applies(spec) and rollup.LINES in rc.expand else pages

    def lookup(self, entity: str, golden_id: str) -> str | None:
        """The key of the item whose external id field holds Concord's id (one ``GET ?q=``), else None.

        Push asks before it re-sends a create whose answer was lost, so a create is never applied twice.
        A resource without ``external_id_field`` cannot be looked up: None (its creates are not idempotent).
        """
        rc = self.config.resources.get(entity)
        if rc is None or not rc.external_id_field or not golden_id:
            return None
        v = self.config.framework_version
        lit = qgrammar.literal(str(golden_id), v)
        q = f"{rc.external_id_field}={lit}" if v < 2 else f"{rc.external_id_field} = {lit}"
        params: dict[str, Any] = {"q": q, "fields": f"{rc.key},{rc.external_id_field}", "limit": 2,
                                  "orderBy": f"{rc.key}:asc"}
        if self.config.only_data:
            params["onlyData"] = "true"
        resp = self._get(rc.path, params)
        if resp.status_code >= 400:
            raise from_response(resp, system=self.system, reading=True)
        body = parse_json(resp)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise FatalError(f"{self.system}: {rc.path} answered without an items array", system=self.system)
        keys = [str(it[rc.key]) for it in items if isinstance(it, dict) and it.get(rc.key) not in (None, "")
                and str(it.get(rc.external_id_field)) == str(golden_id)]      # exact, whatever the q collation
        return keys[0] if keys else None

    def write(self, entity: str, changes: Sequence[Change]) -> Sequence[WriteResult]:
        spec = entity_by_name(self, entity)
        rc = self.config.resources[entity]
        results = self.writer.write(spec, rc, changes)
        if len(results) != len(changes):
            raise FatalError(f"{self.system}: {len(results)} results for {len(changes)} changes", system=self.system)
        return results
