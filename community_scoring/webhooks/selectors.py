"""Webhook reads."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from community_scoring.webhooks.models import WebhookDelivery


def webhook_deliveries_due(*, now=None, stale_after: timedelta = timedelta(minutes=10)) -> list[int]:
    """Ids of deliveries to (re)send: retrying ones whose time has come, and pending ones never picked up."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(
        Q(status=WebhookDelivery.Status.RETRYING, next_attempt_at__lte=now)
        | Q(status=WebhookDelivery.Status.PENDING, created_at__lte=now - stale_after)
    )
    return list(due.order_by("id").values_list("id", flat=True)[:1000])
