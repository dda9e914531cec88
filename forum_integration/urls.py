from django.urls import path

from forum_integration.views import DiscourseWebhookView

app_name = "forum_integration"
urlpatterns = [
    path("discourse/webhook/", DiscourseWebhookView.as_view(), name="discourse-webhook"),
]
