"""Exponential time decay, applied lazily.

Time is measured in *epoch days* (float days since 1970-01-01 UTC). A value of points earned at time t0 is
worth, at time t >= t0::

    value(t) = points * 2 ** (-(t - t0) / half_life_days)

A running score is stored as (value, ref): its worth at time ``ref``. Adding ``delta`` earned at time ``t``
(see :func:`accumulate`) is O(1) and the result does not depend on the order deltas arrive in:

- t >= ref: value = value * 2 ** (-(t - ref) / h) + delta, ref = t   (move the anchor forward)
- t <  ref: value = value + delta * 2 ** (-(ref - t) / h)             (late arrival, valued at the anchor)

Either way the stored pair equals sum(delta_i * 2 ** (-(ref - t_i) / h)) with ref = max(t_i), which is what a
full recompute from the log computes (:func:`decayed_sum`). Exponents are never positive, so nothing overflows.
A half-life of None means no decay.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime, timezone

SECONDS_PER_DAY = 86400.0
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def to_epoch_days(moment: datetime) -> float:
    """A timezone-aware datetime as float days since the epoch."""
    return moment.timestamp() / SECONDS_PER_DAY


def from_epoch_days(days: float) -> datetime:
    return datetime.fromtimestamp(days * SECONDS_PER_DAY, tz=timezone.utc)


def day_start(day: date) -> float:
    """Epoch days at UTC midnight starting ``day`` (exact: an integer)."""
    return float(day.toordinal() - _EPOCH_ORDINAL)


def day_of(moment: datetime) -> date:
    """The UTC calendar day of a moment (the day whose bucket an action falls in)."""
    return moment.astimezone(timezone.utc).date()


def decay_factor(elapsed_days: float, half_life_days: float | None) -> float:
    """2 ** (-elapsed / half_life); 1 when there is no half-life."""
    if half_life_days is None or math.isinf(half_life_days):
        return 1.0
    return 2.0 ** (-elapsed_days / half_life_days)


def value_at(value: float, ref: float | None, when: float, half_life_days: float | None) -> float:
    """The stored ``value`` (worth at ``ref``) re-valued at ``when`` (normally when >= ref)."""
    if ref is None:
        return value
    return value * decay_factor(when - ref, half_life_days)


def accumulate(
    value: float, ref: float | None, delta: float, when: float, half_life_days: float | None
) -> tuple[float, float]:
    """Add ``delta`` earned at ``when`` to a score worth ``value`` at ``ref``; returns the new (value, ref)."""
    if ref is None:
        return value + delta, when
    if when >= ref:
        return value * decay_factor(when - ref, half_life_days) + delta, when
    return value + delta * decay_factor(ref - when, half_life_days), ref


def decayed_sum(points_at: Iterable[tuple[float, float]], as_of: float, half_life_days: float | None) -> float:
    """sum(points * 2 ** (-(as_of - t) / h)) over (points, t) pairs: the score valued at ``as_of`` from scratch."""
    return math.fsum(points * decay_factor(as_of - t, half_life_days) for points, t in points_at)
