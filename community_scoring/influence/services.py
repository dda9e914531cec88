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
