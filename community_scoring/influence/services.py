"""Influence writes that callers ask for: a recompute queued as a task. The recompute itself:
influence/recompute.py; the configuration: influence/config.py."""
from __future__ import annotations

from django.db import transaction

from community_scoring.influence.models import InfluenceRun
from community_scoring.influence.tasks import influence_recompute_task


def influence_run_request(*, trigger: str = "manual") -> InfluenceRun:
    """Create a pending run and queue the recompute task once the caller's transaction commits."""
    run = InfluenceRun.objects.create(trigger=trigger)
    transaction.on_commit(lambda: influence_recompute_task.delay(run.pk))
    return run


def influence_run_request_once(*, trigger: str) -> InfluenceRun | None:
    """influence_run_request, unless a run is already waiting to start (a change touching many members asks
    once): after merges and gaming reviews, whose effect the next run picks up."""
    if InfluenceRun.objects.filter(status=InfluenceRun.Status.PENDING).exists():
        return None
    return influence_run_request(trigger=trigger)
