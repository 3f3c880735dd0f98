"""NAV's Customer table (18) as the sandbox plays it when a page web service inserts or modifies a customer.

What the Customer table and its setup do on a Create through page 21 (the subset Concord meets):

- **Number series.** A Create with a blank ``No`` takes the next number of the series in Sales & Receivables
  Setup "Customer Nos." (``NoSeriesManagement.InitSeries``): the last number used, incremented by the series'
  "Increment-by No." the way ``INCSTR`` does it (the rightmost number in the code, zero padding kept:
  ``C00010`` -> ``C00020`` by 10, ``1000019`` -> ``1000020`` by 1). The series moves only when the insert
  commits; a number that is taken already (entered by hand) is NAV's ``The Customer already exists.`` fault.
  The sandbox's series continues after the highest customer number of the world (the customers this ERP
  does not hold included), so a new customer never takes a number another system knows for someone else.
- **Search Name** is set from ``Name`` when it is blank (``Name`` OnValidate), upper case (Code[50]);
  **Invoice Disc. Code** := ``No.`` (OnInsert), when the page shows it.
- **Posting groups.** No customer template is applied: templates are a client feature (the card's
  ``OnNewRecord`` with ``GUIALLOWED``), so a web service Create leaves ``Gen_Bus_Posting_Group``,
  ``VAT_Bus_Posting_Group`` and ``Customer_Posting_Group`` blank unless the request carries them. A value
  must exist in its table (CRONUS: ``DOMESTIC``, ``EU``, ``EXPORT``/``FOREIGN``); setting the general business
  posting group also sets the VAT business posting group to its default (``Def. VAT Bus. Posting Group``,
  Auto Insert Default). A customer without a Customer Posting Group cannot get a sales order
  (``Customer Posting Group must have a value in Customer: No.=…``, see documents.py).
- **E-Mail** is checked (``MailManagement.CheckValidEmailAddresses``): ``The email address "…" is not valid.``

Field lengths, Code upper-casing and the other related tables (country, currency, payment terms) are the
page store's (store.py ``LENGTHS``, ``CODE_FIELDS``, ``RELATED``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from concord.connectors.soap_erp.sandbox.store import NAV_EXC, NavFault

#: the sandbox company's own country: its customers are DOMESTIC, the EU's are EU, the rest export
HOME_COUNTRY = "DE"
EU = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
      "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
#: Gen. Business Posting Group -> its Def. VAT Bus. Posting Group (CRONUS)
DEFAULT_VAT_BUS = {"DOMESTIC": "DOMESTIC", "EU": "EU", "EXPORT": "EXPORT"}


def posting_groups(country: str | None) -> dict[str, str]:
    """The posting groups CRONUS gives a customer of ``country`` (seeded customers; what a template would set)."""
    if not country or country == HOME_COUNTRY:
        gen, cust = "DOMESTIC", "DOMESTIC"
    elif country in EU:
        gen, cust = "EU", "EU"
    else:
        gen, cust = "EXPORT", "FOREIGN"
    return {"Gen_Bus_Posting_Group": gen, "VAT_Bus_Posting_Group": DEFAULT_VAT_BUS[gen], "Customer_Posting_Group": cust}


_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def inc_str(code: str, by: int = 1) -> str:
    """NAV's ``INCSTR`` with an increment: the rightmost number in ``code`` plus ``by``, zero padding kept.

    ``C00010`` + 10 -> ``C00020``; ``1000019`` + 1 -> ``1000020``; ``K-99`` + 1 -> ``K-100`` (the number grows).
    A code without a digit cannot be incremented (NAV: the series' numbers must end in a number)."""
    m = _LAST_NUMBER.search(code)
    if m is None:
        raise ValueError(f"{code!r} has no number to increment")
    digits = m.group(1)
    return code[:m.start()] + str(int(digits) + by).zfill(len(digits)) + code[m.end():]


@dataclass
class NoSeries:
    """One No. Series line: starting number, last number used, increment, optional ending number."""

    code: str
    starting_no: str
    last_no_used: str | None = None
    increment_by: int = 1
    ending_no: str | None = None

    def peek(self, n: int = 1) -> str:
        """The ``n``-th next number (not taken yet: the series moves when the insert commits)."""
        no = self.last_no_used
        for i in range(n):
            no = self.starting_no if no is None else inc_str(no, self.increment_by)
        assert no is not None
        if self.ending_no and (len(no), no) > (len(self.ending_no), self.ending_no):
            raise NavFault(NAV_EXC + "NavCSideException",
                           f"You cannot assign new numbers from the number series {self.code}.")
        return no

    def used(self, no: str) -> None:
        self.last_no_used = no


_EMAIL = re.compile(r"^[^@\s;,<>\"]+@[^@\s;,<>\"]+\.[^@\s;,<>\"]+$")


class CustomerTable:
    """The Customer table's triggers (OnInsert, OnValidate of a few fields) for a page store."""

    def __init__(self, fields: set[str]) -> None:
        self.fields = fields

    def on_insert(self, values: dict[str, Any]) -> None:
        self._validate(values, {})
        if "Invoice_Disc_Code" in self.fields and not values.get("Invoice_Disc_Code"):
            values["Invoice_Disc_Code"] = values.get("No")

    def on_modify(self, current: dict[str, Any], values: dict[str, Any]) -> None:
        self._validate(values, current)

    def _validate(self, values: dict[str, Any], current: dict[str, Any]) -> None:
        name = values.get("Name")
        if name is not None and "Search_Name" in self.fields and "Search_Name" not in values:
            old = current.get("Search_Name")
            if not old or old == str(current.get("Name") or "").upper():
                values["Search_Name"] = str(name).upper()[:50]
        email = values.get("E_Mail")
        if email:
            for address in re.split(r"[;,]", str(email)):
                if address.strip() and not _EMAIL.match(address.strip()):
                    raise NavFault(NAV_EXC + "NavCSideException", f'The email address "{address.strip()}" is not valid.')
        gen = values.get("Gen_Bus_Posting_Group")
        if (gen and gen != current.get("Gen_Bus_Posting_Group") and "VAT_Bus_Posting_Group" in self.fields
                and not values.get("VAT_Bus_Posting_Group") and gen in DEFAULT_VAT_BUS):
            values["VAT_Bus_Posting_Group"] = DEFAULT_VAT_BUS[gen]


def customer_series(world: Any) -> NoSeries:
    """Sales & Receivables Setup "Customer Nos." of the sandbox: the world's customer numbers (``1000000`` + i),
    continued after the highest one the world has given out."""
    numbers = [c.erp_number for c in world.companies()]
    last = max(numbers, key=lambda s: (len(s), s)) if numbers else None
    return NoSeries("CUST", starting_no="1000000", last_no_used=last, increment_by=1, ending_no="9999999")
