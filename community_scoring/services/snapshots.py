"""The daily snapshot: re-value every score to now, re-evaluate stages (reason "decay") and store the day.

Decay is lazy (scores are stored valued at their ref_time), so without this a member who stops acting would keep
their stage forever. The task re-anchors engagement and topics to ``now`` (value * 2 ** (-(now - ref) / h)),
refreshes fit, records any stage change, and upserts one ScoreSnapshot per member for today's UTC date (running
it twice the same day overwrites that day's row).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from community_scoring.models import InterestBucket, InterestScore, ScoreSnapshot
from community_scoring.scoring.decay import accumulate, day_of, day_start, to_epoch_days, value_at
from community_scoring.scoring.ledger import primary_topic_of
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.interest import stage_changes_announce
from community_scoring.store import interest_store
from community_scoring.store.base import config_for, rules_for, score_evaluate, stage_change_of
from community_scoring.store.bulk import rows_upsert


def snapshots_write(rows: list[tuple]) -> None:
    """Upsert (member id, date, engagement, fit, score, stage) rows."""
    rows_upsert(ScoreSnapshot, columns=["member", "date", "engagement", "fit", "score", "stage"], rows=rows,
                conflict=["member", "date"], update=["engagement", "fit", "score", "stage"])


def interest_snapshot_take(*, now: datetime | None = None, chunk_size: int = 1000) -> int:
    """Re-value, re-stage and snapshot every member with a score; returns the number of snapshots written."""
    now = now or timezone.now()
    today, now_days = day_of(now), to_epoch_days(now)
    config = scoring_config_current()
    ids = list(InterestScore.objects.order_by("member_id").values_list("member_id", flat=True))
    store = interest_store()
    written = 0
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        with transaction.atomic():
            scores = store.scores_lock(chunk, floor_stage=config.floor_stage)
            members = store.members_facts(chunk)
            topics = store.topics_load(chunk)
            topic_rows, snapshots, transitions = [], [], []
            for member_id in chunk:
                score, facts = scores.get(member_id), members.get(member_id)
                if score is None or facts is None:
                    continue
                half_life = rules_for(config, facts).half_life_days
                if score.ref_time is not None and to_epoch_days(score.ref_time) < now_days:
                    score.engagement = value_at(score.engagement, to_epoch_days(score.ref_time), now_days, half_life)
                    score.ref_time = now
                member_topics = topics.get(member_id, {})
                for topic, (value, ref) in list(member_topics.items()):
                    if ref < now_days:
                        member_topics[topic] = (value_at(value, ref, now_days, half_life), now_days)
                        topic_rows.append((member_id, topic, member_topics[topic][0], now))
                score.primary_topic = primary_topic_of(member_topics, half_life)
                old_stage = score.stage or config.floor_stage
                score_evaluate(score, facts, config)
                if score.stage != old_stage:
                    transitions.append(stage_change_of(score, facts, old_stage=old_stage, at=now, reason="decay"))
                snapshots.append((member_id, today, score.engagement, score.fit, score.score, score.stage))
            store.topics_write(topic_rows)
            snapshots_write(snapshots)
            store.scores_save([scores[m] for m in sorted(scores)])
            store.transitions_save(transitions)
            stage_changes_announce(transitions)
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
