"""Stages: named bands of the interest score (visitor < engaged < MQL...).

A member is in the highest-position stage whose thresholds they meet (engagement >= min_engagement AND
fit >= min_fit). The lowest-position stage is the floor: everyone is at least there, whatever its thresholds.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StageThreshold:
    name: str
    position: int
    min_engagement: float = 0.0
    min_fit: float = 0.0


def stage_for(engagement: float, fit: float, stages: Sequence[StageThreshold]) -> str:
    """Name of the member's stage; "" when no stage is configured."""
    if not stages:
        return ""
    ordered = sorted(stages, key=lambda s: s.position)
    for stage in reversed(ordered[1:]):
        if engagement >= stage.min_engagement and fit >= stage.min_fit:
            return stage.name
    return ordered[0].name


def floor_stage(stages: Sequence[StageThreshold]) -> str:
    return min(stages, key=lambda s: s.position).name if stages else ""


def stage_reaches(stage: str, target: str, stages: Sequence[StageThreshold]) -> bool:
    """Whether ``stage`` is ``target`` or a stage above it (MQL "and above": an advocate-candidate is an MQL too).
    Names compare ignoring case; False when either is not a configured stage."""
    position = {s.name.casefold(): s.position for s in stages}
    mine, wanted = position.get((stage or "").casefold()), position.get((target or "").casefold())
    return mine is not None and wanted is not None and mine >= wanted
