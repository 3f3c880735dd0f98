"""Matching: which golden record a new source record belongs to.

The engine asks a :class:`Matcher` for *keys* (indexed blocking keys kept in ``match_key``) and
for a decision among the candidates those keys find. The spine ships exact-key matching
(:class:`ExactMatcher`); fuzzy rules plug in behind the same two calls.
"""
from hub.matching.exact import Candidate, Decision, ExactMatcher, Matcher, normalise_key

__all__ = ["Candidate", "Decision", "ExactMatcher", "Matcher", "normalise_key"]
