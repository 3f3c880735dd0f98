"""Prefect flows: thin shells over hub functions. Nothing imports flows (entry points find them)."""
