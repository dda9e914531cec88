"""Reads of a member's interest: the activity profile (how the score was earned), topics, stage and score history.

Every read shows interest valued at one instant (``valued_at``: now, or the request's moment), never the stored
values as they are (engagement is stored valued at each row's own ref_time): store.base.interest_value_at is
the rule, ``interest_rows_value`` applies it to rows a list, a board or a page loaded.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import Any

from django.core.cache import cache
from django.db.models import BigIntegerField, DateField, QuerySet
from django.utils import timezone

from community_scoring.models import InterestBucket, InterestScore, InterestTopic, Member, ScoreSnapshot, StageTransition
from community_scoring.scoring.decay import day_start, decay_factor, to_epoch_days, value_at
from community_scoring.scoring.fit import fit_matches
from community_scoring.scoring.ruleset import ScoringConfig
from community_scoring.selectors.config import scoring_config_current
from community_scoring.store import interest_store
from community_scoring.store.base import interest_value_at, rules_for
from community_scoring.store.compiled import Slot, compiled_query, concrete_attnames


def _half_life(member: Member, config: ScoringConfig | None = None) -> float | None:
    return rules_for(config or scoring_config_current(), member).half_life_days


@compiled_query
def _buckets_query() -> QuerySet:
    return InterestBucket.objects.filter(member_id=Slot("member_id", BigIntegerField())).values_list(
        "action_type_id", "received", "day", "count", "raw_points", "points")


def interest_breakdown(
    *, member: Member, when: datetime | None = None, config: ScoringConfig | None = None
) -> list[dict[str, Any]]:
    """The activity profile: per action type and side (acting / being acted on), what it earned.

    Each row: action_type, received, count, raw_points (rule points before caps), points (after daily caps and
    once-only rules) and decayed_points (what it contributes to engagement at ``when``, default now: every
    day's points times 2 ** (-(when - day start) / half-life)). Rows sum to the member's engagement at ``when``.
    Ordered by decayed points, largest first. ``config`` (default: the current one) lets a caller that reads
    several of these compile the configuration once.
    """
    moment = to_epoch_days(when or timezone.now())
    half_life = _half_life(member, config)
    rows: dict[tuple[str, bool], dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "raw_points": 0.0, "points": 0.0, "decayed_points": 0.0}
    )
    factors: dict[date, float] = {}  # a day's decay factor, shared by its action types
    for action_type, received, day, count, raw, points in _buckets_query().tuples(member_id=member.pk):
        row = rows[(action_type, received)]
        row["count"] += count
        row["raw_points"] += raw
        row["points"] += points
        factor = factors.get(day)
        if factor is None:
            factor = factors[day] = decay_factor(max(0.0, moment - day_start(day)), half_life)
        row["decayed_points"] += points * factor
    out = [{"action_type": t, "received": r, **values} for (t, r), values in rows.items()]
    out.sort(key=lambda row: (-abs(row["decayed_points"]), row["action_type"], row["received"]))
    return out


def interest_fit_breakdown(*, member: Member, config: ScoringConfig | None = None) -> list[dict[str, Any]]:
    """Which fit rules the member meets and what each gives (their points sum to the member's fit), in the
    rules' order: attribute, operator, value, points, and the member's value that met it (actual)."""
    rules = rules_for(config or scoring_config_current(), member)
    attributes = {**(member.attributes or {}), **({"persona": member.persona} if member.persona else {})}
    return [
        {"attribute": c.attribute, "operator": c.operator, "value": c.value, "points": c.points,
         "actual": attributes.get(c.attribute)}
        for c in rules.fit_rules if fit_matches(attributes.get(c.attribute), c.operator, c.value)
    ]


@compiled_query
def _topics_query() -> QuerySet:
    return InterestTopic.objects.filter(member_id=Slot("member_id", BigIntegerField())).values_list(
        "topic", "points", "ref_time")


def interest_topics(
    *, member: Member, when: datetime | None = None, limit: int | None = None, config: ScoringConfig | None = None
) -> list[dict[str, Any]]:
    """The member's interest per topic, valued at ``when`` (default now), largest first."""
    moment = to_epoch_days(when or timezone.now())
    half_life = _half_life(member, config)
    topics = [
        {"topic": topic, "points": value_at(points, to_epoch_days(ref), max(moment, to_epoch_days(ref)), half_life)}
        for topic, points, ref in _topics_query().tuples(member_id=member.pk)
    ]
    topics.sort(key=lambda t: (-t["points"], t["topic"]))
    return topics[:limit] if limit else topics


def valued_now() -> datetime:
    """The instant a read values interest at (its ``valued_at``): now. One function, so a request values every
    row at one moment, and tests can pin it."""
    return timezone.now()


def interest_row_value(score: InterestScore | None, member: Any, *, at: datetime,
                       config: ScoringConfig | None = None) -> InterestScore | None:
    """Value a loaded InterestScore row at ``at`` in memory (never saved): engagement, score and stage become
    their values at ``at`` (store.base.interest_value_at) and ref_time the instant they are valued at, so the
    row still means what it stores and valuing it twice changes nothing. ``member``: the row's member (persona).
    rank_key (the board order) is left as stored. Returns the row."""
    if score is None or getattr(score, "valued_at", None) == at:
        return score
    value = interest_value_at(engagement=score.engagement, ref_time=score.ref_time, fit=score.fit, member=member,
                              config=config or scoring_config_current(), when=at)
    score.engagement, score.score, score.stage = value.engagement, value.score, value.stage
    if score.ref_time is not None and score.ref_time < at:
        score.ref_time = at
    score.valued_at = at
    return score


def interest_rows_value(pairs: Iterable[tuple[InterestScore | None, Any]], *, at: datetime,
                        config: ScoringConfig | None = None) -> None:
    """interest_row_value for each (score row or None, member) of a loaded page, under one configuration."""
    config = config or scoring_config_current()
    for score, member in pairs:
        interest_row_value(score, member, at=at, config=config)


def members_in_stages(members: QuerySet[Member], stages: Collection[str], *, at: datetime,
                      config: ScoringConfig | None = None) -> QuerySet[Member]:
    """Those of ``members`` whose stage valued at ``at`` is one of ``stages``: the stage every read shows
    (store.base.interest_value_at; in SQL on PostgreSQL), never the stored column, which may be an hour old. A
    member without a score row is in none."""
    return interest_store().members_in_stages(members, stages, config=config or scoring_config_current(), at=at)


def scores_per_stage(scores: QuerySet[InterestScore], *, at: datetime,
                     config: ScoringConfig | None = None) -> dict[str, int]:
    """How many of these score rows' members are in each stage valued at ``at`` (as members_in_stages)."""
    return interest_store().scores_per_stage(scores, config=config or scoring_config_current(), at=at)


def interest_current(
    *, member: Member, when: datetime | None = None, config: ScoringConfig | None = None
) -> dict[str, Any] | None:
    """The member's interest valued at ``when`` (default now): engagement, fit, score, stage, all at that instant
    (store.base.interest_value_at), ``valued_at``, and the sales stage (as stored: decay never moves it).

    Uses the member's interest row when it was loaded with the member (select_related("interest")).
    """
    if Member.interest.is_cached(member):
        score = getattr(member, "interest", None)
    else:
        score = InterestScore.objects.filter(member=member).first()
    if score is None:
        return None
    at = when or timezone.now()
    value = interest_value_at(engagement=score.engagement, ref_time=score.ref_time, fit=score.fit, member=member,
                              config=config or scoring_config_current(), when=at)
    return {"engagement": value.engagement, "fit": value.fit, "score": value.score, "stage": value.stage,
            "sales_stage": score.sales_stage, "sales_stage_outcome": score.sales_stage_outcome,
            "sales_stage_reason": score.sales_stage_reason, "sales_stage_at": score.sales_stage_at,
            "primary_topic": score.primary_topic, "last_activity_at": score.last_activity_at, "valued_at": at}


@compiled_query
def _stage_history_query(limit: int | None) -> QuerySet:
    return (StageTransition.objects.filter(member_id=Slot("member_id", BigIntegerField()))
            .order_by("-occurred_at", "-id").values(*concrete_attnames(StageTransition))[:limit])


def stage_history(*, member: Member, limit: int | None = 100) -> list[StageTransition]:
    """The member's stage crossings, newest first (``limit`` None or 0: all of them)."""
    query = _stage_history_query(limit or None)
    return query.instances(StageTransition, member_id=member.pk)


@compiled_query
def _score_history_query(*, since: bool) -> QuerySet:
    rows = ScoreSnapshot.objects.filter(member_id=Slot("member_id", BigIntegerField())).order_by("date")
    rows = rows.filter(date__gte=Slot("since", DateField())) if since else rows
    return rows.values(*concrete_attnames(ScoreSnapshot))


def score_history(*, member: Member, since: date | None = None) -> list[ScoreSnapshot]:
    """The member's daily snapshots (date, engagement, fit, score, stage), oldest first, from ``since``."""
    query = _score_history_query(since=since is not None)
    return query.instances(ScoreSnapshot, member_id=member.pk, since=since)


def interest_standing(*, rank_key: float) -> dict[str, Any]:
    """Where a member's leaderboard key (InterestScore.rank_key) stands among members who count (not excluded),
    ranked as the interest leaderboard ranks: rank = 1 + members above (ties share a rank), percentile = mid-rank
    100 * (below + (equal - 1) / 2) / (n - 1), the convention of the influence percentile."""
    # Three counts the score index answers by range (one count with FILTERs scans every row); the total is
    # remembered a minute.
    counted = InterestScore.objects.filter(member__is_excluded=False)
    n = cache.get("interest:standing:n")
    if n is None:
        n = counted.count()
        cache.set("interest:standing:n", n, 60)
    above = counted.filter(rank_key__gt=rank_key).count()
    equal = counted.filter(rank_key=rank_key).count()
    n = max(n, above + equal)
    below = n - above - equal
    equal = max(1, n - above - below)
    percentile = 100.0 if n <= 1 else 100.0 * (below + (equal - 1) / 2) / (n - 1)
    return {"rank": above + 1, "percentile": percentile, "members": n}
