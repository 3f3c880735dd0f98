"""Concord's canonical model: what ERP <-> CRM integrations move.

Imports nothing of Concord's own. ``ENTITIES`` maps each canonical entity name
to its model class; the warehouse generates typed tables from it.
"""
from __future__ import annotations

from concord.schemas.base import SCHEMA_VERSION, CanonicalEntity, CanonicalModel
from concord.schemas.party import Account, Address, Contact
from concord.schemas.product import Product, StockLevel
from concord.schemas.sales import Invoice, Opportunity, OpportunityLine, SalesOrder, SalesOrderLine

ENTITIES: dict[str, type[CanonicalEntity]] = {
    m.entity_name: m for m in (Account, Contact, Product, SalesOrder, Invoice, Opportunity)
}

#: Dependency order for writes: parents before children.
WRITE_ORDER: tuple[str, ...] = ("account", "product", "contact", "opportunity", "sales_order", "invoice")


def entity_model(name: str) -> type[CanonicalEntity]:
    """Return the model of a canonical entity, or raise KeyError listing the known names."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(f"unknown canonical entity {name!r}; known: {', '.join(sorted(ENTITIES))}") from None


__all__ = [
    "SCHEMA_VERSION", "CanonicalEntity", "CanonicalModel", "Account", "Address", "Contact", "Product", "StockLevel",
    "SalesOrder", "SalesOrderLine", "Invoice", "Opportunity", "OpportunityLine", "ENTITIES", "WRITE_ORDER", "entity_model",
]
