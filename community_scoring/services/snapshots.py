"""The daily snapshot: re-value every score to now, re-evaluate stages (reason "decay") and store the day.

Decay is lazy (scores are stored valued at their ref_time), so without this a member who stops acting would keep
their stage forever. The task re-anchors engagement and topics to ``now`` (value * 2 ** (-(now - ref) / h)),
refreshes fit, records any stage change, and upserts one ScoreSnapshot per member for today's UTC date (running
it twice the same day overwrites that day's row).
"""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from community_scoring.models import InterestScore, InterestTopic, ScoreSnapshot, StageTransition
from community_scoring.scoring.decay import day_of, to_epoch_days, value_at
from community_scoring.services.config import scoring_config_current
from community_scoring.services.interest import (
    members_facts, primary_topic_of, score_evaluate, scores_lock, scores_save, stage_change_record, topics_load,
)


def interest_snapshot_take(*, now: datetime | None = None, chunk_size: int = 1000) -> int:
    """Re-value, re-stage and snapshot every member with a score; returns the number of snapshots written."""
    now = now or timezone.now()
    today, now_days = day_of(now), to_epoch_days(now)
    config = scoring_config_current()
    ids = list(InterestScore.objects.order_by("member_id").values_list("member_id", flat=True))
    written = 0
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        with transaction.atomic():
            scores = scores_lock(chunk, floor_stage=config.floor_stage)
            members = members_facts(chunk)
            topics = topics_load(chunk)
            topic_rows, snapshots, transitions = [], [], []
            for member_id in chunk:
                score, facts = scores.get(member_id), members.get(member_id)
                if score is None or facts is None:
                    continue
                rules = config.for_persona(facts.persona)
                half_life = rules.half_life_days
                if score.ref_time is not None and to_epoch_days(score.ref_time) < now_days:
                    score.engagement = value_at(score.engagement, to_epoch_days(score.ref_time), now_days, half_life)
                    score.ref_time = now
                member_topics = topics.get(member_id, {})
                for topic, (value, ref) in list(member_topics.items()):
                    if ref < now_days:
                        member_topics[topic] = (value_at(value, ref, now_days, half_life), now_days)
                        topic_rows.append(InterestTopic(member_id=member_id, topic=topic,
                                                        points=member_topics[topic][0], ref_time=now))
                score.primary_topic = primary_topic_of(member_topics, half_life)
                old_stage = score.stage or config.floor_stage
                score_evaluate(score, facts, rules, config)
                if score.stage != old_stage:
                    transitions.append(stage_change_record(
                        score=score, member=facts, old_stage=old_stage, at=now, reason="decay"))
                snapshots.append(ScoreSnapshot(member_id=member_id, date=today, engagement=score.engagement,
                                               fit=score.fit, score=score.score, stage=score.stage))
            InterestTopic.objects.bulk_create(topic_rows, update_conflicts=True, unique_fields=["member", "topic"],
                                              update_fields=["points", "ref_time"])
            ScoreSnapshot.objects.bulk_create(snapshots, update_conflicts=True, unique_fields=["member", "date"],
                                              update_fields=["engagement", "fit", "score", "stage"])
            scores_save([scores[m] for m in sorted(scores)])
            StageTransition.objects.bulk_create(transitions)
            written += len(snapshots)
    return written
