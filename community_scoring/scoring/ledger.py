"""A member's interest from scratch, from bucket tallies (what a full recompute or a config preview does).

A tally is one bucket's action count (and per-topic counts) for (action type, side, UTC day). Each bucket's
points follow caps.bucket_points under the member's rules; engagement is the decayed sum of bucket points,
each decaying from the start of its day (decay.decayed_sum); a topic earns its share of every bucket:
``bucket points * actions on the topic / actions in the bucket``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from community_scoring.scoring.caps import bucket_points
from community_scoring.scoring.decay import decayed_sum, value_at
from community_scoring.scoring.ruleset import MemberRules


@dataclass
class BucketTally:
    action_type: str
    received: bool
    day: float  # epoch day (UTC midnight) the bucket decays from
    count: int = 0
    topic_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BucketValue:
    tally: BucketTally
    raw_points: float
    points: float


def bucket_values(tallies: Iterable[BucketTally], rules: MemberRules) -> list[BucketValue]:
    """Raw and capped points of every bucket; once-only credit goes to each series' earliest non-empty day."""
    tallies = list(tallies)
    first_day: dict[tuple[str, bool], float] = {}
    for t in tallies:
        if t.count > 0:
            key = (t.action_type, t.received)
            first_day[key] = min(first_day.get(key, t.day), t.day)
    values = []
    for t in tallies:
        rule = rules.rule(t.action_type)
        unit = rule.unit(t.received)
        raw = t.count * unit
        points = bucket_points(
            count=t.count, raw_points=raw, unit=unit, daily_cap=rule.daily_cap, once_only=rule.once_only,
            is_first=first_day.get((t.action_type, t.received)) == t.day,
        )
        values.append(BucketValue(tally=t, raw_points=raw, points=points))
    return values


def topic_shares(value: BucketValue) -> dict[str, float]:
    """The bucket's points split over the topics of its actions (actions without a topic keep their share)."""
    tally = value.tally
    if tally.count <= 0 or not value.points:
        return {}
    return {topic: value.points * n / tally.count for topic, n in tally.topic_counts.items() if topic and n}


def engagement_at(values: Iterable[BucketValue], as_of: float, half_life_days: float | None) -> float:
    return decayed_sum(((v.points, v.tally.day) for v in values), as_of, half_life_days)


def topics_at(values: Iterable[BucketValue], as_of: float, half_life_days: float | None) -> dict[str, float]:
    per_topic: dict[str, list[tuple[float, float]]] = {}
    for v in values:
        for topic, points in topic_shares(v).items():
            per_topic.setdefault(topic, []).append((points, v.tally.day))
    return {topic: decayed_sum(items, as_of, half_life_days) for topic, items in per_topic.items()}


def primary_topic(topic_values: Mapping[str, float]) -> str:
    """The topic with the most (positive) interest; ties broken by name; "" when none is positive."""
    best = min(((-v, t) for t, v in topic_values.items() if v > 0), default=None)
    return best[1] if best else ""


def primary_topic_of(member_topics: Mapping[str, tuple[float, float | None]], half_life_days: float | None) -> str:
    """primary_topic of running topic values stored as (value, ref): each valued at the latest of their refs."""
    refs = [ref for _, ref in member_topics.values() if ref is not None]
    if not refs:
        return ""
    when = max(refs)
    return primary_topic({t: value_at(v, ref, when, half_life_days) for t, (v, ref) in member_topics.items()})
