"""The daily snapshot: re-value every score to now (services.revalue: stages re-evaluated, reason "decay") and
store the day: one ScoreSnapshot per member for today's UTC date (running it twice the same day overwrites that
day's row). Crossings by decay are also recorded hourly (services.revalue.interest_revalue).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from community_scoring.models import InterestBucket, InterestScore, ScoreSnapshot
from community_scoring.scoring.decay import accumulate, day_of, day_start, value_at
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.revalue import scores_revalue
from community_scoring.store import interest_store
from community_scoring.store.base import config_for, rules_for
from community_scoring.store.bulk import rows_upsert


def snapshots_write(rows: list[tuple]) -> None:
    """Upsert (member id, date, engagement, fit, score, stage) rows."""
    rows_upsert(ScoreSnapshot, columns=["member", "date", "engagement", "fit", "score", "stage"], rows=rows,
                conflict=["member", "date"], update=["engagement", "fit", "score", "stage"])


def interest_snapshot_take(*, now: datetime | None = None, chunk_size: int = 1000) -> int:
    """Re-value, re-stage and snapshot every member with a score; returns the number of snapshots written."""
    now = now or timezone.now()
    today = day_of(now)
    config = scoring_config_current()
    ids = list(InterestScore.objects.order_by("member_id").values_list("member_id", flat=True))
    written = 0
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        with transaction.atomic():
            revalued = scores_revalue(chunk, config=config, now=now)
            snapshots = [(m, today, s.engagement, s.fit, s.score, s.stage) for m, s in sorted(revalued.scores.items())]
            snapshots_write(snapshots)
            written += len(snapshots)
    return written


def interest_snapshots_backfill(*, days: int, now: datetime | None = None, chunk_size: int = 500) -> int:
    """Daily snapshots for the ``days`` days before today, rebuilt from the buckets (after loading a history).

    The snapshot of day D is the engagement of the buckets of days <= D, valued at the start of D (each day's
    points decaying from their own day's start, as everywhere), with today's fit and the stage that gives.
    Existing snapshots of those days are overwritten; today's is left to interest_snapshot_take.
    """
    now = now or timezone.now()
    today = day_of(now)
    first = today - timedelta(days=days)
    config = scoring_config_current()
    ids = list(InterestScore.objects.order_by("member_id").values_list("member_id", flat=True))
    written = 0
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        members = interest_store().members_facts(chunk)
        fits = dict(InterestScore.objects.filter(member_id__in=chunk).values_list("member_id", "fit"))
        per_member: dict[int, dict] = {}
        for member_id, day, points in InterestBucket.objects.filter(member_id__in=chunk, day__lt=today).values_list(
            "member_id", "day", "points"
        ):
            per_day = per_member.setdefault(member_id, {})
            per_day[day] = per_day.get(day, 0.0) + points
        rows = []
        for member_id in chunk:
            facts = members.get(member_id)
            if facts is None:
                continue
            rules = rules_for(config, facts)
            per_day = per_member.get(member_id, {})
            half_life = rules.half_life_days
            engagement, ref = 0.0, None
            for day in sorted(d for d in per_day if d < first):
                engagement, ref = accumulate(engagement, ref, per_day[day], day_start(day), half_life)
            fit = fits.get(member_id, 0.0)
            for offset in range(days):
                day = first + timedelta(days=offset)
                if day in per_day:
                    engagement, ref = accumulate(engagement, ref, per_day[day], day_start(day), half_life)
                value = value_at(engagement, ref, day_start(day), half_life)
                rows.append((member_id, day, value, fit, value + fit, config_for(config, facts).stage_for(value, fit)))
        snapshots_write(rows)
        written += len(rows)
    return written
