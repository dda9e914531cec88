"""URLs of the calibration and offline replay pages (community_scoring/pages/calibration.py), under /settings/."""
from django.urls import path

from community_scoring.pages import calibration

urlpatterns = [
    path("calibration/", calibration.calibration_page, name="settings-calibration"),
    path("calibration/start/", calibration.calibration_start_view, name="settings-calibration-start"),
    path("calibration/<int:run_id>/preview/", calibration.calibration_preview_view, name="settings-calibration-preview"),
    path("calibration/<int:run_id>/apply/", calibration.calibration_decide_view, {"decision": "apply"},
         name="settings-calibration-apply"),
    path("calibration/<int:run_id>/reject/", calibration.calibration_decide_view, {"decision": "reject"},
         name="settings-calibration-reject"),
    path("experiments/replay/", calibration.replay_page, name="settings-replay"),
]
