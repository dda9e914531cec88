"""The celery beat schedule the influence parameters drive (their description: services.config_documents; reads:
influence.selectors; changes, with config versions for both scores: services.config)."""
from __future__ import annotations

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from community_scoring.influence.models import InfluenceConfig
from community_scoring.influence.selectors import influence_config_load

SCHEDULE_TASK_NAME = "influence-recompute"
SCHEDULE_TASK = "community_scoring.influence.tasks.influence_recompute_scheduled"


def influence_schedule_sync(*, config: InfluenceConfig | None = None) -> PeriodicTask:
    """Create or update the celery beat entry for scheduled recomputes (idempotent); 0 minutes disables it."""
    config = config or influence_config_load()
    minutes = int(config.schedule_minutes)
    interval, _ = IntervalSchedule.objects.get_or_create(every=max(minutes, 1), period=IntervalSchedule.MINUTES)
    task, created = PeriodicTask.objects.get_or_create(
        name=SCHEDULE_TASK_NAME, defaults={"task": SCHEDULE_TASK, "interval": interval, "enabled": minutes > 0}
    )
    if not created and (task.interval_id != interval.pk or task.enabled != (minutes > 0) or task.task != SCHEDULE_TASK):
        task.interval, task.enabled, task.task = interval, minutes > 0, SCHEDULE_TASK
        task.save()
    return task
