from django.urls import include, path

from community_scoring.pages import views

app_name = "community_scoring"
urlpatterns = [
    path("", views.home, name="home"),
    path("settings/scoring/", include("community_scoring.pages.settings_urls")),
]
