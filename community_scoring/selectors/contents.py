"""Reads of the content and action log by their platform keys, for adapters that need what an event made."""
from __future__ import annotations

from community_scoring.models import Action, Content


def content_find(*, source: str, external_id: str) -> Content | None:
    """The content a platform knows as (source, external id), with its author; None when never seen."""
    return Content.objects.select_related("author").filter(source=source, external_id=external_id).first()


def action_id_find(*, source: str, external_event_id: str) -> int | None:
    """The id of the action a platform event was stored as; None when it was not."""
    return Action.objects.filter(source=source, external_event_id=external_event_id).values_list(
        "id", flat=True).first()
