"""/api/v1/ endpoints of the scoring engine (ingest lives in forum_integration.api)."""
from django.urls import path

from community_scoring.api.views import leaderboards, members, webhooks

app_name = "community_scoring_api"
urlpatterns = [
    path("members/", members.MemberListApi.as_view(), name="member-list"),
    path("members/export/", members.MemberExportApi.as_view(), name="member-export"),
    path("members/lookup/", members.MemberLookupApi.as_view(), name="member-lookup"),
    path("members/<int:member_id>/", members.MemberAudienceApi.as_view(), name="member-detail"),
    path("leaderboards/<str:board>/", leaderboards.LeaderboardApi.as_view(), name="leaderboard"),
    path("webhooks/subscriptions/", webhooks.WebhookSubscriptionListApi.as_view(), name="webhook-subscription-list"),
    path(
        "webhooks/subscriptions/<int:subscription_id>/", webhooks.WebhookSubscriptionDetailApi.as_view(),
        name="webhook-subscription-detail",
    ),
    path("webhooks/deliveries/", webhooks.WebhookDeliveryListApi.as_view(), name="webhook-delivery-list"),
    path(
        "webhooks/deliveries/<int:delivery_id>/", webhooks.WebhookDeliveryDetailApi.as_view(),
        name="webhook-delivery-detail",
    ),
]
