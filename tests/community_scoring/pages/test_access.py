"""Who may open which page (pages.access.role_required): anonymous -> login, ingest / no role -> 403, the three
reading roles allowed; CSV only for roles that may export; emails only with PII access; links follow the rules."""
import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from community_scoring.pages.access import role_required

PAGES = ["/", "/leaderboards/interest/", "/leaderboards/influence/", "/leaderboards/advocates/",
         "/leaderboards/detractors/", "/leaderboards/rising/"]


def member_url(community):
    return f"/members/{community['paula'].pk}/"


@pytest.mark.parametrize("url", [*PAGES, "/leaderboards/interest/csv/", "/members/1/"])
def test_anonymous_visitors_are_sent_to_log_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", ["ingest", None])
def test_ingest_and_roleless_users_get_403_everywhere(community, client, user_of, role):
    client.force_login(user_of(role))
    for url in [*PAGES, member_url(community), "/leaderboards/interest/csv/"]:
        assert client.get(url).status_code == 403, url
    page = client.get("/").content.decode()
    assert "Leaderboards</a>" not in page and "Dashboard</a>" not in page


@pytest.mark.parametrize("role, pii", [("admin", False), ("community_manager", False), ("community_manager", True),
                                       ("marketing", False)])
def test_reading_roles_open_every_page(community, client, user_of, role, pii):
    client.force_login(user_of(role, pii=pii))
    for url in [*PAGES, member_url(community)]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Log out" in response.content.decode()


@pytest.mark.parametrize("role, pii, allowed", [("admin", False, True), ("marketing", False, True),
                                                ("community_manager", True, True),
                                                ("community_manager", False, False)])
def test_csv_only_for_roles_that_may_export(community, client, user_of, role, pii, allowed):
    client.force_login(user_of(role, pii=pii))
    response = client.get("/leaderboards/interest/csv/")
    assert response.status_code == (200 if allowed else 403)
    page = client.get("/leaderboards/interest/").content.decode()
    assert ("Download CSV" in page) is allowed


def test_emails_are_shown_only_with_pii_access(community, client, user_of):
    client.force_login(user_of("community_manager"))
    for url in ["/leaderboards/interest/", member_url(community)]:
        assert "paula@example.com" not in client.get(url).content.decode()
    # An email search finds nobody without PII access; name search still works.
    assert "Paula Positive" not in client.get("/leaderboards/interest/?q=paula@example").content.decode()
    assert "Paula Positive" in client.get("/leaderboards/interest/?q=Paula").content.decode()
    client.force_login(user_of("community_manager", pii=True))
    assert "paula@example.com" in client.get(member_url(community)).content.decode()
    assert "Paula Positive" in client.get("/leaderboards/interest/?q=paula@example").content.decode()


def test_settings_link_only_for_admins(community, client, user_of):
    for role, shown in [("admin", True), ("marketing", False), ("community_manager", False)]:
        client.force_login(user_of(role))
        assert ('href="/settings/scoring/"' in client.get("/").content.decode()) is shown, role


def test_role_required_is_one_rule_for_any_view(db, user_of):
    @role_required("admin")
    def secret(request):
        return HttpResponse("ok")

    request = RequestFactory().get("/x/")
    request.user = user_of("marketing")
    with pytest.raises(PermissionDenied):
        secret(request)
    request.user = user_of("admin")
    assert secret(request).content == b"ok"
    assert secret.allowed_roles == frozenset({"admin"})


def test_login_and_logout_through_the_forms(community, client, user_of):
    user = user_of("marketing")
    response = client.post("/accounts/login/", {"username": user.username, "password": "a-long-test-password"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302
