"""/api/v1/ endpoints of the scoring engine (ingest lives in forum_integration.api)."""
from django.urls import path, re_path, register_converter

from community_scoring.api.views import (
    calibration, config, experiments, leaderboards, members, outcomes, quality, recompute, webhooks,
)
from community_scoring.api.views.common import NotFoundApi, SignedIntConverter

app_name = "community_scoring_api"
register_converter(SignedIntConverter, "id")
urlpatterns = [
    path("members/", members.MemberListApi.as_view(), name="member-list"),
    path("members/export/", members.MemberExportApi.as_view(), name="member-export"),
    path("members/lookup/", members.MemberLookupApi.as_view(), name="member-lookup"),
    path("members/<id:member_id>/", members.MemberAudienceApi.as_view(), name="member-detail"),
    path("members/<id:member_id>/merge/", members.MemberMergeApi.as_view(), name="member-merge"),
    path("members/<id:member_id>/unmerge/", members.MemberUnmergeApi.as_view(), name="member-unmerge"),
    path("members/<id:member_id>/erase/", members.MemberEraseApi.as_view(), name="member-erase"),
    path("outcomes/", outcomes.OutcomeRecordApi.as_view(), name="outcomes-record"),
    path("leaderboards/<board>/", leaderboards.LeaderboardApi.as_view(), name="leaderboard"),
    path("config/interest/", config.InterestConfigApi.as_view(), name="config-interest"),
    path("config/interest/preview/", config.InterestConfigPreviewApi.as_view(), name="config-interest-preview"),
    path("config/influence/", config.InfluenceConfigApi.as_view(), name="config-influence"),
    path("config/versions/", config.ConfigVersionListApi.as_view(), name="config-version-list"),
    path("config/versions/<id:number>/", config.ConfigVersionDetailApi.as_view(), name="config-version-detail"),
    path(
        "config/versions/<id:number>/restore/", config.ConfigVersionRestoreApi.as_view(),
        name="config-version-restore",
    ),
    path("experiments/", experiments.ExperimentListApi.as_view(), name="experiment-list"),
    path("experiments/<id:experiment_id>/", experiments.ExperimentDetailApi.as_view(), name="experiment-detail"),
    path("experiments/<id:experiment_id>/stop/", experiments.ExperimentStopApi.as_view(), name="experiment-stop"),
    path("quality/", quality.QualityReportApi.as_view(), name="quality"),
    path("recompute/interest/", recompute.InterestRecomputeListApi.as_view(), name="recompute-interest-list"),
    path("recompute/interest/<id:job_id>/", recompute.InterestRecomputeDetailApi.as_view(), name="recompute-interest"),
    path("recompute/influence/", recompute.InfluenceRecomputeListApi.as_view(), name="recompute-influence-list"),
    path(
        "recompute/influence/<id:run_id>/", recompute.InfluenceRecomputeDetailApi.as_view(),
        name="recompute-influence",
    ),
    path("webhooks/subscriptions/", webhooks.WebhookSubscriptionListApi.as_view(), name="webhook-subscription-list"),
    path(
        "webhooks/subscriptions/<id:subscription_id>/", webhooks.WebhookSubscriptionDetailApi.as_view(),
        name="webhook-subscription-detail",
    ),
    path("webhooks/deliveries/", webhooks.WebhookDeliveryListApi.as_view(), name="webhook-delivery-list"),
    path(
        "webhooks/deliveries/<id:delivery_id>/", webhooks.WebhookDeliveryDetailApi.as_view(),
        name="webhook-delivery-detail",
    ),
    path("calibrations/", calibration.CalibrationListApi.as_view(), name="calibration-list"),
    path("calibrations/<id:run_id>/", calibration.CalibrationDetailApi.as_view(), name="calibration-detail"),
    path("calibrations/<id:run_id>/preview/", calibration.CalibrationPreviewApi.as_view(), name="calibration-preview"),
    path("calibrations/<id:run_id>/apply/", calibration.CalibrationApplyApi.as_view(), name="calibration-apply"),
    path("calibrations/<id:run_id>/reject/", calibration.CalibrationRejectApi.as_view(), name="calibration-reject"),
    path("experiments/replay/", calibration.ReplayApi.as_view(), name="experiments-replay"),
    # Anything else under /api/v1/ (after the ingest routes): a JSON 404, or 401 without credentials.
    re_path(r"^[\s\S]*$", NotFoundApi.as_view(), name="not-found"),  # [\s\S], not ".": a newline in the path too
]
