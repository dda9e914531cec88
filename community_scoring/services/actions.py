"""Recording actions: the one entry point every platform adapter calls."""
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from community_scoring.models import Action, ActionType, Content, Member
from community_scoring.services.errors import ActionRejected

# Clocks drift: an event a little in the future is accepted, further is rejected.
FUTURE_TOLERANCE = timedelta(minutes=5)


def action_validate(*, action_type: str, occurred_at: datetime | None, member: Member | None) -> ActionType:
    errors: dict[str, list[str]] = {}
    type_obj = ActionType.objects.filter(key=action_type).first() if action_type else None
    if type_obj is None:
        errors["type"] = [f"unknown action type {action_type!r}"]
    if occurred_at is None:
        errors["occurred_at"] = ["required"]
    elif timezone.is_naive(occurred_at):
        errors["occurred_at"] = ["must include a timezone"]
    elif occurred_at > timezone.now() + FUTURE_TOLERANCE:
        errors["occurred_at"] = ["is in the future"]
    if member is None:
        errors["member"] = ["required"]
    if errors:
        raise ActionRejected(errors)
    return type_obj


def action_record(
    *,
    source: str,
    external_event_id: str,
    action_type: str,
    member: Member,
    occurred_at: datetime,
    target_member: Member | None = None,
    target_content: Content | None = None,
    text: str = "",
    metadata: dict[str, Any] | None = None,
    topic: str | None = None,
) -> tuple[Action, bool]:
    """Append one action to the log and update interest in the same transaction.

    Idempotent on (source, external_event_id): a repeat returns the stored action and created=False, and
    changes no score. The target member defaults to the target content's author; acting on yourself
    records the action but earns no points (the interest rules skip self-targets). `topic` overrides the
    target content's topic (e.g. a new question has no target but belongs to a category).
    """
    action_validate(action_type=action_type, occurred_at=occurred_at, member=member)
    if target_member is None and target_content is not None:
        target_member = target_content.author
    existing = Action.objects.filter(source=source, external_event_id=external_event_id).first()
    if existing is not None:
        return existing, False
    from community_scoring.services.interest import interest_apply

    try:
        with transaction.atomic():
            action = Action.objects.create(
                member=member,
                action_type_id=action_type,
                occurred_at=occurred_at,
                target_member=target_member,
                target_content=target_content,
                topic=(topic if topic is not None else (target_content.topic if target_content is not None else "")) or "",
                text=text or "",
                metadata=metadata or {},
                source=source,
                external_event_id=external_event_id,
            )
            interest_apply(actions=[action])
    except IntegrityError:
        # A concurrent delivery of the same event won the race: it counts once.
        existing = Action.objects.filter(source=source, external_event_id=external_event_id).first()
        if existing is None:
            raise
        return existing, False
    return action, True
