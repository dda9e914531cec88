"""Outbound webhooks: subscriptions, and the deliveries queued when something subscribers care about happens.

Contract for the engine: call `webhook_event_enqueue(event=..., payload=...)` when something subscribers care
about happens (stage_changed, became_advocate). One WebhookDelivery row is written per matching active
subscription in the caller's transaction, and the Celery delivery task is queued only once that transaction
commits, so a rolled-back score change never notifies anyone. What a subscriber receives, and how it is signed
and retried, is in community_scoring.webhooks.delivery.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from community_scoring.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
# The one upward import a service may make: it queues its own task (see .importlinter).
from community_scoring.webhooks.tasks import webhook_deliver

logger = logging.getLogger(__name__)

EVENTS = tuple(WebhookEvent.values)


def webhook_event_enqueue(*, event: str, payload: dict) -> None:
    """Queue a delivery of `event` to every active subscriber of it; the task is sent after commit."""
    webhook_events_enqueue(event=event, payloads=[payload])


def webhook_events_enqueue(*, event: str, payloads: list[dict]) -> int:
    """Bulk form for recomputes that change many members at once: one subscription read, one insert.

    Returns the number of deliveries queued.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}; expected one of {', '.join(EVENTS)}")
    if not payloads:
        return 0
    subscriptions = [s for s in WebhookSubscription.objects.filter(is_active=True) if event in (s.events or [])]
    if not subscriptions:
        return 0
    # Round-trip through JSON so dates and decimals are stored (and later signed) exactly as they will be sent.
    data = [json.loads(json.dumps(payload, cls=DjangoJSONEncoder)) for payload in payloads]
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(subscription=s, event=event, payload=d) for d in data for s in subscriptions],
        batch_size=1000,
    )
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: _send(pk))
    return len(deliveries)


def _send(delivery_id: int) -> None:
    """Queue the delivery task; a broker hiccup (or an eager run failing) must not break the engine's commit."""
    try:
        webhook_deliver.delay(delivery_id)
    except Exception:  # the row stays pending; webhook_retry_due sends it later
        logger.exception("could not queue webhook delivery %s", delivery_id)


def webhook_subscription_create(*, name: str, url: str, events: list[str], secret: str, is_active: bool = True) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        name=name, url=url, events=sorted(set(events)), secret=secret, is_active=is_active
    )


def webhook_subscription_update(*, subscription: WebhookSubscription, **fields: Any) -> WebhookSubscription:
    """Change the given fields (name, url, events, secret, is_active); others stay."""
    allowed = {"name", "url", "events", "secret", "is_active"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"cannot update {', '.join(sorted(unknown))}")
    if "events" in fields:
        fields["events"] = sorted(set(fields["events"]))
    for key, value in fields.items():
        setattr(subscription, key, value)
    if fields:
        subscription.save(update_fields=[*fields, "updated_at"])
    return subscription


def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    subscription.delete()
