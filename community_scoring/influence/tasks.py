"""Celery tasks for influence: each takes ids and calls one service; safe to run twice."""
from celery import shared_task

from community_scoring.influence.models import InfluenceRun
from community_scoring.influence.recompute import influence_recompute
from community_scoring.influence.selectors import run_record


@shared_task(name="community_scoring.influence.tasks.influence_recompute_task", bind=True)
def influence_recompute_task(self, run_id: int) -> dict:
    """Run a pending influence run (a run that already started or finished is left alone)."""
    return run_record(influence_recompute(run_id=run_id, worker=self.request.hostname or ""))


@shared_task(name="community_scoring.influence.tasks.influence_recompute_scheduled", bind=True)
def influence_recompute_scheduled(self) -> dict:
    """The celery beat entry: record a scheduled run and run it."""
    run = InfluenceRun.objects.create(trigger="schedule")
    return run_record(influence_recompute(run_id=run.pk, worker=self.request.hostname or ""))
