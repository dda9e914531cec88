"""URLs of the admin's scoring settings pages (community_scoring/pages/settings.py), under /settings/scoring/."""
from django.urls import path

from community_scoring.pages import settings

urlpatterns = [
    path("", settings.scoring_settings, name="settings-scoring"),
    path("recompute/", settings.recompute_start, name="settings-recompute"),
    path("versions/", settings.versions, name="settings-versions"),
    path("versions/diff/", settings.versions_diff, name="settings-versions-diff"),
    path("versions/<int:number>/restore/", settings.version_restore, name="settings-version-restore"),
]
