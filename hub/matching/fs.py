"""Probabilistic matching in the Fellegi-Sunter style (``type: probabilistic`` match rules).

Every compared field of a candidate pair falls into one **comparison level** (hub/matching/fs_kinds.py), strongest agreement
first (``exact``, ``one_edit`` (Damerau-Levenshtein distance 1), Jaro-Winkler bands, ``day_month_swapped``
for dates, tolerance bands for numbers ... and ``else``). A field missing on either side is not
compared: it says nothing either way. Each level has two learned probabilities, ``m`` (the level among
pairs of the same entity) and ``u`` (among pairs of different entities); its **match weight** is
``log2(m / u)`` bits. The pair's weight is the prior log-odds plus the fields' weights, and its
**match probability** is ``2^w / (1 + 2^w)``.

* **Cross-field comparison** (``swap: [[first_name, last_name]]``): when the first field disagrees but
  each side's first name is (within one typo) the other side's last name and vice versa, the first
  field's level is ``swapped`` and the second field is not compared again.
* **Term frequencies** (``tf: [last_name]``): an exact agreement on a rare value is stronger evidence
  than on a common one; the exact level's weight is adjusted by ``log2(base / frequency(value))``
  (``base``: how often two random records agree on the field), capped at ±``TF_CAP`` bits.
* **Dependent fields** (``dependent: [[phone, street, postal_code, city]]``): fields that are one piece
  of evidence (a household shares its landline and address) count once: of a group's agreeing fields
  only the strongest weight, of its disagreeing fields only the strongest disagreement (``counted``).
  Among different people such a group agrees only where they share a home, so the whole group agrees
  by chance about as often as its rarest field does, not as often as the product of its fields. A model
  that learned the group's **joint levels** (``FSModel.groups``, hub/matching/fs_groups.py) counts the
  weight of the pair's pattern over the group instead (once), where it has one.
* The parameters live in the rule's ``model`` (written by ``concord match train``, hub/matching/em.py).
  Without a model the rule uses conservative defaults per level.

Every decision carries its evidence: the level and weight of each field, and the same in words.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from concord.hub.config.model import FSFieldParams, FSModel, FSTermFrequencies, MatchRule
from concord.hub.matching import normalise as N
from concord.hub.matching.fs_cache import RecordCache, remembering
from concord.hub.matching.fs_kinds import (DEFAULT_EXACT_U, DEFAULT_MU, DIFFERENT, LEVELS, STRING,  # noqa: F401
                                           WORDS, default_kind, default_params, level_label, normaliser, one_edit)
from concord.hub.matching.fs_groups import describe, group_key, pattern
from concord.hub.matching.fs_levels import MEMO_KINDS, MEMO_PAIRS, LevelComputer

TF_CAP = 5.0             # bits: a term-frequency adjustment moves the weight by at most 32x either way
P_FLOOR = 1e-6           # no probability is exactly 0 or 1
NOT_COMPARED = -1

@dataclass(frozen=True)
class FieldSpec:
    field: str
    kind: str
    levels: tuple[str, ...]
    norm: Callable[[Any], Any]
    swap_with: str | None = None


def field_specs(rule: MatchRule) -> list[FieldSpec]:
    swap_of = {a: b for a, b in rule.swap}
    out = []
    for f in rule.fields:
        kind = rule.comparisons.get(f) or default_kind(f)
        levels = LEVELS[kind]
        if f in swap_of:
            levels = (levels[0], "swapped", *levels[1:])
        out.append(FieldSpec(f, kind, levels, normaliser(kind, f), swap_of.get(f)))
    return out


def _log2(x: float) -> float:
    return math.log2(max(x, P_FLOOR))


class FSScorer:
    """Scores candidate pairs of one probabilistic rule (see the module docstring)."""

    def __init__(self, rule: MatchRule, model: FSModel | None = None) -> None:
        self.rule = rule
        self.specs = field_specs(rule)
        self.by_field = {s.field: s for s in self.specs}
        self.model = model if model is not None else rule.model
        self.params: dict[str, FSFieldParams] = {}
        for s in self.specs:
            p = self.model.fields.get(s.field) if self.model is not None else None
            self.params[s.field] = p if p is not None and tuple(p.levels) == s.levels else default_params(s.kind, s.levels)
        self.weights = {f: [_log2(m) - _log2(u) for m, u in zip(p.m, p.u)] for f, p in self.params.items()}
        prior = self.model.prior if self.model is not None else 0.05
        self.prior_weight = math.log2(prior) - math.log2(1 - prior)     # a model's prior may be below P_FLOOR
        self.tf: dict[str, FSTermFrequencies] = dict(self.model.tf) if self.model is not None else {}
        self.tf = {f: t for f, t in self.tf.items() if f in rule.tf}
        self._fields = [sp.field for sp in self.specs]
        self._norms = [remembering(sp.norm) if sp.kind in MEMO_KINDS else sp.norm for sp in self.specs]
        self._pinned: dict[int, tuple[Mapping[str, Any], tuple[Any, ...]]] = {}
        self._cache = RecordCache.shared(tuple((sp.field, sp.kind) for sp in self.specs))
        self._lc = LevelComputer.shared(self.specs, DIFFERENT, _close)
        self._w = [self.weights[sp.field] for sp in self.specs]
        # indices of the fields a score requires ([-1]: one of them is not a field of the rule, never scored)
        self._require = [self._fields.index(f) if f in self._fields else -1 for f in rule.require]
        self._require.sort()
        # the `dependent` group of each field (-1: none): a group counts its strongest agreement and its
        # strongest disagreement once (see ``counted``)
        group_of = {f: g for g, group in enumerate(rule.dependent) for f in group}
        self._group = [group_of.get(f, -1) for f in self._fields]
        self._grouped = any(g >= 0 for g in self._group)
        # a group's joint levels learned by training (hub/matching/fs_groups.py): pattern -> weight
        self._members = [[self._fields.index(f) for f in group] for group in rule.dependent]
        self._sizes = [len(sp.levels) for sp in self.specs]
        self._joint: list[dict[str, float] | None] = []
        for group in rule.dependent:
            jp = self.model.groups.get(group_key(group)) if self.model is not None else None
            self._joint.append(None if jp is None else {lv: _log2(m) - _log2(u) for lv, m, u in zip(jp.levels, jp.m, jp.u)})
        self._joint_memo: dict[tuple[int, ...], list[tuple[int, str, float] | None]] = {}
        self._tf_memo: list[dict[Any, float] | None] = []
        self._reset_tf()

    def with_term_frequencies(self, tf: Mapping[str, FSTermFrequencies]) -> FSScorer:
        """Use these term-frequency tables for the fields that have none in the model (offline data)."""
        for f, t in tf.items():
            if f in self.rule.tf and f not in self.tf:
                self.tf[f] = t
        self._reset_tf()
        return self

    def _reset_tf(self) -> None:
        self._tf_memo = [{} if sp.field in self.tf else None for sp in self.specs]
        self._words: dict[tuple[int, int, float, float | None, bool], str] = {}
        self._evidence: dict[tuple[tuple[int, ...], tuple[float | None, ...]], tuple[dict[str, float], dict[str, Any]]] = {}
        self._plans: dict[tuple[int, ...], tuple[Any, ...] | list[float | None]] = {}
        self._joint_words: dict[tuple[int, int, str | None], str] = {}

    # ---- levels -----------------------------------------------------------------------------------
    def normalised(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {s.field: s.norm(record.get(s.field)) for s in self.specs}

    def normalised_tuple(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        """The normalised values in field order (what the fast path compares)."""
        get = record.get
        return tuple([norm(get(f)) for f, norm in zip(self._fields, self._norms)])

    def pin(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """Normalise records that will not change while this scorer is used (an offline run's files) and
        find them again by identity, without reading their values: their normalised tuples, in order."""
        out = []
        for rec in records:
            norm = self.normalised_cached(rec)
            self._pinned[id(rec)] = (rec, norm)     # the entry holds the record: its id stays its own
            out.append(norm)
        return out

    def normalised_cached(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        """Normalised values, cached by the raw values themselves (never stale, whoever holds the record),
        or found by identity for a pinned record."""
        hit = self._pinned.get(id(record))
        if hit is not None and hit[0] is record:
            return hit[1]
        get = record.get
        key = tuple([get(f) for f in self._fields])
        try:
            hit = self._cache.get(key)
        except TypeError:           # an unhashable value (a list): no caching
            return self.normalised_tuple(record)
        if hit is None:
            hit = self._cache.put(key, self.normalised_tuple(record))
        return hit

    def _cached(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return dict(zip(self._fields, self.normalised_cached(record)))

    def levels(self, a: Mapping[str, Any], b: Mapping[str, Any], *, normalised: bool = False) -> list[int]:
        """The level index of every field (NOT_COMPARED where a value is missing)."""
        if normalised:
            return self._lc.levels(tuple([a.get(f) for f in self._fields]), tuple([b.get(f) for f in self._fields]))
        return self._lc.levels(self.normalised_tuple(a), self.normalised_tuple(b))

    def tuple_levels(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> list[int]:
        """Levels of two normalised tuples (``normalised_tuple``)."""
        return self._lc.levels(a, b)

    def tuple_vector(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[int, ...]:
        """``tuple_levels`` as a tuple (remembered per pair; what training counts)."""
        return self._lc.vector(a, b)

    # ---- weights ----------------------------------------------------------------------------------
    def tf_adjustment(self, field: str, value: Any) -> float:
        t = self.tf.get(field)
        if t is None or value is None:
            return 0.0
        freq = t.values.get(str(value), t.other)
        return max(-TF_CAP, min(TF_CAP, _log2(t.base) - _log2(freq)))

    def joint(self, vec: Sequence[int]) -> list[tuple[int, str, float] | None]:
        """Per ``dependent`` group, (the field carrying its weight, pattern, joint weight) when the model learned
        the pattern of ``vec`` (hub/matching/fs_groups.py), else None."""
        key = tuple(vec)
        hit = self._joint_memo.get(key)
        if hit is not None:
            return hit
        if len(self._joint_memo) >= MEMO_PAIRS:
            self._joint_memo.clear()
        out: list[tuple[int, str, float] | None] = self._joint_memo.setdefault(key, [])
        for members, table in zip(self._members, self._joint):
            p = None if table is None else pattern(vec, members, self._sizes)
            w = None if p is None else table.get(p)          # type: ignore[union-attr]
            out.append(None if w is None else (next(k for k in members if vec[k] >= 0), p, w))  # type: ignore[arg-type]
        return out

    def counted(self, ws: Sequence[float | None], vec: Sequence[int] | None = None) -> list[float | None]:
        """The weight the total counts of each field (in field order; None: not compared). Fields of a
        ``dependent`` group are one piece of evidence: with the level vector ``vec`` and a model that learned
        the group's pattern, the pattern's weight counts once (on the group's first compared field); else, of
        the group's agreeing fields (weight >= 0) only the strongest counts, of its disagreeing fields only
        the strongest disagreement; the others count 0."""
        out = list(ws)
        if not self._grouped:
            return out
        done: set[int] = set()
        if vec is not None:
            for g, hit in enumerate(self.joint(vec)):
                if hit is not None:
                    for k in self._members[g]:
                        if out[k] is not None:
                            out[k] = 0.0
                    out[hit[0]] = hit[2]
                    done.add(g)
        best: dict[tuple[int, bool], int] = {}
        for k, w in enumerate(ws):
            g = self._group[k]
            if g < 0 or w is None or g in done:
                continue
            key = (g, w >= 0)
            j = best.get(key)
            if j is None:
                best[key] = k
            elif (w > ws[j]) if w >= 0 else (w < ws[j]):     # type: ignore[operator]
                out[j] = 0.0
                best[key] = k
            else:
                out[k] = 0.0
        return out

    def _total(self, ta: tuple[Any, ...], tb: tuple[Any, ...]) -> float | None:
        """The match probability of two normalised tuples (None: the rule does not apply); the same number
        as ``score`` gives, without building the per-field evidence."""
        return self.total_of(self._lc.vector(ta, tb), ta)

    def total_of(self, vec: tuple[int, ...], ta: tuple[Any, ...]) -> float | None:
        """``_total`` of a pair whose level vector is ``vec`` (``ta``: the first record's normalised tuple, whose
        values the term-frequency adjustments read)."""
        plan = self._plans.get(vec)
        if plan is None:
            plan = self._plans[vec] = self._plan(vec)
        if type(plan) is not tuple:         # the probability itself (no term frequency involved), or None
            return plan[0]
        if len(plan) == 3:                  # a term-frequency field inside a dependent group: grouped per pair
            raw, tf_fields, vec = plan
            raw = list(raw)
            for k in tf_fields:
                raw[k] += self._tf_adj(k, ta[k])
            return self.probability(self.prior_weight + sum(w for w in self.counted(raw, vec) if w is not None))
        ws, slots = plan
        ws = list(ws)
        for pos, k in slots:
            ws[pos] += self._tf_adj(k, ta[k])
        return self.probability(self.prior_weight + sum(ws))

    def _tf_adj(self, k: int, v: Any) -> float:
        memo = self._tf_memo[k]
        adj = memo.get(v)                   # type: ignore[union-attr]
        if adj is None:
            adj = memo[v] = self.tf_adjustment(self._fields[k], v)      # type: ignore[index]
        return adj

    def _plan(self, vec: tuple[int, ...]) -> tuple[Any, ...] | list[float | None]:
        """What a level vector contributes, worked out once per distinct vector: the counted weights of its
        compared fields in field order and where a term-frequency adjustment goes (position, field index); or,
        when no adjustment applies, ``[probability]`` (``[None]``: the rule does not apply); or, when an
        adjustment falls on a field of a ``dependent`` group, (weights per field, those fields, None), grouped
        per pair. Same arithmetic as ``score``: each field's counted weight, summed in field order, plus the prior."""
        raw: list[float | None] = [None if lv < 0 else self._w[k][lv] for k, lv in enumerate(vec)]
        compared = [k for k, lv in enumerate(vec) if lv >= 0]
        if len(compared) < self.rule.min_fields:
            return [None]
        if self._require and (self._require[0] < 0 or any(vec[k] == NOT_COMPARED for k in self._require)):
            return [None]
        tf_fields = [k for k in compared if vec[k] == 0 and self._tf_memo[k] is not None]
        if any(self._group[k] >= 0 for k in tf_fields):
            return (raw, tf_fields, vec)
        counted = self.counted(raw, vec)
        ws: list[float] = [counted[k] for k in compared]       # type: ignore[misc]
        if tf_fields:
            return ws, [(pos, k) for pos, k in enumerate(compared) if k in tf_fields]
        return [self.probability(self.prior_weight + sum(ws))]

    def probabilities(self, record: Mapping[str, Any], others: Sequence[Mapping[str, Any]]) -> list[float | None]:
        """The match probability of ``record`` against each of ``others`` (None where the rule does not apply)."""
        cached, vector, total_of = self.normalised_cached, self._lc.vector, self.total_of
        ta = cached(record)
        return [total_of(vector(ta, cached(o)), ta) for o in others]

    def field_weights(self, levels: list[int], na: Mapping[str, Any]) -> dict[str, float]:
        """The weight each compared field adds to the total (a ``dependent`` group's fields beyond its
        strongest agreement and disagreement add 0)."""
        raw: list[float | None] = []
        for s, lv in zip(self.specs, levels):
            if lv == NOT_COMPARED:
                raw.append(None)
                continue
            w = self.weights[s.field][lv]
            if lv == 0 and s.field in self.tf:
                w += self.tf_adjustment(s.field, na.get(s.field))
            raw.append(w)
        return {s.field: w for s, w in zip(self.specs, self.counted(raw, levels)) if w is not None}

    def probability(self, weight: float) -> float:
        if weight > 60:
            return 1.0
        if weight < -60:
            return 0.0
        return 1.0 / (1.0 + 2.0 ** -weight)

    def score(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[float | None, dict[str, float]]:
        """(match probability, weight in bits per compared field); None when the rule does not apply
        (fewer than ``min_fields`` compared, or a ``require`` field missing)."""
        na, nb = self._cached(a), self._cached(b)
        levels = self.levels(na, nb, normalised=True)
        fw = self.field_weights(levels, na)
        rounded = {f: round(w, 2) for f, w in fw.items()}
        if len(fw) < self.rule.min_fields or any(f not in fw for f in self.rule.require):
            return None, rounded
        return self.probability(self.prior_weight + sum(fw.values())), rounded

    def explain(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
        """The evidence of a pair in numbers and in words."""
        return self.evidence(a, b)[1]

    def evidence(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
        """(``score``'s weights per field, ``explain``'s evidence) of a pair, its levels computed once."""
        ta = self.normalised_cached(a)
        return self.evidence_of(tuple(self._lc.levels(ta, self.normalised_cached(b))), ta)

    def evidence_of(self, vec: tuple[int, ...], ta: tuple[Any, ...]) -> tuple[dict[str, float], dict[str, Any]]:
        """``evidence`` of a pair whose level vector is ``vec`` (``ta``: the first record's normalised tuple)."""
        # the evidence depends on the levels and the term-frequency adjustments only: built once per both
        key = (vec, tuple([self._tf_adj(k, ta[k]) if lv == 0 and self._tf_memo[k] is not None else None
                           for k, lv in enumerate(vec)]))
        hit = self._evidence.get(key)
        if hit is None:
            if len(self._evidence) >= MEMO_PAIRS:
                self._evidence.clear()
            hit = self._evidence[key] = self._build_evidence(list(vec), ta)
        rounded, explained = hit
        return dict(rounded), {**explained, "levels": dict(explained["levels"]), "explain": list(explained["explain"])}

    def _build_evidence(self, levels: list[int], ta: tuple[Any, ...]) -> tuple[dict[str, float], dict[str, Any]]:
        raw: list[float | None] = []
        adjs: list[float | None] = []
        for k, lv in enumerate(levels):
            if lv == NOT_COMPARED:
                raw.append(None)
                adjs.append(None)
                continue
            w = self._w[k][lv]
            adj = None
            if lv == 0 and self._tf_memo[k] is not None:
                adj = self.tf_adjustment(self.specs[k].field, ta[k])
                w += adj
            raw.append(w)
            adjs.append(adj)
        counted = self.counted(raw, levels)
        joint = {hit[0]: (g, hit) for g, hit in enumerate(self.joint(levels)) if hit is not None} if self._grouped else {}
        jointly = {k for g, _hit in joint.values() for k in self._members[g]}
        fw: dict[str, float] = {}           # field_weights(levels, ...), with each field's sentence
        words = []
        for k, (s, lv) in enumerate(zip(self.specs, levels)):
            w = raw[k]
            if w is None:
                words.append(f"{s.field}: not compared (missing on one side)")
                continue
            fw[s.field] = counted[k]        # type: ignore[assignment]
            dropped = counted[k] != w
            if k in jointly:
                words.append(self._joint_sentence(k, joint, s, lv))
                continue
            key = (k, lv, w, adjs[k], dropped)
            text = self._words.get(key)
            if text is None:
                if len(self._words) >= MEMO_PAIRS:
                    self._words.clear()
                text = self._sentence(s, lv, w, adjs[k])
                if dropped:
                    others = [f for f in self.rule.dependent[self._group[k]] if f != s.field]
                    text += (f"; not added: one piece of evidence with {', '.join(others)}, whose strongest "
                             f"{'agreement' if w >= 0 else 'disagreement'} counts once")
                self._words[key] = text
            words.append(text)
        rounded = {f: round(w, 2) for f, w in fw.items()}
        total = self.prior_weight + sum(fw.values())
        p = self.probability(total)
        words.append(f"prior {self.prior_weight:+.1f} bits; total {total:+.1f} bits: match probability {p:.6f}")
        return rounded, {"levels": {s.field: s.levels[lv] for s, lv in zip(self.specs, levels) if lv != NOT_COMPARED},
                         "match_weight": round(total, 2), "probability": round(p, 6), "explain": words,
                         "trained": self.model is not None}

    def _joint_sentence(self, k: int, joint: Mapping[int, tuple[int, tuple[int, str, float]]], s: FieldSpec,
                        lv: int) -> str:
        """A field of a group whose pattern the model learned: the carrier tells the pattern and its weight."""
        key = (k, lv, joint[k][1][1] if k in joint else None)
        text = self._joint_words.get(key)
        if text is None:
            if len(self._joint_words) >= MEMO_PAIRS:
                self._joint_words.clear()
            text = self._joint_words[key] = self._joint_text(k, joint, s, lv)
        return text

    def _joint_text(self, k: int, joint: Mapping[int, tuple[int, tuple[int, str, float]]], s: FieldSpec,
                    lv: int) -> str:
        label = s.levels[lv]
        text = WORDS.get(label, label).format(other=s.swap_with)
        if k not in joint:
            return f"{s.field}: {text}; counted in its group's joint evidence"
        g, (_k, p, w) = joint[k]
        group = self.rule.dependent[g]
        odds = 2 ** abs(w)
        odds_text = f"{odds:,.0f}" if odds >= 10 else f"{odds:.1f}"
        return (f"{s.field}: {text}; with {', '.join(f for f in group if f != s.field)} one piece of evidence, "
                f"learned jointly: {describe(p, group)} ({w:+.1f} bits, {odds_text}x "
                f"{'for' if w >= 0 else 'against'} the same entity)")

    @staticmethod
    def _sentence(s: FieldSpec, lv: int, w: float, adj: float | None) -> str:
        """One compared field's evidence in words."""
        label = s.levels[lv]
        text = WORDS.get(label, label).format(other=s.swap_with)
        odds = 2 ** abs(w)
        direction = "for" if w >= 0 else "against"
        odds_text = f"{odds:,.0f}" if odds >= 10 else f"{odds:.1f}"
        tf = "" if adj is None else f", {adj:+.1f} bits for how common the value is"
        return f"{s.field}: {text} ({w:+.1f} bits, {odds_text}x {direction} the same entity{tf})"


def _close(x: Any, y: Any) -> bool:
    return x == y or (isinstance(x, str) and isinstance(y, str) and one_edit(x, y))


def reference_levels(scorer: FSScorer, na: Mapping[str, Any], nb: Mapping[str, Any]) -> list[int]:
    """The levels of two normalised records read straight from the rules, one field at a time: the
    reference the fast path (hub/matching/fs_levels.py) must agree with (tests compare the two)."""
    out = []
    skip: set[str] = set()
    for s in scorer.specs:
        x, y = na.get(s.field), nb.get(s.field)
        if s.field in skip or x is None or y is None:
            out.append(NOT_COMPARED)
            continue
        if s.kind in ("name", "person_name") and N.has_cjk(str(x)) != N.has_cjk(str(y)):
            out.append(NOT_COMPARED)      # Latin against CJK says nothing either way
            continue
        label = level_label(s.kind, x, y)
        if s.swap_with and label != "exact":
            ox, oy = na.get(s.swap_with), nb.get(s.swap_with)
            if ox is not None and oy is not None and ox != oy and _close(x, oy) and _close(ox, y):
                label = "swapped"
                skip.add(s.swap_with)
        out.append(s.levels.index(label))
    return out
