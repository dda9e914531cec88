"""Celery wiring for webhook deliveries: one attempt per run, retried with exponential backoff."""
from celery import shared_task
from django.utils import timezone

from community_scoring.webhooks.delivery import webhook_delivery_attempt
from community_scoring.webhooks.models import WebhookDelivery
from community_scoring.webhooks.selectors import webhook_deliveries_due


@shared_task(bind=True, max_retries=None, acks_late=True)
def webhook_deliver(self, delivery_id: int) -> str | None:
    """Attempt delivery `delivery_id`; if it should be retried, schedule the next attempt at its backoff time.

    Safe to run twice: a succeeded or failed delivery is not sent again. The attempt budget lives in the
    delivery row (WEBHOOK_MAX_ATTEMPTS), not in Celery's retry counter, so a redelivered task cannot exceed it.
    Run eagerly (no broker) there is nothing to schedule a retry on: the delivery stays "retrying" and the
    periodic webhook_retry_due sweep picks it up when it is due.
    """
    delivery = webhook_delivery_attempt(delivery_id=delivery_id)
    if delivery is None:
        return None
    if delivery.status == WebhookDelivery.Status.RETRYING and not self.request.is_eager:
        countdown = max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds())
        raise self.retry(countdown=countdown)
    return delivery.status


@shared_task
def webhook_retry_due() -> int:
    """Periodic sweep (every minute, see migration 0002): resend deliveries whose retry time has come.

    Catches retries that had no broker to wait on (eager mode) or whose task was lost.
    """
    due = webhook_deliveries_due()
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return len(due)
