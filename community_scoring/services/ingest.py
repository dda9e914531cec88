"""Batch ingestion: many platform events -> actions, idempotent per (source, event id), scored in one pass.

`actions_ingest` is the engine's bulk twin of `action_record`: same validation rules, same idempotency key,
same defaults (the target member defaults to the target content's author), but a batch of 1,000 events costs
a handful of SQL statements on PostgreSQL instead of thousands:

1. validate every event in Python (unknown type, naive or future timestamp, lengths...): a bad event is
   rejected alone and never reaches the database, so it cannot block the good ones;
2. upsert the members and contents the batch names: one statement each, which reads the stored rows, inserts
   the missing, updates the changed and returns every id (_MEMBERS_UPSERT_SQL, _CONTENTS_UPSERT_SQL);
3. INSERT the actions ... ON CONFLICT (source, external_event_id) DO NOTHING RETURNING, which says exactly
   which events are new: the rest are duplicates (a retried batch, a concurrent delivery);
4. the new ones are queued for scoring (one InterestPending row per scorer partition) in the same transaction,
   and scored right after its commit (services.interest_queue: one scorer per partition at a time, scoring every
   batch queued meanwhile in one pass inside PostgreSQL, services.interest_pg): before this returns with
   INTEREST_SCORING=inline, by a Celery task with INTEREST_SCORING=worker.

A repeated event id inside one batch counts once (the first valid occurrence). On other databases (the
embedded SQLite demo) the same results come from a per-event loop over `member_upsert`/`content_upsert`/
`action_record`.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from community_scoring.bulk import commit_without_flush, pg_array, rows_upsert, sized_execute
from community_scoring.models import Action, ActionType, Content, Member
from community_scoring.services.actions import action_record
from community_scoring.services.events import (
    CREATED,
    DUPLICATE,
    REJECTED,
    ContentIn,
    EventIn,
    IngestResult,
    MemberIn,
    _persona,
    event_errors,
)
from community_scoring.services.interest_queue import interest_pending_add, interest_pending_dispatch
from community_scoring.services.members import content_upsert, member_upsert


def actions_ingest(*, events: list[EventIn], now: datetime | None = None) -> list[IngestResult]:
    """Record a batch of events; one result per event, in input order: created, duplicate or rejected."""
    now = now or timezone.now()
    known_types = _action_types_known()
    results: list[IngestResult | None] = [None] * len(events)
    accepted: list[tuple[int, EventIn]] = []
    seen: set[tuple[str, str]] = set()
    for i, event in enumerate(events):
        errors = event_errors(event, known_types=known_types, now=now)
        if errors:
            results[i] = IngestResult(event_id=_event_id_str(event), status=REJECTED, errors=errors)
            continue
        key = (event.source, event.event_id)
        if key in seen:
            results[i] = IngestResult(event_id=event.event_id, status=DUPLICATE)
            continue
        seen.add(key)
        accepted.append((i, event))
    if accepted:
        store = _store_bulk if bulk_supported() else _store_one_by_one
        created = store(accepted, now=now)
        for i, event in accepted:
            action_id = created.get(i)
            results[i] = IngestResult(event_id=event.event_id, status=CREATED if action_id else DUPLICATE,
                                      action_id=action_id)
    return results  # type: ignore[return-value]


def bulk_supported() -> bool:
    """Whether batches are stored by the bulk path (PostgreSQL) or event by event (elsewhere)."""
    return connection.vendor == "postgresql"


def _action_types_known() -> frozenset[str]:
    with connection.cursor() as cursor:  # prepared (see bulk.sized_execute): it runs for every batch
        sized_execute(cursor, f"SELECT {_q('key')} FROM {_q(ActionType._meta.db_table)}", [], rows=1)
        return frozenset(row[0] for row in cursor.fetchall())


def _event_id_str(event: EventIn) -> str:
    return event.event_id if isinstance(event.event_id, str) else ""


# --- the per-event path (non-PostgreSQL databases; also the reference the bulk path is tested against) ---

def _store_one_by_one(accepted: list[tuple[int, EventIn]], *, now: datetime) -> dict[int, int]:
    created: dict[int, int] = {}
    for i, event in accepted:
        with transaction.atomic():
            source = event.source
            m = event.member
            member = member_upsert(source=source, external_id=m.external_id, email=m.email or None,
                                   display_name=m.name, persona=_persona(m), attributes=m.attributes)
            target_member = (member_upsert(source=source, external_id=event.target_member.external_id)
                             if event.target_member else None)
            target_content = _content_one(source, event.target_content, author=None)
            made = _content_one(source, event.content, author=member)
            topic = (target_content.topic if target_content else None) or (made.topic if made else "")
            action, is_new = action_record(
                source=source, external_event_id=event.event_id, action_type=event.type, member=member,
                occurred_at=event.occurred_at, target_member=target_member, target_content=target_content,
                text=event.text or "", metadata=_metadata(event), topic=topic,
            )
            if is_new:
                created[i] = action.pk
    return created


def _content_one(source: str, content: ContentIn | None, *, author: Member | None) -> Content | None:
    if content is None:
        return None
    if author is None and content.author_external_id:
        author = member_upsert(source=source, external_id=content.author_external_id)
    return content_upsert(source=source, external_id=content.external_id, author=author,
                          topic=content.topic or None, kind=content.kind or None, title=content.title or None)


def _metadata(event: EventIn) -> dict[str, Any]:
    metadata = dict(event.metadata or {})
    if event.content is not None:
        metadata.setdefault("content", event.content.external_id)
    return metadata


# --- the bulk path (PostgreSQL) ---

@dataclass(slots=True)
class _MemberSpec:
    email: str | None = None
    name: str | None = None
    persona: str | None = None
    attributes: dict[str, Any] | None = None

    def merge(self, member: MemberIn) -> None:
        if member.email:
            self.email = member.email
        if member.name is not None:
            self.name = member.name
        persona = _persona(member)
        if persona is not None:
            self.persona = persona
        if member.attributes:
            self.attributes = {**(self.attributes or {}), **member.attributes}


@dataclass(slots=True)
class _ContentSpec:
    author: tuple[str, str] | None = None
    topic: str | None = None
    kind: str | None = None
    title: str | None = None

    def merge(self, content: ContentIn, author: tuple[str, str] | None) -> None:
        if author is not None:
            self.author = author
        for name in ("topic", "kind", "title"):
            value = getattr(content, name)
            if value:
                setattr(self, name, value)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


_MT, _CT = Member._meta.db_table, Content._meta.db_table

# Members in one statement: the batch's keys with what the events say (NULL: not said), the stored rows they
# match, the missing ones inserted in key order, and per key its id and whether its persona, its attributes or
# anything else it stores changes. The changes are written later (_MEMBERS_UPDATE_SQL), just before
# the batch's score rows are locked: an updated row stays locked until commit, and a concurrent batch naming the
# same member waits that long (updating here, first thing, made two concurrent batches run one after the other:
# measured; see _store_bulk).
# A key inserted by a concurrent batch after this statement's snapshot gets no id here (its insert is skipped
# as a conflict); the caller runs the statement again for it.
_MEMBERS_UPSERT_SQL = f"""
WITH v(source, external_id, email, name, persona, attrs) AS (
    SELECT * FROM unnest(%(source)s::varchar[], %(external_id)s::varchar[], %(email)s::varchar[], %(name)s::varchar[],
                         %(persona)s::varchar[], %(attrs)s::jsonb[])),
old AS (
    SELECT m.id, v.source, v.external_id,
           COALESCE((v.email <> '' AND v.email <> m.email) OR (v.name IS NOT NULL AND v.name <> m.display_name), false)
               AS named,
           v.persona IS NOT NULL AND v.persona <> m.persona AS persona_changed,
           v.attrs IS NOT NULL AND m.attributes || v.attrs <> m.attributes AS attrs_changed
    FROM v JOIN {_MT} m ON m.source = v.source AND m.external_id = v.external_id),
ins AS (
    INSERT INTO {_MT} (source, external_id, email, display_name, crm_id, persona, attributes, joined_at, is_excluded,
                       created_at, updated_at)
    SELECT v.source, v.external_id, COALESCE(v.email, ''), COALESCE(v.name, ''), '', COALESCE(v.persona, ''),
           COALESCE(v.attrs, '{{}}'::jsonb), %(now)s::timestamptz, false, %(now)s::timestamptz, %(now)s::timestamptz
    FROM v WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.source = v.source AND old.external_id = v.external_id)
    ORDER BY v.source, v.external_id
    ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id)
SELECT id, source, external_id, false, false, false FROM ins
UNION ALL
SELECT id, source, external_id, persona_changed, attrs_changed AND NOT persona_changed,
       named OR persona_changed OR attrs_changed
FROM old
"""

_MEMBERS_UPDATE_SQL = f"""
WITH locked AS (  -- in member-id order, whatever order the update visits them in: no lock-order deadlocks
    SELECT id FROM {_MT} WHERE id = ANY(%(id)s::bigint[]) ORDER BY id FOR NO KEY UPDATE)
UPDATE {_MT} m SET email = COALESCE(NULLIF(v.email, ''), m.email), display_name = COALESCE(v.name, m.display_name),
                   persona = COALESCE(v.persona, m.persona),
                   attributes = CASE WHEN v.attrs IS NULL THEN m.attributes ELSE m.attributes || v.attrs END,
                   updated_at = %(now)s::timestamptz
FROM unnest(%(id)s::bigint[], %(email)s::varchar[], %(name)s::varchar[], %(persona)s::varchar[], %(attrs)s::jsonb[])
     AS v(id, email, name, persona, attrs)
WHERE m.id = v.id AND m.id IN (SELECT id FROM locked)
"""

# Contents likewise; `author` is a member id. Returns each content's author and topic as stored before this
# batch (NULL, '' for the ones it inserts), which the caller needs to replay the batch's events in order.
_CONTENTS_UPSERT_SQL = f"""
WITH v(source, external_id, author, kind, topic, title) AS (
    SELECT * FROM unnest(%(source)s::varchar[], %(external_id)s::varchar[], %(author)s::bigint[], %(kind)s::varchar[],
                         %(topic)s::varchar[], %(title)s::varchar[])),
old AS (
    SELECT c.id, v.source, v.external_id, c.author_id AS old_author, c.topic AS old_topic,
           COALESCE(v.author, c.author_id) AS author, COALESCE(v.kind, c.kind) AS kind,
           COALESCE(v.topic, c.topic) AS topic, COALESCE(v.title, c.title) AS title,
           (v.author IS NOT NULL AND v.author IS DISTINCT FROM c.author_id) OR (v.kind IS NOT NULL AND v.kind <> c.kind)
           OR (v.topic IS NOT NULL AND v.topic <> c.topic) OR (v.title IS NOT NULL AND v.title <> c.title) AS changed
    FROM v JOIN {_CT} c ON c.source = v.source AND c.external_id = v.external_id),
ins AS (
    INSERT INTO {_CT} (source, external_id, author_id, kind, topic, title, created_at)
    SELECT v.source, v.external_id, v.author, COALESCE(v.kind, ''), COALESCE(v.topic, ''), COALESCE(v.title, ''),
           %(now)s::timestamptz
    FROM v WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.source = v.source AND old.external_id = v.external_id)
    ORDER BY v.source, v.external_id
    ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id),
upd AS (
    UPDATE {_CT} c SET author_id = o.author, kind = o.kind, topic = o.topic, title = o.title
    FROM old o WHERE c.id = o.id AND o.changed)
SELECT id, source, external_id, NULL::bigint, '' FROM ins
UNION ALL
SELECT id, source, external_id, old_author, old_topic FROM old
"""


@dataclass(slots=True)
class _MembersUpserted:
    ids: dict[tuple[str, str], int]
    persona_changed: set[int]  # existing members whose persona changed: their rule set changed
    attributes_changed: set[int]  # existing members whose attributes (only) changed: their fit may have
    changed: dict[int, tuple[str, str]]  # member id -> key, for the members whose fields change (not yet written)


def _execute_arrays(sql: str, columns: dict[str, list], now: datetime) -> list[tuple]:
    """Run `sql` with each column as one array parameter (bulk.pg_array) and `now`; returns its rows."""
    with connection.cursor() as cursor:
        sized_execute(cursor, sql, {**{name: pg_array(values) for name, values in columns.items()}, "now": now},
                      rows=len(next(iter(columns.values()))))
        return cursor.fetchall() if cursor.description else []


def _upsert(sql: str, keys: list[tuple[str, str]], fields: dict[str, Callable[[tuple[str, str]], Any]],
            now: datetime) -> dict[tuple[str, str], tuple]:
    """Run an upsert statement (_MEMBERS_UPSERT_SQL, _CONTENTS_UPSERT_SQL) for these keys, with `fields` giving
    each key's other columns; returns {key: (id, *the statement's other columns)}. A key raced by a concurrent
    insert (no row back) is looked up again on the next round."""
    found: dict[tuple[str, str], tuple] = {}
    pending = sorted(keys)
    for _ in range(3):
        columns = {"source": [key[0] for key in pending], "external_id": [key[1] for key in pending],
                   **{name: [value_of(key) for key in pending] for name, value_of in fields.items()}}
        for pk, source, external_id, *rest in _execute_arrays(sql, columns, now):
            found[(source, external_id)] = (pk, *rest)
        pending = [key for key in pending if key not in found]
        if not pending:
            return found
    raise RuntimeError(f"{pending[:5]} could be neither inserted nor found")


def _members_upsert(specs: dict[tuple[str, str], _MemberSpec], *, now: datetime) -> _MembersUpserted:
    """Member ids for every key, inserting the missing; which ones change and how (see _MEMBERS_UPSERT_SQL)."""
    rows = _upsert(_MEMBERS_UPSERT_SQL, list(specs), {
        "email": lambda key: specs[key].email or None, "name": lambda key: specs[key].name,
        "persona": lambda key: specs[key].persona,
        "attrs": lambda key: json.dumps(specs[key].attributes) if specs[key].attributes else None,
    }, now)
    upserted = _MembersUpserted({}, set(), set(), {})
    for key, (pk, persona_changed, attributes_changed, changed) in rows.items():
        upserted.ids[key] = pk
        if changed:
            upserted.changed[pk] = key
        if persona_changed:
            upserted.persona_changed.add(pk)
        if attributes_changed:
            upserted.attributes_changed.add(pk)
    return upserted


def _members_update(upserted: _MembersUpserted, specs: dict[tuple[str, str], _MemberSpec], *, now: datetime) -> None:
    """Write what the batch says of the members whose fields change (see _MEMBERS_UPDATE_SQL), merged into their
    rows as they are now (a concurrent batch's changes are kept)."""
    if not upserted.changed:
        return
    ids = sorted(upserted.changed)
    given = [specs[upserted.changed[pk]] for pk in ids]
    columns = {"id": ids, "email": [spec.email or None for spec in given], "name": [spec.name for spec in given],
               "persona": [spec.persona for spec in given],
               "attrs": [json.dumps(spec.attributes) if spec.attributes else None for spec in given]}
    _execute_arrays(_MEMBERS_UPDATE_SQL, columns, now)


def _contents_upsert(specs: dict[tuple[str, str], _ContentSpec], member_ids: dict[tuple[str, str], int], *,
                     now: datetime) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], list]]:
    """Insert the missing contents and update the changed; returns ({key: id}, {key: [author id, topic] as they
    were before this batch}) so each event can see the content as it stood when that event happened."""
    rows = _upsert(_CONTENTS_UPSERT_SQL, list(specs), {
        "author": lambda key: member_ids[specs[key].author] if specs[key].author else None,
        "kind": lambda key: specs[key].kind, "topic": lambda key: specs[key].topic,
        "title": lambda key: specs[key].title,
    }, now)
    return {key: row[0] for key, row in rows.items()}, {key: [row[1], row[2]] for key, row in rows.items()}


_ACTION_FIELDS = ["member", "action_type", "occurred_at", "target_member", "target_content", "topic", "text",
                  "metadata", "source", "external_event_id", "recorded_at"]
assert {"id", *(Action._meta.get_field(name).attname for name in _ACTION_FIELDS)} == {
    f.attname for f in Action._meta.concrete_fields}, "an Action field is not written"


def _store_bulk(accepted: list[tuple[int, EventIn]], *, now: datetime) -> dict[int, int]:
    member_specs: dict[tuple[str, str], _MemberSpec] = {}
    content_specs: dict[tuple[str, str], _ContentSpec] = {}
    for _, event in accepted:
        source = event.source
        member_specs.setdefault((source, event.member.external_id), _MemberSpec()).merge(event.member)
        if event.target_member is not None:
            member_specs.setdefault((source, event.target_member.external_id), _MemberSpec())
        if event.target_content is not None:
            tc = event.target_content
            author = (source, tc.author_external_id) if tc.author_external_id else None
            if author is not None:
                member_specs.setdefault(author, _MemberSpec())
            content_specs.setdefault((source, tc.external_id), _ContentSpec()).merge(tc, author)
        if event.content is not None:
            content_specs.setdefault((source, event.content.external_id), _ContentSpec()).merge(
                event.content, (source, event.member.external_id))

    # The members and contents the batch names first, in a transaction of their own: a row a transaction inserts
    # stays locked until it commits, and a concurrent batch naming the same new member or content would wait for
    # this whole batch (measured: two concurrent batches ran one after the other). That commit does not wait
    # for the WAL flush; the batch's own commit below flushes it, and a crash in between loses only rows no
    # action refers to yet. Their changed fields are written in the batch's transaction (_members_update).
    with transaction.atomic():
        commit_without_flush()
        upserted = _members_upsert(member_specs, now=now)
        member_ids = upserted.ids
        content_ids, state = _contents_upsert(content_specs, member_ids, now=now) if content_specs else ({}, {})

    with transaction.atomic():
        if getattr(settings, "INGEST_ASYNC_COMMIT", False):  # opt-in: see settings.base
            commit_without_flush()

        # Walk the batch in order, as the one-by-one path would: an event sees each content's author and topic
        # as given by the events before it (and itself), over what was stored before the batch.
        rows = []
        for i, event in accepted:
            source = event.source
            member_id = member_ids[(source, event.member.external_id)]
            tc = event.target_content
            target = state[(source, tc.external_id)] if tc else None
            if tc is not None:
                if tc.author_external_id:
                    target[0] = member_ids[(source, tc.author_external_id)]
                if tc.topic:
                    target[1] = tc.topic
            made = state[(source, event.content.external_id)] if event.content else None
            if made is not None:
                made[0] = member_id
                if event.content.topic:
                    made[1] = event.content.topic
            if event.target_member is not None:
                target_member = member_ids[(source, event.target_member.external_id)]
            else:
                target_member = target[0] if target is not None else None
            topic = (target[1] if target else "") or (made[1] if made else "") or ""
            rows.append((member_id, event.type, event.occurred_at, target_member,
                         content_ids[(source, tc.external_id)] if tc else None, topic, event.text or "",
                         _metadata(event), source, event.event_id, now))
        inserted = rows_upsert(Action, columns=_ACTION_FIELDS, rows=rows, conflict=["source", "external_event_id"],
                               returning=["id", "source", "external_event_id"])
        new_ids = {(source, event_id): pk for pk, source, event_id in inserted}
        created: dict[int, int] = {}
        actors: set[int] = set()
        for (i, event), row in zip(accepted, rows):
            pk = new_ids.get((event.source, event.event_id))
            if pk is not None:
                created[i] = pk
                actors.add(row[0])
        # The members' changes are written last: a concurrent batch naming the same members waits for this
        # one's commit from here on.
        _members_update(upserted, member_specs, now=now)
        # Scored after this commit, by one scorer at a time (services.interest_queue); fit is re-evaluated
        # for the scored members whose attributes this batch changed (see interest_pg).
        pending = (interest_pending_add(action_ids=list(created.values()), refit=upserted.attributes_changed)
                   if created else None)
    if pending is not None:
        interest_pending_dispatch(pending)
    _rescore_changed_members(upserted, scored=actors)
    return created


def _rescore_changed_members(upserted: _MembersUpserted, *, scored: set[int]) -> None:
    """What member_upsert does on the per-event path, once per batch, after interest_apply (so the new actions
    are in the log the recompute reads, and counted once): a persona change re-scores the member from the log
    under the new rule set; an attribute change re-evaluates fit, unless interest_apply just did for an actor."""
    from community_scoring.services.interest import interest_fit_refresh
    from community_scoring.services.recompute import interest_members_refresh

    if upserted.persona_changed:
        interest_members_refresh(member_ids=sorted(upserted.persona_changed))
    fit_only = upserted.attributes_changed - scored
    if fit_only:
        interest_fit_refresh(member_ids=sorted(fit_only))
