"""The Fxiaoke (纷享销客) CRM connector: the four verbs over the open API."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from concord.connectors.fxiaoke.auth import FxiaokeAuth
from concord.connectors.fxiaoke.client import FxiaokeClient
from concord.connectors.fxiaoke.config import FxiaokeConfig
from concord.connectors.fxiaoke.metadata import DETAILS, Metadata
from concord.connectors.fxiaoke.read import Reader, is_deleted
from concord.connectors.fxiaoke.write import Writer
from concord.hub.contracts import Change, ConnectorContext, Cursor, EntitySpec, Page, WriteResult, entity_by_name
from concord.hub.http import HttpToolkit


class FxiaokeConnector:
    name: ClassVar[str] = "fxiaoke"
    Config: ClassVar[type[FxiaokeConfig]] = FxiaokeConfig

    def __init__(self, config: FxiaokeConfig, context: ConnectorContext | None = None) -> None:
        self.config = config
        self.context = context or ConnectorContext(system="fxiaoke")
        http = self.context.http or HttpToolkit()
        self.http = http
        system = self.context.system
        verify: bool | str = config.ca_file or True
        token_session = http.session(system, verify=verify, safe_posts=True)   # token requests may be repeated
        self.auth = FxiaokeAuth(config, token_session, self.context.utcnow, system=system)
        self.session = http.session(system, auth=self.auth, verify=verify, rate_per_second=config.rate_limit,
                                    safe_posts=_reads_only,
                                    secrets=[config.app_secret.get_secret_value(),
                                             config.permanent_code.get_secret_value()])
        self.client = FxiaokeClient(config, self.session, system)
        self.metadata = Metadata(self.client, config)
        self.reader = Reader(self.client, config.page_size, config.lookback_seconds)
        self.writer = Writer(self.client, config, self.metadata)

    def entities(self) -> Sequence[EntitySpec]:
        return self.metadata.specs()

    def check(self) -> None:
        """Fetch a token (AuthError on bad credentials) and list the objects (ConfigError on missing ones)."""
        self.auth.refresh()
        self.metadata.object_names()

    def read(self, entity: str, *, since: Cursor | None = None) -> Iterator[Page]:
        spec = entity_by_name(self, entity)
        detail = None
        if self.config.embed_details and entity in DETAILS and spec.field(DETAILS[entity][0]) is not None:
            detail = DETAILS[entity]
        return self.reader.pages(spec, since, self.metadata.codec(entity), detail)

    def lookup(self, entity: str, golden_id: str) -> str | None:
        """The ``_id`` of the live record whose external id field holds Concord's id, else None.

        One ``data/query`` with ``{field_name: <external_id_fields[entity]>, operator: EQ}``. Push asks before
        it re-sends a create whose answer was lost. An object without a configured external id field: None
        (a create there is not idempotent).
        """
        entity_by_name(self, entity)
        field = self.config.external_id_fields.get(entity)
        if not field or not golden_id:
            return None
        rows = self.reader.query(entity, {"limit": 2, "offset": 0, "orders": [{"fieldName": "_id", "isAsc": True}],
                                          "filters": [{"field_name": field, "operator": "EQ",
                                                       "field_values": [str(golden_id)]}]})
        ids = [str(r["_id"]) for r in rows
               if r.get("_id") and not is_deleted(r) and str(r.get(field)) == str(golden_id)]
        return ids[0] if ids else None

    def write(self, entity: str, changes: Sequence[Change]) -> Sequence[WriteResult]:
        entity_by_name(self, entity)
        return self.writer.write(entity, changes)


#: Fxiaoke reads with POST too: metadata and queries may be sent again when an answer is lost
_READ_PATHS = ("/object/list", "/object/describe", "/data/query")


def _reads_only(request: Any) -> bool:
    return (request.path_url or "").split("?")[0].endswith(_READ_PATHS)
