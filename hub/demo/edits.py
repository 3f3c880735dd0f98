"""Edits made "by a user" directly in each sandbox's store, between the demo's two cycles.

CRMs change a phone number (the CRMs own phone), ERPs change a credit limit (the ERPs own it), so
the incremental cycle shows both directions. Each edit function takes the sandbox state and the
source id of a record that Concord linked to records in other systems, changes the record as the
vendor's UI would (bumping its change stamp) and returns ``(field, old, new)`` in the vendor's names.
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

Edit = Callable[[Any, str, int], tuple[str, Any, Any]]


def _phone(old: Any, n: int) -> str:
    """The number with its last four digits changed, in E.164 (a user typing a valid number: "0086 ..." is
    +86 ..., a national "030 ..." gets Germany's code), so the edit never makes the record unmappable."""
    digits = "".join(ch for ch in str(old or "") if ch.isdigit())
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = "49" + digits.lstrip("0")
    base = digits[:-4] if len(digits) > 6 else "4930123"
    return f"+{base}{(int(digits[-4:] or 0) + 1111 * (n + 1)) % 10000:04d}"


def _more(old: Any) -> Decimal:
    return (Decimal(str(old or 0)) + Decimal("5000")).quantize(Decimal("1"))


def salesforce(state: Any, source_id: str, n: int) -> tuple[str, Any, Any]:
    rec = dict(state.store.get("Account", source_id))
    new = _phone(rec.get("Phone"), n)
    state.store.update("Account", rec["Id"], {"Phone": new})
    return "Phone", rec.get("Phone"), new


def zoho_crm(state: Any, source_id: str, n: int) -> tuple[str, Any, Any]:
    mod = state.modules["Accounts"]
    with state.lock:
        old = mod.records[source_id]
        rec = dict(old)
        rec["Phone"] = _phone(old.get("Phone"), n)
        state.stamp(mod, rec, False)
        state.put(mod, rec)
    return "Phone", old.get("Phone"), rec["Phone"]


def fxiaoke(state: Any, source_id: str, n: int) -> tuple[str, Any, Any]:
    row = state.get("AccountObj", source_id)
    new = _phone(row.get("tel"), n)
    state.update("AccountObj", {"_id": source_id, "tel": new}, "FSUID_ADMIN1000", skip_lock=True)
    return "tel", row.get("tel"), new


def oracle_fusion(state: Any, source_id: str, n: int) -> tuple[str, Any, Any]:
    t = state.table("customerAccounts")
    key = t.norm_key(source_id)
    old = state.get("customerAccounts", key).get("CreditLimit")
    new = _more(old)
    state.touch("customerAccounts", key, CreditLimit=float(new) if isinstance(old, float) else new)
    return "CreditLimit", old, new


def soap_erp(state: Any, source_id: str, n: int) -> tuple[str, Any, Any]:
    old = state.get(source_id).get("Credit_Limit_LCY")
    new = _more(old)
    state.touch(source_id, Credit_Limit_LCY=new if not isinstance(old, (int, float)) else type(old)(new))
    return "Credit_Limit_LCY", old, new


def sap_odata(state: Any, source_id: str, n: int) -> tuple[str, Any, Any]:
    store = state.store("API_BUSINESS_PARTNER")
    rows = store.tables["A_BusinessPartner"]
    key = next(k for k, r in rows.items() if str(r.get("BusinessPartner")) == source_id)
    old = rows[key].get("OrganizationBPName1")
    new = f"{old} Europe" if old else "Renamed Partner"
    store.touch("A_BusinessPartner", key, OrganizationBPName1=new)
    return "OrganizationBPName1", old, new


EDITS: dict[str, Edit] = {"salesforce": salesforce, "zoho_crm": zoho_crm, "fxiaoke": fxiaoke,
                          "oracle_fusion": oracle_fusion, "soap_erp": soap_erp, "sap_odata": sap_odata}
