"""Concurrent small ingest requests share one batch (group commit): `actions_ingest_shared`.

A single-event POST costs a dozen statements and a commit whatever it carries, and that fixed cost, not the
event, is what limits single-event throughput (measured: ~6 ms of CPU per POST, of which well under 1 ms is
the event's own rows). When several requests are in flight in one process (gunicorn's gthread workers), the
first to arrive becomes the leader: it takes every request queued so far (up to MAX_BATCH events), stores them
with one `actions_ingest` call, one transaction and one commit, hands each request its own results, and goes
on while requests keep arriving. The others just wait for their results. Nothing waits on purpose: a request
that arrives alone is stored at once, exactly as before; coalescing happens only under concurrency, where
requests would otherwise queue for the CPU anyway.

Results are the same as storing the requests one after another in arrival order (actions_ingest is atomic per
event and applies a batch's events in order): the same event id twice counts once, a bad event is rejected
alone. If the shared batch fails as a whole (a database error), each request is retried on its own, so one
request's failure is never another's.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from community_scoring.services.events import MAX_BATCH, EventIn, IngestResult


@dataclass(eq=False)
class _Pending:
    events: list[EventIn]
    wake: threading.Event = field(default_factory=threading.Event)  # results are in, or it is to lead
    lead: bool = False
    results: list[IngestResult] | None = None
    error: BaseException | None = None


class IngestCoalescer:
    """One per process; thread-safe. `store` is the batch function (actions_ingest).

    The queue is not empty only while a leader is at work; the leader is always at its front, so its own
    events are in the group it stores. After one group the leader hands the lead to the next queued request
    and returns with its results: no request waits for more than the group ahead of it and its own.
    """

    def __init__(self, store: Callable[..., list[IngestResult]], *, max_events: int = MAX_BATCH) -> None:
        self._store = store
        self._max_events = max_events
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leading = False

    def submit(self, events: list[EventIn]) -> list[IngestResult]:
        """Store these events (sharing a batch with concurrent callers) and return their results, in order."""
        mine = _Pending(list(events))
        with self._lock:
            self._queue.append(mine)
            if not self._leading:
                self._leading = mine.lead = True
        if not mine.lead:
            mine.wake.wait()
        if mine.lead:
            self._lead()
        if mine.error is not None:
            raise mine.error
        return mine.results  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._lock:
            group, size = [], 0
            while self._queue and (not group or size + len(self._queue[0].events) <= self._max_events):
                size += len(self._queue[0].events)
                group.append(self._queue.pop(0))
        try:
            self._store_group(group)
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.wake.set()
                else:
                    self._leading = False
            for pending in group[1:]:
                if pending.results is None and pending.error is None:  # the leader was interrupted
                    pending.error = RuntimeError("the request storing this batch was interrupted; retry it")
                pending.wake.set()

    def _store_group(self, group: list[_Pending]) -> None:
        """Store a group's events in one batch; if that fails, each request on its own."""
        try:
            results = self._store(events=[event for pending in group for event in pending.events])
        except Exception as error:  # noqa: BLE001 - retried per request below, or handed to its caller
            if len(group) == 1:
                group[0].error = error
                return
            for pending in group:
                self._store_group([pending])
            return
        start = 0
        for pending in group:
            pending.results = results[start:start + len(pending.events)]
            start += len(pending.events)


_shared: IngestCoalescer | None = None
_shared_lock = threading.Lock()


def actions_ingest_shared(*, events: list[EventIn]) -> list[IngestResult]:
    """actions_ingest, sharing one batch and one commit with the requests in flight in this process."""
    global _shared
    if _shared is None:
        from community_scoring.services.ingest import actions_ingest

        with _shared_lock:
            if _shared is None:
                _shared = IngestCoalescer(actions_ingest)
    return _shared.submit(events)
