from django.apps import AppConfig


class InfluenceConfig(AppConfig):
    name = "community_scoring.influence"
    label = "influence"
    verbose_name = "Influence"
    default_auto_field = "django.db.models.BigAutoField"
