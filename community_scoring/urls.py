from django.urls import include, path

from community_scoring.pages import experiments, outcomes, quality, views

app_name = "community_scoring"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("", views.dashboard, name="home"),  # the name the page had before issue 13
    path("leaderboards/<str:kind>/", views.leaderboard, name="leaderboard"),
    path("leaderboards/<str:kind>/csv/", views.leaderboard_csv, name="leaderboard_csv"),
    path("members/<int:member_id>/", views.member, name="member"),
    path("quality/", quality.quality, name="quality"),
    path("settings/scoring/", include("community_scoring.pages.settings_urls")),
    path("settings/experiments/", experiments.experiments, name="settings-experiments"),
    path("settings/experiments/<int:experiment_id>/stop/", experiments.experiment_stop_page,
         name="settings-experiment-stop"),
    path("settings/", include("community_scoring.pages.calibration_urls")),
    path("settings/outcomes/upload/", outcomes.outcomes_upload, name="settings-outcomes-upload"),
]
