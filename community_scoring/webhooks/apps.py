from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "community_scoring.webhooks"
    label = "webhooks"
    verbose_name = "Outbound webhooks"
    default_auto_field = "django.db.models.BigAutoField"
