from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "community_scoring.outcomes"
    label = "outcomes"
    verbose_name = "Outcomes"
    default_auto_field = "django.db.models.BigAutoField"
