"""GET /api/v1/quality/: the hand-worked community's figures over HTTP, who may read them, and 400s naming the
field."""
import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from tests.community_scoring.outcomes.quality_community import quality_community_build

URL = "/api/v1/quality/"
FIXED = "end=2026-06-01T00:00:00Z"


@pytest.fixture
def quality(db):
    return quality_community_build()


def test_the_report_over_http(token_client, quality):
    response = token_client("marketing").get(f"{URL}?period=90d&within_days=30&{FIXED}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["members"], body["converted"]) == (7, 4)
    assert body["auc"] == pytest.approx(7 / 12)
    assert body["top_decile_lift"] == pytest.approx(7 / 4)
    assert body["mql_precision"] == pytest.approx(2 / 3)
    assert body["mql_to_sql_rate"] == pytest.approx(0.75)
    assert body["sales_acceptance_rate"] == pytest.approx(2 / 3)
    assert body["median_days_mql_to_conversion"] == pytest.approx(8)
    assert [(s["stage"], s["members"], s["converted"]) for s in body["by_stage"]] == [
        ("visitor", 4, 2), ("engaged", 0, 0), ("MQL", 3, 2)]
    assert body["by_stage"][1]["rate"] is None
    assert [d["members"] for d in body["by_decile"]] == [0, 1, 1, 0, 1, 1, 0, 1, 1, 1]
    assert body["T"] == "2026-05-02T00:00:00Z" and body["end"] == "2026-06-01T00:00:00Z"
    assert body["mql_per_week"][7] == {"week_start": "2026-04-21T00:00:00Z", "days": 7, "mql": 2}
    assert body["capacity_per_week"] == 25.0


def test_filters_and_options_reach_the_report(token_client, quality):
    client = token_client("admin")
    body = client.get(f"{URL}?period=12w&within_days=30&persona=developer&{FIXED}").json()
    assert (body["members"], body["converted"], body["auc"]) == (2, 2, None)
    assert body["persona"] == "developer" and body["period_days"] == 84
    assert client.get(f"{URL}?source=crm&{FIXED}").json()["members"] == 1
    body = client.get(f"{URL}?conversions=won,sql&capacity=1&{FIXED}").json()
    assert (body["members"], body["converted"]) == (8, 2)
    assert body["conversion_types"] == ["won", "sql"]
    assert body["weeks_over_capacity"] == 2


def test_defaults_answer_now_with_nulls_when_nothing_is_known(token_client, db):
    body = token_client("community_manager").get(URL).json()
    assert (body["period_days"], body["within_days"], body["members"], body["auc"]) == (90, 30, 0, None)
    assert body["outcomes_recorded"] == 0


@pytest.mark.parametrize("query, field", [
    ("period=90", "period"), ("period=0d", "period"), ("within_days=abc", "within_days"),
    ("within_days=0", "within_days"), ("conversions=won,nonsense", "conversions"), ("capacity=-2", "capacity"),
    ("end=never", "end"), ("persona=" + "x" * 65, "persona"), ("source=%00", "source"),
])
def test_bad_parameters_are_400s_naming_the_field(token_client, db, query, field):
    response = token_client("admin").get(f"{URL}?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("community_manager", 200), ("marketing", 200), ("ingest", 403),
])
def test_token_roles(token_client, db, role, status):
    assert token_client(role).get(URL).status_code == status


def test_anonymous_and_bad_tokens_get_401(db):
    assert APIClient().get(URL).status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize("group, status", [
    ("community_manager", 200), ("marketing", 200), ("ingest", 403), (None, 403),
])
def test_session_users_by_role(db, group, status):
    user = User.objects.create_user(username=f"u-{group}", password="a-long-test-password")
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    client = APIClient()
    client.force_login(user)
    assert client.get(URL).status_code == status
    admin = User.objects.create_superuser(username="root", password="a-long-test-password")
    client.force_login(admin)
    assert client.get(URL).status_code == 200


def test_only_get(token_client, db):
    assert token_client("admin").post(URL, {}, format="json").status_code == 405
