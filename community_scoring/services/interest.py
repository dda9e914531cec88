"""Interest scoring as a service: score stored actions, re-evaluate fit, announce stage changes.

The rules are community_scoring.scoring's; the rows and the set-based work are the store's (community_scoring.store:
PostgreSQL or plain Python, the same results). Actions reach ``interest_apply`` through the scoring queue
(services.interest_queue), whichever way they arrived (services.ingest, the one door). Every stage change is a
StageTransition and a ``stage_changed`` webhook.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from community_scoring.models import Member
from community_scoring.selectors.config import scoring_config_current
from community_scoring.store import interest_store
from community_scoring.store.base import Applied, StageChange, score_evaluate, stage_change_of
from community_scoring.webhooks.services import webhook_events_enqueue


def interest_apply(*, action_ids: Sequence[int], refit: Iterable[int] = (),
                   partition: tuple[int, int] = (0, 1)) -> Applied:
    """Score newly stored actions (each exactly once: the queue guarantees it) for the members of ``partition``
    (k, n: id % n == k) under the current configuration; ``refit``: members whose attributes changed (re-evaluated
    for the owners). Returns the stage changes, stored and announced, and the owners scored."""
    if not action_ids:
        return Applied()
    applied = interest_store().interest_apply(action_ids, config=scoring_config_current(), refit=refit,
                                              partition=partition)
    stage_changes_announce(applied.changes)
    return applied


def stage_changes_announce(changes: Sequence[StageChange]) -> None:
    """Queue one ``stage_changed`` webhook per stored stage change (one bulk enqueue, sent on commit); none about
    an erased member (services.erasure: an anonymous shell is never announced)."""
    if not changes:
        return
    erased = set(Member.objects.filter(pk__in={c.member_id for c in changes}, erased_at__isnull=False)
                 .values_list("pk", flat=True))
    changes = [c for c in changes if c.member_id not in erased]
    webhook_events_enqueue(event="stage_changed", payloads=[
        {
            "member_id": c.member_id,
            "external_id": c.external_id,
            "email": c.email,
            "from": c.from_stage,
            "to": c.to_stage,
            "engagement": c.engagement,
            "fit": c.fit,
            "score": c.engagement + c.fit,
            "reason": c.reason,
            "at": c.at.isoformat(),
        }
        for c in changes
    ])


def interest_fit_refresh(*, member_ids: Iterable[int], now: datetime | None = None) -> int:
    """Re-evaluate fit, total and stage of already-scored members whose attributes changed; returns stage changes.

    Engagement is left as stored (attributes do not change what actions earned). A persona change also changes
    the rule set, so it needs services.recompute.interest_members_refresh instead.
    """
    store = interest_store()
    ids = store.scored_member_ids(member_ids)
    if not ids:
        return 0
    config = scoring_config_current()
    with transaction.atomic():
        scores = store.scores_lock(ids, floor_stage=config.floor_stage)
        members = store.members_facts(ids)
        now = now or timezone.now()
        changes = []
        for member_id, score in scores.items():
            old_stage = score.stage or config.floor_stage
            score_evaluate(score, members[member_id], config)
            if score.stage != old_stage:
                changes.append(stage_change_of(score, members[member_id], old_stage=old_stage, at=now, reason="fit"))
        store.scores_save([scores[m] for m in sorted(scores)])
        store.transitions_save(changes)
        stage_changes_announce(changes)
    return len(changes)
