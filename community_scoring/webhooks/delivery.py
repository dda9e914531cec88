"""Sending a webhook delivery: the signed request, one HTTP attempt, and the retry backoff.

What a subscriber receives (POST, JSON body):
    {"id": "<delivery uuid>", "event": "stage_changed", "created_at": "<ISO time>", "data": {...payload...}}
with headers
    X-Community-Scoring-Event: stage_changed
    X-Community-Scoring-Delivery: <delivery uuid>          (same on every retry: use it to de-duplicate)
    X-Community-Scoring-Timestamp: <unix seconds of this attempt>
    X-Community-Scoring-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
A subscriber verifies by recomputing the HMAC over the timestamp, a dot and the raw body bytes, comparing in
constant time, and rejecting timestamps older than a few minutes (replay).

The delivery task (webhooks.tasks) calls webhook_delivery_attempt; deliveries are created and queued by
webhooks.services.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from community_scoring.webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Community-Scoring-Signature"
TIMESTAMP_HEADER = "X-Community-Scoring-Timestamp"
EVENT_HEADER = "X-Community-Scoring-Event"
DELIVERY_HEADER = "X-Community-Scoring-Delivery"
# Responses worth trying again: the subscriber is down, overloaded or timed out. Other 4xx are final.
RETRYABLE_STATUS = frozenset({408, 425, 429})


def _setting(name: str, default):
    return getattr(settings, name, default)


def webhook_max_attempts() -> int:
    return int(_setting("WEBHOOK_MAX_ATTEMPTS", 6))


def webhook_retry_delay(*, attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): base * 2**(attempt-1), capped.

    With the defaults (base 30 s, cap 1 h) the waits are 30 s, 60 s, 120 s, 240 s, 480 s.
    """
    base = float(_setting("WEBHOOK_BACKOFF_BASE_SECONDS", 30))
    cap = float(_setting("WEBHOOK_BACKOFF_MAX_SECONDS", 3600))
    return min(cap, base * 2 ** (attempt - 1))


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed): deterministic, so every retry sends the same body."""
    envelope = {
        "id": str(delivery.delivery_id),
        "event": delivery.event,
        "created_at": delivery.created_at,
        "data": delivery.payload,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":")).encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of "<timestamp>.<body>" keyed by the subscription's secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_headers(*, delivery: WebhookDelivery, body: bytes, timestamp: int) -> dict[str, str]:
    signature = webhook_signature(secret=delivery.subscription.secret, timestamp=timestamp, body=body)
    return {
        "Content-Type": "application/json",
        "User-Agent": "community-scoring-webhooks/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.delivery_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"sha256={signature}",
    }


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Make one HTTP attempt for a delivery and record its outcome; a finished delivery is left alone.

    2xx -> succeeded. Network error, timeout, 5xx, 408/425/429 -> retrying (with next_attempt_at), or failed
    once WEBHOOK_MAX_ATTEMPTS attempts are used. Any other status (e.g. 400, 410) -> failed at once.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update().select_related("subscription").filter(pk=delivery_id).first()
        )
        if delivery is None or delivery.status in (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED):
            return delivery
        if not delivery.subscription.is_active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = "subscription deactivated"
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
            return delivery
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        delivery.save(update_fields=["attempts", "last_attempt_at"])
    body = webhook_body(delivery)
    headers = webhook_headers(delivery=delivery, body=body, timestamp=int(time.time()))
    timeout = float(_setting("WEBHOOK_TIMEOUT_SECONDS", 10))
    code: int | None = None
    error = ""
    try:
        response = requests.post(
            delivery.subscription.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}: {response.text[:500]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    retryable = code is None or code >= 500 or code in RETRYABLE_STATUS
    now = timezone.now()
    delivery.response_code = code
    delivery.last_error = error
    if not error:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif retryable and delivery.attempts < webhook_max_attempts():
        delivery.status = WebhookDelivery.Status.RETRYING
        delivery.next_attempt_at = now + timedelta(seconds=webhook_retry_delay(attempt=delivery.attempts))
    else:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "response_code", "last_error", "delivered_at", "next_attempt_at"])
    if error:
        logger.warning("webhook delivery %s attempt %s: %s", delivery.delivery_id, delivery.attempts, error)
    return delivery
