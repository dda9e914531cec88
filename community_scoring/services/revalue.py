"""Interest valued at now, written back: the hourly re-valuation (stage crossings by decay alone) and the periodic
re-key of the leaderboard order.

Scores are stored valued at their ref_time (decay is lazy) and every read values them at its own instant
(store.base.interest_value_at). What reads cannot do is record history: a member whose engagement decays below a
stage threshold crosses it with no action to notice. ``interest_revalue`` (hourly) re-anchors every score to now,
re-evaluates stages, and records each crossing as a StageTransition with reason ``decay`` and a
``stage_changed`` webhook. ``interest_rank_rekey`` (every few minutes) only refreshes InterestScore.rank_key, so
the leaderboard order is never more than that interval old (the values shown never are: reads value them).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from community_scoring.models import InterestScore
from community_scoring.scoring.decay import to_epoch_days, value_at
from community_scoring.scoring.ledger import primary_topic_of
from community_scoring.scoring.ruleset import ScoringConfig
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.interest import stage_changes_announce
from community_scoring.store import interest_store
from community_scoring.store.base import ScoreRow, StageChange, rules_for, score_evaluate, stage_change_of


@dataclass
class Revalued:
    """One chunk re-valued: its score rows as written (valued at now) and the stage changes recorded."""

    scores: dict[int, ScoreRow] = field(default_factory=dict)
    changes: list[StageChange] = field(default_factory=list)


def scores_revalue(member_ids: Sequence[int], *, config: ScoringConfig, now: datetime) -> Revalued:
    """Re-anchor these members' engagement and topics to ``now`` (value * 2 ** (-(now - ref) / h)), refresh fit,
    stage and rank key, record and announce stage changes (reason ``decay``). In the caller's transaction; rows
    are locked like the scorer locks them (store.base.InterestStore.scores_lock)."""
    store = interest_store()
    now_days = to_epoch_days(now)
    scores = store.scores_lock(member_ids, floor_stage=config.floor_stage)
    members = store.members_facts(member_ids)
    topics = store.topics_load(member_ids)
    topic_rows, kept, changes = [], {}, []
    for member_id in member_ids:
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
        score_evaluate(score, facts, config, keyed_at=now)
        if score.stage != old_stage:
            changes.append(stage_change_of(score, facts, old_stage=old_stage, at=now, reason="decay"))
        kept[member_id] = score
    store.topics_write(topic_rows)
    store.scores_save([kept[m] for m in sorted(kept)])
    store.transitions_save(changes)
    stage_changes_announce(changes)
    return Revalued(kept, changes)


def _scored_ids() -> list[int]:
    return list(InterestScore.objects.order_by("member_id").values_list("member_id", flat=True))


def interest_revalue(*, now: datetime | None = None, chunk_size: int = 1000) -> int:
    """Re-value every score to ``now`` (default: now), one transaction per chunk, recording crossings caused by
    decay alone (scheduled hourly); returns the stage changes recorded."""
    now = now or timezone.now()
    config = scoring_config_current()
    ids = _scored_ids()
    recorded = 0
    for start in range(0, len(ids), max(1, chunk_size)):
        with transaction.atomic():
            recorded += len(scores_revalue(ids[start:start + chunk_size], config=config, now=now).changes)
    return recorded


def interest_rank_rekey(*, now: datetime | None = None, chunk_size: int = 5000) -> int:
    """Refresh every leaderboard key (InterestScore.rank_key) to the score valued at ``now``, chunk by chunk
    (scheduled every few minutes); returns the rows re-keyed. Rows a scorer holds are skipped by the PostgreSQL
    store: that scorer writes their key."""
    now = now or timezone.now()
    config = scoring_config_current()
    store = interest_store()
    ids = _scored_ids()
    return sum(store.rank_keys_refresh(ids[start:start + chunk_size], config=config, at=now)
               for start in range(0, len(ids), max(1, chunk_size)))
