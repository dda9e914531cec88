from django.urls import include, path

from community_scoring.pages import outcomes, views

app_name = "community_scoring"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("", views.dashboard, name="home"),  # the name the page had before issue 13
    path("leaderboards/<str:kind>/", views.leaderboard, name="leaderboard"),
    path("leaderboards/<str:kind>/csv/", views.leaderboard_csv, name="leaderboard_csv"),
    path("members/<int:member_id>/", views.member, name="member"),
    path("settings/scoring/", include("community_scoring.pages.settings_urls")),
    path("settings/outcomes/upload/", outcomes.outcomes_upload, name="settings-outcomes-upload"),
]
