"""Who may review gaming flags (only admins), the member page's notice, joined_at at the events API, the scan's
command, task and schedule."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from community_scoring.gaming.models import GamingFlag
from community_scoring.gaming.tasks import gaming_scan_task
from community_scoring.models import ActionExclusion, Member
from community_scoring.services.events import ContentIn, EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.store import BACKENDS, PythonInterestStore
from settings.celeryconf import app
from tests.forum_integration.helpers import bucket_points

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
DAY = (NOW - timedelta(days=1)).replace(hour=10)


def plant_burst():
    """One member votes 12 times in 44 minutes for one author's question: one burst."""
    events = [EventIn("forum", "q", "question", DAY - timedelta(hours=1), MemberIn("author"), content=ContentIn("q"))]
    events += [EventIn("forum", f"v{k}", "vote_up", DAY + timedelta(minutes=4 * k), MemberIn("fan"),
                       target_content=ContentIn("q")) for k in range(12)]
    assert {r.status for r in actions_ingest(events=events, now=NOW)} == {"created"}
    return Member.objects.get(external_id="fan")


def staff_of(role):
    """A staff user of a role, who may view and change flags in the admin (the permissions are not the rule)."""
    user = User.objects.create_user(f"staff-{role}", password="pw", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_gamingflag", "change_gamingflag"]))
    return user


@pytest.mark.parametrize("role", ["community_manager", "marketing", "ingest"])
def test_only_admins_may_confirm_or_clear(client, admin_client, role):
    plant_burst()
    call_command("scan_gaming", stdout=open("/dev/null", "w"))
    flag = GamingFlag.objects.get()
    url = reverse("admin:gaming_gamingflag_changelist")
    client.force_login(staff_of(role))
    page = client.get(url).content.decode()
    assert flag.reason[:40] in page and "Clear: count their actions again" not in page
    client.post(url, {"action": "clear", "_selected_action": [flag.pk]})
    assert GamingFlag.objects.get().status == "flagged" and ActionExclusion.objects.count() == 12

    assert "Clear: count their actions again" in admin_client.get(url).content.decode()
    page = admin_client.post(url, {"action": "clear", "_selected_action": [flag.pk]}, follow=True)
    assert "Cleared 1 flag(s)" in page.content.decode()
    flag.refresh_from_db()
    assert (flag.status, flag.reviewed_by) == ("cleared", "admin") and ActionExclusion.objects.count() == 0
    admin_client.post(url, {"action": "confirm", "_selected_action": [flag.pk]})
    assert GamingFlag.objects.get().status == "confirmed" and ActionExclusion.objects.count() == 12
    assert admin_client.get(reverse("admin:gaming_gamingflag_change", args=[flag.pk])).status_code == 200


def test_the_member_page_says_which_actions_are_left_out(client):
    fan = plant_burst()
    gaming_scan_result = gaming_scan_task()  # the task calls the service
    assert gaming_scan_result["bursts"] == 1 and gaming_scan_result["actions_flagged"] == 12
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    page = client.get(f"/members/{fan.pk}/").content.decode()
    assert "Actions left out of the scores" in page
    assert "12 of their actions" in page and "12 vote_up actions from one member to one member" in page
    author = Member.objects.get(external_id="author")
    assert "and 12 received do not count" in client.get(f"/members/{author.pk}/").content.decode()
    other = Member.objects.create(source="forum", external_id="nobody")
    assert "Actions left out" not in client.get(f"/members/{other.pk}/").content.decode()


def test_the_scan_is_a_registered_task_scheduled_daily():
    assert "community_scoring.gaming.tasks.gaming_scan_task" in app.tasks
    entry = PeriodicTask.objects.get(task="community_scoring.gaming.tasks.gaming_scan_task")
    assert entry.enabled and (entry.crontab.hour, entry.crontab.minute) == ("3", "30")


@pytest.fixture(params=["postgresql", "python"])
def backend(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setitem(BACKENDS, "postgresql", PythonInterestStore())
    return request.param


def test_joined_at_from_the_events_api_is_stored_and_replaces_ours(token_client, backend):
    ingest = token_client("ingest")
    body = {"source": "acme", "event_id": "e1", "type": "comment", "occurred_at": "2026-11-20T10:00:00Z",
            "member": {"external_id": "u1", "joined_at": "2024-03-01T08:00:00+01:00"}}
    assert ingest.post("/api/v1/events/", body, format="json").status_code == 201
    member = Member.objects.get(external_id="u1")
    assert member.joined_at.isoformat() == "2024-03-01T07:00:00+00:00"
    # later events without joined_at leave it; a new one replaces it (the source's word)
    ingest.post("/api/v1/events/", {**body, "event_id": "e2", "member": {"external_id": "u1"}}, format="json")
    assert Member.objects.get(pk=member.pk).joined_at == member.joined_at
    again = {**body, "event_id": "e3", "member": {"external_id": "u1", "joined_at": "2023-01-01T00:00:00Z"}}
    assert ingest.post("/api/v1/events/", again, format="json").status_code == 201
    assert Member.objects.get(pk=member.pk).joined_at.isoformat() == "2023-01-01T00:00:00+00:00"
    assert bucket_points(member) == {("comment", False): 9}  # three comments, scored as ever


@pytest.mark.parametrize("value, message", [
    ("yesterday", "bad timestamp"), ("2026-11-20T10:00:00", "must include a timezone"),
    ("2999-01-01T00:00:00Z", "is in the future"), ("1969-12-31T23:59:59Z", "is before 1970"),
    (17, "must be an ISO 8601 timestamp string"), ("", "must be an ISO 8601 timestamp"),
])
def test_a_bad_joined_at_is_400_naming_the_field(token_client, value, message):
    body = {"source": "acme", "event_id": "e1", "type": "comment", "occurred_at": "2026-11-20T10:00:00Z",
            "member": {"external_id": "u1", "joined_at": value}}
    response = token_client("ingest").post("/api/v1/events/", body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["results"][0]["errors"]
    assert list(errors) == ["member.joined_at"] and message in errors["member.joined_at"][0]
    assert not Member.objects.filter(external_id="u1").exists()


def test_joined_at_is_in_the_events_schema(token_client):
    schema = token_client("admin").get("/api/schema/", {"format": "json"}).json()
    member = schema["components"]["schemas"]["MemberInRequest"]["properties"]["joined_at"]
    assert member["format"] == "date-time" and member.get("nullable") is True
    exclusions = schema["components"]["schemas"]["Audience"]["properties"]["exclusions"]
    assert exclusions["type"] == "array"


def test_the_bundled_forum_gives_its_users_date_joined():
    from forum_integration.services.forum import forum_member_for_user

    user = User.objects.create_user("old-timer", date_joined=NOW - timedelta(days=800))
    assert forum_member_for_user(user=user).joined_at == NOW - timedelta(days=800)
