"""Concord flows."""
