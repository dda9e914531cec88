from django.apps import AppConfig


class GamingConfig(AppConfig):
    name = "community_scoring.gaming"
    label = "gaming"
    verbose_name = "Gaming resistance"
    default_auto_field = "django.db.models.BigAutoField"
