"""The queue between storing a batch's actions and scoring them (the bulk ingest path).

Why: concurrent batches name the same members, and scoring locks each member's score row until its transaction
ends. Scoring inside each batch's own transaction made concurrent batches queue behind each other's entire
scoring (measured: a fifth of both CPUs idle under 4 concurrent batch clients). Instead a batch commits its
actions with one InterestPending row per scorer partition; a scorer of a partition (one at a time: a PostgreSQL
advisory lock) takes every pending row of it, scores its members' share of all those actions in one pass
(services.interest_pg), deletes the rows and commits. Partitions (settings.INTEREST_SCORERS, member id modulo)
hold disjoint score, bucket and topic rows, so their scorers never wait for each other and every core can score.
The more batches a pass takes, the less each event costs (measured, engine alone: 195 ms of CPU per 1,000 events
with one batch per pass, 135 with four, 120 with ten).

Who scores (settings.INTEREST_SCORING):
- ``inline`` (the embedded default, with eager Celery): the batch scores its rows right after its commit, before
  it answers (``interest_pending_score(until=...)``). Batches arriving while a scorer runs wait on its lock; the
  next holder scores everything that piled up meanwhile (group commit), the others find their rows gone.
- ``worker`` (the default with a Celery broker): the batch answers once its actions are committed, and a Celery
  task per idle partition (``interest_pending_drain``) scores them: scores follow within a pass. Under load,
  passes grow to PASS_ROWS batches, which is what lets 2 cores store and score over 10,000 events/s.

Guarantees:
- exactly once: a row is deleted in the transaction that scores its partition of its actions;
- nothing is left behind: a batch hands its rows to a scorer that has not yet looked (it starts a task when the
  partition's lock is free, and a lock holder looks again after letting go);
- a crash between the commits leaves rows: the next scorer of their partition (any batch, a task, or the
  periodic ``interest_pending_score_task``) scores them. For the same reason the scoring transaction need not
  wait for its WAL flush: if a crash loses it, its rows come back with it and are scored again;
- a row is scored with the partition count it was queued under, so changing INTEREST_SCORERS with rows pending
  scores each action once;
- a recompute from the log leaves out, for each member, the actions still pending for that member's partition
  (``pending_action_ids``): their scorer adds them on top.
"""
from __future__ import annotations

import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from community_scoring.bulk import commit_without_flush
from community_scoring.models import InterestPending
from community_scoring.services.interest_pg import interest_apply_ids

logger = logging.getLogger(__name__)

# The advisory locks scorers hold while they score: this plus the partition ("cs-score").
SCORER_LOCK = 0x63732D73636F7265
# Pending rows one pass scores at most (a row is one batch of at most 1,000 actions).
PASS_ROWS = 20
INLINE = "inline"  # settings.INTEREST_SCORING: the request scores (else "worker": Celery tasks do)

_TABLE = InterestPending._meta.db_table
_turns = itertools.count()  # which partition this process's next caller scores first
# The oldest rows of a partition, picked once: as an IN (subquery), PostgreSQL may plan a nested-loop semi join
# that rescans the LIMIT per row, and each rescan skips the rows this statement already deleted, taking them all.
_CLAIM_SQL = f"""
WITH picked AS MATERIALIZED (
    SELECT id FROM {_TABLE} WHERE partition = %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
DELETE FROM {_TABLE} p USING picked WHERE p.id = picked.id
RETURNING p.id, p.partitions, ARRAY(SELECT jsonb_array_elements_text(p.action_ids)::bigint),
          ARRAY(SELECT jsonb_array_elements_text(p.refit)::bigint)
"""
# The partitions whose scorer lock is free right now (taken and let go at once; CASE keeps the order).
_IDLE_SQL = """
SELECT k FROM generate_series(0, %(n)s - 1) k
WHERE CASE WHEN pg_try_advisory_lock(%(lock)s + k) THEN pg_advisory_unlock(%(lock)s + k) ELSE false END
"""


def scorer_partitions() -> int:
    """How many scorers may run at once (settings.INTEREST_SCORERS on PostgreSQL; 1 elsewhere)."""
    return max(1, settings.INTEREST_SCORERS) if connection.vendor == "postgresql" else 1


def interest_pending_add(*, action_ids: Sequence[int], refit: Iterable[int] = ()) -> list[int]:
    """Queue just-created actions for scoring, in the caller's transaction: one row per partition; returns their
    ids in partition order, for interest_pending_dispatch once the transaction has committed."""
    ids, members, n = list(action_ids), sorted(refit), scorer_partitions()
    rows = InterestPending.objects.bulk_create(
        InterestPending(action_ids=ids, refit=members, partition=k, partitions=n) for k in range(n))
    return [row.pk for row in rows]


def interest_pending_dispatch(pending: Sequence[int]) -> None:
    """After the commit of the rows interest_pending_add made: score them now (INTEREST_SCORING=inline), or start
    a scorer task for each partition that has no scorer running (worker; a running one looks again when done)."""
    if settings.INTEREST_SCORING == INLINE:
        interest_pending_score(until=pending)
        return
    from community_scoring.tasks import interest_partition_score_task

    with connection.cursor() as cursor:
        cursor.execute(_IDLE_SQL, {"n": len(pending), "lock": SCORER_LOCK})
        idle = [row[0] for row in cursor.fetchall()]
    for k in idle:
        try:
            interest_partition_score_task.delay(k)
        except Exception:  # a broker hiccup must not fail a batch already stored: its rows wait, and the next
            # batch's task or the periodic sweep scores them
            logger.exception("could not start the scorer task of partition %s", k)


def interest_pending_score(*, until: Sequence[int] | None = None) -> int:
    """Score pending actions, partition by partition, one pass at a time under each partition's scorer lock
    (waiting for it); returns how many action scorings this call did.

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


def interest_pending_drain(partition: int) -> int:
    """Score everything pending in a partition, pass after pass, unless another scorer holds it: that one looks
    for pending rows again after it lets go, so rows committed before this call are scored either way. Returns
    how many action scorings this call did."""
    if connection.vendor != "postgresql":
        return 0
    scored, linger = 0, settings.INTEREST_SCORING_LINGER
    while True:
        with transaction.atomic():
            claimed = _claim(partition, wait=False, linger=linger)
            if claimed is None:
                return scored  # the holder will see what is pending
            scored += _score(partition, claimed)
        if not claimed and not InterestPending.objects.filter(partition=partition).exists():
            return scored  # looked after letting go of the lock: nothing committed meanwhile
        linger = 0.0 if len(claimed) == PASS_ROWS else settings.INTEREST_SCORING_LINGER  # a backlog: no wait


def _partition_score(partition: int, until: int | None) -> int:
    scored = 0
    while True:
        with transaction.atomic():
            claimed = _claim(partition, wait=True)
            if not claimed:
                return scored
            scored += _score(partition, claimed)
        rows = [row_id for row_id, *_ in claimed]
        if until is not None and (until <= rows[-1] or len(rows) < PASS_ROWS):
            return scored  # the oldest rows were taken: ours was one of them, or was scored before


def _claim(partition: int, *, wait: bool, linger: float = 0.0) -> list[tuple[int, int, list[int], list[int]]] | None:
    """Take the partition's scorer lock (until this transaction ends; None if ``wait`` is false and another
    scorer holds it); after ``linger`` seconds, delete and return its oldest rows as (id, partitions, action
    ids, refit)."""
    commit_without_flush()  # safe: see the module docstring
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCORER_LOCK + partition])
        else:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SCORER_LOCK + partition])
            if not cursor.fetchone()[0]:
                return None
        if linger:
            time.sleep(linger)  # the partition is held: batches stored meanwhile start no task, and join this pass
        cursor.execute(_CLAIM_SQL, [partition, PASS_ROWS])
        return sorted(cursor.fetchall())


def _score(partition: int, claimed: list[tuple[int, int, list[int], list[int]]]) -> int:
    """Score claimed rows, each under the partition count it was queued with (one pass per count)."""
    by_count: dict[int, list] = defaultdict(list)
    for row in claimed:
        by_count[row[1]].append(row)
    scored = 0
    for n, rows in sorted(by_count.items()):
        action_ids = {a for _, _, ids, _ in rows for a in ids}  # interest_apply_ids sorts them
        refit = {m for *_, members in rows for m in members}
        interest_apply_ids(action_ids, refit=refit, partition=(partition, n))
        scored += len(action_ids)
    return scored


def pending_action_ids(partitions: dict[int, int]) -> RawSQL:
    """The ids of the actions pending for a member, given as {partition count: the member's partition under it}
    (for the counts of pending_partition_counts), as a subquery (``.exclude(pk__in=...)``)."""
    pairs = [value for item in sorted(partitions.items()) for value in item]
    match = " OR ".join(["(partitions = %s AND partition = %s)"] * len(partitions))
    if connection.vendor == "postgresql":
        return RawSQL(f"SELECT jsonb_array_elements_text(action_ids)::bigint FROM {_TABLE} WHERE {match}", pairs)
    return RawSQL(f"SELECT value FROM {_TABLE}, json_each({_TABLE}.action_ids) WHERE {match}", pairs)


def pending_partition_counts() -> list[int]:
    """The partition counts rows may be pending under: this process's, and any other a pending row has (after a
    change of settings.INTEREST_SCORERS)."""
    return sorted({scorer_partitions(), *InterestPending.objects.values_list("partitions", flat=True).distinct()})
