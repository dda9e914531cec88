"""Concurrent ingest requests share one batch: each gets exactly its own results, failures stay its own."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from community_scoring.models import Action, InterestBucket
from community_scoring.services.coalesce import IngestCoalescer
from community_scoring.services.events import CREATED, DUPLICATE, EventIn, IngestResult, MemberIn


class FakeStore:
    """Records each batch; the first call blocks until released, so others queue up behind it."""

    def __init__(self, fail_on=None):
        self.batches = []
        self.release = threading.Event()
        self.entered = threading.Event()
        self.fail_on = fail_on

    def __call__(self, *, events):
        self.batches.append([e.event_id for e in events])
        if len(self.batches) == 1:
            self.entered.set()
            self.release.wait(5)
        if self.fail_on and any(e.event_id == self.fail_on for e in events):
            raise RuntimeError(f"cannot store {self.fail_on}")
        return [IngestResult(event_id=e.event_id, status=CREATED) for e in events]


def event(event_id):
    return EventIn(source="s", event_id=event_id, type="read", occurred_at=datetime.now(timezone.utc),
                   member=MemberIn(external_id="m"))


def run_concurrently(coalescer, store, requests):
    """The first request blocks inside the store; the rest arrive meanwhile; returns results/errors by request."""
    out = {}

    def call(name, ids):
        try:
            out[name] = [r.event_id for r in coalescer.submit([event(i) for i in ids])]
        except Exception as error:  # noqa: BLE001
            out[name] = error

    first, *rest = requests
    threads = [threading.Thread(target=call, args=first)]
    threads[0].start()
    assert store.entered.wait(5)
    for name, ids in rest:
        thread = threading.Thread(target=call, args=(name, ids))
        thread.start()
        threads.append(thread)
    while len(coalescer._queue) < len(rest):  # all queued behind the blocked leader
        threading.Event().wait(0.01)
    store.release.set()
    for thread in threads:
        thread.join(5)
    return out


def test_a_lone_request_is_stored_at_once_as_its_own_batch():
    store = FakeStore()
    store.release.set()
    coalescer = IngestCoalescer(store)
    assert [r.event_id for r in coalescer.submit([event("a"), event("b")])] == ["a", "b"]
    assert store.batches == [["a", "b"]]


def test_requests_arriving_meanwhile_share_the_next_batch_and_get_their_own_results():
    store = FakeStore()
    coalescer = IngestCoalescer(store)
    out = run_concurrently(coalescer, store, [("r1", ["1"]), ("r2", ["2", "3"]), ("r3", ["4"])])
    assert out == {"r1": ["1"], "r2": ["2", "3"], "r3": ["4"]}
    assert store.batches == [["1"], ["2", "3", "4"]]


def test_a_batch_never_exceeds_the_limit():
    store = FakeStore()
    coalescer = IngestCoalescer(store, max_events=3)
    out = run_concurrently(coalescer, store, [("r1", ["1"]), ("r2", ["2", "3"]), ("r3", ["4", "5"]), ("r4", ["6"])])
    assert out == {"r1": ["1"], "r2": ["2", "3"], "r3": ["4", "5"], "r4": ["6"]}
    assert store.batches == [["1"], ["2", "3"], ["4", "5", "6"]]


def test_when_a_shared_batch_fails_each_request_is_retried_alone_and_only_the_failing_one_fails():
    store = FakeStore(fail_on="3")
    coalescer = IngestCoalescer(store)
    out = run_concurrently(coalescer, store, [("r1", ["1"]), ("r2", ["2"]), ("r3", ["3"]), ("r4", ["4"])])
    assert out["r1"] == ["1"] and out["r2"] == ["2"] and out["r4"] == ["4"]
    assert isinstance(out["r3"], RuntimeError) and "cannot store 3" in str(out["r3"])
    assert store.batches == [["1"], ["2", "3", "4"], ["2"], ["3"], ["4"]]


@pytest.mark.django_db(transaction=True)
def test_concurrent_real_requests_store_every_event_once(settings):
    from community_scoring.services import coalesce

    coalesce._shared = None
    day = datetime.now(timezone.utc) - timedelta(hours=1)
    results, errors = {}, []

    def post(k):
        try:
            events = [EventIn(source="s", event_id=f"e{k % 6}", type="comment", occurred_at=day,
                              member=MemberIn(external_id=f"m{k % 3}"))]
            results[k] = [r.status for r in coalesce.actions_ingest_shared(events=events)]
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(k,)) for k in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert sorted(s for statuses in results.values() for s in statuses) == [CREATED] * 6 + [DUPLICATE] * 6
    assert Action.objects.filter(source="s").count() == 6
    counted = sum(InterestBucket.objects.filter(member__source="s", received=False).values_list("count", flat=True))
    assert counted == 6
