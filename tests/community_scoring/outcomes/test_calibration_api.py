"""Calibration runs through the API, the task and the page: the flow, progress, roles, apply and reject; and the
replay endpoint and page."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from community_scoring.models import ConfigVersion, Rule
from community_scoring.outcomes.models import CalibrationRun
from community_scoring.outcomes.services import calibration as calibration_service
from community_scoring.outcomes.tasks import calibration_run_task
from community_scoring.selectors.config import config_snapshot
from tests.community_scoring.outcomes import ground_truth as gt

pytestmark = pytest.mark.django_db
NON_ADMIN = ["community_manager", "marketing", "ingest"]


def _done_run(**result_overrides) -> CalibrationRun:
    """A finished calibration with a hand-written suggestion: answer 8 -> 3, read 0.5 -> 12, comment 3 -> -2."""
    result = {
        "weights": [
            {"action_type": "read", "side": "done", "current_points": 0.5, "suggested_points": 12.0, "coefficient": 0.9},
            {"action_type": "answer", "side": "done", "current_points": 8.0, "suggested_points": 3.0, "coefficient": 0.2},
            {"action_type": "comment", "side": "done", "current_points": 3.0, "suggested_points": -2.0,
             "coefficient": -0.1},
        ],
        "current": {"auc": 0.6, "mql_count": 10, "mql_converted": 3, "mql_precision": 0.3},
        "suggested": {"auc": 0.8, "mql_count": 8, "mql_converted": 6, "mql_precision": 0.75},
        "half_life_days": 90.0, "half_life_current": 90.0,
        "training": {"at": "2025-05-21T00:00:00+00:00", "until": "2025-06-20T00:00:00+00:00", "members": 300,
                     "converted": 70},
        "evaluation": {"at": "2025-06-20T00:00:00+00:00", "until": "2025-07-20T00:00:00+00:00", "members": 280,
                       "converted": 60},
        "scaling": "sum of |suggested points| = sum of |current points| over the fitted types, rounded to 0.1",
        **result_overrides,
    }
    return CalibrationRun.objects.create(status=CalibrationRun.Status.DONE, result=result, total=6, done=6)


def _points(action_type):
    rule = Rule.objects.get(rule_set__persona="", action_type_id=action_type)
    return rule.points, rule.daily_cap


# --- the task and the flow, on the ground-truth community ------------------------------------------------------

def test_the_task_keeps_progress_step_by_step_and_is_safe_to_run_twice(ground_truth, monkeypatch):
    run = CalibrationRun.objects.create(parameters={"end": gt.END.isoformat(), "within_days": 30, "period_days": 365,
                                                    "fit_half_life": True})
    seen = []
    real = calibration_service.calibration_compute

    def recording(**kwargs):
        step = kwargs.pop("on_step")

        def on_step(name):
            step(name)
            seen.append(CalibrationRun.objects.values_list("status", "done", "total", "step").get(pk=run.pk))

        return real(**kwargs, on_step=on_step)

    monkeypatch.setattr(calibration_service, "calibration_compute", recording)
    monkeypatch.setattr(calibration_service, "_half_life_grid", lambda params: [30.0, 90.0])
    assert calibration_run_task.delay(run.pk).get() == {"run": run.pk, "status": "done"}
    # 5 steps + one per half-life tried; each step is written before it starts
    assert [s[1] for s in seen] == [0, 1, 2, 3, 4, 5, 6] and {s[2] for s in seen} == {7}
    assert {s[0] for s in seen} == {"running"} and seen[1][3] == "trying a half-life of 30.0 days"
    run.refresh_from_db()
    assert (run.status, run.done, run.total, run.progress) == ("done", 7, 7, 1.0)
    assert {w["action_type"] for w in run.result["weights"]} == set(gt.HIDDEN)
    result = run.result
    assert calibration_run_task.delay(run.pk).get() == {"run": run.pk, "skipped": True}
    run.refresh_from_db()
    assert run.result == result


def test_start_over_the_api_runs_the_task_after_commit_and_reads_back(ground_truth, token_client,
                                                                      django_capture_on_commit_callbacks):
    admin = token_client("admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/api/v1/calibrations/", {"end": gt.END.isoformat(), "within_days": 30,
                                                        "period": "365d", "fit_half_life": False}, format="json")
    assert response.status_code == 202
    body = admin.get(f"/api/v1/calibrations/{response.json()['id']}/").json()
    assert body["status"] == "done" and body["progress"] == 1.0
    assert body["parameters"]["period_days"] == 365 and body["result"]["half_life_days"] == 90.0
    assert body["result"]["evaluation"]["members"] > 200


def test_a_run_without_enough_conversions_fails_with_a_reason(db):
    run = CalibrationRun.objects.create(parameters={"within_days": 30, "period_days": 365, "fit_half_life": False})
    calibration_run_task.delay(run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "conversions" in run.error


@pytest.mark.parametrize("body, field", [
    ({"within_days": 0}, "within_days"), ({"period": "90"}, "period"), ({"end": "2999-01-01T00:00:00Z"}, "end"),
    ({"conversion_types": ["bought"]}, "conversion_types"), ({"end": "1960-01-01T00:00:00Z"}, "end"),
    ({"end": "2026-01-01T00:00:00Z\u0000junk"}, "end"),
])
def test_bad_start_parameters_are_400_naming_the_field(token_client, body, field):
    response = token_client("admin").post("/api/v1/calibrations/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not CalibrationRun.objects.exists()


# --- apply, reject, preview ------------------------------------------------------------------------------------

def test_apply_creates_a_config_version_with_the_suggested_points(token_client):
    run = _done_run()
    before = ConfigVersion.objects.count()
    admin = token_client("admin")
    preview = admin.get(f"/api/v1/calibrations/{run.pk}/preview/")
    assert preview.status_code == 200 and "members_changing_stage" in preview.json()
    rules = {r["action_type"]: r for r in preview.json()["document"]["rule_sets"][0]["rules"]}
    assert rules["read"]["points"] == 12.0
    assert ConfigVersion.objects.count() == before  # a preview writes nothing
    response = admin.post(f"/api/v1/calibrations/{run.pk}/apply/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "applied"
    version = ConfigVersion.objects.order_by("-number").first()
    assert ConfigVersion.objects.count() == before + 1 and response.json()["applied_version"] == version.number
    # points replaced; caps scaled with the points so they stop as many actions a day: read 5 * 12/0.5 = 120,
    # answer 40 * 3/8 = 15, comment 15 * 2/3 = 10
    assert _points("read") == (12.0, 120.0) and _points("answer") == (3.0, 15.0) and _points("comment") == (-2.0, 10.0)
    assert _points("question") == (5.0, 25.0)  # not in the suggestion: unchanged
    assert f"calibration {run.pk}" in version.note
    # a decided run cannot be applied again
    again = admin.post(f"/api/v1/calibrations/{run.pk}/apply/")
    assert again.status_code == 400 and "status" in again.json()


def test_reject_leaves_the_configuration_unchanged(token_client):
    run = _done_run()
    before = (ConfigVersion.objects.count(), config_snapshot())
    response = token_client("admin").post(f"/api/v1/calibrations/{run.pk}/reject/")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert (ConfigVersion.objects.count(), config_snapshot()) == before


def test_a_running_calibration_cannot_be_applied(token_client):
    run = CalibrationRun.objects.create(status=CalibrationRun.Status.RUNNING)
    response = token_client("admin").post(f"/api/v1/calibrations/{run.pk}/apply/")
    assert response.status_code == 400 and "running" in response.json()["status"][0]
    assert token_client("admin").post("/api/v1/calibrations/99999/apply/").status_code == 404


@pytest.mark.parametrize("role", NON_ADMIN)
def test_only_admins_may_use_calibrations_and_replays(token_client, role):
    run = _done_run()
    client = token_client(role)
    before = ConfigVersion.objects.count()
    for method, url in [("get", "/api/v1/calibrations/"), ("post", "/api/v1/calibrations/"),
                        ("get", f"/api/v1/calibrations/{run.pk}/"), ("get", f"/api/v1/calibrations/{run.pk}/preview/"),
                        ("post", f"/api/v1/calibrations/{run.pk}/apply/"), ("post", f"/api/v1/calibrations/{run.pk}/reject/"),
                        ("post", "/api/v1/experiments/replay/")]:
        assert getattr(client, method)(url, {}, format="json").status_code == 403, (method, url)
    run.refresh_from_db()
    assert run.status == "done" and ConfigVersion.objects.count() == before


# --- replay endpoint ---------------------------------------------------------------------------------------------

def test_replay_endpoint_answers_both_variants(ground_truth, token_client):
    response = token_client("admin").post("/api/v1/experiments/replay/", {
        "a": {"mql_min_engagement": 50}, "b": {"mql_min_engagement": 30}, "period": "60d", "within_days": 30,
        "end": (gt.BASE.replace(hour=12) + __import__("datetime").timedelta(days=189)).isoformat()}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["days"] == 60 and body["start"].startswith("2025-04-11")  # days 100..159, as test_replay counts
    assert body["variants"]["B"]["mqls"] > body["variants"]["A"]["mqls"] > 0
    assert len(body["variants"]["A"]["mqls_per_week"]) == 9


@pytest.mark.parametrize("body, field", [
    ({"b": {"mql_min_engagement": 1}}, "a"),
    ({"a": {"mql_min_engagment": 1}, "b": {"mql_min_engagement": 1}}, "a.mql_min_engagment"),
    ({"a": {"mql_min_engagement": 1}, "b": {"mql_min_engagement": 1}, "period": "0d"}, "period"),
    ({"a": {"mql_min_engagement": 1}, "b": {"stages": [], "rule_sets": []}}, "b.stages"),
])
def test_bad_replay_requests_are_400_naming_the_field(token_client, body, field):
    response = token_client("admin").post("/api/v1/experiments/replay/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()


# --- pages -------------------------------------------------------------------------------------------------------

def _login(role):
    User = get_user_model()
    client = Client()
    if role == "admin":
        user = User.objects.create_superuser(username="root", password="pw")
    else:
        user = User.objects.create_user(username=role, password="pw")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


def test_the_page_shows_the_suggestion_beside_the_current_points_and_applies_it():
    run = _done_run()
    admin = _login("admin")
    page = admin.get(f"/settings/calibration/?run={run.pk}").content.decode()
    assert 'id="weights"' in page and "<td>read</td><td>done</td><td>0.5</td>" in page.replace("\n", "").replace("  ", "")
    assert "0.800" in page and "0.750" in page  # suggested AUC and MQL precision
    preview = admin.get(f"/settings/calibration/{run.pk}/preview/")
    assert preview.status_code == 200 and b"would change stage" in preview.content
    response = admin.post(f"/settings/calibration/{run.pk}/apply/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "applied" and _points("read")[0] == 12.0


def test_the_page_rejects_and_shows_progress_of_a_running_one():
    done, running = _done_run(), CalibrationRun.objects.create(status="running", total=7, done=3, step="fitting")
    admin = _login("admin")
    admin.post(f"/settings/calibration/{done.pk}/reject/")
    done.refresh_from_db()
    assert done.status == "rejected"
    page = admin.get(f"/settings/calibration/?run={running.pk}").content.decode()
    assert f'data-url="/api/v1/calibrations/{running.pk}/"' in page and "(3 of 7 steps): fitting" in page


@pytest.mark.parametrize("url", ["/settings/calibration/", "/settings/experiments/replay/"])
@pytest.mark.parametrize("role", ["community_manager", "marketing"])
def test_pages_are_admin_only(url, role):
    assert _login(role).get(url).status_code == 403


def test_replay_page_form_and_result(ground_truth):
    admin = _login("admin")
    assert admin.get("/settings/experiments/replay/").status_code == 200
    bad = admin.post("/settings/experiments/replay/", {"a": "x", "b": "60", "period_days": "90", "within_days": "30"})
    assert bad.status_code == 400 and b"a number" in bad.content
    ok = admin.post("/settings/experiments/replay/", {"a": "50", "b": "30", "period_days": "400", "within_days": "30",
                                                     "capacity": "5"})
    assert ok.status_code == 200 and b'id="replay-variants"' in ok.content and b'id="replay-weeks"' in ok.content
