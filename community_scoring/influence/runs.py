"""Asking for an influence run: record it and queue the recompute task.

Kept apart from influence.services, which the task calls: this module imports the task and the task imports
the services, so neither imports the other.
"""
from __future__ import annotations

from django.db import transaction

from community_scoring.influence.models import InfluenceRun
# The one upward import a service may make: it queues its own task (see .importlinter).
from community_scoring.influence.tasks import influence_recompute_task


def influence_run_request(*, trigger: str = "manual") -> InfluenceRun:
    """Create a pending run and queue the recompute task once the caller's transaction commits."""
    run = InfluenceRun.objects.create(trigger=trigger)
    transaction.on_commit(lambda: influence_recompute_task.delay(run.pk))
    return run
