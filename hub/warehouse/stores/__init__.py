"""Stores own the SQL of the machinery tables: their statements, closed status types and batching.

The engine, CLI, demo and dashboard call stores rather than writing SQL on ``tables`` themselves
(``tests/test_stores_own_sql.py`` keeps it so, with a list of the modules not moved yet).

- ``staging``: staged records and cursors on the pull's path; ``staged``: staged records afterwards
  (planner, write outcomes, manual matching, re-match, dashboard)
- ``golden``: golden records and their lineage (load, save); ``lookup``: other reads of golden records;
  ``golden_reset``: emptying golden records for a rebuild
- ``xrefs``: cross-references; ``match_keys``: the match key index; ``decisions``: the match decision log
  and the review queue
- ``dirty``: the re-plan queue; ``outbox`` (and ``deadletters``): queued writes; ``written``: what each target
  holds (``target_state``)
- ``conflicts``, ``quarantine``: held conflicts and records that could not be processed
- ``runs``: the run ledger
"""
