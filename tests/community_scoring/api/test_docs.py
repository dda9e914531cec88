"""/api/docs/: Swagger UI from the project's own static files; anonymous browsers are sent to sign in."""
import re

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.staticfiles import finders
from django.test import Client
from rest_framework.test import APIClient


def _signed_in(role: str | None, **client_options) -> Client:
    if role == "admin":
        user = User.objects.create_superuser("root", "root@x.test", "pw")
    else:
        user = User.objects.create_user(f"u-{role}", f"{role}@x.test", "pw")
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
    client = Client(**client_options)
    client.force_login(user)
    return client


def test_an_anonymous_browser_is_sent_to_sign_in_and_back(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs/"


def test_the_query_string_survives_the_trip_to_sign_in(db):
    response = Client().get("/api/docs/?lang=en")
    assert response["Location"] == "/accounts/login/?next=/api/docs/%3Flang%3Den"


def test_a_bad_token_still_gets_the_apis_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/docs/").status_code == 401


@pytest.mark.parametrize("role", ["admin", "community_manager", "marketing", "ingest"])
def test_a_signed_in_user_with_a_role_sees_the_docs(db, role):
    response = _signed_in(role).get("/api/docs/")
    assert response.status_code == 200
    assert b'id="swagger-ui"' in response.content


def test_a_signed_in_user_without_a_role_is_refused(db):
    assert _signed_in(None).get("/api/docs/").status_code == 403


def test_a_token_client_reads_the_docs_and_the_schema(token_client):
    client = token_client("ingest")
    assert client.get("/api/docs/").status_code == 200
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200 and "/api/v1/members/" in schema.json()["paths"]


def test_every_asset_of_the_page_is_a_local_static_file(db):
    html = _signed_in("admin").get("/api/docs/").content.decode()
    assert not re.search(r"https?://", html), "the docs page names an absolute URL"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    # Swagger UI's stylesheet, its two scripts and the favicon, each a file the static finders serve.
    assert len(assets) == 4, assets
    for url in assets:
        assert url.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a static file of the project"


def test_try_it_out_writes_pass_the_csrf_check_with_the_pages_token(db):
    """The page's request interceptor adds the CSRF token to writes: with it a session write reaches the view."""
    client = _signed_in("admin", enforce_csrf_checks=True)
    html = client.get("/api/docs/").content.decode()
    token = re.search(r'request\.headers\["X-CSRFTOKEN"\] = "([^"]+)"', html).group(1)
    without = client.post("/api/v1/config/interest/preview/", {}, content_type="application/json")
    assert without.status_code == 403 and "CSRF" in without.json()["detail"]
    with_token = client.post("/api/v1/config/interest/preview/", {}, content_type="application/json",
                             headers={"X-CSRFToken": token})
    assert with_token.status_code == 400  # past authentication and CSRF: the empty body is what is refused
