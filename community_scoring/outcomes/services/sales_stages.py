"""Sales-driven stages as stored: re-derived from all of a member's outcomes (the rule: scoring.sales_stages).

The sales stage sits beside the score-driven stage on the member's InterestScore row. Only this service writes
it; interest scoring, decay and recomputes write the score-driven columns only. Each move is a StageTransition
(reason: the outcome type, detail: sales' reason; from and to: the member's stage as shown, the sales stage when
set, else the score-driven one) and a ``stage_changed`` webhook, like score-driven moves.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from community_scoring.models import InterestScore, StageTransition
from community_scoring.outcomes.models import Outcome
from community_scoring.scoring.sales_stages import OutcomeFact, SalesStage, sales_stage_of
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.interest import stage_changes_announce
from community_scoring.store import interest_store
from community_scoring.store.base import StageChange

_STORED = ("sales_stage", "sales_stage_outcome", "sales_stage_reason", "sales_stage_at")


def sales_stages_refresh(*, member_ids: Iterable[int], reason: str | None = None,
                         now: datetime | None = None) -> list[StageChange]:
    """Re-derive and store the sales stage of these members (persons) from all their outcomes; returns the moves.

    ``reason`` names the cause of a move for the history when it is not an outcome (merge, unmerge,
    outcome_deleted); by default a move's reason is the outcome type that decided it. The members' score rows are
    created when missing and locked (in member-id order, as the scorers lock them) for the transaction.
    """
    ids = sorted(set(member_ids))
    if not ids:
        return []
    now = now or timezone.now()
    config = scoring_config_current()
    store = interest_store()
    changes: list[StageChange] = []
    with transaction.atomic():
        scores = store.scores_lock(ids, floor_stage=config.floor_stage)
        stored = {row[0]: SalesStage(*row[1:]) for row in
                  InterestScore.objects.filter(member_id__in=ids).values_list("member_id", *_STORED)}
        facts: dict[int, list[OutcomeFact]] = defaultdict(list)
        for member_id, kind, at, why, source, outcome_id in Outcome.objects.filter(member_id__in=ids).values_list(
                "member_id", "type", "occurred_at", "reason", "source", "outcome_id"):
            facts[member_id].append(OutcomeFact(kind, at, why, (source, outcome_id)))
        members = store.members_facts(ids)
        transitions = []
        for member_id in ids:
            score, before = scores.get(member_id), stored.get(member_id)
            if score is None or before is None or member_id not in members:
                continue  # deleted meanwhile
            after = sales_stage_of(facts.get(member_id, []))
            if after == before:
                continue
            InterestScore.objects.filter(member_id=member_id).update(**dict(zip(_STORED, (
                after.stage, after.outcome, after.reason, after.at))))
            if after.stage == before.stage:
                continue  # only the deciding outcome or its reason changed
            shown = score.stage or config.floor_stage
            facts_of = members[member_id]
            change = StageChange(
                member_id, facts_of.external_id, facts_of.email, before.stage or shown, after.stage or shown,
                score.engagement, score.fit, (reason or after.outcome or "outcome_deleted")[:32],
                now if reason or after.at is None else after.at)
            changes.append(change)
            transitions.append(StageTransition(
                member_id=member_id, from_stage=change.from_stage, to_stage=change.to_stage, occurred_at=change.at,
                engagement=change.engagement, fit=change.fit, reason=change.reason, detail=after.reason))
        StageTransition.objects.bulk_create(transitions)
        stage_changes_announce(changes)
    return changes
