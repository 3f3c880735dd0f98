"""Creates (with deep insert), updates (If-Match: 428/412) and deletes for the OData sandbox."""
from __future__ import annotations

import json
from typing import Any

from concord.connectors.sap_odata.sandbox import customers
from concord.connectors.sap_odata.sandbox.odata import ODataRequest, ODataService, key_text
from concord.connectors.sap_odata.sandbox.store import Key, StoreError
from concord.hub.sandbox.server import Response


def _body(r: ODataRequest) -> dict[str, Any]:
    try:
        data = json.loads(r.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(400, "/IWBEP/CM_MGW_RT/004", f"Malformed JSON request body: {exc}") from None
    if isinstance(data, dict) and set(data) == {"d"} and isinstance(data["d"], dict):
        data = data["d"]
    if not isinstance(data, dict):
        raise StoreError(400, "/IWBEP/CM_MGW_RT/004", "The request body must be a JSON object")
    return data


def _assign(svc: ODataService, set_name: str, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Typed values for the body's properties. Unknown properties are refused; read-only ones are ignored."""
    et = svc.store.etype(set_name)
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name == "__metadata" or name in et.navs:
            continue
        p = et.properties.get(name)
        if p is None:
            raise StoreError(400, "/IWBEP/CM_MGW_RT/004", f"Property '{name}' is invalid for entity type '{et.name}'",
                             name)
        if creating and not p.creatable and name not in et.keys:
            continue
        if not creating and (not p.updatable or name in et.keys):
            continue
        v = svc.store.coerce(p, value, wire=True)
        if v is None and not p.nullable:
            raise StoreError(400, "/IWBEP/CM_MGW_RT/004", f"Property '{name}' must not be null", name)
        out[name] = v
    return out


def _insert(svc: ODataService, set_name: str, body: dict[str, Any], inherited: dict[str, Any],
            undo: list[tuple[str, Key]]) -> dict[str, Any]:
    store = svc.store
    et = store.etype(set_name)
    row: dict[str, Any] = {n: None for n in et.properties}
    row.update(_assign(svc, set_name, body, creating=True))
    row.update({k: v for k, v in inherited.items() if k in et.properties})
    if set_name == customers.BP:
        customers.check_partner(store, row)
    customers.fill_keys(store, set_name, row)
    blank_ok = customers.BLANK_KEYS.get(set_name, ())
    for k in et.keys:
        if row.get(k) is None or (row.get(k) == "" and k not in blank_ok):
            p = et.properties[k]
            if p.type != "Edm.String":
                raise StoreError(400, "/IWBEP/CM_MGW_RT/004", f"Key property '{k}' is required", k)
            step = 10 if p.display_format == "NonNegative" and (p.max_length or 10) <= 6 else 1
            parent = tuple(row.get(x) for x in et.keys[:et.keys.index(k)])
            if parent and all(v not in (None, "") for v in parent):
                # an item of a document: numbered within its parent (10, 20, ...), as SD numbers items
                taken = [int(key[len(parent)]) for key in store.by_first.get(set_name, {}).get(parent[0], {})
                         if key[:len(parent)] == parent and str(key[len(parent)]).isdigit()]
                row[k] = str(max(taken, default=0) + step).zfill(min(p.max_length or 6, 6))
            else:
                row[k] = store.next_number(set_name, p, start=step, step=step)
    if set_name == "A_SalesOrder":
        _check_order(store, row)
    elif set_name == "A_SalesOrderItem":
        _check_item(store, row, len(undo))
    customers.check_row(store, set_name, row)
    if "BusinessPartnerUUID" in et.properties and not row.get("BusinessPartnerUUID"):
        from concord.connectors.sap_odata.sandbox.store import new_guid
        row["BusinessPartnerUUID"] = new_guid()
    if set_name == "A_BusinessPartner":
        name = " ".join(x for x in (row.get("OrganizationBPName1"), row.get("OrganizationBPName2")) if x) or \
            " ".join(x for x in (row.get("FirstName"), row.get("LastName")) if x)
        for f in ("BusinessPartnerFullName", "BusinessPartnerName"):
            if f in et.properties:
                row[f] = name[:81] or None
    store.stamp(set_name, row, created=True)
    key = store.key_of(set_name, row)
    if store.get(set_name, key) is not None:
        raise StoreError(400, "/IWBEP/CM_MGW_RT/022",
                         f"Entity '{set_name}{key_text(store, set_name, key)}' already exists")
    store.put(set_name, row)
    undo.append((set_name, key))
    parent_keys = {k: row[k] for k in et.keys}
    for nav_name, nav in et.navs.items():
        value = body.get(nav_name)
        if value is None:
            continue
        tset = store.model.set_for_type(nav.target)
        # A_Customer is not creatable on its own (sap:creatable="false"): only within its business partner
        if tset is None or not (tset.creatable or (set_name, nav_name) == (customers.BP, "to_Customer")):
            raise StoreError(400, "/IWBEP/CM_MGW_RT/004", f"Deep insert through '{nav_name}' is not supported")
        items = value.get("results", value) if isinstance(value, dict) and "results" in value else value
        items = items if isinstance(items, list) else [items]
        for item in items:
            if not isinstance(item, dict):
                raise StoreError(400, "/IWBEP/CM_MGW_RT/004", f"'{nav_name}' must hold JSON objects")
            _insert(svc, tset.name, item, customers.child_keys(set_name, nav_name, row, parent_keys), undo)
    if set_name == customers.BP:
        customers.after_partner(store, row, undo)
    if set_name == "A_SalesOrder" and "to_Item" in et.navs:
        _recalc_order(svc, row)
    return row


def _check_order(store: Any, row: dict[str, Any]) -> None:
    """What S/4 checks on a sales order header: sales area, a sold-to party that exists; the statuses it sets."""
    et = store.etype("A_SalesOrder")
    for name, what in (("SalesOrderType", "Sales document type"), ("SalesOrganization", "Sales organization"),
                       ("DistributionChannel", "Distribution channel"), ("OrganizationDivision", "Division"),
                       ("SoldToParty", "Sold-to party")):
        if name in et.properties and row.get(name) in (None, ""):
            raise StoreError(400, "V1/045", f"{what} is required; enter a value", name)
    bp = store.peers.get("API_BUSINESS_PARTNER")
    if bp is not None and "A_Customer" in bp.tables and "SoldToParty" in et.properties:
        cust = bp.get("A_Customer", (row["SoldToParty"],))
        if cust is None:
            area = "/".join(str(row.get(x) or "") for x in ("SalesOrganization", "DistributionChannel",
                                                              "OrganizationDivision"))
            raise StoreError(400, "VP/199", f"Sold-to party {row['SoldToParty']} not maintained for sales area {area}",
                             "SoldToParty")
        if cust.get("OrderIsBlockedForCustomer"):
            raise StoreError(400, "V1/462", f"Sold-to party {row['SoldToParty']} is blocked for sales orders",
                             "SoldToParty")
    for name, value in (("OverallSDProcessStatus", "A"), ("OverallTotalDeliveryStatus", "A"),
                        ("OverallSDDocumentRejectionSts", "")):
        if name in et.properties:
            row[name] = value


def _check_item(store: Any, row: dict[str, Any], position: int) -> None:
    """An item needs a material that exists (and is not flagged for deletion) and a positive quantity."""
    et = store.etype("A_SalesOrderItem")
    item = row.get("SalesOrderItem")
    material = row.get("Material")
    if "Material" in et.properties and material in (None, ""):
        raise StoreError(400, "V1/320", f"Item {item}: enter a material", "Material")
    qty = row.get("RequestedQuantity")
    if "RequestedQuantity" in et.properties and (qty is None or qty <= 0):
        raise StoreError(400, "V1/321", f"Item {item}: enter an order quantity greater than zero", "RequestedQuantity")
    products = store.peers.get("API_PRODUCT_SRV")
    if products is not None and "A_Product" in products.tables and material:
        head = store.get("A_SalesOrder", (row.get("SalesOrder"),)) or {}
        prod = products.get("A_Product", (material,))
        if prod is None or prod.get("IsMarkedForDeletion"):
            raise StoreError(400, "V1/392", f"Material {material} is not defined for sales org.{head.get('SalesOrganization')}, "
                             f"distr.chan.{head.get('DistributionChannel')}, language EN", "Material")
        if not row.get("SalesOrderItemText") and "A_ProductDescription" in products.tables:
            desc = products.get("A_ProductDescription", (material, "EN"))
            if desc and "SalesOrderItemText" in et.properties:
                row["SalesOrderItemText"] = (desc.get("ProductDescription") or "")[:40] or None
        if not row.get("RequestedQuantityUnit") and "RequestedQuantityUnit" in et.properties:
            row["RequestedQuantityUnit"] = prod.get("BaseUnit")
    for name, value in (("SDProcessStatus", "A"), ("DeliveryStatus", "A"), ("OrderRelatedBillingStatus", "")):
        if name in et.properties:
            row[name] = value


def _recalc_order(svc: ODataService, row: dict[str, Any]) -> None:
    found = svc.store.children("A_SalesOrder", row, "to_Item")
    if not found:
        return
    from decimal import Decimal
    total = Decimal(0)
    for item in found[1]:
        item["TransactionCurrency"] = row.get("TransactionCurrency")
        qty = item.get("RequestedQuantity") or Decimal(0)
        price = svc.store.prices.get(item.get("Material") or "", Decimal("10.000"))
        item["NetAmount"] = item.get("NetAmount") or (qty * price).quantize(Decimal("0.001"))
        total += item["NetAmount"]
    if "TotalNetAmount" in row:
        row["TotalNetAmount"] = total.quantize(Decimal("0.001"))


def create(svc: ODataService, r: ODataRequest, set_name: str) -> Response:
    undo: list[tuple[str, Key]] = []
    with svc.store.lock:
        try:
            row = _insert(svc, set_name, _body(r), {}, undo)
        except StoreError:
            for s, k in reversed(undo):
                svc.store.delete(s, k)
            raise
        key = svc.store.key_of(set_name, row)
        body = svc.serialize(r.base, set_name, row, None, svc.parse_expand(",".join(
            n for n in svc.store.etype(set_name).navs if n in _body(r))))
    headers = {"Location": svc.uri(r.base, set_name, key), "dataserviceversion": "2.0"}
    etag = svc.store.etag(set_name, row)
    if etag:
        headers["ETag"] = etag
    r.extra["undo"] = undo
    return Response.json({"d": body}, 201, content_type="application/json;charset=utf-8", headers=headers)


def _precondition(svc: ODataService, r: ODataRequest, set_name: str, row: dict[str, Any]) -> None:
    if not svc.store.has_etag(set_name):
        return
    sent = r.headers.get("If-Match")
    if not sent:
        raise StoreError(428, "/IWBEP/CM_MGW_RT/098", "Precondition required: send If-Match with the entity's ETag")
    if sent.strip() == "*":
        return
    current = svc.store.etag(set_name, row)
    if sent.strip() != current:
        raise StoreError(412, "/IWBEP/CM_MGW_RT/000", "Precondition failed: the entity was changed by another user "
                         "(ETag mismatch)")


def update(svc: ODataService, r: ODataRequest, set_name: str, key: Key) -> Response:
    es = svc.store.entity_set(set_name)
    if not es.updatable:
        raise StoreError(405, "/IWBEP/CM_MGW_RT/107", f"Entity set '{set_name}' is not updatable")
    with svc.store.lock:
        row = svc.row_or_404(set_name, key)
        _precondition(svc, r, set_name, row)
        changes = _assign(svc, set_name, _body(r), creating=False)
        before = dict(row)
        if r.method == "PUT":
            et = svc.store.etype(set_name)
            for name, p in et.properties.items():
                if p.updatable and name not in et.keys and name not in changes:
                    changes[name] = None
        row.update(changes)
        svc.store.stamp(set_name, row)
        svc.store.version += 1
        r.extra["restore"] = (set_name, key, before)
        etag = svc.store.etag(set_name, row)
    return Response.empty(204, {"ETag": etag, "dataserviceversion": "2.0"} if etag else {"dataserviceversion": "2.0"})


def delete(svc: ODataService, r: ODataRequest, set_name: str, key: Key) -> Response:
    es = svc.store.entity_set(set_name)
    if not es.deletable:
        raise StoreError(405, "/IWBEP/CM_MGW_RT/107", f"Entity set '{set_name}' is not deletable")
    with svc.store.lock:
        row = svc.row_or_404(set_name, key)
        _precondition(svc, r, set_name, row)
        svc.store.delete(set_name, key)
        r.extra["restore"] = (set_name, key, row)
    return Response.empty(204, {"dataserviceversion": "2.0"})
