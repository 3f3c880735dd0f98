"""Stores own the SQL of the machinery tables: their statements, closed status types and batching.

The engine, CLI, demo and dashboard call stores rather than writing SQL on ``tables`` themselves.
"""
