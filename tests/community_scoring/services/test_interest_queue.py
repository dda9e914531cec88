"""The queue between storing a batch's actions and scoring them (services.interest_queue).

What a user relies on: an ingest response means the batch is scored (INTEREST_SCORING=inline), or that a scorer
will score it (worker: a Celery task per idle partition, or the scorer running); every action counts exactly
once, even when a process dies between storing and scoring, when a recompute runs while actions are pending, and
when the scorer count changes with actions pending; the scorer partitions together give what one scorer gives;
concurrent batches lose nothing.
"""
import threading
import time
import types
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from kombu.exceptions import OperationalError

from community_scoring.models import Action, InterestBucket, InterestPending, InterestScore
from community_scoring.services import ingest
from community_scoring.services.events import ContentIn, EventIn, MemberIn
from community_scoring.services import interest_queue
from community_scoring.services.ingest import actions_ingest
from community_scoring import tasks
from community_scoring.services.interest_queue import interest_pending_drain, interest_pending_score
from community_scoring.store.postgres import SCORER_LOCK
from community_scoring.services.recompute import interest_recompute
from community_scoring.tasks import interest_pending_score_task

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the queue serves the PostgreSQL bulk path"),
]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def batch(first: int, n: int, source: str = "queue") -> list[EventIn]:
    """Answers and votes among 8 members on 4 posts over 3 days: targets, caps and topics all come into play."""
    out = []
    for i in range(first, first + n):
        kind = ["answer", "vote_up", "comment"][i % 3]
        out.append(EventIn(
            source=source, event_id=f"e-{i}", type=kind, occurred_at=NOW - timedelta(hours=(i * 7) % 72),
            member=MemberIn(external_id=f"u-{i % 8}"),
            target_content=ContentIn(external_id=f"p-{i % 4}", topic=["api", "sdk"][i % 2],
                                     author_external_id=f"u-{(i + 3) % 8}"),
        ))
    return out


def counted(*ranges: tuple[int, int]) -> int:
    """What the bucket counts of these batch(first, n) events add up to: each once for its actor, and votes once
    more for the target (the only one of the three types whose rule gives target points)."""
    return sum(1 + (i % 3 == 1) for first, n in ranges for i in range(first, first + n))


def state() -> dict:
    """Each member's engagement valued at NOW (the default rule set's 90-day half-life), primary topic and stage,
    and the buckets' action counts."""
    scores = {}
    for s in InterestScore.objects.all():
        days = (NOW - s.ref_time).total_seconds() / 86400 if s.ref_time else 0
        scores[s.member_id] = (pytest.approx(s.engagement * 2 ** (-days / 90), rel=1e-9), s.primary_topic, s.stage)
    counts = dict(InterestBucket.objects.values_list("member_id").annotate(n=Sum("count")).order_by())
    return {"scores": scores, "counts": counts}


def recomputed() -> dict:
    interest_recompute(now=NOW)
    return state()


def crash_before_scoring(monkeypatch) -> None:
    """The process dies after the batch's commit, before it scores: its pending rows stay."""
    monkeypatch.setattr(ingest, "interest_pending_dispatch", lambda pending: None)


@pytest.mark.parametrize("scorers", [1, 2])
def test_an_ingest_returns_scored_with_nothing_left_pending(settings, scorers):
    settings.INTEREST_SCORERS = scorers
    results = actions_ingest(events=batch(0, 60), now=NOW)
    assert all(r.status == "created" for r in results)
    assert not InterestPending.objects.exists()
    assert sum(state()["counts"].values()) == counted((0, 60))
    incremental = state()
    assert recomputed() == incremental


@pytest.mark.parametrize("scorers", [1, 2])
def test_rows_a_crash_left_are_scored_once_by_the_next_batch_or_the_periodic_task(settings, monkeypatch, scorers):
    settings.INTEREST_SCORERS = scorers
    with monkeypatch.context() as m:
        crash_before_scoring(m)
        actions_ingest(events=batch(0, 40), now=NOW)
    assert InterestPending.objects.count() == scorers  # one row per partition
    assert not InterestScore.objects.filter(engagement__gt=0).exists()  # stored, not yet scored

    actions_ingest(events=batch(40, 40), now=NOW)  # the next batch's scorer takes the older rows too
    assert not InterestPending.objects.exists()
    assert interest_pending_score_task.delay().get() == 0  # nothing left: nothing counted twice
    incremental = state()
    assert recomputed() == incremental

    with monkeypatch.context() as m:
        crash_before_scoring(m)
        actions_ingest(events=batch(80, 40), now=NOW)
    assert interest_pending_score_task.delay().get() == 40 * scorers  # each partition scores its share once
    assert interest_pending_score_task.delay().get() == 0
    incremental = state()
    assert recomputed() == incremental


@pytest.mark.parametrize("scorers", [1, 2])
def test_a_recompute_while_actions_are_pending_leaves_them_to_their_scorer(settings, monkeypatch, scorers):
    settings.INTEREST_SCORERS = scorers
    actions_ingest(events=batch(0, 40), now=NOW)
    with monkeypatch.context() as m:
        crash_before_scoring(m)
        actions_ingest(events=batch(40, 40), now=NOW)
    if scorers == 2:  # one partition scored before the recompute, the other after it
        interest_queue._partition_score(0, None)
        assert list(InterestPending.objects.values_list("partition", flat=True)) == [1]
    interest_recompute(now=NOW)
    interest_pending_score()
    incremental = state()
    assert sum(incremental["counts"].values()) == counted((0, 80))
    assert recomputed() == incremental


def test_two_scorer_partitions_give_what_one_scorer_gives(settings):
    settings.INTEREST_SCORERS = 1
    actions_ingest(events=batch(0, 90, source="one"), now=NOW)
    one = state()
    InterestScore.objects.all().delete()
    InterestBucket.objects.all().delete()
    Action.objects.all().delete()
    settings.INTEREST_SCORERS = 2
    actions_ingest(events=batch(0, 90, source="one"), now=NOW)
    assert state() == one


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_are_each_scored_once_before_they_return():
    errors, results = [], {}
    barrier = threading.Barrier(3)

    def run(worker: int) -> None:
        try:
            barrier.wait()
            for k in range(4):
                first = worker * 1000 + k * 50
                results[first] = actions_ingest(events=batch(first, 50), now=NOW)
                # Returned scored: this batch's actors have score rows counting its actions already.
                assert InterestBucket.objects.filter(received=False).aggregate(n=Sum("count"))["n"] >= 50
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sum(r.status == "created" for rs in results.values() for r in rs) == 600 == Action.objects.count()
    assert not InterestPending.objects.exists()
    incremental = state()
    assert sum(incremental["counts"].values()) == counted(*((w * 1000 + k * 50, 50) for w in range(3) for k in range(4)))
    assert recomputed() == incremental


def tasks_started(monkeypatch) -> list[int]:
    """Record the scorer tasks batches start (INTEREST_SCORING=worker) instead of running them."""
    started: list[int] = []
    monkeypatch.setattr(tasks.interest_partition_score_task, "delay", started.append)
    return started


@pytest.mark.parametrize("scorers", [1, 2])
def test_worker_mode_answers_once_stored_and_a_task_per_partition_scores_the_batch(
        settings, monkeypatch, scorers, django_capture_on_commit_callbacks):
    settings.INTEREST_SCORERS, settings.INTEREST_SCORING = scorers, "worker"
    with monkeypatch.context() as m:
        started = tasks_started(m)
        with django_capture_on_commit_callbacks(execute=True) as committed:
            results = actions_ingest(events=batch(0, 60), now=NOW)
            assert started == []  # tasks start once the transaction that stored the batch commits
        assert len(committed) == 1
    assert all(r.status == "created" for r in results)
    assert started == list(range(scorers))  # every partition was idle
    assert InterestPending.objects.count() == scorers  # stored, answered, not yet scored
    assert not InterestBucket.objects.exists()
    assert [interest_pending_drain(k) for k in started] == [60] * scorers
    assert not InterestPending.objects.exists()
    incremental = state()
    assert sum(incremental["counts"].values()) == counted((0, 60))
    assert recomputed() == incremental

    with django_capture_on_commit_callbacks(execute=True):
        actions_ingest(events=batch(60, 30), now=NOW)  # Celery eager here: the tasks run as they are started
    assert not InterestPending.objects.exists()
    incremental = state()
    assert sum(incremental["counts"].values()) == counted((0, 90))
    assert recomputed() == incremental


def drain_in_background() -> tuple[threading.Thread, list[int], list[Exception]]:
    """interest_pending_drain(0) in a thread of its own (another scorer process); returns the thread, what the
    drain returned and what it raised, once joined."""
    drained, errors = [], []

    def drain() -> None:
        try:
            drained.append(interest_pending_drain(0))
        except Exception as exc:  # noqa: BLE001 - surfaced by the caller
            errors.append(exc)
        finally:
            connection.close()

    scorer = threading.Thread(target=drain)
    scorer.start()
    return scorer, drained, errors


@pytest.mark.django_db(transaction=True)
def test_a_batch_stored_while_its_partition_is_scored_is_left_to_that_scorer_which_scores_it(settings, monkeypatch):
    """The batch sees the partition's lock held and starts no task; the holder, whose last look found nothing,
    looks again after letting go and scores the batch."""
    settings.INTEREST_SCORERS, settings.INTEREST_SCORING = 1, "worker"
    actions_ingest(events=batch(0, 30), now=NOW)  # scored (eager task)
    started = tasks_started(monkeypatch)
    with monkeypatch.context() as m:  # a crash: rows left for the drain below
        crash_before_scoring(m)
        actions_ingest(events=batch(30, 30), now=NOW)
    empty_claim, batch_stored = threading.Event(), threading.Event()
    real_claim = interest_queue._claim

    def claim(partition, **kwargs):
        rows = real_claim(partition, **kwargs)
        if rows == [] and not empty_claim.is_set():  # the lock is still held, inside the scorer's transaction
            empty_claim.set()
            assert batch_stored.wait(60)
        return rows

    monkeypatch.setattr(interest_queue, "_claim", claim)
    scorer, drained, errors = drain_in_background()
    assert empty_claim.wait(60), errors
    actions_ingest(events=batch(60, 30), now=NOW)
    batch_stored.set()
    scorer.join(60)
    assert errors == [] and started == []  # the partition was busy: no task
    assert drained == [60]  # the leftover batch, then, after letting go, the one stored meanwhile
    assert not InterestPending.objects.exists()
    incremental = state()
    assert sum(incremental["counts"].values()) == counted((0, 90))
    assert recomputed() == incremental


@pytest.mark.django_db(transaction=True)
def test_a_partition_held_by_another_scorer_is_left_to_it(settings, monkeypatch):
    settings.INTEREST_SCORERS = 1
    with monkeypatch.context() as m:
        crash_before_scoring(m)
        actions_ingest(events=batch(0, 30), now=NOW)
    other = connection.copy()  # another session, as another scorer process would have
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [SCORER_LOCK])
            assert interest_pending_drain(0) == 0  # busy: left to the holder
            assert InterestPending.objects.count() == 1
            cursor.execute("SELECT pg_advisory_unlock(%s)", [SCORER_LOCK])
    finally:
        other.close()
    assert interest_pending_drain(0) == 30
    assert not InterestPending.objects.exists()
    assert sum(state()["counts"].values()) == counted((0, 30))


def test_rows_queued_under_another_scorer_count_are_scored_once(settings, monkeypatch):
    settings.INTEREST_SCORERS = 2
    actions_ingest(events=batch(0, 40), now=NOW)
    with monkeypatch.context() as m:
        crash_before_scoring(m)
        actions_ingest(events=batch(40, 40), now=NOW)
    settings.INTEREST_SCORERS = 3  # changed with rows pending (a restart with a new setting)
    interest_recompute(now=NOW)  # leaves the pending actions to their scorers, whatever the count now
    actions_ingest(events=batch(80, 40), now=NOW)  # scores the old rows under 2 partitions, its own under 3
    assert not InterestPending.objects.exists()
    incremental = state()
    assert sum(incremental["counts"].values()) == counted((0, 120))
    assert recomputed() == incremental


def test_rows_queued_under_a_larger_scorer_count_are_scored_by_the_periodic_task(settings, monkeypatch):
    settings.INTEREST_SCORERS = 2
    with monkeypatch.context() as m:
        crash_before_scoring(m)
        actions_ingest(events=batch(0, 40), now=NOW)
    settings.INTEREST_SCORERS = 1  # lowered with rows pending: partition 1 has no scorer any more
    actions_ingest(events=batch(40, 40), now=NOW)
    assert interest_pending_score_task.delay().get() == 40  # partition 1's share of the first batch
    assert not InterestPending.objects.exists()
    incremental = state()
    assert sum(incremental["counts"].values()) == counted((0, 80))
    assert recomputed() == incremental


@pytest.mark.django_db(transaction=True)
def test_a_lingering_scorer_scores_the_batches_stored_meanwhile_in_one_pass(settings, monkeypatch):
    settings.INTEREST_SCORERS, settings.INTEREST_SCORING, settings.INTEREST_SCORING_LINGER = 1, "worker", 1.5
    with monkeypatch.context() as m:
        crash_before_scoring(m)
        actions_ingest(events=batch(0, 30), now=NOW)
    lingering, passes = threading.Event(), []

    def sleep(seconds: float) -> None:
        lingering.set()
        time.sleep(seconds)

    def apply(*, action_ids, **kwargs):
        passes.append(len(action_ids))
        return real_apply(action_ids=action_ids, **kwargs)

    real_apply = interest_queue.interest_apply
    monkeypatch.setattr(interest_queue, "time", types.SimpleNamespace(sleep=sleep))
    monkeypatch.setattr(interest_queue, "interest_apply", apply)
    scorer, _, errors = drain_in_background()
    assert lingering.wait(60), errors
    started = tasks_started(monkeypatch)
    actions_ingest(events=batch(30, 30), now=NOW)  # while the scorer holds the partition
    scorer.join(60)
    assert errors == [] and started == []
    assert passes == [60]  # both batches, in the scorer's first pass
    assert not InterestPending.objects.exists()
    incremental = state()
    assert sum(incremental["counts"].values()) == counted((0, 60))
    assert recomputed() == incremental


def test_a_broker_failure_leaves_the_batch_stored_for_the_next_scorer(settings, monkeypatch, caplog,
                                                                     django_capture_on_commit_callbacks):
    settings.INTEREST_SCORERS, settings.INTEREST_SCORING = 2, "worker"

    def broker_down(partition):
        raise OperationalError("[Errno 111] Connection refused")

    with monkeypatch.context() as m, django_capture_on_commit_callbacks(execute=True):
        m.setattr(tasks.interest_partition_score_task, "delay", broker_down)
        results = actions_ingest(events=batch(0, 30), now=NOW)
    assert {r.status for r in results} == {"created"}  # stored: the client need not retry
    assert InterestPending.objects.count() == 2
    assert "could not start the scorer task of partition" in caplog.text
    with django_capture_on_commit_callbacks(execute=True):
        actions_ingest(events=batch(30, 30), now=NOW)  # the broker is back: this batch's tasks score both
    assert not InterestPending.objects.exists()
    incremental = state()
    assert sum(incremental["counts"].values()) == counted((0, 60))
    assert recomputed() == incremental


@pytest.mark.django_db(transaction=True)
def test_a_pass_claims_at_most_pass_rows_rows_whatever_the_plan(settings, monkeypatch):
    """A LIMIT ... FOR UPDATE SKIP LOCKED subquery under IN, planned as a nested-loop semi join (what PostgreSQL
    chose once statistics said the queue table was nearly empty), is rescanned per row and took every row:
    passes must stay bounded whatever the plan."""
    settings.INTEREST_SCORERS = 1
    monkeypatch.setattr(interest_queue, "PASS_ROWS", 2)
    actions_ingest(events=batch(0, 10), now=NOW)  # scored: the queue table now has a page and no row
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {InterestPending._meta.db_table}")  # as autovacuum would, between bursts
    with monkeypatch.context() as m:
        crash_before_scoring(m)
        for k in range(1, 6):
            actions_ingest(events=batch(k * 10, 10), now=NOW)
    oldest = sorted(InterestPending.objects.values_list("pk", flat=True))[:2]
    with transaction.atomic():
        assert [row.id for row in interest_queue._claim(0, wait=True)] == oldest
        transaction.set_rollback(True)
    assert interest_pending_score() == 50  # the rest, pass by pass
    assert not InterestPending.objects.exists()
