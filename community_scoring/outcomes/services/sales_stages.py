"""Sales-driven stages as stored: re-derived from all of a member's outcomes (the rule: scoring.sales_stages).

The sales stage sits beside the score-driven stage on the member's InterestScore row. Only this service writes
it; interest scoring, decay and recomputes write the score-driven columns only. Each move is a StageTransition
(reason: the outcome type, detail: sales' reason; from and to: the member's stage as shown, the sales stage when
set, else the score-driven one) and a ``stage_changed`` webhook, like score-driven moves.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from community_scoring.models import InterestScore, StageTransition
from community_scoring.outcomes.models import Outcome
from community_scoring.scoring.sales_stages import OutcomeFact, SalesStage, sales_stage_of
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.interest import stage_changes_announce
from community_scoring.store import interest_store
from community_scoring.store.base import SCORE_FIELDS, StageChange
from community_scoring.store.bulk import rows_upsert

_STORED = ("sales_stage", "sales_stage_outcome", "sales_stage_reason", "sales_stage_at")


def sales_stages_refresh(*, member_ids: Iterable[int], arrivals: Sequence[Outcome] = (), reason: str | None = None,
                         now: datetime | None = None) -> list[StageChange]:
    """Re-derive and store the sales stage of these members (persons) from all their outcomes; returns the moves.

    ``arrivals``: outcomes just stored, in the order they arrived: the history records the moves as if each had
    been applied on its own, one after the other (a batch of sql, opportunity, won shows three moves). Without
    them a move is recorded from the stored stage to the re-derived one, with ``reason`` (merge, unmerge,
    outcome_deleted) as its cause. The members' score rows are created when missing and locked (in member-id
    order, as the scorers lock them) for the transaction.
    """
    ids = sorted(set(member_ids))
    if not ids:
        return []
    now = now or timezone.now()
    config = scoring_config_current()
    store = interest_store()
    changes: list[StageChange] = []
    arrived: dict[int, list[OutcomeFact]] = defaultdict(list)
    for outcome in arrivals:
        arrived[outcome.member_id].append(_fact(outcome.type, outcome.occurred_at, outcome.reason, outcome.source,
                                                outcome.outcome_id))
    with transaction.atomic():
        scores = store.scores_lock(ids, floor_stage=config.floor_stage)
        stored = {row[0]: SalesStage(*row[1:]) for row in
                  InterestScore.objects.filter(member_id__in=ids).values_list("member_id", *_STORED)}
        facts: dict[int, list[OutcomeFact]] = defaultdict(list)
        for row in Outcome.objects.filter(member_id__in=ids).values_list(
                "member_id", "type", "occurred_at", "reason", "source", "outcome_id"):
            facts[row[0]].append(_fact(*row[1:]))
        members = store.members_facts(ids)
        rows, transitions = [], []
        for member_id in ids:
            score, before = scores.get(member_id), stored.get(member_id)
            if score is None or before is None or member_id not in members:
                continue  # deleted meanwhile
            new = set(arrived.get(member_id, ()))
            known = [f for f in facts.get(member_id, []) if f not in new]
            steps = []  # the state after each arrival in turn; without arrivals, after all outcomes
            for fact in arrived.get(member_id, ()):
                known.append(fact)
                steps.append((sales_stage_of(known), None))
            if not steps or len(known) != len(facts.get(member_id, [])):
                steps.append((sales_stage_of(facts.get(member_id, [])), reason))
            shown = score.stage or config.floor_stage
            member, state = members[member_id], before
            for after, cause in steps:
                if after.stage != state.stage:
                    change = StageChange(
                        member_id, member.external_id, member.email, state.stage or shown, after.stage or shown,
                        score.engagement, score.fit, (cause or after.outcome or "outcome_deleted")[:32],
                        now if cause or after.at is None else after.at)
                    changes.append(change)
                    transitions.append(StageTransition(
                        member_id=member_id, from_stage=change.from_stage, to_stage=change.to_stage,
                        occurred_at=change.at, engagement=change.engagement, fit=change.fit, reason=change.reason,
                        detail=after.reason))
                state = after
            if state != before:
                rows.append((member_id, *(getattr(score, f) for f in SCORE_FIELDS), now,
                             state.stage, state.outcome, state.reason, state.at))
        # The rows exist and are locked: an upsert touching only the sales columns is one statement for them all.
        rows_upsert(InterestScore, columns=["member", *SCORE_FIELDS, "updated_at", *_STORED], rows=rows,
                    conflict=["member"], update=list(_STORED))
        StageTransition.objects.bulk_create(transitions)
        stage_changes_announce(changes)
    return changes


def _fact(kind: str, at: datetime, reason: str, source: str, outcome_id: str) -> OutcomeFact:
    return OutcomeFact(kind, at, reason, (source, outcome_id))
