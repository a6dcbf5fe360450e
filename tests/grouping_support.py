"""Helpers shared by the ``plan_import`` tests (test_grouping.py, test_grouping_shards.py)."""

from __future__ import annotations

from pumas_core.ingest.grouping import ImportPlan, ImportUnit


def only(plan: ImportPlan) -> ImportUnit:
    """The plan's one unit (asserts no errors and exactly one unit)."""
    assert plan.errors == []
    assert len(plan.units) == 1, [u.name for u in plan.units]
    return plan.units[0]


def rel(unit: ImportUnit) -> list[str]:
    """The unit's file names relative to its root."""
    return unit.relative_names()
