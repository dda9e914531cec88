"""Background jobs: rows a Celery task runs (RecomputeJob, InfluenceRun, CalibrationRun), pending until a task
claims them.

The row is the record that the work is owed; its task message only says "run it now", and is published once the
caller's transaction commits (job_publish). When the broker refuses that message, or the process dies between the
commit and the publish, the row stays pending: the periodic sweep (jobs_pending_publish, every few minutes) publishes
it again once it has been pending for JOBS_PENDING_GRACE_SECONDS. A message may so be sent twice (and Celery
delivers a message again after a worker was lost): the claim (job_claimed) lets one task at a time run a job.
"""
from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from community_scoring.store import interest_store

logger = logging.getLogger(__name__)

PENDING, RUNNING = "pending", "running"  # the statuses every job model shares


def job_publish(task: Any, job_id: int) -> None:
    """Publish ``task(job_id)`` once the caller's transaction commits. A broker that refuses it leaves the job
    pending for the sweep, so a caller that answers "queued" tells the truth (the request never fails for it)."""
    transaction.on_commit(lambda: _publish(task, job_id))


def _publish(task: Any, job_id: int) -> bool:
    try:
        task.delay(job_id)
    except BrokerError:
        logger.warning("broker unavailable: %s(%s) stays pending until the sweep publishes it again", task.name,
                       job_id, exc_info=True)
        return False
    return True


def _kind(model: type[models.Model]) -> int:
    """The job model's key among holds (a stable 31-bit number from its label)."""
    return zlib.crc32(model._meta.label_lower.encode()) & 0x7FFFFFFF


@contextmanager
def job_claimed(model: type[models.Model], job_id: int, **fields: Any) -> Iterator[bool]:
    """Claim job ``job_id`` of ``model`` for this task while the block runs: yields True when this task is to run
    it (then its status is running and ``fields`` are set), False when another task is running it or it has ended.

    A job is claimed when it is pending, or running with nobody holding it (its runner died: a worker killed
    mid-run, whose message Celery delivers again). The hold (store.job_hold) and the conditional status update make
    the claim atomic; the hold lasts until the block ends, or the process dies."""
    with interest_store().job_hold(_kind(model), job_id) as held:
        claimed = held and bool(model.objects.filter(pk=job_id, status__in=[PENDING, RUNNING])
                                .update(status=RUNNING, **fields))
        yield claimed


def jobs_pending_publish(*, jobs: models.QuerySet, task: Any) -> list[int]:
    """The sweep: publish ``task`` again for each of ``jobs`` still pending JOBS_PENDING_GRACE_SECONDS after it was
    created (its message was lost, or waits behind other work: a second one is then harmless). Returns the ids
    published; stops at the first the broker refuses (the next sweep tries again)."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOBS_PENDING_GRACE_SECONDS)
    published = []
    for job_id in jobs.filter(status=PENDING, created_at__lt=cutoff).order_by("pk").values_list("pk", flat=True):
        if not _publish(task, job_id):
            break
        published.append(job_id)
    return published
