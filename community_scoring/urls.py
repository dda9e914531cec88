from django.urls import path

from community_scoring.pages import views

app_name = "community_scoring"
urlpatterns = [
    path("", views.home, name="home"),
]
