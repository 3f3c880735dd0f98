"""Matching: which golden record a new source record belongs to.

The engine asks a matcher for *keys* (exact keys and blocking keys, indexed in ``match_hash``) and
for a decision among the candidates those keys find. :class:`RuleMatcher` runs the configured rules
of an entity (exact, then fuzzy); :class:`ExactMatcher` is the exact-only matcher of the spine.
Manual ``link`` / ``unlink`` live in :mod:`concord.hub.matching.manual`; offline file matching in
:mod:`concord.hub.matching.offline`.
"""
from concord.hub.matching.exact import Candidate, Decision, ExactMatcher, Matcher, normalise_key
from concord.hub.matching.rules import RuleMatcher

# After the names the engine needs: manual.py imports hub.engine, which imports this package.
from concord.hub.matching.manual import decide_review, link, open_reviews, unlink  # noqa: E402

__all__ = ["Candidate", "Decision", "ExactMatcher", "Matcher", "RuleMatcher", "normalise_key", "link", "unlink",
           "open_reviews", "decide_review"]
