"""Products and services that are sold."""
from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from concord.schemas.base import CanonicalEntity, CanonicalModel


class StockLevel(CanonicalModel):
    """Stock of a product at one plant / warehouse / storage location of the ERP."""

    location: str = Field(..., min_length=1, description="Plant, warehouse or location code as the ERP names it.")
    on_hand: Decimal | None = Field(None, description="Physical stock on hand, in the product's base unit.")
    available: Decimal | None = Field(None, description="Available to promise (on hand less reserved/allocated).")
    unit: str | None = Field(None, description="Unit of the quantities, if not the product's base unit.")


class Product(CanonicalEntity):
    """A material in the ERP, a product in the CRM."""

    entity_name = "product"
    identity_fields = ("sku",)

    sku: str = Field(..., min_length=1, description="Product number / material number / SKU.")
    name: str = Field(..., min_length=1, description="Product name.")
    description: str | None = Field(None, description="Longer description.")
    product_group: str | None = Field(None, description="Product family or material group.")
    unit: str | None = Field(None, description="Base unit of measure (UN/ECE rec. 20 code or ERP unit, e.g. EA, KG).")
    list_price: Decimal | None = Field(None, ge=0, description="List price per unit.")
    currency: str | None = Field(None, min_length=3, max_length=3, description="ISO 4217 currency of the list price.")
    active: bool | None = Field(None, description="Whether the product can be sold.")
    gtin: str | None = Field(None, description="GTIN / EAN barcode.")
    weight_kg: Decimal | None = Field(None, ge=0, description="Gross weight in kilograms.")
    on_hand_quantity: Decimal | None = Field(None, description="Stock on hand over all locations (ERP).")
    available_quantity: Decimal | None = Field(None, description="Available to promise over all locations (ERP).")
    stock: tuple[StockLevel, ...] = Field((), description="Stock per plant / warehouse, where the ERP has it.")
