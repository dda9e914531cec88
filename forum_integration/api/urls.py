from django.urls import path

from forum_integration.api.views import EventIngestApi

app_name = "forum_integration_api"
urlpatterns = [
    path("events/", EventIngestApi.as_view(), name="events-ingest"),
]
