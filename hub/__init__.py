"""Concord's engine: contracts, errors, http, mapping, warehouse, engine, cli, dashboard."""
