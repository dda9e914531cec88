from django.apps import AppConfig


class CommunityScoringConfig(AppConfig):
    name = "community_scoring"
    verbose_name = "Community scoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from community_scoring import checks  # noqa: F401 - registers the system checks
        from community_scoring.auth import token_signals_connect

        token_signals_connect()
