"""Concord connectors."""
