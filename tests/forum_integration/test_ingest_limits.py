"""Input limits found under production load (issue 15, item 3): a body over the size limit gets 413 before it is
read, a body that won't parse gets 400, the engine's own `inactivity` type cannot be posted, and blank
identifiers (source " ") are refused, each naming the field; a refused event costs the others nothing."""
import pytest
from django.test import override_settings

from community_scoring.models import Action, Member
from tests.forum_integration.test_ingest_hostile import event_json

URL = "/api/v1/events/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def ingest(token_client):
    return token_client("ingest")


def test_a_body_over_the_limit_gets_413_and_stores_nothing(ingest):
    text = "x" * 60_000
    body = '{"events": [%s]}' % ", ".join(event_json(f"big{i}", text=text) for i in range(200))  # ~12 MB
    assert len(body) > 10 * 1024 * 1024
    response = ingest.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 413
    assert "limit is 10485760 bytes" in response.json()["detail"]
    assert not Action.objects.exists()


@override_settings(REQUEST_BODY_MAX_BYTES=2000, DATA_UPLOAD_MAX_MEMORY_SIZE=2000)
def test_the_413_is_the_documented_one(ingest):
    """Found by tests/fuzz_bodies.py: the ingest operation's schema listed no 413."""
    responses = ingest.get("/api/schema/?format=json").json()["paths"][URL]["post"]["responses"]
    assert responses["413"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    response = ingest.generic("POST", URL, '{"events": [%s]}' % event_json("e", text="y" * 3000),
                              content_type="application/json")
    assert response.status_code == 413 and list(response.json()) == ["detail"]


@override_settings(REQUEST_BODY_MAX_BYTES=2000, DATA_UPLOAD_MAX_MEMORY_SIZE=2000)
def test_the_limit_is_a_setting_and_a_body_under_it_is_taken(ingest):
    small = '{"events": [%s]}' % event_json("small")
    assert ingest.generic("POST", URL, small, content_type="application/json").status_code == 200
    large = '{"events": [%s]}' % event_json("large", text="y" * 3000)
    assert ingest.generic("POST", URL, large, content_type="application/json").status_code == 413
    assert list(Action.objects.values_list("external_event_id", flat=True)) == ["small"]


def test_a_body_that_does_not_parse_gets_400(ingest):
    response = ingest.generic("POST", URL, '{"events": [{"source": ', content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


@pytest.mark.parametrize("field, body, message", [
    ("type", event_json("e1").replace('"comment"', '"inactivity"'), "recorded by the engine itself"),
    ("source", event_json("e1").replace('"acme-forum"', '"   "'), "must not be blank"),
    ("event_id", event_json("e1").replace('"e1"', '" "'), "must not be blank"),
    ("member.external_id", event_json("e1").replace('"u-e1"', '"\\t "'), "must not be blank"),
])
def test_engine_types_and_blank_identifiers_are_refused_naming_the_field(ingest, field, body, message):
    good = event_json("good")
    response = ingest.generic("POST", URL, '{"events": [%s, %s]}' % (body, good), content_type="application/json")
    assert response.status_code == 200
    bad, ok = response.json()["results"]
    assert bad["status"] == "rejected" and any(message in m for m in bad["errors"][field]), bad
    assert ok["status"] == "created"
    assert list(Action.objects.values_list("external_event_id", flat=True)) == ["good"]
    assert not Action.objects.filter(action_type_id="inactivity").exists()
    assert not Member.objects.filter(source__regex=r"^\s*$").exists()
