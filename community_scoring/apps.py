from django.apps import AppConfig


class CommunityScoringConfig(AppConfig):
    name = "community_scoring"
    verbose_name = "Community scoring"
    default_auto_field = "django.db.models.BigAutoField"
