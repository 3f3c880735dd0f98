"""The unified warehouse (SQLAlchemy Core; SQLite by default, PostgreSQL by URL)."""
from concord.hub.warehouse.db import Warehouse, chunks

__all__ = ["Warehouse", "chunks"]
