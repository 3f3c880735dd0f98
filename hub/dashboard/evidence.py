"""Why two records were linked, as a table a person can read: one row per compared field.

A match decision's evidence (``hub.matching``) comes in a few shapes, all read here:
- a fuzzy rule: ``fields`` {field: score 0..1}, ``total``, ``link_at`` / ``review_at``, ``runner_up``;
- a probabilistic rule adds ``levels`` {field: agreement level}, ``match_weight`` (bits),
  ``probability`` and ``explain`` (one sentence per field); its ``fields`` are weights in bits;
- an exact rule: ``fields`` [field, ...] and the shared ``key``;
- a new record: the ``keys`` it was looked up by; a person's decision: ``by`` and the goldens moved;
- older rows: {field: {"score": s}}.
Whatever is not understood is kept as ``other`` (masked), so nothing is hidden.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from concord.hub.dashboard.present import mask, short

KNOWN = {"rule", "type", "candidate", "fields", "total", "link_at", "review_at", "candidates", "levels", "match_weight",
         "probability", "explain", "trained", "runner_up", "reason", "key", "keys", "oversized_blocks"}


class EvidenceRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    field: str
    record: str                 # the linked record's value (masked, shortened)
    candidate: str              # the golden record's value
    comparison: str             # agreement level, "same key", "compared"
    score: str                  # "0.93" (similarity) or "+6.2 bits" (weight); "" when none
    agrees: bool | None         # True: for the match, False: against, None: not compared
    words: str                  # the matcher's sentence, when it gave one


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    rule: str | None
    kind: str | None            # exact | fuzzy | probabilistic | manual | new
    headline: str               # "score 0.86 · links at 0.90, review at 0.75 · 3 candidates"
    rows: list[EvidenceRow]
    other: list[tuple[str, str]]


def read(evidence: Any, record: Mapping[str, Any] | None = None,
         candidate: Mapping[str, Any] | None = None) -> Evidence:
    ev = evidence if isinstance(evidence, dict) else {}
    record, candidate = record or {}, candidate or {}
    probabilistic = "match_weight" in ev or "levels" in ev
    levels = ev.get("levels") if isinstance(ev.get("levels"), dict) else {}
    words = _words(ev.get("explain"))
    rows: list[EvidenceRow] = []
    fields = ev.get("fields")
    if isinstance(fields, dict):
        for f, s in fields.items():
            num = _num(s)
            if probabilistic:
                score, agrees = (f"{num:+.1f} bits" if num is not None else ""), (None if num is None else num >= 0)
            else:
                score, agrees = (f"{num:.2f}" if num is not None else ""), (None if num is None else num >= 0.5)
            rows.append(_row(f, record, candidate, str(levels.get(f) or ("similarity" if not probabilistic else "")),
                             score, agrees, words.get(f, "")))
        for f in levels:
            if f not in fields:
                rows.append(_row(f, record, candidate, str(levels[f]), "", None, words.get(f, "")))
        for f, w in words.items():
            if f not in fields and f not in levels:
                rows.append(_row(f, record, candidate, "not compared", "", None, w))
    elif isinstance(fields, list):
        for f in fields:
            rows.append(_row(str(f), record, candidate, "same key", "1.00", True, ""))
    elif isinstance(ev.get("keys"), dict):
        for k, v in ev["keys"].items():
            rows.append(EvidenceRow(field=str(k), record=short(v, 60), candidate="", comparison="looked up by",
                                    score="", agrees=None, words="no golden record holds this key"))
    else:                                   # older rows: {field: {"score": s}}
        for f, v in ev.items():
            if isinstance(v, dict) and "score" in v:
                num = _num(v.get("score"))
                rows.append(_row(f, record, candidate, "similarity", f"{num:.2f}" if num is not None else "",
                                 None if num is None else num >= 0.5, ""))
    used = set(KNOWN)
    if not isinstance(fields, (dict, list)) and not isinstance(ev.get("keys"), dict):
        used |= {r.field for r in rows}          # the older shape: its fields are the rows
    other = [(str(k), short(v, 120)) for k, v in mask(ev).items() if k not in used]
    return Evidence(rule=_str(ev.get("rule")), kind=_kind(ev, probabilistic), headline=_headline(ev, probabilistic),
                    rows=rows, other=other)


def _row(f: str, record: Mapping[str, Any], candidate: Mapping[str, Any], comparison: str, score: str,
         agrees: bool | None, words: str) -> EvidenceRow:
    return EvidenceRow(field=f, record=short(_value(record, f), 60), candidate=short(_value(candidate, f), 60),
                       comparison=comparison, score=score, agrees=agrees, words=str(mask(words)))


def _value(values: Mapping[str, Any], f: str) -> Any:
    """A field's value; a rule may name a nested field by its last part (``city`` for ``billing_address.city``)."""
    if f in values:
        return values[f]
    return next((v for k, v in values.items() if k.endswith("." + f)), None)


def _words(explain: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in explain if isinstance(explain, list) else []:
        if isinstance(line, str) and ":" in line and not line.startswith("prior "):
            f, _, rest = line.partition(":")
            out[f.strip()] = rest.strip()
    return out


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def _kind(ev: Mapping[str, Any], probabilistic: bool) -> str | None:
    if probabilistic:
        return "probabilistic"
    if ev.get("type"):
        return str(ev["type"])
    if "by" in ev:
        return "manual"
    if "keys" in ev:
        return "new"
    return None


def _headline(ev: Mapping[str, Any], probabilistic: bool) -> str:
    parts = []
    if probabilistic and _num(ev.get("probability")) is not None:
        parts.append(f"match probability {_num(ev['probability']):.4f}")
        if _num(ev.get("match_weight")) is not None:
            parts.append(f"{_num(ev['match_weight']):+.1f} bits in all")
    elif _num(ev.get("total")) is not None:
        parts.append(f"score {_num(ev['total']):.2f}")
    if _num(ev.get("link_at")) is not None:
        parts.append(f"links at {_num(ev['link_at']):.2f}" + (f", review from {_num(ev['review_at']):.2f}"
                                                              if _num(ev.get("review_at")) is not None else ""))
    if ev.get("candidates") is not None and not isinstance(ev.get("candidates"), list):
        parts.append(f"{ev['candidates']} candidate{'s' if ev['candidates'] != 1 else ''} compared")
    if isinstance(ev.get("runner_up"), dict) and _num(ev["runner_up"].get("total")) is not None:
        parts.append(f"runner-up {ev['runner_up'].get('golden_id')} at {_num(ev['runner_up']['total']):.2f}")
    if ev.get("key") is not None:
        parts.append(f"same key {short(ev['key'], 60)}")
    if ev.get("reason"):
        parts.append(str(mask(str(ev["reason"]))))
    if ev.get("by"):
        parts.append(f"decided by {short(ev['by'], 40)}")
    return " · ".join(parts)
