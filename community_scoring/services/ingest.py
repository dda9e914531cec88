"""The one door: every way actions arrive hands events in one shape (services.events.EventIn) to ``actions_ingest``.

REST ingest, the Discourse receiver, the bundled forum, the demo loader and any future adapter translate their
platform's payload into EventIns and call this; each gets one result per event back, in input order: created,
duplicate or rejected (with errors by field). Per batch:

1. every event is validated in Python (services.events.event_errors): a bad event is rejected alone and never
   reaches the database, so it cannot cost the good ones; an event id repeated inside the batch counts once (the
   first valid occurrence);
2. the store (community_scoring.store: PostgreSQL or plain Python) writes the members and contents the events
   name, one action per new (source, event id) (a known one is a duplicate: the same event sent twice counts
   once), and queues for scoring, in the same transaction, the new actions and the members whose profile changed;
3. scoring follows the same way whoever called (services.interest_queue): right away with
   INTEREST_SCORING=inline, by a Celery task once the caller's transaction commits with ``worker``. The scorer
   also re-scores from the log the members whose persona the batch changed (their rule set changed), and
   re-evaluates the fit of those whose attributes changed;
4. identities the batch gave a crm_id or a verified email are merged with the members sharing it
   (services.identity: one person, one member).

Events naming an identity erased at the person's request follow services.erasure: rejected when the erased
identity did them, stored against its anonymous shell when it is their target or content author.

The door may be called inside the caller's transaction (the bundled forum writes its row and its action together).
"""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from community_scoring.services.erasure import events_erased_screen
from community_scoring.services.events import CREATED, DUPLICATE, REJECTED, EventIn, IngestResult, event_errors
from community_scoring.services.identity import members_link_dispatch
from community_scoring.services.interest_queue import interest_pending_dispatch
from community_scoring.store import interest_store


def actions_ingest(*, events: list[EventIn], now: datetime | None = None) -> list[IngestResult]:
    """Record a batch of events; one result per event, in input order: created, duplicate or rejected."""
    now = now or timezone.now()
    store = interest_store()
    known_types = store.action_types_known()
    results: list[IngestResult | None] = [None] * len(events)
    accepted: list[tuple[int, EventIn]] = []
    seen: set[tuple[str, str]] = set()
    for i, event in enumerate(events):
        errors = event_errors(event, known_types=known_types, now=now)
        if errors:
            results[i] = IngestResult(event_id=event.event_id if isinstance(event.event_id, str) else "",
                                      status=REJECTED, errors=errors)
            continue
        key = (event.source, event.event_id)
        if key in seen:
            results[i] = IngestResult(event_id=event.event_id, status=DUPLICATE)
            continue
        seen.add(key)
        accepted.append((i, event))
    accepted, erased = events_erased_screen(accepted)
    for i, errors in erased.items():
        results[i] = IngestResult(event_id=events[i].event_id, status=REJECTED, errors=errors)
    if accepted:
        batch = store.events_write(accepted, now=now)
        interest_pending_dispatch(batch.pending)
        members_link_dispatch(batch.keyed)
        for i, event in accepted:
            action_id = batch.created.get(i)
            results[i] = IngestResult(event_id=event.event_id, status=CREATED if action_id else DUPLICATE,
                                      action_id=action_id)
    return results  # type: ignore[return-value]
