"""Rule-based matching: exact keys first, then weighted fuzzy comparisons over blocked candidates.

``RuleMatcher.keys(record)`` gives every key the record is indexed under in ``match_hash``: one per
exact rule, plus the blocking keys of the fuzzy rules. Candidates for a new record are the golden
records that share at least one key (indexed lookups, never a scan of all golden records).

``RuleMatcher.decide(record, candidates, data)`` then tries the rules in order:

* an exact rule whose key finds exactly one golden record links to it (score 1.0); one that finds
  several is ambiguous and goes to review;
* fuzzy rules score every blocked candidate (``data`` holds the candidates' golden records):
  the weighted mean of the field scores over the fields both records have. The best total at or
  above the rule's ``link`` threshold, ahead of the runner-up by ``margin``, links; a total at or
  above ``review`` goes to the review queue; anything lower is a new golden record.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import product
from typing import Any

from concord.hub.config.model import MatchRule
from concord.hub.matching import normalise as N
from concord.hub.matching.compare import COMPARATORS, default_comparator, normaliser_for
from concord.hub.matching.exact import Candidate, Decision, exact_key
from concord.hub.matching.fs import FSScorer
from concord.hub.matching.fs_kinds import normaliser as fs_normaliser

_PLAIN = frozenset({str, int, bool, type(None)})   # value types whose equality implies equal keys
KEY_MEMO = 4096         # records whose keys are remembered (per generation; two generations > a batch)
MAX_BLOCK = 50          # a blocking key shared by more golden records than this is too common to use
NAME_EDIT_CHARS = 24    # name_edits, name_split: blocking keys over at most this many leading characters
NAME_SPLIT_PARTS = 4    # name_split: windows per name length (a name gives twice as many keys)
NAME_SPLIT_END = 2      # name_split: width of the first and the last window (0: all windows even)
FREE_MAIL = frozenset({"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
                       "icloud.com", "gmx.de", "gmx.net", "web.de", "aol.com", "qq.com", "163.com", "126.com",
                       "mail.ru", "yandex.ru", "proton.me", "protonmail.com", "t-online.de", "orange.fr"})


def _edits(s: str) -> list[str]:
    """The string and every single-character deletion of it: two strings within one edit (insert,
    delete, substitute or swap of neighbours) always share one of these."""
    s = s[:NAME_EDIT_CHARS]
    if len(s) > 3:
        return sorted({s, *[s[:i] + s[i + 1:] for i in range(len(s))]})
    return [s]


def _windows(n: int) -> list[tuple[int, int]]:
    """``NAME_SPLIT_PARTS`` windows ``[a, b)`` over positions ``0..n-1``, each overlapping the next by one
    position, so every position and every pair of neighbours lies inside one window. The first and the
    last window are ``NAME_SPLIT_END`` positions wide (the keys that cut them keep the rest of the name:
    a common stem with a distinguishing ending, or the reverse, stays selective), the others share the
    rest evenly; a name too short for that: all windows as even as they come."""
    k, e = NAME_SPLIT_PARTS, NAME_SPLIT_END
    total = n + k - 1
    if e and k > 2 and total - 2 * e >= 2 * (k - 2):
        q, r = divmod(total - 2 * e, k - 2)
        sizes = [e, *[q + (i < r) for i in range(k - 2)], e]
    else:
        q, r = divmod(total, k)
        sizes = [q + (i < r) for i in range(k)]
    out, a = [], 0
    for w in sizes:
        out.append((a, a + w))
        a += w - 1
    return out


def _split(s: str) -> list[str]:
    """The guarantee of :func:`_edits` with fewer keys (a pigeonhole scheme): ``2 * NAME_SPLIT_PARTS``.

    A key is the name with one window (:func:`_windows`) cut out, tagged ``n.i:`` (length, window).
    *Same length* (substitution, swap of neighbours): the edit lies inside one window, whose keys are
    then equal. *Lengths m and m+1* (insert or delete at position j): the longer name's key cuts
    ``[a, b)``, the shorter name's key (tagged m+1) cuts ``[a, b-1)``; the window with ``a <= j < b``
    gives equal keys. So a name of length n gives its own keys (tag n) and those it has as the shorter
    partner of a name of length n+1 (tag n+1). Names past ``NAME_EDIT_CHARS`` are cut to that length and
    give the shorter-partner keys of their first ``NAME_EDIT_CHARS - 1`` characters: an edit among the
    first characters still meets, differences further on are invisible (as for ``name_edits``). Names
    of up to 2 characters: the name itself; of 3: the shorter-partner keys only (they meet a 4-character
    name one edit away, and equal names)."""
    n = len(s)
    if n <= 2:
        return [s]
    if n >= NAME_EDIT_CHARS:
        s, n = s[:NAME_EDIT_CHARS], NAME_EDIT_CHARS
        short, m = s[:-1], n
    else:
        short, m = s, n + 1
    out = [f"{m}.{i}:{short[:a]}{short[b - 1:]}" for i, (a, b) in enumerate(_windows(m))]
    if n >= 4:
        out += [f"{n}.{i}:{s[:a]}{s[b:]}" for i, (a, b) in enumerate(_windows(n))]
    return list(dict.fromkeys(out))


def _name_norm(field: str) -> Callable[[Any], str | None]:
    return N.person_name if default_comparator(field) == "person_name" else N.company_name


def _block_fn(fn: str, field: str) -> Callable[[Any], list[str]]:
    """The values one blocking-key part gives for a (non-empty) field value, its normaliser chosen once."""
    if fn in ("name", "name_edits", "name_split", "initial"):
        norm, compact = _name_norm(field), N.compact
        if fn == "name":
            def name(value: Any) -> list[str]:
                v = compact(norm(value))
                return [v] if v else []
            return name
        if fn == "name_edits":
            def name_edits(value: Any) -> list[str]:
                v = compact(norm(value))
                return _edits(v) if v else []
            return name_edits
        if fn == "name_split":
            def name_split(value: Any) -> list[str]:
                v = compact(norm(value))
                return _split(v) if v else []
            return name_split

        def initial(value: Any) -> list[str]:
            v = compact(norm(value))
            return [v[0]] if v else []
        return initial
    if fn == "phone":
        def phone(value: Any) -> list[str]:
            v = N.phone(value)
            return [v.lstrip("+")[-9:]] if v else []
        return phone
    if fn == "email":
        def email(value: Any) -> list[str]:
            v = N.email(value)
            return [v] if v else []
        return email
    if fn == "domain":
        def domain(value: Any) -> list[str]:
            v = N.domain(value)
            return [v] if v and v not in FREE_MAIL else []
        return domain
    if fn == "year":
        def year(value: Any) -> list[str]:
            v = N.date(value)
            return [v[:4]] if v else []
        return year
    normaliser = normaliser_for(field)

    def exact(value: Any) -> list[str]:
        v = normaliser(value)
        return [v] if v else []
    return exact


def part_normaliser(fn: str, field: str) -> tuple[Callable[[Any], Any], Callable[[Any], list[str]]]:
    """A blocking-key part as (normaliser, values of a normalised value): ``_block_fn(fn, field)(value)`` equals
    ``values(normaliser(value))`` for every present value. The normaliser is the very function a probabilistic
    rule's field of that kind normalises with (fs_kinds.normaliser), so offline matching (hub/matching/bulk.py)
    reads the value the scorer normalised instead of normalising it again."""
    if fn in ("name", "name_edits", "name_split", "initial"):
        kind = "person_name" if default_comparator(field) == "person_name" else "name"
        norm = fs_normaliser(kind, field)          # compact(person_name / company_name), as _block_fn
        values: Callable[[Any], list[str]] = {
            "name": lambda v: [v] if v else [], "name_edits": lambda v: _edits(v) if v else [],
            "name_split": lambda v: _split(v) if v else [], "initial": lambda v: [v[0]] if v else []}[fn]
        return norm, values
    if fn == "phone":
        return N.phone, lambda v: [v.lstrip("+")[-9:]] if v else []
    if fn == "email":
        return N.email, lambda v: [v] if v else []
    if fn == "domain":
        return N.domain, lambda v: [v] if v and v not in FREE_MAIL else []
    if fn == "year":
        return N.date, lambda v: [v[:4]] if v else []
    return normaliser_for(field), lambda v: [v] if v else []


PART_MEMO = 50_000      # distinct values a blocking-key part remembers (cleared when full)
PART_PROBE = 2_000      # values a part remembers before it checks that they repeat


def _remembering(fn: Callable[[Any], list[str]]) -> Callable[[Any], list[str]]:
    """A part's values remembered per distinct text value: postcodes, surnames, initials and dates repeat
    thousands of times in a load. A part whose values hardly repeat (under 10% after ``PART_PROBE`` values:
    full names, e-mails) stops remembering, so memory stays bounded and nothing is stored for nothing."""
    memo: dict[str, list[str]] = {}
    seen = [0, 0]                   # values remembered, values found again

    def values(value: Any) -> list[str]:
        if type(value) is not str:
            return fn(value)
        hit = memo.get(value)
        if hit is not None:
            seen[1] += 1
            return hit
        if seen[0] >= PART_PROBE and seen[1] * 10 < seen[0]:
            return fn(value)
        seen[0] += 1
        if len(memo) >= PART_MEMO:
            memo.clear()
        hit = memo[value] = fn(value)
        return hit
    return values


MULTI_FNS = frozenset({"name_edits", "name_split"})     # part functions giving several values of one value
KEY_CHARS = 400                                        # a key's value is cut to this many characters


def _join(lists: Sequence[list[str]]) -> list[str]:
    """A key's values from its parts' values: every combination, parts joined by ``|`` ([]: a part has none)."""
    if len(lists) == 1:
        return list(lists[0])
    if not all(lists):
        return []
    if all(len(vs) == 1 for vs in lists):
        return ["|".join([vs[0] for vs in lists])]
    return ["|".join(c) for c in product(*lists)]


class BlockKey:
    """One blocking key spec, ``function:field[+function:field...]``; at most one part may be multi-valued.

    ``parts``: the part functions of other keys of the same rules, shared (``exact:postal_code`` in three keys
    is normalised once per value). ``values`` gives one record's values; ``column`` every record's keys at once
    (offline matching, hub/matching/bulk.py), the same."""

    def __init__(self, spec: str, parts: dict[tuple[str, str], Callable[[Any], list[str]]] | None = None) -> None:
        self.spec = spec.replace(" ", "")
        self.name = "b:" + self.spec
        self.parts = [tuple(p.split(":", 1)) for p in self.spec.split("+")]
        shared = {} if parts is None else parts
        for fn, field in self.parts:
            if (fn, field) not in shared:
                shared[(fn, field)] = _remembering(_block_fn(fn, field))
        self._fns = [(field, shared[(fn, field)]) for fn, field in self.parts]
        self.multi = any(fn in MULTI_FNS for fn, _field in self.parts)     # a record may have several values

    def values(self, record: Mapping[str, Any]) -> list[str]:
        lists = []
        for field, fn in self._fns:
            value = record.get(field)
            if value is None or value == "":
                return []
            vals = fn(value)
            if not vals:
                return []
            lists.append(vals)
        return _join(lists)

    def column(self, raw: Callable[[str], Sequence[Any]],
               normalised: Mapping[str, tuple[Callable[[Any], Any], Sequence[tuple[Any, ...]], int]]
               ) -> list[list[tuple[str, str]]]:
        """Every record's keys of this block, ``(name, value)`` as ``RuleMatcher.keys`` gives them ([]: none).
        ``raw(field)``: every record's raw value of a field; ``normalised``: per field, (normaliser, every
        record's normalised tuple, the field's index in it) of a probabilistic rule's scorer. A part whose
        normaliser is that very function (``part_normaliser``) reads the normalised value instead of normalising
        again; every part's values are worked out once per distinct value."""
        empty: list[Any] = []
        parts: list[list[list[str]]] = []
        for (fn, field), (_f, part) in zip(self.parts, self._fns):
            norm, values = part_normaliser(fn, field)
            raws = raw(field)
            spec = normalised.get(field)
            if spec is not None and spec[0] is norm:
                memo: dict[Any, list[str]] = {}
                k = spec[2]
                parts.append([empty if r is None or r == "" else
                              (hit if (hit := memo.get(v := t[k])) is not None else memo.setdefault(v, values(v)))
                              for r, t in zip(raws, spec[1])])
            else:
                parts.append([empty if r is None or r == "" else part(r) for r in raws])
        name = self.name
        if len(parts) == 1:
            return [[(name, v[:KEY_CHARS]) for v in vs] if vs else empty for vs in parts[0]]
        out: list[list[tuple[str, str]]] = []
        for lists in zip(*parts):               # _join, inline: most records have one value per part
            if not all(lists):
                out.append(empty)
            elif all(len(vs) == 1 for vs in lists):
                out.append([(name, "|".join([vs[0] for vs in lists])[:KEY_CHARS])])
            else:
                out.append([(name, v[:KEY_CHARS]) for v in _join(lists)])
        return out


class RuleMatcher:
    """The configured rules of one entity (see the module docstring)."""

    def __init__(self, rules: Sequence[MatchRule], *, max_block: int = MAX_BLOCK) -> None:
        self.rules = list(rules)
        self.max_block = max_block
        self.exact = [r for r in self.rules if r.type == "exact"]
        self._exact_names = frozenset(r.key_name for r in self.exact)
        self.fuzzy = [r for r in self.rules if r.type in ("fuzzy", "probabilistic")]   # in order
        self.blocks: dict[str, BlockKey] = {}
        self.rule_blocks: dict[str, set[str]] = {}
        parts: dict[tuple[str, str], Callable[[Any], list[str]]] = {}
        for r in self.fuzzy:
            names = set()
            for spec in r.block:
                bk = BlockKey(spec, parts)
                self.blocks.setdefault(bk.name, bk)
                names.add(bk.name)
            self.rule_blocks[r.key_name] = names
        self._cmp = {r.key_name: [(f, COMPARATORS[r.compare.get(f) or default_comparator(f)],
                                   float(r.weights.get(f, 1.0))) for f in r.fields] for r in self.fuzzy
                     if r.type == "fuzzy"}
        self.fs_scorers = {r.key_name: FSScorer(r) for r in self.fuzzy if r.type == "probabilistic"}
        fields = [f for r in self.exact for f in r.fields]
        fields += [f for bk in self.blocks.values() for _fn, f in bk.parts]
        self._key_fields = tuple(dict.fromkeys(fields))       # what keys() reads of a record
        self._memo: dict[Any, tuple[tuple[str, str], ...]] = {}
        self._memo_old: dict[Any, tuple[tuple[str, str], ...]] = {}

    @property
    def needs_data(self) -> bool:
        """Whether decide() needs the candidates' golden records (fuzzy rules do)."""
        return bool(self.fuzzy)

    # ---- keys -----------------------------------------------------------------------------------
    def keys(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        """The record's keys, computed once per distinct set of key-field values.

        A record's keys depend only on the values (and their types) of the fields the exact rules
        and blocking keys read, so the engine's several asks for one record (candidates, decision
        evidence, the golden record's keys when it holds the same values) cost one computation.
        The memo keeps two generations of ``KEY_MEMO`` entries: memory stays bounded."""
        get = record.get
        vals = tuple([get(f) for f in self._key_fields])
        types = tuple(map(type, vals))
        if not _PLAIN.issuperset(types):       # floats, decimals, lists...: equal values may key differently
            return self._keys(record)
        memo_key = (vals, types)
        hit = self._memo.get(memo_key)
        if hit is None:
            hit = self._memo_old.get(memo_key)
            if hit is None:
                hit = tuple(self._keys(record))
            self._remember(memo_key, hit)
        return list(hit)

    def keys_alone(self, record: Mapping[str, Any]) -> tuple[list[tuple[str, str]], Decision]:
        """The record's keys and its decision with no candidate (``decide(record, ())``), worked out together
        and remembered nowhere: for a record keyed once (a mapping worker's), where a memo costs more than it
        saves. The decision's evidence holds the exact-rule keys, which are the keys' first entries."""
        keys = self._keys(record)
        exact = self._exact_names
        return keys, Decision("new", None, None, None, {"keys": {n: v for n, v in keys if n in exact}})

    def remember(self, record: Mapping[str, Any], keys: Sequence[tuple[str, str]]) -> None:
        """Take ``keys`` as ``record``'s keys: computed elsewhere by a matcher of the same rules (a mapping
        worker, hub/engine/mapping_pool.py), so asking here later costs a lookup."""
        get = record.get
        vals = tuple([get(f) for f in self._key_fields])
        types = tuple(map(type, vals))
        if _PLAIN.issuperset(types):
            self._remember((vals, types), tuple(keys))

    def _remember(self, memo_key: Any, keys: tuple[tuple[str, str], ...]) -> None:
        if len(self._memo) >= KEY_MEMO:
            self._memo_old, self._memo = self._memo, {}
        self._memo[memo_key] = keys

    def _keys(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for rule in self.exact:
            k = exact_key(rule, record)
            if k is not None:
                out.append((rule.key_name, k))
        for name, bk in self.blocks.items():
            out += [(name, v[:KEY_CHARS]) for v in bk.values(record)]
        return list(dict.fromkeys(out))

    def exact_keys(self, record: Mapping[str, Any]) -> dict[str, str]:
        """The record's exact-rule keys by rule (a new record's evidence): no blocking keys computed."""
        out: dict[str, str] = {}
        for rule in self.exact:
            k = exact_key(rule, record)
            if k is not None:
                out[rule.key_name] = k
        return out

    # ---- scoring ----------------------------------------------------------------------------------
    def score(self, rule: MatchRule, record: Mapping[str, Any], other: Mapping[str, Any]) -> tuple[float | None, dict[str, float]]:
        """(total, field scores) of one fuzzy rule for two flat records; total None: rule not applicable.
        A probabilistic rule's total is the match probability, its field scores are weights in bits."""
        if rule.key_name in self.fs_scorers:
            return self.fs_scorers[rule.key_name].score(record, other)
        scores: dict[str, float] = {}
        num = den = 0.0
        for f, cmp, w in self._cmp[rule.key_name]:
            s = cmp(record.get(f), other.get(f))
            if s is None:
                continue
            scores[f] = round(s, 4)
            num += w * s
            den += w
        if len(scores) < rule.min_fields or any(f not in scores for f in rule.require) or den <= 0:
            return None, scores
        return num / den, scores

    # ---- decisions ---------------------------------------------------------------------------------
    def decide(self, record: Mapping[str, Any], candidates: Sequence[Candidate],
               data: Mapping[str, Mapping[str, Any]] | None = None) -> Decision:
        if not candidates:           # nothing to link to: what every path below gives with no candidate
            return Decision("new", None, None, None, {"keys": self.exact_keys(record)})
        by_key: dict[str, list[Candidate]] = {}
        for c in candidates:
            by_key.setdefault(c.rule, []).append(c)
        for rule in self.exact:
            found = sorted({c.golden_id for c in by_key.get(rule.key_name, [])})
            if len(found) == 1:
                key = by_key[rule.key_name][0].key
                return Decision("link", found[0], rule.key_name, 1.0,
                                {"rule": rule.key_name, "type": "exact", "fields": list(rule.fields), "key": key})
            if len(found) > 1:
                return Decision("ambiguous", None, rule.key_name, None,
                                {"rule": rule.key_name, "type": "exact", "candidates": found[:20],
                                 "reason": f"{len(found)} golden records share this key"})
        if not self.fuzzy or data is None:
            return Decision("new", None, None, None, {"keys": self.exact_keys(record)})
        best_review: Decision | None = None
        oversized: list[str] = []
        for rule in self.fuzzy:
            gids = self._blocked(rule, by_key, oversized)
            scored: list[tuple[float, str, dict[str, float] | None]] = []
            fs = self.fs_scorers.get(rule.key_name)
            if fs is not None:       # totals only; the evidence of the best candidate is built below
                found = [(gid, other) for gid in gids if (other := data.get(gid)) is not None]
                totals = fs.probabilities(record, [other for _gid, other in found])
                scored = [(t, gid, None) for t, (gid, _o) in zip(totals, found) if t is not None]
            else:
                for gid in gids:
                    other = data.get(gid)
                    if other is None:
                        continue
                    total, fields = self.score(rule, record, other)
                    if total is not None:
                        scored.append((total, gid, fields))
            if not scored:
                continue
            scored.sort(key=lambda t: (-t[0], t[1]))
            total, gid, fields = scored[0]
            explained = None
            if fs is not None:
                fields, explained = fs.evidence(record, data[gid])
            runner = next((s for s in scored[1:] if s[1] != gid), None)
            link, best_review = self.verdict(rule, total, gid, fields, explained, runner, len(scored), oversized,
                                             best_review)
            if link is not None:
                return link
        return best_review if best_review is not None else self.new(record, oversized)

    def verdict(self, rule: MatchRule, total: float, gid: str, fields: dict[str, float] | None,
                explained: dict[str, Any] | None, runner: tuple[float, str, Any] | None, n_scored: int,
                oversized: Sequence[str], best_review: Decision | None) -> tuple[Decision | None, Decision | None]:
        """One fuzzy rule's outcome for a record whose best candidate ``gid`` scored ``total`` (``runner``: the
        next best, ``n_scored`` candidates scored): (the link, or None; the best review case so far)."""
        th = rule.thresholds
        evidence: dict[str, Any] = {"rule": rule.key_name, "type": rule.type, "candidate": gid,
                                    "fields": fields, "total": round(total, 4), "link_at": th.link,
                                    "review_at": th.review, "candidates": n_scored}
        if explained is not None:
            evidence.update(explained)
        if runner is not None:
            evidence["runner_up"] = {"golden_id": runner[1], "total": round(runner[0], 4)}
        if oversized:
            evidence["oversized_blocks"] = sorted(set(oversized))[:10]
        if total >= th.link and (runner is None or total - runner[0] >= th.margin):
            return Decision("link", gid, rule.key_name, round(total, 4), evidence), best_review
        if total >= th.review and (best_review is None or total > (best_review.score or 0)):
            if total >= th.link:
                evidence["reason"] = "runner-up within margin"
            best_review = Decision("review", gid, rule.key_name, round(total, 4), evidence)
        return None, best_review

    def new(self, record: Mapping[str, Any], oversized: Sequence[str] = ()) -> Decision:
        """A new golden record: the record's exact keys, and the blocks skipped as too common."""
        return Decision("new", None, None, None, {"keys": self.exact_keys(record),
                                                  **({"oversized_blocks": sorted(set(oversized))[:10]}
                                                     if oversized else {})})

    def _blocked(self, rule: MatchRule, by_key: Mapping[str, list[Candidate]], oversized: list[str]) -> list[str]:
        """Golden ids found by this rule's blocking keys (and by exact keys), skipping oversized blocks."""
        gids: dict[str, None] = {}
        for name in self.rule_blocks[rule.key_name]:
            per_value: dict[str, list[str]] = {}
            for c in by_key.get(name, []):
                per_value.setdefault(c.key, []).append(c.golden_id)
            for value, ids in per_value.items():
                if len(ids) > self.max_block:
                    oversized.append(f"{name}={value}")
                    continue
                gids.update(dict.fromkeys(ids))
        for rule_x in self.exact:
            gids.update(dict.fromkeys(c.golden_id for c in by_key.get(rule_x.key_name, [])))
        return list(gids)


def candidate_ids(candidates: Iterable[Candidate]) -> set[str]:
    return {c.golden_id for c in candidates}
