"""The vendor mappings Concord ships (``<connector>/<entity>.yaml``), installed as package data."""
