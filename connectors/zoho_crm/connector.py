"""The Zoho CRM connector: four verbs over the Zoho CRM REST API (v6-v8)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from concord.connectors.zoho_crm.auth import ZohoOAuth
from concord.connectors.zoho_crm.client import ZohoApi
from concord.connectors.zoho_crm.config import ZohoCrmConfig
from concord.connectors.zoho_crm.metadata import ZohoMetadata
from concord.connectors.zoho_crm.read import CoqlPager, ZohoReader, coql_string
from concord.connectors.zoho_crm.write import ZohoWriter
from concord.hub.contracts import Change, ConnectorContext, Cursor, EntitySpec, Page, WriteResult, entity_by_name
from concord.hub.http import HttpToolkit


class ZohoCrmConnector:
    name: ClassVar[str] = "zoho_crm"
    Config: ClassVar[type[ZohoCrmConfig]] = ZohoCrmConfig

    def __init__(self, config: ZohoCrmConfig, context: ConnectorContext | None = None) -> None:
        self.config = config
        self.context = context or ConnectorContext(system="zoho_crm")
        self.http = self.context.http or HttpToolkit()
        verify: bool | str = config.ca_file or True
        system = self.context.system
        secrets = [config.client_secret.get_secret_value(), config.refresh_token.get_secret_value()]
        token_session = self.http.session(system, verify=verify, secrets=secrets)
        self.auth = ZohoOAuth(config, token_session)
        self.session = self.http.session(system, auth=self.auth, verify=verify, rate_per_second=config.rate_limit)
        self.api = ZohoApi(config, self.session, self.auth)
        self.metadata = ZohoMetadata(config, self.api.get_meta)
        self.reader = ZohoReader(self.api, per_page=config.per_page, max_fields=config.max_fields_per_call,
                                 read_deleted=config.read_deleted, deleted_type=config.deleted_type,
                                 lookback_seconds=config.lookback_seconds)
        self.writer = ZohoWriter(self.api, config)

    def entities(self) -> Sequence[EntitySpec]:
        return self.metadata.entities()

    def check(self) -> None:
        """Refresh a token (AuthError when refused) and read the module list."""
        self.auth.refresh()
        self.metadata.modules()

    def read(self, entity: str, *, since: Cursor | None = None) -> Iterator[Page]:
        spec = entity_by_name(self, entity)
        return self.reader.read(spec, self.metadata.readable_fields(spec), since)

    def query(self, entity: str, where: str, *, columns: Sequence[str] | None = None,
              order_by: str = "id asc") -> Iterator[Page]:
        """A filtered read through COQL (``where`` in COQL syntax); pages carry no checkpoint."""
        spec = entity_by_name(self, entity)
        cols = list(columns) if columns else [f for f in self.metadata.readable_fields(spec)
                                              if self.metadata.field_types(entity).get(f) != "subform"][:50]
        return self.reader.coql(spec.name, cols, where, order_by)

    def lookup(self, entity: str, golden_id: str) -> str | None:
        """The id of the record whose external id field (``external_id_fields``) holds Concord's id, else None.

        One COQL query (``select id from M where Concord_ID = '...'``): COQL reads the records themselves,
        whereas the search API answers from an index that lags behind a create. Push asks before it
        re-sends a create whose answer was lost. A module without an external id field: None (a create
        there is not idempotent).
        """
        spec = entity_by_name(self, entity)
        field = self.config.external_id_fields.get(spec.name)
        if not field or not golden_id:
            return None
        for rows in CoqlPager(self.api, spec.name, ["id", field], f"{field} = {coql_string(golden_id)}"):
            ids = [str(r["id"]) for r in rows if r.get("id") and str(r.get(field)) == str(golden_id)]   # exact case
            if ids:
                return ids[0]
        return None

    def write(self, entity: str, changes: Sequence[Change]) -> Sequence[WriteResult]:
        spec = entity_by_name(self, entity)
        return self.writer.write(spec, changes, self.metadata.field_types(entity))
