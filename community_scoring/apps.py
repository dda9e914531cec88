from django.apps import AppConfig


def _worker_ready(sender, **kwargs) -> None:
    """A Celery node started: queue again the recomputes its previous process was running when it died, and score
    whatever such a death left pending (normally the next batch or the minute's periodic task would)."""
    from community_scoring.services.recompute import recompute_jobs_resume
    from community_scoring.tasks import interest_pending_score_task

    recompute_jobs_resume(worker=sender.hostname)
    interest_pending_score_task.delay()


class CommunityScoringConfig(AppConfig):
    name = "community_scoring"
    verbose_name = "Community scoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from community_scoring import checks  # noqa: F401 - registers the system checks
        from community_scoring.auth import token_signals_connect

        token_signals_connect()
        from celery.signals import worker_ready

        worker_ready.connect(_worker_ready, dispatch_uid="community_scoring_worker_ready")
