"""Inactivity penalties: an ``inactivity`` action logged for members idle for their rule set's inactivity_days.

The penalty is an ordinary action in the log (source "system", type "inactivity", occurred_at = last activity +
inactivity_days, external_event_id "inactivity:<member id>:<last activity date>"), so its points come from the
``inactivity`` rule (normally negative), decay like any other, and a full recompute reproduces them. The id
makes the task idempotent: one penalty per stretch of inactivity; acting again starts a new stretch. Only the
member's own actions count as activity (not being voted on, and not the penalty itself).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from community_scoring.models import Action, InterestScore
from community_scoring.scoring.ruleset import INACTIVITY
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.interest_queue import interest_pending_dispatch
from community_scoring.store import interest_store
from community_scoring.store.base import rules_for

SYSTEM_SOURCE = "system"


def inactivity_event_id(*, member_id: int, last_activity_at: datetime) -> str:
    return f"inactivity:{member_id}:{last_activity_at.date().isoformat()}"


def interest_inactivity_apply(*, now: datetime | None = None, chunk_size: int = 500) -> int:
    """Log the penalties due at ``now`` (default: now) and queue them for scoring like any stored action (scored
    before this returns with INTEREST_SCORING=inline); returns how many were logged."""
    now = now or timezone.now()
    config = scoring_config_current()
    options = [r.inactivity_days for r in (config.default, *config.personas.values()) if r.inactivity_days]
    if not options:
        return 0
    penalised = Action.objects.filter(
        member_id=OuterRef("member_id"), action_type_id=INACTIVITY, occurred_at__gte=OuterRef("last_activity_at")
    )
    candidates = (
        InterestScore.objects.filter(last_activity_at__lte=now - timedelta(days=min(options)))
        .annotate(penalised=Exists(penalised)).filter(penalised=False)
        .order_by("member_id").values_list("member_id", "last_activity_at")
    )
    members = interest_store().members_facts(member_id for member_id, _ in candidates)
    due: list[Action] = []
    for member_id, last in candidates:
        days = rules_for(config, members[member_id]).inactivity_days
        if not days or last > now - timedelta(days=days):
            continue
        due.append(Action(
            member_id=member_id, action_type_id=INACTIVITY, occurred_at=last + timedelta(days=days),
            source=SYSTEM_SOURCE, external_event_id=inactivity_event_id(member_id=member_id, last_activity_at=last),
            metadata={"inactive_days": days, "last_activity_at": last.isoformat()}, recorded_at=now,
        ))
    logged = 0
    for start in range(0, len(due), chunk_size):
        chunk = due[start:start + chunk_size]
        with transaction.atomic():
            taken = set(Action.objects.filter(
                source=SYSTEM_SOURCE, external_event_id__in=[a.external_event_id for a in chunk]
            ).values_list("external_event_id", flat=True))
            fresh = [a for a in chunk if a.external_event_id not in taken]
            created = Action.objects.bulk_create(fresh)
            pending = interest_store().pending_add(action_ids=[a.pk for a in created], refit=()) if created else []
            interest_pending_dispatch(pending)
            logged += len(created)
    return logged
