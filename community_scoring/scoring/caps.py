"""Daily caps and once-only rules, applied per bucket (one member, one action type, one side, one UTC day).

A bucket's points depend only on how many actions it holds, never on their order, so caps give the same
result however events arrive:

- repeatable rule: points = clamp(count * unit, -cap, +cap)   (no cap: count * unit)
- once-only rule:  points = clamp(unit) in the member's earliest bucket of that type, 0 in every other one.

Incremental updates use ``delta = bucket_points(new) - bucket_points(old)``.
"""
from __future__ import annotations


def cap_clamp(points: float, daily_cap: float | None) -> float:
    """Clamp to [-cap, cap]; a cap of None leaves points unchanged."""
    if daily_cap is None:
        return points
    return max(-daily_cap, min(daily_cap, points))


def bucket_points(
    *, count: int, raw_points: float, unit: float, daily_cap: float | None, once_only: bool, is_first: bool
) -> float:
    """Points a bucket contributes before decay. ``raw_points`` is the uncapped sum (count * unit)."""
    if count <= 0:
        return 0.0
    if once_only:
        return cap_clamp(unit, daily_cap) if is_first else 0.0
    return cap_clamp(raw_points, daily_cap)
