from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedule_sync(sender, **kwargs):
    """After migrate: make sure the celery beat entry for scheduled recomputes exists (idempotent)."""
    from community_scoring.influence.config import influence_schedule_sync

    influence_schedule_sync()


def _worker_ready(sender, **kwargs):
    """A Celery node started: the influence runs its previous process was running are run again as new runs."""
    from community_scoring.influence.services import influence_runs_resume

    influence_runs_resume(worker=sender.hostname)


class InfluenceConfig(AppConfig):
    name = "community_scoring.influence"
    label = "influence"
    verbose_name = "Influence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_schedule_sync, sender=self, dispatch_uid="influence_schedule_sync")
        from celery.signals import worker_ready

        worker_ready.connect(_worker_ready, dispatch_uid="influence_worker_ready")
