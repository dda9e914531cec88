"""The queue between storing actions and scoring them: the one way every stored action gets scored.

Why: concurrent batches name the same members, and scoring locks each member's score row until its transaction
ends. Scoring inside each batch's own transaction made concurrent batches queue behind each other's entire
scoring (measured: a fifth of both CPUs idle under 4 concurrent batch clients). Instead the store commits a
batch's actions with one InterestPending row per scorer partition; a scorer of a partition (one at a time: the
store holds the partition, an advisory lock on PostgreSQL) takes every pending row of it, scores its members'
share of all those actions in one pass, deletes the rows and commits. Partitions (settings.INTEREST_SCORERS on
PostgreSQL, member id modulo; one elsewhere) hold disjoint score, bucket and topic rows, so their scorers never
wait for each other and every core can score. The more batches a pass takes, the less each event costs
(measured, engine alone: 195 ms of CPU per 1,000 events with one batch per pass, 135 with four, 120 with ten).

Who scores (settings.INTEREST_SCORING), the same for every way actions arrive:
- ``inline`` (the embedded default, with eager Celery): the caller scores its rows right after storing them
  (``interest_pending_score(until=...)``), inside the caller's transaction when it has one (the bundled forum's
  write, its action and its score commit together). Callers arriving while a scorer runs wait for the partition;
  the next holder scores everything that piled up meanwhile (group commit).
- ``worker`` (the default with a Celery broker): once the caller's transaction commits, a Celery task per idle
  partition (``interest_pending_drain``) scores the rows: scores follow within a pass. Under load, passes grow to
  PASS_ROWS batches, which is what lets 2 cores store and score over 10,000 events/s.

Guarantees:
- exactly once: a row is deleted in the transaction that scores its partition of its actions;
- nothing is left behind: a batch hands its rows to a scorer that has not yet looked (it starts a task when the
  partition is free, and a holder looks again after letting go);
- a crash between the commits leaves rows: the next scorer of their partition (any batch, a task, or the
  periodic ``interest_pending_score_task``) scores them. For the same reason the scoring transaction need not
  wait for its WAL flush: if a crash loses it, its rows come back with it and are scored again;
- one member's data never stops another's scoring: a pass that fails is scored again row by row, then action
  by action; an action that still fails is set aside in a row of its own with the error (the admin lists it;
  "retry" there queues it again after a fix), and the rest of the pass is scored;
- a row is scored with the partition count it was queued under, so changing INTEREST_SCORERS with rows pending
  scores each action once; after a lowered count, the periodic task scores the partitions no scorer has now;
- a recompute from the log leaves out, for each member, the actions still pending for that member's partition
  (store ``pending_action_ids``): their scorer adds them on top.
"""
from __future__ import annotations

import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from community_scoring.models import InterestPending
from community_scoring.services.interest import interest_apply, interest_fit_refresh
from community_scoring.services.recompute import interest_members_refresh
from community_scoring.store import interest_store
from community_scoring.store.base import Claimed
from community_scoring.tasks import interest_partition_score_task

logger = logging.getLogger(__name__)

# Pending rows one pass scores at most (a row is one batch of at most 1,000 actions).
PASS_ROWS = 20
INLINE = "inline"  # settings.INTEREST_SCORING: the caller scores (else "worker": Celery tasks do)

_turns = itertools.count()  # which partition this process's next caller scores first


def scorers_hold() -> None:
    """Wait for and hold every scorer partition until the transaction ends: while a change re-owns or excludes
    actions and recomputes from the log (identity merges, gaming reviews), no scorer counts them meanwhile."""
    store = interest_store()
    for partition in range(store.scorer_partitions()):
        store.partition_hold(partition, wait=True)


def interest_pending_dispatch(pending: Sequence[int]) -> None:
    """For the rows a store just queued (in the caller's transaction): score them now (INTEREST_SCORING=inline),
    or, once that transaction commits, start a scorer task for each partition that has no scorer running
    (worker; a running one looks again when done)."""
    if not pending:
        return
    if settings.INTEREST_SCORING == INLINE:
        interest_pending_score(until=pending)
    else:
        transaction.on_commit(lambda: _tasks_start(len(pending)))


def _tasks_start(partitions: int) -> None:
    for k in interest_store().partitions_idle(partitions):
        try:
            interest_partition_score_task.delay(k)
        except Exception:  # a broker hiccup must not fail a batch already stored: its rows wait, and the next
            # batch's task or the periodic sweep scores them
            logger.exception("could not start the scorer task of partition %s", k)


def interest_pending_score(*, until: Sequence[int] | None = None) -> int:
    """Score pending actions, partition by partition, one pass at a time while holding each partition (waiting
    for it); returns how many action scorings this call did.

    With ``until`` (the rows a store queued, visible to this transaction) it returns once those rows are scored,
    by this call or by other scorers; without, once nothing is pending. Callers start at different partitions, so
    two batches waiting at once each score one partition meanwhile.
    """
    if until is None:  # every partition with rows, also those of a larger scorer count than the one set now
        store = interest_store()
        partitions = sorted({*range(store.scorer_partitions()), *store.partitions_pending()})
        return sum(_partition_score(k, None) for k in partitions)
    start = next(_turns) % len(until)
    return sum(_partition_score(k, until[k]) for k in [*range(start, len(until)), *range(start)])


def interest_pending_drain(partition: int) -> int:
    """Score everything pending in a partition, pass after pass, unless another scorer holds it: that one looks
    for pending rows again after it lets go, so rows committed before this call are scored either way. Returns
    how many action scorings this call did."""
    store = interest_store()
    scored, linger = 0, settings.INTEREST_SCORING_LINGER
    while True:
        with transaction.atomic():
            claimed = _claim(partition, wait=False, linger=linger)
            if claimed is None:
                return scored  # the holder will see what is pending
            scored += _score(partition, claimed)
        if not claimed and not store.pending_exists(partition):
            return scored  # looked after letting go of the partition: nothing committed meanwhile
        linger = 0.0 if len(claimed) == PASS_ROWS else settings.INTEREST_SCORING_LINGER  # a backlog: no wait


def _partition_score(partition: int, until: int | None) -> int:
    scored = 0
    while True:
        with transaction.atomic():
            claimed = _claim(partition, wait=True)
            if not claimed:
                return scored
            scored += _score(partition, claimed)
        rows = [row.id for row in claimed]
        if until is not None and (until <= rows[-1] or len(rows) < PASS_ROWS):
            return scored  # the oldest rows were taken: ours was one of them, or was scored before


def _claim(partition: int, *, wait: bool, linger: float = 0.0) -> list[Claimed] | None:
    """Hold the partition until this transaction ends (None if ``wait`` is false and another scorer holds it);
    after ``linger`` seconds, take its oldest rows."""
    store = interest_store()
    store.commit_without_flush()  # safe: see the module docstring
    if not store.partition_hold(partition, wait=wait):
        return None
    if linger:
        time.sleep(linger)  # the partition is held: batches stored meanwhile start no task, and join this pass
    return store.pending_take(partition, limit=PASS_ROWS)


def _score(partition: int, claimed: list[Claimed]) -> int:
    """Score claimed rows, each under the partition count it was queued with (one pass per count); a pass that
    fails is scored again in smaller parts, down to single actions, and what still fails is set aside."""
    by_count: dict[int, list[Claimed]] = defaultdict(list)
    for row in claimed:
        by_count[row.partitions].append(row)
    scored = 0
    for n, rows in sorted(by_count.items()):
        action_ids = sorted({a for row in rows for a in row.action_ids})
        refit = {m for row in rows for m in row.refit}
        rescore = {m for row in rows for m in row.rescore if m % n == partition}
        done, owners = _score_or_split(action_ids, refit=refit, partition=(partition, n)) if action_ids else (0, set())
        scored += done
        # the owners' scoring re-evaluated their fit already
        _profiles_refresh(refit={m for m in refit if m % n == partition} - rescore - owners, rescore=rescore,
                          partition=(partition, n))
    return scored


def _profiles_refresh(*, refit: set[int], rescore: set[int], partition: tuple[int, int]) -> None:
    """The partition's members whose profile a batch changed, after the pass's actions: a new persona re-scores
    the member from the log under its rule set; new attributes re-evaluate fit. Set aside with the error if it
    fails, like an action."""
    if not refit and not rescore:
        return
    try:
        with transaction.atomic():
            if rescore:
                interest_members_refresh(member_ids=sorted(rescore))
            if refit:
                interest_fit_refresh(member_ids=sorted(refit))
    except Exception as error:  # noqa: BLE001 - one member's data must not stop the others' scoring
        _set_aside([], refit=refit, rescore=rescore, partition=partition, error=error)


def _score_or_split(action_ids: list[int], *, refit: set[int], partition: tuple[int, int]) -> tuple[int, set[int]]:
    """Score the actions; returns how many were scored and the owners scored."""
    try:
        with transaction.atomic():
            applied = interest_apply(action_ids=action_ids, refit=refit, partition=partition)
        return len(action_ids), set(applied.owners)
    except Exception as error:  # noqa: BLE001 - one member's data must not stop the others' scoring
        if len(action_ids) == 1:
            _set_aside(action_ids, refit=refit, partition=partition, error=error)
            return 0, set()
    middle = len(action_ids) // 2
    (first, first_owners), (second, second_owners) = (
        _score_or_split(part, refit=refit, partition=partition) for part in (action_ids[:middle], action_ids[middle:]))
    return first + second, first_owners | second_owners


def _set_aside(action_ids: list[int], *, refit: set[int], partition: tuple[int, int], error: Exception,
               rescore: set[int] = frozenset()) -> None:
    logger.error("%s could not be scored for partition %s and is set aside: %r",
                 f"action {action_ids}" if action_ids else f"members {sorted(refit | rescore)}", partition, error)
    InterestPending.objects.create(
        action_ids=action_ids, refit=sorted(refit), rescore=sorted(rescore), partition=partition[0],
        partitions=partition[1], error=f"{type(error).__name__}: {error}"[:2000], failed_at=timezone.now())


def interest_pending_retry(*, row_ids: Sequence[int]) -> int:
    """Queue set-aside rows again (after the cause is fixed); returns how many. The next scorer takes them."""
    return InterestPending.objects.filter(pk__in=list(row_ids)).exclude(error="").update(error="", failed_at=None)
