"""Webhook subscriptions CRUD and the delivery log over the API (admin only)."""
import pytest

from community_scoring.webhooks.models import WebhookDelivery, WebhookSubscription

URL = "/api/v1/webhooks/subscriptions/"
SECRET = "a-long-enough-secret"


@pytest.fixture
def admin(token_client):
    return token_client("admin")


def test_create_list_read_update_delete(admin, db):
    created = admin.post(URL, {"name": "crm", "url": "https://crm.example.com/in", "events": ["stage_changed"],
                               "secret": SECRET}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert "secret" not in body and body["is_active"] is True and body["events"] == ["stage_changed"]
    assert WebhookSubscription.objects.get(pk=body["id"]).secret == SECRET
    assert [s["id"] for s in admin.get(URL).json()] == [body["id"]]
    assert admin.get(f"{URL}{body['id']}/").json()["url"] == "https://crm.example.com/in"
    patched = admin.patch(f"{URL}{body['id']}/", {"events": ["became_advocate", "stage_changed"], "is_active": False},
                          format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["events"] == ["became_advocate", "stage_changed"] and patched.json()["is_active"] is False
    assert patched.json()["name"] == "crm"
    assert admin.delete(f"{URL}{body['id']}/").status_code == 204
    assert admin.get(f"{URL}{body['id']}/").status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "x", "url": "not a url", "events": ["stage_changed"], "secret": SECRET}, "url"),
        # a list item's error names the item (400 bodies are flat: api/exceptions.py:field_errors)
        ({"name": "x", "url": "https://a.example.com", "events": ["teleported"], "secret": SECRET}, "events[0]"),
        ({"name": "x", "url": "https://a.example.com", "events": [], "secret": SECRET}, "events"),
        ({"name": "x", "url": "https://a.example.com", "events": ["stage_changed"], "secret": "short"}, "secret"),
        ({"url": "https://a.example.com", "events": ["stage_changed"], "secret": SECRET}, "name"),
    ],
)
def test_invalid_subscription_is_400_naming_the_field(admin, db, body, field):
    response = admin.post(URL, body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_patch_validates_too(admin, db):
    sub = WebhookSubscription.objects.create(name="a", url="https://a.example.com", events=["stage_changed"], secret=SECRET)
    response = admin.patch(f"{URL}{sub.pk}/", {"url": "ftp:/nope"}, format="json")
    assert response.status_code == 400 and "url" in response.json()


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_subscription_is_404(admin, db, method):
    assert getattr(admin, method)(f"{URL}424242/", {}, format="json").status_code == 404


def test_delivery_log_filters_and_pages(admin, db):
    a = WebhookSubscription.objects.create(name="a", url="https://a.example.com", events=["stage_changed"], secret=SECRET)
    b = WebhookSubscription.objects.create(name="b", url="https://b.example.com", events=["stage_changed"], secret=SECRET)
    made = [
        WebhookDelivery.objects.create(subscription=sub, event="stage_changed", payload={"n": i}, status=status,
                                       attempts=1, response_code=code)
        for i, (sub, status, code) in enumerate([(a, "succeeded", 200), (a, "failed", 410), (b, "retrying", 503)])
    ]
    log = admin.get("/api/v1/webhooks/deliveries/").json()["results"]
    assert [d["id"] for d in log] == [d.pk for d in reversed(made)]
    assert log[0]["status"] == "retrying" and log[0]["response_code"] == 503 and log[0]["payload"] == {"n": 2}
    only_a = admin.get(f"/api/v1/webhooks/deliveries/?subscription={a.pk}").json()["results"]
    assert [d["id"] for d in only_a] == [made[1].pk, made[0].pk]
    failed = admin.get("/api/v1/webhooks/deliveries/?status=failed").json()["results"]
    assert [d["id"] for d in failed] == [made[1].pk]
    first = admin.get("/api/v1/webhooks/deliveries/?page_size=2").json()
    assert len(first["results"]) == 2 and admin.get(first["next"]).json()["results"][0]["id"] == made[0].pk
    assert admin.get(f"/api/v1/webhooks/deliveries/{made[0].pk}/").json()["delivery_id"] == str(made[0].delivery_id)
    assert admin.get("/api/v1/webhooks/deliveries/999999/").status_code == 404


@pytest.mark.parametrize("query, field", [("status=lost", "status"), ("subscription=abc", "subscription")])
def test_delivery_log_bad_filters_are_400(admin, db, query, field):
    response = admin.get(f"/api/v1/webhooks/deliveries/?{query}")
    assert response.status_code == 400 and field in response.json()
