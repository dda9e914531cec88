"""Configuration endpoints: interest document, preview, versions, influence parameters; recompute with progress."""
from datetime import timedelta

import pytest
from django.db.models import Max
from django.utils import timezone

from community_scoring.models import ConfigVersion, InterestScore, RecomputeJob
from tests.community_scoring.services.interest_helpers import record
from tests.factories import ContentFactory, MemberFactory

CONFIG = "/api/v1/config/interest/"


@pytest.fixture
def admin(token_client):
    return token_client("admin")


def _rule(doc, action_type):
    default = next(rs for rs in doc["rule_sets"] if rs["persona"] == "")
    return next(r for r in default["rules"] if r["action_type"] == action_type)


def test_read_default_configuration(admin, db):
    body = admin.get(CONFIG).json()
    assert body["version"] == (ConfigVersion.objects.aggregate(n=Max("number"))["n"] or 0)
    # The defaults shipped by migration 0002: answer 8 points, capped at 40 a day; engaged from 20 engagement.
    assert _rule(body, "answer") == {"action_type": "answer", "points": 8.0, "target_points": 0.0, "daily_cap": 40.0,
                                     "once_only": False}
    assert [(s["name"], s["min_engagement"], s["min_fit"]) for s in body["stages"]] == [
        ("visitor", 0, 0), ("engaged", 20, 0), ("MQL", 50, 20), ("advocate-candidate", 150, 20)]


def test_change_makes_a_new_version_and_starts_a_recompute(admin, db):
    doc = admin.get(CONFIG).json()
    before = doc.pop("version")
    _rule(doc, "answer")["points"] = 12.0
    response = admin.put(CONFIG, {**doc, "note": "answers matter more"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"]["number"] == before + 1
    assert body["version"]["note"].endswith("answers matter more") and "token admin" in body["version"]["note"]
    assert _rule(body["version"]["snapshot"], "answer")["points"] == 12.0
    assert body["recompute"]["config_version"] == before + 1 and body["recompute"]["status"] == "pending"
    again = admin.get(CONFIG).json()
    assert again["version"] == before + 1 and _rule(again, "answer")["points"] == 12.0


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: _rule(d, "answer").update(points="lots"), "points"),
        (lambda d: _rule(d, "answer").update(daily_cap=-5), "daily_cap"),
        (lambda d: d["stages"].append(dict(d["stages"][0])), "stages"),
        (lambda d: d["rule_sets"][0].update(half_life_days=0), "half_life_days"),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: _rule(d, "answer").update(action_type="juggle"), "action_type"),
    ],
)
def test_invalid_change_is_400_naming_the_field_and_changes_nothing(admin, db, mutate, field):
    doc = admin.get(CONFIG).json()
    version = doc.pop("version")
    mutate(doc)
    response = admin.put(CONFIG, doc, format="json")
    assert response.status_code == 400, response.content
    assert any(key.endswith(field) or key.split(".")[-1].startswith(field) for key in response.json()), response.json()
    assert admin.get(CONFIG).json()["version"] == version


@pytest.mark.parametrize("body", [[1, 2], "text", {"rule_sets": "nope", "stages": []}])
def test_malformed_bodies_are_400(admin, db, body):
    assert admin.put(CONFIG, body, format="json").status_code == 400


def test_preview_counts_members_who_would_change_stage(admin, db):
    asker = MemberFactory()
    question = ContentFactory(author=asker)
    now = timezone.now()
    engaged = MemberFactory()
    for i in range(3):  # 3 answers x 8 points = 24 >= 20: engaged (same day, so decay is negligible)
        record(engaged, "answer", event_id=f"e{i}", occurred_at=now - timedelta(minutes=i), target_content=question)
    assert InterestScore.objects.get(member=engaged).stage == "engaged"
    doc = admin.get(CONFIG).json()
    doc.pop("version")
    unchanged = admin.post(f"{CONFIG}preview/", doc, format="json").json()
    assert unchanged["members_changing_stage"] == 0 and unchanged["members"] == 2
    doc["stages"][1]["min_engagement"] = 30  # engaged now needs 30: our member (24) would fall back to visitor
    preview = admin.post(f"{CONFIG}preview/", doc, format="json").json()
    assert preview == {"members": 2, "members_changing_stage": 1, "by_transition": {"engaged->visitor": 1},
                       "member_ids_by_transition": {"engaged->visitor": [engaged.pk]}}
    assert InterestScore.objects.get(member=engaged).stage == "engaged"  # nothing written


def test_preview_of_invalid_config_is_400(admin, db):
    response = admin.post(f"{CONFIG}preview/", {"rule_sets": [], "stages": []}, format="json")
    assert response.status_code == 400 and "rule_sets" in response.json()


def test_versions_list_detail_and_restore(admin, db):
    doc = admin.get(CONFIG).json()
    first = doc.pop("version")
    _rule(doc, "answer")["points"] = 1.0
    admin.put(CONFIG, doc, format="json")
    _rule(doc, "answer")["points"] = 2.0
    admin.put(CONFIG, doc, format="json")
    listed = admin.get("/api/v1/config/versions/?page_size=2").json()
    assert [v["number"] for v in listed["results"]] == [first + 2, first + 1]
    detail = admin.get(f"/api/v1/config/versions/{first + 1}/").json()
    assert _rule(detail["snapshot"], "answer")["points"] == 1.0
    restored = admin.post(f"/api/v1/config/versions/{first + 1}/restore/").json()
    assert restored["version"]["number"] == first + 3 and "restore of v" in restored["version"]["note"]
    assert _rule(admin.get(CONFIG).json(), "answer")["points"] == 1.0
    assert admin.get("/api/v1/config/versions/9999/").status_code == 404
    assert admin.post("/api/v1/config/versions/9999/restore/").status_code == 404


def test_influence_parameters_read_and_change(admin, db):
    body = admin.get("/api/v1/config/influence/").json()
    assert body["damping"] == 0.85 and body["edge_weights"]["follow"] == 3.0
    changed = admin.patch("/api/v1/config/influence/", {"damping": 0.9, "edge_weights": {"follow": 5.0}}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["damping"] == 0.9 and changed.json()["edge_weights"] == {"follow": 5.0}
    assert admin.get("/api/v1/config/influence/").json()["damping"] == 0.9


@pytest.mark.parametrize(
    "body, field",
    [({"damping": 1.5}, "damping"), ({"shoe_size": 3}, "shoe_size"), ({"edge_weights": {"juggle": 1}}, "edge_weights"),
     ({"keep_runs": "many"}, "keep_runs")],
)
def test_bad_influence_parameters_are_400(admin, db, body, field):
    response = admin.patch("/api/v1/config/influence/", body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_interest_recompute_start_and_progress(admin, db, django_capture_on_commit_callbacks):
    member = MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/api/v1/recompute/interest/")
    assert response.status_code == 202
    job_id = response.json()["id"]
    job = admin.get(f"/api/v1/recompute/interest/{job_id}/").json()
    assert job["status"] == "done" and job["progress"] == 1.0 and job["total"] >= 1
    assert InterestScore.objects.filter(member=member).exists()
    assert job_id in [j["id"] for j in admin.get("/api/v1/recompute/interest/").json()["results"]]


def test_interest_recompute_progress_while_running(admin, db):
    job = RecomputeJob.objects.create(kind="interest", status="running", total=400, done=100)
    body = admin.get(f"/api/v1/recompute/interest/{job.pk}/").json()
    assert (body["status"], body["progress"]) == ("running", 0.25)


def test_influence_recompute_start_and_progress(admin, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/api/v1/recompute/influence/")
    assert response.status_code == 202
    run = admin.get(f"/api/v1/recompute/influence/{response.json()['id']}/").json()
    assert run["status"] in ("done", "skipped") and run["trigger"] == "api"
    assert admin.get("/api/v1/recompute/influence/").json()["results"][0]["id"] == run["id"]


@pytest.mark.parametrize("url", ["/api/v1/recompute/interest/9999/", "/api/v1/recompute/influence/9999/"])
def test_unknown_jobs_are_404(admin, db, url):
    assert admin.get(url).status_code == 404


def test_influence_change_is_a_new_version_and_restore_brings_it_back(admin, db):
    before = ConfigVersion.objects.aggregate(n=Max("number"))["n"]
    jobs_before = RecomputeJob.objects.count()
    assert admin.patch("/api/v1/config/influence/", {"damping": 0.9}, format="json").status_code == 200
    version = admin.get(f"/api/v1/config/versions/{before + 1}/").json()
    assert version["influence"]["damping"] == 0.9 and "damping" in version["note"]
    assert RecomputeJob.objects.count() == jobs_before  # interest does not depend on influence parameters
    admin.patch("/api/v1/config/influence/", {"damping": 0.7}, format="json")
    restored = admin.post(f"/api/v1/config/versions/{before + 1}/restore/")
    assert restored.status_code == 200, restored.content
    assert admin.get("/api/v1/config/influence/").json()["damping"] == 0.9
    assert restored.json()["version"]["influence"]["damping"] == 0.9
    # Restoring applied both parts as ONE new version.
    assert ConfigVersion.objects.aggregate(n=Max("number"))["n"] == before + 3


def test_rejected_influence_change_records_no_version(admin, db):
    before = ConfigVersion.objects.count()
    assert admin.patch("/api/v1/config/influence/", {"damping": 7}, format="json").status_code == 400
    assert ConfigVersion.objects.count() == before


def test_what_get_answers_can_be_put_back_unchanged(admin, db):
    doc = admin.get(CONFIG).json()
    response = admin.put(CONFIG, doc, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["version"]["number"] == doc["version"] + 1
    assert admin.get(CONFIG).json() == {**doc, "version": doc["version"] + 1}
    preview = admin.post(f"{CONFIG}preview/", doc, format="json")  # a preview takes the same body
    assert preview.status_code == 200 and preview.json()["members_changing_stage"] == 0


def test_a_change_read_before_another_was_saved_is_409_and_changes_nothing(admin, db):
    mine = admin.get(CONFIG).json()
    theirs = admin.get(CONFIG).json()
    _rule(theirs, "answer")["points"] = 12.0
    assert admin.put(CONFIG, theirs, format="json").status_code == 200  # saved as version mine["version"] + 1
    _rule(mine, "answer")["points"] = 3.0
    response = admin.put(CONFIG, mine, format="json")
    assert response.status_code == 409, response.content
    assert list(response.json()) == ["version"]
    assert f"read at version {mine['version']}" in response.json()["version"][0]
    now = admin.get(CONFIG).json()
    assert now["version"] == mine["version"] + 1 and _rule(now, "answer")["points"] == 12.0
    assert admin.post(f"{CONFIG}preview/", mine, format="json").status_code == 200  # a dry run ignores the version
    for version in (None, "absent"):  # without a version the change applies
        if version == "absent":
            del mine["version"]
        else:
            mine["version"] = version
        assert admin.put(CONFIG, mine, format="json").status_code == 200
    assert _rule(admin.get(CONFIG).json(), "answer")["points"] == 3.0


def test_influence_parameters_can_be_sent_back_and_are_version_checked(admin, db):
    url = "/api/v1/config/influence/"
    body = admin.get(url).json()
    assert body["version"] == ConfigVersion.objects.aggregate(n=Max("number"))["n"]
    unchanged = admin.patch(url, body, format="json")  # updated_at and version come back too
    assert unchanged.status_code == 200, unchanged.content
    assert ConfigVersion.objects.aggregate(n=Max("number"))["n"] == body["version"]  # nothing changed: no version
    assert admin.patch(url, {**body, "damping": 0.9}, format="json").status_code == 200
    stale = admin.patch(url, {**body, "damping": 0.8}, format="json")
    assert stale.status_code == 409 and list(stale.json()) == ["version"]
    assert admin.get(url).json()["damping"] == 0.9
    # An interest change read before this influence change is stale too: the versions are shared.
    doc = admin.get(CONFIG).json()
    assert admin.patch(url, {"damping": 0.7}, format="json").status_code == 200
    assert admin.put(CONFIG, doc, format="json").status_code == 409
