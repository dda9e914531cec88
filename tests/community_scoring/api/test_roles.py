"""Every endpoint x every role: allowed (2xx) or denied (403); anonymous and bad tokens get 401."""
import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from community_scoring.models import ConfigVersion, RecomputeJob
from community_scoring.selectors.config import config_snapshot
from community_scoring.webhooks.models import WebhookDelivery, WebhookSubscription

READ = {"admin", "community_manager", "community_manager_pii", "marketing"}
EXPORT = {"admin", "community_manager_pii", "marketing"}
ADMIN = {"admin"}
OUTCOMES = {"admin", "marketing", "ingest"}
ROLES = ["admin", "community_manager", "community_manager_pii", "marketing", "ingest"]


@pytest.fixture
def objects(community):
    sub = WebhookSubscription.objects.create(name="crm", url="https://crm.example.com", events=["stage_changed"],
                                             secret="x" * 20)
    delivery = WebhookDelivery.objects.create(subscription=sub, event="stage_changed", payload={})
    version = ConfigVersion.objects.order_by("-number").first() or ConfigVersion.objects.create(
        number=1, snapshot=config_snapshot())
    job = RecomputeJob.objects.create(kind="interest")
    return {"community": community, "sub": sub, "delivery": delivery, "version": version, "job": job,
            "run": community.run}


def _new_sub(o):
    return {"name": "n", "url": "https://n.example.com", "events": ["became_advocate"], "secret": "y" * 20}


ENDPOINTS = [
    ("get", lambda o: "/api/v1/members/", None, READ),
    ("get", lambda o: f"/api/v1/members/{o['community'].alice.pk}/", None, READ),
    ("get", lambda o: "/api/v1/members/lookup/?external_id=a-1", None, READ),
    ("get", lambda o: "/api/v1/members/export/", None, EXPORT),
    ("post", lambda o: f"/api/v1/members/{o['community'].dave.pk}/erase/", None, ADMIN),
    *[("get", (lambda b: lambda o: f"/api/v1/leaderboards/{b}/")(b), None, READ)
      for b in ("interest", "influence", "advocates", "detractors", "rising")],
    ("get", lambda o: "/api/v1/config/interest/", None, ADMIN),
    ("put", lambda o: "/api/v1/config/interest/", lambda o: config_snapshot(), ADMIN),
    ("post", lambda o: "/api/v1/config/interest/preview/", lambda o: config_snapshot(), ADMIN),
    ("get", lambda o: "/api/v1/config/influence/", None, ADMIN),
    ("patch", lambda o: "/api/v1/config/influence/", lambda o: {"damping": 0.8}, ADMIN),
    ("get", lambda o: "/api/v1/config/versions/", None, ADMIN),
    ("get", lambda o: f"/api/v1/config/versions/{o['version'].number}/", None, ADMIN),
    ("post", lambda o: f"/api/v1/config/versions/{o['version'].number}/restore/", None, ADMIN),
    ("get", lambda o: "/api/v1/recompute/interest/", None, ADMIN),
    ("post", lambda o: "/api/v1/recompute/interest/", None, ADMIN),
    ("get", lambda o: f"/api/v1/recompute/interest/{o['job'].pk}/", None, ADMIN),
    ("get", lambda o: "/api/v1/recompute/influence/", None, ADMIN),
    ("post", lambda o: "/api/v1/recompute/influence/", None, ADMIN),
    ("get", lambda o: f"/api/v1/recompute/influence/{o['run'].pk}/", None, ADMIN),
    ("get", lambda o: "/api/v1/webhooks/subscriptions/", None, ADMIN),
    ("post", lambda o: "/api/v1/webhooks/subscriptions/", _new_sub, ADMIN),
    ("get", lambda o: f"/api/v1/webhooks/subscriptions/{o['sub'].pk}/", None, ADMIN),
    ("patch", lambda o: f"/api/v1/webhooks/subscriptions/{o['sub'].pk}/", lambda o: {"is_active": False}, ADMIN),
    ("delete", lambda o: f"/api/v1/webhooks/subscriptions/{o['sub'].pk}/", None, ADMIN),
    ("get", lambda o: "/api/v1/webhooks/deliveries/", None, ADMIN),
    ("get", lambda o: f"/api/v1/webhooks/deliveries/{o['delivery'].pk}/", None, ADMIN),
    ("post", lambda o: "/api/v1/outcomes/", lambda o: {
        "source": "test", "outcome_id": "o-1", "type": "sql", "occurred_at": "2026-03-01T12:00:00Z",
        "member": {"external_id": o["community"].alice.external_id}}, OUTCOMES),
]
IDS = [f"{m.upper()} {i}" for i, (m, *_rest) in enumerate(ENDPOINTS)]


def _client(token_client, role):
    if role == "community_manager_pii":
        return token_client("community_manager", can_export_pii=True)
    return token_client(role)


def _call(client, method, url, body):
    response = getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
    if response.streaming:  # read the CSV to the end, as a client would, so its server-side cursor closes
        b"".join(response.streaming_content)
    return response


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, url, body, allowed", ENDPOINTS, ids=IDS)
def test_role_boundary(token_client, objects, role, method, url, body, allowed):
    response = _call(_client(token_client, role), method, url(objects), body(objects) if body else None)
    if role in allowed:
        assert 200 <= response.status_code < 300, (role, response.status_code, response.content[:300])
    else:
        assert response.status_code == 403, (role, response.status_code, response.content[:300])
        assert "detail" in response.json()


@pytest.mark.parametrize("method, url, body, allowed", ENDPOINTS, ids=IDS)
def test_anonymous_gets_401(objects, method, url, body, allowed):
    response = _call(APIClient(), method, url(objects), body(objects) if body else None)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("path", ["/api/schema/", "/api/v1/members/", "/api/v1/leaderboards/nope/"])
def test_schema_and_unknown_paths_need_credentials(db, path):
    assert APIClient().get(path).status_code == 401


def test_bad_or_revoked_token_is_401(token_client, db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/members/").status_code == 401
    from community_scoring.models import ApiToken

    good = token_client("admin")
    ApiToken.objects.update(is_active=False)
    assert good.get("/api/v1/members/").status_code == 401


def test_any_authenticated_role_reads_the_schema(token_client, db):
    response = token_client("ingest").get("/api/schema/?format=json")
    assert response.status_code == 200 and "/api/v1/members/" in response.json()["paths"]


def test_session_users_get_the_role_of_their_group(db, community):
    admin = User.objects.create_superuser("root", "root@x.test", "pw")
    client = APIClient()
    client.force_login(admin)
    assert client.get("/api/v1/config/interest/").status_code == 200
    manager = User.objects.create_user("cm", "cm@x.test", "pw")
    manager.groups.add(Group.objects.create(name="community_manager"))
    client = APIClient()
    client.force_login(manager)
    assert client.get("/api/v1/members/").status_code == 200
    assert client.get("/api/v1/members/export/").status_code == 403
    assert client.get("/api/v1/config/interest/").status_code == 403
    nobody = User.objects.create_user("nobody", "n@x.test", "pw")
    client = APIClient()
    client.force_login(nobody)
    assert client.get("/api/v1/members/").status_code == 403


def test_throttling_is_per_token(token_client, db, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings

    from community_scoring.auth import ApiTokenRateThrottle

    cache.clear()
    original = ApiTokenRateThrottle.THROTTLE_RATES
    ApiTokenRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "token": "3/min"}
    try:
        first, second = token_client("admin"), token_client("admin")
        codes = [first.get("/api/v1/webhooks/subscriptions/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert second.get("/api/v1/webhooks/subscriptions/").status_code == 200  # its own budget
    finally:
        ApiTokenRateThrottle.THROTTLE_RATES = original
        cache.clear()
