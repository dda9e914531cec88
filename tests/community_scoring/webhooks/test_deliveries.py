"""Outbound webhooks: signed, retried with exponential backoff, logged; HTTP is mocked at the requests level."""
import hashlib
import hmac
import json
from datetime import timedelta
from unittest import mock

import pytest
import requests
from celery.exceptions import Retry
from django.utils import timezone

from community_scoring.webhooks import services
from community_scoring.webhooks.delivery import webhook_delivery_attempt, webhook_retry_delay, webhook_signature
from community_scoring.webhooks.models import WebhookDelivery, WebhookSubscription
from community_scoring.webhooks.selectors import webhook_deliveries_due
from community_scoring.webhooks.tasks import webhook_deliver

pytestmark = pytest.mark.django_db

SECRET = "s3cret-s3cret-s3cret"


def _response(code: int, text: str = "") -> mock.Mock:
    return mock.Mock(status_code=code, text=text)


@pytest.fixture
def subscription():
    return WebhookSubscription.objects.create(
        name="crm", url="https://crm.example.com/hook", events=["stage_changed"], secret=SECRET
    )


def _enqueue(django_capture_on_commit_callbacks, event="stage_changed", payload=None, execute=False):
    with django_capture_on_commit_callbacks(execute=execute) as callbacks:
        services.webhook_event_enqueue(event=event, payload=payload or {"member_id": 7, "to_stage": "MQL"})
    return callbacks


def test_enqueue_creates_one_delivery_per_matching_active_subscription(subscription, django_capture_on_commit_callbacks):
    WebhookSubscription.objects.create(name="other", url="https://x.example.com", events=["became_advocate"], secret=SECRET)
    WebhookSubscription.objects.create(
        name="off", url="https://y.example.com", events=["stage_changed"], secret=SECRET, is_active=False
    )
    callbacks = _enqueue(django_capture_on_commit_callbacks)
    deliveries = list(WebhookDelivery.objects.all())
    assert [d.subscription_id for d in deliveries] == [subscription.pk]
    assert deliveries[0].status == "pending" and deliveries[0].attempts == 0
    assert len(callbacks) == 1  # the task is sent only when the transaction commits


def test_enqueue_without_subscribers_writes_nothing(django_capture_on_commit_callbacks):
    callbacks = _enqueue(django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 0 and callbacks == []


def test_unknown_event_is_rejected():
    with pytest.raises(ValueError):
        services.webhook_event_enqueue(event="member_deleted", payload={})


def test_delivery_is_signed_and_verifiable_with_hmac(subscription, django_capture_on_commit_callbacks):
    with mock.patch("requests.post", return_value=_response(204)) as post:
        _enqueue(django_capture_on_commit_callbacks, payload={"member_id": 7, "to_stage": "MQL"}, execute=True)
    assert post.call_count == 1
    args, kwargs = post.call_args
    assert args[0] == "https://crm.example.com/hook"
    assert kwargs["timeout"] == 10 and kwargs["allow_redirects"] is False
    body, headers = kwargs["data"], kwargs["headers"]
    # Independent verification, as a subscriber would do it.
    expected = hmac.new(SECRET.encode(), headers["X-Community-Scoring-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Community-Scoring-Signature"] == "sha256=" + expected.hexdigest()
    assert abs(int(headers["X-Community-Scoring-Timestamp"]) - timezone.now().timestamp()) < 60
    delivery = WebhookDelivery.objects.get()
    assert headers["X-Community-Scoring-Event"] == "stage_changed"
    assert headers["X-Community-Scoring-Delivery"] == str(delivery.delivery_id)
    envelope = json.loads(body)
    assert envelope["event"] == "stage_changed" and envelope["id"] == str(delivery.delivery_id)
    assert envelope["data"] == {"member_id": 7, "to_stage": "MQL"}
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 204)
    assert delivery.delivered_at is not None


def test_signature_with_the_wrong_secret_does_not_verify(subscription):
    body = b'{"a":1}'
    good = webhook_signature(secret=SECRET, timestamp=100, body=body)
    assert good != webhook_signature(secret="another-secret-value", timestamp=100, body=body)
    assert good != webhook_signature(secret=SECRET, timestamp=101, body=body)


def test_backoff_doubles_from_the_base_and_is_capped(settings):
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 30
    settings.WEBHOOK_BACKOFF_MAX_SECONDS = 200
    assert [webhook_retry_delay(attempt=n) for n in range(1, 6)] == [30, 60, 120, 200, 200]


def _pending(subscription) -> WebhookDelivery:
    return WebhookDelivery.objects.create(subscription=subscription, event="stage_changed", payload={"m": 1})


def test_server_error_is_retried_with_backoff_then_fails_after_max_attempts(subscription, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 10
    delivery = _pending(subscription)
    with mock.patch("requests.post", return_value=_response(503, "down")):
        before = timezone.now()
        first = webhook_delivery_attempt(delivery_id=delivery.pk)
        assert (first.status, first.attempts, first.response_code) == ("retrying", 1, 503)
        assert timedelta(seconds=9) < first.next_attempt_at - before < timedelta(seconds=11)
        second = webhook_delivery_attempt(delivery_id=delivery.pk)
        assert second.status == "retrying"
        assert timedelta(seconds=19) < second.next_attempt_at - second.last_attempt_at < timedelta(seconds=21)
        third = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert (third.status, third.attempts, third.next_attempt_at) == ("failed", 3, None)
    assert "HTTP 503" in third.last_error


def test_network_errors_and_timeouts_are_retried(subscription):
    delivery = _pending(subscription)
    with mock.patch("requests.post", side_effect=requests.Timeout("read timed out")):
        result = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert (result.status, result.response_code) == ("retrying", None)
    assert "Timeout" in result.last_error
    with mock.patch("requests.post", side_effect=requests.ConnectionError("refused")):
        result = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert result.status == "retrying" and result.attempts == 2


@pytest.mark.parametrize("code", [400, 401, 404, 410])
def test_client_errors_fail_at_once(subscription, code):
    delivery = _pending(subscription)
    with mock.patch("requests.post", return_value=_response(code)):
        result = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert (result.status, result.attempts, result.response_code) == ("failed", 1, code)


def test_rate_limited_is_retried(subscription):
    with mock.patch("requests.post", return_value=_response(429)):
        result = webhook_delivery_attempt(delivery_id=_pending(subscription).pk)
    assert result.status == "retrying"


def test_finished_delivery_is_not_sent_again(subscription):
    delivery = _pending(subscription)
    with mock.patch("requests.post", return_value=_response(200)) as post:
        webhook_delivery_attempt(delivery_id=delivery.pk)
        webhook_delivery_attempt(delivery_id=delivery.pk)
    assert post.call_count == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_deactivated_subscription_stops_pending_delivery(subscription):
    delivery = _pending(subscription)
    subscription.is_active = False
    subscription.save()
    with mock.patch("requests.post") as post:
        result = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert post.call_count == 0 and result.status == "failed"


def test_task_schedules_retry_at_the_backoff_countdown(subscription, settings):
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 30
    delivery = _pending(subscription)
    with mock.patch("requests.post", return_value=_response(500)), \
            mock.patch.object(webhook_deliver, "retry", side_effect=Retry("retry")) as retry:
        with pytest.raises(Retry):
            webhook_deliver.run(delivery.pk)
    countdown = retry.call_args.kwargs["countdown"]
    assert 28 <= countdown <= 30


def test_eager_task_leaves_retry_to_the_sweep_which_resends_when_due(subscription):
    """Without a broker a retry cannot wait: the task records "retrying", the periodic sweep resends when due."""
    from community_scoring.webhooks.tasks import webhook_retry_due

    delivery = _pending(subscription)
    with mock.patch("requests.post", side_effect=[_response(502), _response(200)]) as post:
        webhook_deliver.apply(args=[delivery.pk])
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("retrying", 1)
        assert webhook_retry_due.apply().get() == 0  # not due yet: nothing sent
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert webhook_retry_due.apply().get() == 1
    delivery.refresh_from_db()
    assert post.call_count == 2
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 2, 200)


def test_sweep_picks_up_pending_deliveries_whose_task_was_lost(subscription):
    fresh = _pending(subscription)
    lost = _pending(subscription)
    WebhookDelivery.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    assert webhook_deliveries_due() == [lost.pk]
    assert fresh.pk not in webhook_deliveries_due()


def test_retry_sweep_is_scheduled_in_celery_beat():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="community_scoring.webhooks.tasks.webhook_retry_due")
    assert task.enabled and (task.interval.every, task.interval.period) == (1, "minutes")


def test_commit_never_breaks_when_queueing_fails(subscription, django_capture_on_commit_callbacks):
    with mock.patch("community_scoring.webhooks.tasks.webhook_deliver.delay", side_effect=ConnectionError("broker")):
        _enqueue(django_capture_on_commit_callbacks, execute=True)
    assert WebhookDelivery.objects.get().status == "pending"


def test_same_body_and_delivery_id_on_every_retry(subscription):
    delivery = _pending(subscription)
    with mock.patch("requests.post", side_effect=[_response(500), _response(200)]) as post:
        webhook_delivery_attempt(delivery_id=delivery.pk)
        webhook_delivery_attempt(delivery_id=delivery.pk)
    first, second = post.call_args_list
    assert first.kwargs["data"] == second.kwargs["data"]
    assert first.kwargs["headers"]["X-Community-Scoring-Delivery"] == second.kwargs["headers"]["X-Community-Scoring-Delivery"]


def test_celery_routes_the_task_by_its_registered_name():
    from settings.celeryconf import app

    assert "community_scoring.webhooks.tasks.webhook_deliver" in app.tasks


def test_bulk_enqueue_one_delivery_per_payload_and_subscriber(subscription, django_capture_on_commit_callbacks):
    WebhookSubscription.objects.create(name="two", url="https://two.example.com", events=["stage_changed"], secret=SECRET)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = services.webhook_events_enqueue(event="stage_changed", payloads=[{"m": 1}, {"m": 2}, {"m": 3}])
    assert queued == 6 and WebhookDelivery.objects.count() == 6 and len(callbacks) == 6
    assert sorted(d.payload["m"] for d in WebhookDelivery.objects.filter(subscription=subscription)) == [1, 2, 3]
