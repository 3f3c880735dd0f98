"""Scenario packs: content, not code (pack.yaml + README.md per scenario), read by ``concord init --scenario``."""
