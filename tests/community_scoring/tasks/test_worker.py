"""Tasks through a real Redis broker and a real worker thread (not eager mode): the recompute, and the scorer
tasks of INTEREST_SCORING=worker."""

import time
from datetime import timedelta

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from community_scoring.models import InterestBucket, InterestPending, InterestScore, RecomputeJob
from community_scoring.services.events import ContentIn, EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.recompute import interest_recompute
from community_scoring.influence.tasks import influence_recompute_task
from community_scoring.tasks import (
    interest_partition_score_task, interest_pending_score_task, interest_recompute_task, interest_snapshot_task,
    jobs_pending_publish_task, members_link_task,
)
from community_scoring.webhooks.tasks import webhook_deliver
from settings.celeryconf import app
from tests.community_scoring.services.interest_helpers import T0, install_test_config, record
from tests.factories import MemberFactory

BROKER = "redis://127.0.0.1:6379/11"


@pytest.fixture
def redis_app():
    """The project's Celery app pointed at Redis db 11, eager mode off; restored afterwards."""
    try:
        redis.Redis.from_url(BROKER).flushdb()
    except redis.ConnectionError:
        pytest.fail("Redis must be running on 127.0.0.1:6379 (.ci/run starts it)")
    # Settings come from Django under the CELERY_ namespace, so overrides use the namespaced keys.
    keys = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CELERY_TASK_ALWAYS_EAGER")
    saved = {key: app.conf.get(key) for key in keys}
    app.conf.update(CELERY_BROKER_URL=BROKER, CELERY_RESULT_BACKEND=BROKER, CELERY_TASK_ALWAYS_EAGER=False)
    _forget_connections()
    yield app
    app.conf.update(saved)
    _forget_connections()


def _forget_connections() -> None:
    """Drop the broker pools and the (thread-local) result backend Celery cached for the old settings."""
    app._pool = None
    app.amqp._producer_pool = None
    if hasattr(app._local, "backend"):
        del app._local.backend


def test_celery_settings_in_effect():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert app.conf.timezone == "UTC"
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    assert interest_recompute_task.acks_late is True
    assert interest_recompute_task.name in app.tasks


@pytest.mark.parametrize("task, queue", [
    (interest_partition_score_task, "scoring"),
    (interest_pending_score_task, "scoring"),
    (members_link_task, "scoring"),
    (jobs_pending_publish_task, "scoring"),  # a sweep must not wait behind a recompute
    (interest_recompute_task, "recompute"),
    (interest_snapshot_task, "recompute"),
    (influence_recompute_task, "influence"),
    (webhook_deliver, "webhooks"),
])
def test_each_kind_of_work_has_its_own_queue(task, queue):
    """Ingest scoring never waits behind a recompute or an influence run: they are on different queues, and a
    worker started without -Q (one machine) takes all four."""
    task = task.name
    route = app.amqp.router.route({}, task)
    assert route["queue"].name == queue
    assert set(app.amqp.queues) == {"scoring", "recompute", "influence", "webhooks"}
    # bound by its own key: a message for one queue reaches no other
    bindings = {(q.exchange.name, q.routing_key) for q in app.amqp.queues.values()}
    assert len(bindings) == 4 and (route["queue"].exchange.name, route["queue"].routing_key) == (queue, queue)


@pytest.fixture
def engaged_member(transactional_db):
    """A member with 24 fresh points (engaged), set up while tasks still run eagerly."""
    install_test_config()
    member = MemberFactory()
    today = (timezone.now() - T0).total_seconds() / 86400 - 0.01
    for _ in range(3):
        record(member, "answer", day=today)
    return member


@pytest.mark.celery_worker
def test_recompute_task_on_a_real_worker(engaged_member, redis_app):
    member = engaged_member
    InterestScore.objects.filter(member=member).update(engagement=0, stage="visitor")
    job = RecomputeJob.objects.create(kind="interest")
    assert redis_app.conf.task_always_eager is False and redis_app.conf.broker_url == BROKER
    with start_worker(redis_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10):
        result = interest_recompute_task.delay(job.pk)
        outcome = result.get(timeout=30)
        again = interest_recompute_task.delay(job.pk).get(timeout=30)  # delivered twice: the second is a no-op
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 1, 1)
    assert outcome == {"job": job.pk, "members": 1, "actions": 3, "stage_changes": 1}
    assert again == {"job": job.pk, "skipped": True}
    score = InterestScore.objects.get(member=member)
    assert score.stage == "engaged" and score.engagement > 20


@pytest.mark.celery_worker
def test_ingested_batches_are_scored_by_a_real_worker(transactional_db, redis_app, settings):
    """INTEREST_SCORING=worker: the batch answers once stored; the worker's scorer tasks score it, exactly once."""
    settings.INTEREST_SCORING, settings.INTEREST_SCORERS = "worker", 2
    now = timezone.now()
    events = [EventIn(source="w", event_id=f"e-{i}", type=["answer", "vote_up"][i % 2],
                      occurred_at=now - timedelta(hours=i), member=MemberIn(external_id=f"u-{i % 5}"),
                      target_content=ContentIn(external_id=f"p-{i % 3}", topic="api", author_external_id=f"a-{i % 3}"))
              for i in range(40)]
    with start_worker(redis_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10):
        results = actions_ingest(events=events, now=now)
        assert {r.status for r in results} == {"created"}
        deadline = time.monotonic() + 30
        while InterestPending.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not InterestPending.objects.exists()

    def counts():
        return {(b.member_id, b.action_type_id, b.received, b.day): b.count for b in InterestBucket.objects.all()}
    scored = counts()
    assert sum(scored.values()) == 40 + 20  # every action for its actor, the 20 votes for the post's author too
    interest_recompute()
    assert counts() == scored


@pytest.mark.celery_worker
def test_identities_sharing_a_crm_id_are_merged_by_a_real_worker(transactional_db, redis_app, settings):
    """INTEREST_SCORING=worker: the batch's linking runs as a task after its commit; scores end as a recompute's."""
    from community_scoring.models import Member
    from community_scoring.tasks import members_link_task

    settings.INTEREST_SCORING, settings.INTEREST_SCORERS = "worker", 2
    assert members_link_task.acks_late is True and members_link_task.name in app.tasks
    now = timezone.now()
    with start_worker(redis_app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10):
        actions_ingest(events=[EventIn(source="forum", event_id="f1", type="answer", occurred_at=now,
                                       member=MemberIn(external_id="7", crm_id="CRM-1"))], now=now)
        actions_ingest(events=[EventIn(source="crm", event_id="c1", type="answer", occurred_at=now,
                                       member=MemberIn(external_id="x", crm_id="CRM-1"))], now=now)
        deadline = time.monotonic() + 30
        while (InterestPending.objects.exists() or not Member.objects.filter(merged_into__isnull=False).exists()) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
    forum, crm = Member.objects.get(source="forum"), Member.objects.get(source="crm")
    assert crm.merged_into_id == forum.pk
    counts = {(b.member_id, b.action_type_id): b.count for b in InterestBucket.objects.all()}
    assert counts == {(forum.pk, "answer"): 2}
    interest_recompute()
    assert {(b.member_id, b.action_type_id): b.count for b in InterestBucket.objects.all()} == counts
