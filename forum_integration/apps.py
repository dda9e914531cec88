from django.apps import AppConfig


class ForumIntegrationConfig(AppConfig):
    name = "forum_integration"
    verbose_name = "Forum integration"
    default_auto_field = "django.db.models.BigAutoField"
