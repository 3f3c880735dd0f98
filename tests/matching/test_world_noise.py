"""World person noise: off by default (the data other tests and benchmarks use is unchanged), seeded, at
the configured rates."""
from __future__ import annotations

from concord.hub.sandbox.world import PersonNoise, World

BASE = ("first_name", "last_name", "email", "phone", "mobile", "birth_date", "job_title", "company_index")


def test_default_world_is_unchanged_by_the_noise_knobs() -> None:
    plain, noisy = World(7, 200), World(7, 200, PersonNoise(typo=0.5, swap_names=0.5, missing=0.5))
    for i in range(400):
        a, b = plain.person(i), noisy.person(i)
        assert [getattr(a, f) for f in BASE] == [getattr(b, f) for f in BASE]      # family is 0: no household
        assert plain.person_copies("crm", i) == 1
    assert plain.person_view("crm", 3) == World(7, 200).person_view("crm", 3)      # deterministic
    v = plain.person_view("crm", 3)
    p = plain.person(3)
    assert (v["first_name"], v["last_name"], v["birth_date"], v["national_id"]) == (
        p.first_name, p.last_name, p.birth_date.isoformat(), p.national_id)


def test_noise_rates() -> None:
    n = 4000
    w = World(7, n // 2, PersonNoise(swap_names=0.2, swap_day_month=0.5, missing=0.3, family=0.5, duplicate=0.1,
                                     typo=0.2, phonetic=0.2))
    people = [w.person(i) for i in range(n)]
    views = [w.person_view("crm", i) for i in range(n)]
    only_swaps = World(7, n // 2, PersonNoise(swap_names=0.2))
    swapped = sum(v["first_name"] == p.last_name and v["last_name"] == p.first_name
                  for v, p in ((only_swaps.person_view("crm", i), only_swaps.person(i)) for i in range(n)))
    assert 0.16 < swapped / n < 0.24
    missing = sum(v["email"] is None for v in views) / n
    assert 0.25 < missing < 0.35
    dm = sum(bool(v["birth_date"]) and v["birth_date"][5:7] == p.birth_date.isoformat()[8:10]
             and p.birth_date.day != p.birth_date.month and p.birth_date.day <= 12 for v, p in zip(views, people))
    assert dm > 0
    households = sum(people[i].last_name == people[i - 1].last_name and people[i].street == people[i - 1].street
                     for i in range(1, n, 2))
    assert 0.4 < households / (n // 2) < 0.6
    dups = sum(w.person_copies("crm", i) == 2 for i in range(n)) / n
    assert 0.07 < dups < 0.13
    assert len({p.national_id for p in people}) == n
