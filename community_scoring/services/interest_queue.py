"""The queue between storing a batch's actions and scoring them (the bulk ingest path).

Why: concurrent batches name the same members, and scoring locks each member's score row until its transaction
ends. Scoring inside each batch's own transaction made concurrent batches queue behind each other's entire
scoring (measured: a fifth of both CPUs idle under 4 concurrent batch clients). Instead a batch commits its
actions with one InterestPending row per scorer partition, then scores each partition: one scorer at a time
per partition (a PostgreSQL advisory lock) takes every pending row of it, scores its members' share of all those
actions in one pass (services.interest_pg), deletes the rows and commits. Batches that arrive while a scorer
runs wait on its lock; the next holder scores everything that piled up meanwhile in one pass (group commit), and
the others find their row already gone. Partitions (settings.INTEREST_SCORERS, member id modulo) hold disjoint
score, bucket and topic rows, so their scorers never wait for each other and every core can score.

Guarantees:
- exactly once: a row is deleted in the transaction that scores its partition of its actions;
- ``interest_pending_score(until=rows)`` returns only once those rows are scored and committed, so an ingest
  response still means "scored";
- a crash between the commits leaves rows: the next scorer of their partition (any batch, or the periodic
  ``interest_pending_score_task``) scores them. For the same reason the scoring transaction need not wait for
  its WAL flush: if a crash loses it, its rows come back with it and are scored again;
- a recompute from the log leaves out, for each member, the actions still pending in that member's partition
  (``pending_action_ids``): their scorer adds them on top.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from community_scoring.bulk import commit_without_flush
from community_scoring.models import InterestPending
from community_scoring.services.interest_pg import interest_apply_ids

# The advisory locks scorers hold while they score: this plus the partition ("cs-score").
SCORER_LOCK = 0x63732D73636F7265
# Pending rows one pass scores at most (a row is one batch of at most 1,000 actions).
PASS_ROWS = 20

_TABLE = InterestPending._meta.db_table
_turns = itertools.count()  # which partition this process's next caller scores first
_CLAIM_SQL = f"""
DELETE FROM {_TABLE} WHERE id IN (
    SELECT id FROM {_TABLE} WHERE partition = %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
RETURNING id, ARRAY(SELECT jsonb_array_elements_text(action_ids)::bigint),
          ARRAY(SELECT jsonb_array_elements_text(refit)::bigint)
"""


def scorer_partitions() -> int:
    """How many scorers may run at once (settings.INTEREST_SCORERS on PostgreSQL; 1 elsewhere)."""
    return max(1, settings.INTEREST_SCORERS) if connection.vendor == "postgresql" else 1


def interest_pending_add(*, action_ids: Sequence[int], refit: Iterable[int] = ()) -> list[int]:
    """Queue just-created actions for scoring, in the caller's transaction: one row per partition; returns their
    ids in partition order, to wait for with interest_pending_score."""
    ids, members = list(action_ids), sorted(refit)
    rows = InterestPending.objects.bulk_create(
        InterestPending(action_ids=ids, refit=members, partition=k) for k in range(scorer_partitions()))
    return [row.pk for row in rows]


def interest_pending_score(*, until: Sequence[int] | None = None) -> int:
    """Score pending actions, partition by partition, one pass at a time under each partition's scorer lock;
    returns how many action scorings this call did.

    With ``until`` (what interest_pending_add returned, committed) it returns once those rows are scored, by this
    call or by other scorers; without, once nothing is pending. Callers start at different partitions, so two
    batches waiting at once each score one partition meanwhile.
    """
    if connection.vendor != "postgresql":
        return 0  # only the PostgreSQL bulk path queues (services.ingest.bulk_supported)
    if until is None:
        return sum(_partition_score(k, None) for k in range(scorer_partitions()))
    start = next(_turns) % len(until)
    return sum(_partition_score(k, until[k]) for k in [*range(start, len(until)), *range(start)])


def _partition_score(partition: int, until: int | None) -> int:
    scored = 0
    while True:
        with transaction.atomic():
            claimed = _claim(partition)
            if not claimed:
                return scored
            action_ids = sorted({a for _, ids, _ in claimed for a in ids})
            refit = {m for _, _, members in claimed for m in members}
            interest_apply_ids(action_ids, refit=refit, partition=(partition, scorer_partitions()))
            scored += len(action_ids)
        rows = [row_id for row_id, _, _ in claimed]
        if until is not None and (until <= rows[-1] or len(rows) < PASS_ROWS):
            return scored  # the oldest rows were taken: ours was one of them, or was scored before


def _claim(partition: int) -> list[tuple[int, list[int], list[int]]]:
    """Take the partition's scorer lock (until this transaction ends); delete and return its oldest rows."""
    commit_without_flush()  # safe: see the module docstring
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCORER_LOCK + partition])
        cursor.execute(_CLAIM_SQL, [partition, PASS_ROWS])
        return sorted(cursor.fetchall())


def pending_action_ids(partition: int) -> RawSQL:
    """The ids of the actions pending in a partition, as a subquery (``.exclude(pk__in=...)``)."""
    if connection.vendor == "postgresql":
        return RawSQL(f"SELECT jsonb_array_elements_text(action_ids)::bigint FROM {_TABLE} WHERE partition = %s",
                      (partition,))
    return RawSQL(f"SELECT value FROM {_TABLE}, json_each({_TABLE}.action_ids) WHERE partition = %s", (partition,))
