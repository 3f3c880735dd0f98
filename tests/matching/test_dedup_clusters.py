"""Deduplication of one file: a person held four times is one cluster of six pairs, not four review cases.

In one file the runner-up of a record's candidates is, as often as not, another duplicate of it; the margin
that keeps a record from being linked to one of two look-alike golden records must not send such a
cluster to review (FEBRL's dataset3 has clusters of up to ten records)."""
from __future__ import annotations

from pathlib import Path

from bench.matching_people import FS_PERSON, person_rows, write_csv
from concord.hub.config.model import MatchRule
from concord.hub.matching.em import estimate
from concord.hub.matching.offline import match_files, read_records
from concord.hub.sandbox.world import PersonNoise, World


def test_a_person_held_four_times_is_one_cluster(tmp_path: Path) -> None:
    rows = person_rows(World(seed=23, size=400, person_noise=PersonNoise.realistic()), "erp", copies=False)
    base = next(r for r in rows if r.get("national_id") and r.get("birth_date") and r.get("email"))
    copies = [{**base, "id": f"{base['id']}-copy{k}"} for k in range(3)]
    copies[1]["first_name"] = base["first_name"][:-1] + "x"          # a typo
    copies[2].pop("email")                                             # a missing value
    path = write_csv(tmp_path / "people.csv", rows + copies)
    rule = MatchRule.model_validate(FS_PERSON)
    rule = rule.model_copy(update={"model": estimate(rule, [r for _i, r in read_records(path)], None).model})
    pairs, stats = match_files([rule], path)
    group = {base["id"], *(c["id"] for c in copies)}
    inside = {(p.left_id, p.right_id): p for p in pairs if p.left_id in group and p.right_id in group}
    assert len(inside) == 6, sorted((k, p.decision) for k, p in inside.items())
    assert {p.decision for p in inside.values()} <= {"link", "cluster"}, sorted((k, p.decision) for k, p in inside.items())
    assert len({p.cluster_id for p in inside.values()}) == 1
    # no one else joined them
    assert not [p for p in pairs if p.decision in ("link", "cluster") and (p.left_id in group) != (p.right_id in group)]
