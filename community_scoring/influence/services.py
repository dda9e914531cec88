"""Influence writes that callers ask for: a recompute queued as a task. The recompute itself:
influence/recompute.py; the configuration: influence/config.py."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from community_scoring.influence.models import InfluenceRun
from community_scoring.influence.tasks import influence_recompute_task
from community_scoring.jobs import job_publish, jobs_pending_publish


def influence_run_request(*, trigger: str = "manual") -> InfluenceRun:
    """Create a pending run and publish the recompute task once the caller's transaction commits; when the broker
    refuses it, the run waits for influence_runs_publish_pending."""
    run = InfluenceRun.objects.create(trigger=trigger)
    job_publish(influence_recompute_task, run.pk)
    return run


def influence_runs_publish_pending() -> list[int]:
    """Publish again the tasks of influence runs left pending (jobs.jobs_pending_publish); their ids. A run
    influence_recompute already started, or ended, is left alone (its claim: only a pending run starts)."""
    return jobs_pending_publish(jobs=InfluenceRun.objects.all(), task=influence_recompute_task)


def influence_run_request_once(*, trigger: str) -> InfluenceRun | None:
    """influence_run_request, unless a run is already waiting to start (a change touching many members asks
    once): after merges and gaming reviews, whose effect the next run picks up."""
    if InfluenceRun.objects.filter(status=InfluenceRun.Status.PENDING).exists():
        return None
    return influence_run_request(trigger=trigger)


def influence_runs_resume(*, worker: str) -> list[InfluenceRun]:
    """When a Celery node starts: the runs it was running died with its previous process (SIGKILL, a lost host).
    Each is marked failed ("interrupted"; its scores never became current) and a new run is requested in its place.
    A node cannot be running anything before it is ready, so a running run under its name is an interrupted one."""
    resumed = []
    with transaction.atomic():
        for run in InfluenceRun.objects.select_for_update().filter(status=InfluenceRun.Status.RUNNING, worker=worker):
            run.status, run.finished_at = InfluenceRun.Status.FAILED, timezone.now()
            run.error = f"interrupted: worker {worker} stopped during the run; run again as a new run"
            run.save(update_fields=["status", "finished_at", "error"])
            resumed.append(influence_run_request(trigger=run.trigger))
    return resumed
