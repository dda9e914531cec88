"""The admin's scoring settings page: who may open it, the form, preview naming members, save as a version with a
note, the diff between versions, restore, and the recompute with its progress."""
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from community_scoring.influence.selectors import influence_config_get
from community_scoring.models import ConfigVersion, InterestScore, RecomputeJob, Rule, Stage
from community_scoring.selectors.config import config_version_latest
from community_scoring.services.config import config_apply
from tests.community_scoring.services.interest_helpers import record, test_config_snapshot
from tests.factories import ContentFactory, MemberFactory

pytestmark = pytest.mark.django_db
URL = "/settings/scoring/"


@pytest.fixture
def as_role(client, django_user_model):
    def sign_in(role):
        if role == "admin":
            user = django_user_model.objects.create_superuser(username="root", password="x")
        else:
            user = django_user_model.objects.create_user(username=f"{role}-user", password="x")
            if role:
                user.groups.add(Group.objects.get_or_create(name=role)[0])
        client.force_login(user)
        return client
    return sign_in


@pytest.fixture
def admin(as_role):
    config_apply(snapshot=test_config_snapshot(), note="test config")  # round numbers, known stages
    return as_role("admin")


class _FormInputs(HTMLParser):
    """The inputs of <form id="scoring-form"> as a browser would post them (checkboxes only when checked)."""

    def __init__(self):
        super().__init__()
        self.inside, self.select, self.data = False, None, {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "scoring-form"
        if not self.inside or not a.get("name") and tag != "option":
            return
        if tag == "input" and (a.get("type") != "checkbox" or "checked" in a):
            self.data.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self.select = [a["name"], None]
        elif tag == "option" and self.select and (self.select[1] is None or "selected" in a):
            self.select[1] = a["value"]

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            self.data.setdefault(self.select[0], []).append(self.select[1])
            self.select = None
        elif tag == "form":
            self.inside = False


class _Rows(HTMLParser):
    """The text of each cell of the rows of <table class="diff">'s body."""

    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.inside = [], None, None, False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.inside = dict(attrs).get("class") == "diff"
        elif self.inside and tag == "tr":
            self.row = []
        elif self.inside and tag == "td":
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.row.append(" ".join(" ".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row:
            self.rows.append(self.row)
            self.row = None
        elif tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def current_post(client) -> dict:
    parser = _FormInputs()
    parser.feed(client.get(URL).content.decode())
    return parser.data


def diff_rows(response) -> list[list[str]]:
    parser = _Rows()
    parser.feed(response.content.decode())
    return parser.rows


@pytest.mark.parametrize("role", ["community_manager", "marketing", "ingest", ""])
def test_other_roles_get_403(as_role, role):
    client = as_role(role)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "save"}).status_code == 403
    assert client.get(URL + "versions/").status_code == 403
    assert client.post(URL + "recompute/").status_code == 403
    assert client.post(URL + "versions/1/restore/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/settings/scoring/"


def test_the_admin_sees_every_part_of_the_configuration(admin):
    response = admin.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    # rule sets with points, caps, once-only; decay; fit; stages; influence parameters
    for name, value in [("rs-0-name", "Default"), ("rs-0-half_life_days", "10"), ("rs-0-inactivity_days", "30"),
                        ("rs-0-rule-answer-points", "8"), ("rs-0-rule-answer-daily_cap", "40"),
                        ("rs-0-rule-vote_up-target_points", "2"), ("rs-0-fit-0-attribute", "job_title"),
                        ("rs-1-persona", "developer"), ("rs-1-rule-answer-points", "20"),
                        ("stage-2-name", "MQL"), ("stage-2-min_fit", "20"), ("inf-damping", "0.85"),
                        ("inf-edge_weights-follow", "3"), ("inf-min_texts", str(influence_config_get()["min_texts"]))]:
        assert f'name="{name}" id="{name}" value="{value}"' in html, name
    assert 'name="rs-0-rule-signup-once_only" value="1" aria-label="once only for signup" checked' in html


def test_posting_the_form_unchanged_saves_the_same_configuration(admin):
    before = ConfigVersion.objects.get(number=config_version_latest()).snapshot
    data = current_post(admin)
    data.update(action=["save"], note=["nothing changed"])
    response = admin.post(URL, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    latest = ConfigVersion.objects.get(number=config_version_latest())
    assert latest.note == "nothing changed"
    assert latest.snapshot == before


def test_preview_names_the_members_who_change_stage_and_writes_nothing(admin):
    asker = MemberFactory(display_name="Asker")
    question = ContentFactory(author=asker)
    now = timezone.now()
    movers = [MemberFactory(display_name=f"Answerer {i}") for i in range(3)]
    for m in movers:  # 3 answers x 8 points = 24 >= 20: engaged
        for i in range(3):
            record(m, "answer", event_id=f"{m.pk}-{i}", occurred_at=now - timedelta(minutes=i), target_content=question)
    stayer = MemberFactory(display_name="Light")
    record(stayer, "question", event_id="q", occurred_at=now)  # 5 points: visitor under either config
    assert set(InterestScore.objects.filter(member__in=movers).values_list("stage", flat=True)) == {"engaged"}
    versions = ConfigVersion.objects.count()

    data = current_post(admin)
    data.update(action=["preview"], **{"rs-0-rule-answer-points": ["5"]})  # 3 x 5 = 15 < 20: back to visitor
    response = admin.post(URL, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "3</span> members move engaged -&gt; visitor" in html
    for m in movers:
        assert f'<a href="/members/{m.pk}/">Answerer' in html
    assert "Light" not in html and "Asker" not in html
    assert "of 5 members would change stage" in html
    # the form keeps what was typed; nothing was written
    assert 'name="rs-0-rule-answer-points" id="rs-0-rule-answer-points" value="5"' in html
    assert ConfigVersion.objects.count() == versions
    assert Rule.objects.get(rule_set__persona="", action_type="answer").points == 8


def test_save_with_a_note_creates_a_version_and_starts_a_recompute(admin):
    latest = config_version_latest()
    data = current_post(admin)
    data.update(action=["save"], note=["answers count less"], **{"rs-0-rule-answer-points": ["6.5"],
                                                                  "inf-damping": ["0.9"]})
    response = admin.post(URL, data)
    version = ConfigVersion.objects.get(number=latest + 1)
    job = RecomputeJob.objects.get(config_version=version.number, kind="interest")
    assert response.status_code == 302 and response["Location"] == f"{URL}?job={job.pk}#recompute"
    assert version.note == "answers count less"
    assert version.created_by.username == "root"
    assert Rule.objects.get(rule_set__persona="", action_type="answer").points == 6.5
    assert influence_config_get()["damping"] == 0.9
    page = admin.get(response["Location"]).content.decode()
    assert f"Saved as version {version.number}." in page
    assert f'data-url="/api/v1/recompute/interest/{job.pk}/"' in page


def test_errors_are_shown_next_to_the_field_they_name_and_nothing_is_saved(admin):
    latest = config_version_latest()
    data = current_post(admin)
    data.update(action=["save"], **{"rs-0-rule-answer-daily_cap": ["-3"], "inf-damping": ["1.5"],
                                    "stage-1-min_engagement": ["lots"]})
    response = admin.post(URL, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert ('<span class="field-error" id="rs-0-rule-answer-daily_cap-error" role="alert">must be greater than 0 '
            '(or null for no cap)</span>') in html
    assert '<span class="field-error" id="inf-damping-error" role="alert">must be less than 1</span>' in html
    assert '<span class="field-error" id="stage-1-min_engagement-error" role="alert">must be a number</span>' in html
    assert 'value="lots"' in html  # what was typed stays in the field
    assert config_version_latest() == latest


def test_a_change_read_before_another_was_saved_is_refused(admin):
    data = current_post(admin)  # read at the latest version
    config_apply(snapshot=test_config_snapshot(), note="someone else")
    data.update(action=["save"])
    response = admin.post(URL, data)
    assert response.status_code == 409
    assert "has been saved since" in response.content.decode()


def test_adding_a_persona_rule_set_a_stage_and_deleting_a_persona_set(admin):
    data = current_post(admin)
    new = len([k for k in data if k.endswith("-new")]) and next(k for k in data if k.endswith("-new")).split("-")[1]
    data.update(action=["save"], **{f"rs-{new}-name": ["Marketers"], f"rs-{new}-persona": ["marketer"],
                                    f"rs-{new}-rule-blog_post-points": ["12"], "rs-1-delete": ["1"],
                                    "stage-3-name": ["SQL"], "stage-3-position": ["3"],
                                    "stage-3-min_engagement": ["120"], "stage-3-min_fit": ["0"]})
    assert admin.post(URL, data).status_code == 302
    snapshot = ConfigVersion.objects.get(number=config_version_latest()).snapshot
    assert [rs["persona"] for rs in snapshot["rule_sets"]] == ["", "marketer"]
    marketers = snapshot["rule_sets"][1]
    assert marketers["rules"] == [{"action_type": "blog_post", "points": 12.0, "target_points": 0.0,
                                   "daily_cap": None, "once_only": False}]
    assert Stage.objects.get(name="SQL").min_engagement == 120


def test_diff_between_two_versions_field_by_field(admin):
    first = config_version_latest()
    snapshot = test_config_snapshot()
    snapshot["rule_sets"][0]["rules"][0]["points"] = 9  # answer: 8 -> 9
    snapshot["rule_sets"][0]["rules"].append({"action_type": "share", "points": 4})
    snapshot["stages"][2]["min_engagement"] = 60  # MQL: 50 -> 60
    config_apply(snapshot={**snapshot, "influence": {"damping": 0.8}}, note="tune")
    response = admin.get(URL + "versions/diff/", {"a": first, "b": first + 1})
    assert response.status_code == 200
    assert diff_rows(response) == [
        ["rule set 'Default' (default)", "rule answer: points", "8", "9"],
        ["rule set 'Default' (default)", "rule share added", "none",
         "points 4, target points 0, daily cap none, once only no"],
        ["stages", "stage MQL: min engagement", "50", "60"],
        ["influence", "damping", "0.85", "0.8"],
    ]
    assert admin.get(URL + "versions/diff/", {"a": first, "b": 999}).status_code == 404
    assert admin.get(URL + "versions/diff/", {"a": "x"}).status_code == 400


def test_restore_creates_a_new_version_with_the_old_configuration(admin):
    first = config_version_latest()
    snapshot = test_config_snapshot()
    snapshot["rule_sets"][0]["rules"][0]["points"] = 9
    config_apply(snapshot={**snapshot, "influence": {"damping": 0.8}}, note="tune")
    assert Rule.objects.get(rule_set__persona="", action_type="answer").points == 9
    page = admin.get(URL + "versions/diff/", {"a": first + 1, "b": first}).content.decode()
    assert f'action="/settings/scoring/versions/{first}/restore/"' in page
    response = admin.post(URL + f"versions/{first}/restore/", {"note": "too generous"})
    restored = ConfigVersion.objects.get(number=first + 2)
    assert response.status_code == 302 and "?job=" in response["Location"]
    assert restored.note == f"restore of v{first}: too generous"
    assert Rule.objects.get(rule_set__persona="", action_type="answer").points == 8
    assert influence_config_get()["damping"] == 0.85
    assert admin.post(URL + "versions/999/restore/").status_code == 404
    history = admin.get(URL + "versions/").content.decode()
    assert f"restore of v{first}: too generous" in history


def test_recompute_starts_a_job_and_its_progress_is_readable_with_the_session(
        admin, django_capture_on_commit_callbacks):
    member = MemberFactory()
    record(member, "question", event_id="q1")
    with django_capture_on_commit_callbacks(execute=True):  # the job runs (eager Celery) when its start commits
        response = admin.post(URL + "recompute/")
    job = RecomputeJob.objects.filter(kind="interest").order_by("-id").first()
    assert response.status_code == 302 and response["Location"] == f"{URL}?job={job.pk}#recompute"
    progress = admin.get(f"/api/v1/recompute/interest/{job.pk}/").json()  # what the page's script polls
    members = InterestScore.objects.count()
    assert progress["status"] == "done" and progress["done"] == progress["total"] == members >= 1
    assert progress["progress"] == 1.0
    page = admin.get(response["Location"]).content.decode()
    assert '<progress id="recompute-progress" max="100" value="100"' in page
    assert f"{members} of {members} members" in page


def test_a_pending_job_shows_its_progress_so_far(admin):
    job = RecomputeJob.objects.create(kind="interest", status="running", total=40, done=10)
    page = admin.get(URL, {"job": job.pk}).content.decode()
    assert '<progress id="recompute-progress" max="100" value="25"' in page
    assert 'data-status="running"' in page and "10 of 40 members" in page

