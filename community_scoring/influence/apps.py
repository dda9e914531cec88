from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _schedule_sync(sender, **kwargs):
    """After migrate: make sure the celery beat entry for scheduled recomputes exists (idempotent)."""
    from community_scoring.influence.config import influence_schedule_sync

    influence_schedule_sync()


class InfluenceConfig(AppConfig):
    name = "community_scoring.influence"
    label = "influence"
    verbose_name = "Influence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_schedule_sync, sender=self, dispatch_uid="influence_schedule_sync")
