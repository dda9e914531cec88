"""POST /api/v1/events/: the public ingest contract, per-event results, idempotency, auth, scores.

Expected points come from the default rules (community_scoring/migrations/0002_default_configuration.py):
question 5, comment 3, vote_up 1 to the voter and 2 to the author, follow 2 / 1 received, read 0.5 capped at 5
a day; fit: job_title contains engineer 10, company_size >= 200 15.
"""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from community_scoring.models import Action, Content, Member
from tests.forum_integration.helpers import T_ISO, bucket_points, engagement

URL = "/api/v1/events/"
pytestmark = pytest.mark.django_db


def event(event_id, type_="comment", **extra):
    body = {"source": "acme-forum", "event_id": event_id, "type": type_, "occurred_at": T_ISO,
            "member": {"external_id": "u-42"}}
    body.update(extra)
    return body


def member(external_id, source="acme-forum"):
    return Member.objects.get(source=source, external_id=external_id)


@pytest.fixture
def ingest(token_client):
    return token_client("ingest")


def test_the_contract_example_creates_the_member_and_scores_the_comment(ingest):
    body = {
        "source": "acme-forum", "event_id": "e-1001", "type": "comment", "occurred_at": T_ISO,
        "member": {"external_id": "u-42", "email": "ada@example.com", "name": "Ada",
                   "attributes": {"job_title": "Senior Engineer", "company_size": 500, "persona": "developer"}},
        "target_member": {"external_id": "u-7"}, "target_content": {"external_id": "post-9", "topic": "api"},
        "text": "Thanks, that fixed it",
    }
    response = ingest.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"results": [{"event_id": "e-1001", "status": "created", "errors": {}}]}

    ada = member("u-42")
    assert (ada.email, ada.display_name, ada.persona) == ("ada@example.com", "Ada", "developer")
    assert ada.attributes["job_title"] == "Senior Engineer"
    action = Action.objects.get(source="acme-forum", external_event_id="e-1001")
    assert action.target_member == member("u-7")
    assert action.target_content.external_id == "post-9" and action.topic == "api"
    assert action.text == "Thanks, that fixed it"
    assert engagement(ada) == pytest.approx(3.0)  # comment: 3 points
    score = ada.interest
    assert score.fit == pytest.approx(25.0)  # engineer 10 + company_size 500 >= 200: 15
    assert score.score == pytest.approx(28.0)
    assert score.primary_topic == "api"


def test_target_member_defaults_to_the_author_of_known_content(ingest):
    question = event("q-1", "question", member={"external_id": "u-7"},
                     content={"external_id": "post-9", "topic": "api", "title": "How do I page?"})
    vote = event("v-1", "vote_up", target_content={"external_id": "post-9"})
    response = ingest.post(URL, {"events": [question, vote]}, format="json")
    assert [r["status"] for r in response.json()["results"]] == ["created", "created"]

    author, voter = member("u-7"), member("u-42")
    assert Content.objects.get(source="acme-forum", external_id="post-9").author == author
    assert Action.objects.get(external_event_id="v-1").target_member == author
    assert engagement(author) == pytest.approx(5 + 2)  # question 5 + vote_up received 2
    assert engagement(voter) == pytest.approx(1)
    assert bucket_points(author) == {("question", False): 5, ("vote_up", True): 2}


def test_a_bad_event_never_blocks_the_good_ones_and_results_keep_input_order(ingest):
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    events = [
        event("ok-1", "follow", target_member={"external_id": "u-7"}),
        event("bad-type", "teleport"),
        {k: v for k, v in event("no-member").items() if k != "member"},
        event("bad-time", occurred_at="last tuesday"),
        event("future", occurred_at=future),
        event("naive", occurred_at="2026-11-20T10:00:00"),
        event("ancient", occurred_at="0001-01-01T00:00:00+14:00"),
        event("ok-1", "follow", target_member={"external_id": "u-7"}),  # same id in the same batch: counts once
        event("ok-2", "read", target_content={"external_id": "doc-1", "author": {"external_id": "u-7"}}),
        event("bad-email", member={"external_id": "u-43", "email": "not-an-email"}),
        "not an object",
    ]
    response = ingest.post(URL, {"events": events}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "created", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "duplicate", "created",
        "rejected", "rejected",
    ]
    assert [r["event_id"] for r in results[:10]] == [e["event_id"] for e in events[:10]]
    assert "unknown action type" in results[1]["errors"]["type"][0]
    assert results[2]["errors"] == {"member": ["required"]}
    assert "bad timestamp" in results[3]["errors"]["occurred_at"][0]
    assert results[4]["errors"] == {"occurred_at": ["is in the future"]}
    assert results[5]["errors"] == {"occurred_at": ["must include a timezone"]}
    assert results[6]["errors"] == {"occurred_at": ["is before 1970"]}
    assert list(results[9]["errors"]) == ["member.email"]
    assert list(results[10]["errors"]) == ["non_field_errors"]

    assert Action.objects.filter(source="acme-forum").count() == 2
    assert not Member.objects.filter(external_id="u-43").exists()
    assert engagement(member("u-42")) == pytest.approx(2 + 0.5)  # follow 2, read 0.5
    assert engagement(member("u-7")) == pytest.approx(1)  # follow received 1 (read gives the author nothing)


def test_a_retried_batch_never_double_counts(ingest):
    events = [event(f"e-{i}", "vote_up", target_content={"external_id": f"p-{i}", "author": {"external_id": "u-7"}})
              for i in range(3)]
    first = ingest.post(URL, {"events": events}, format="json").json()["results"]
    again = ingest.post(URL, {"events": events}, format="json").json()["results"]
    assert {r["status"] for r in first} == {"created"}
    assert {r["status"] for r in again} == {"duplicate"}
    assert Action.objects.filter(source="acme-forum").count() == 3
    assert engagement(member("u-42")) == pytest.approx(3 * 1)
    assert engagement(member("u-7")) == pytest.approx(3 * 2)

    single = ingest.post(URL, events[0], format="json")
    assert single.status_code == 200 and single.json()["results"][0]["status"] == "duplicate"


def test_the_same_event_id_from_another_source_is_another_event(ingest):
    ingest.post(URL, event("e-1"), format="json")
    response = ingest.post(URL, dict(event("e-1"), source="other-forum"), format="json")
    assert response.status_code == 201
    assert Action.objects.filter(external_event_id="e-1").count() == 2


def test_daily_caps_apply_to_ingested_reads(ingest):
    reads = [event(f"r-{i}", "read", target_content={"external_id": f"doc-{i}"}) for i in range(14)]
    ingest.post(URL, {"events": reads}, format="json")
    assert engagement(member("u-42")) == pytest.approx(5.0)  # 14 x 0.5 = 7, capped at 5 a day


def test_member_fields_update_and_attributes_merge(ingest):
    ingest.post(URL, event("e-1", member={"external_id": "u-42", "name": "Ada",
                                          "attributes": {"job_title": "Manager", "industry": "saas"}}), format="json")
    ingest.post(URL, event("e-2", member={"external_id": "u-42", "persona": "admin", "email": "ada@example.com",
                                          "attributes": {"job_title": "Engineer"}}), format="json")
    ada = member("u-42")
    assert ada.display_name == "Ada" and ada.email == "ada@example.com" and ada.persona == "admin"
    assert ada.attributes == {"job_title": "Engineer", "industry": "saas"}


def test_integer_ids_are_accepted(ingest):
    body = event(1001, member={"external_id": 42}, target_member={"external_id": 7})
    response = ingest.post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["results"][0]["event_id"] == "1001"
    assert Action.objects.get(external_event_id="1001").target_member.external_id == "7"


@pytest.mark.parametrize("body, field", [
    ({"events": [event(f"e-{i}") for i in range(1001)]}, "events"),
    ({"events": []}, "events"),
    ({"events": {"a": 1}}, "events"),
    ([event("e-1")], "non_field_errors"),
])
def test_batch_shape_errors_are_400_and_record_nothing(ingest, body, field):
    response = ingest.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Action.objects.exists()


def test_malformed_json_is_400(ingest):
    response = ingest.post(URL, data='{"source": "acme", ', content_type="application/json")
    assert response.status_code == 400
    assert not Action.objects.exists()


def test_a_single_rejected_event_is_400_naming_the_fields(ingest):
    response = ingest.post(URL, event("e-1", type_="nope", member={"external_id": ""}), format="json")
    assert response.status_code == 400
    errors = response.json()["results"][0]["errors"]
    assert set(errors) == {"member.external_id"}  # shape errors first; the type is checked once the shape is right
    response = ingest.post(URL, event("e-1", type_="nope", target_content={"external_id": "x" * 200}), format="json")
    assert set(response.json()["results"][0]["errors"]) == {"type", "target_content.external_id"}


def test_values_the_database_would_refuse_are_rejected_per_event(ingest):
    events = [event("nul", text="a\x00b"), event("long", member={"external_id": "u-1", "name": "x" * 201}),
              event("jsonnul", metadata={"k": "\x00"}), event("fine")]
    results = ingest.post(URL, {"events": events}, format="json").json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "rejected", "created"]
    assert list(results[0]["errors"]) == ["text"]
    assert list(results[1]["errors"]) == ["member.name"]
    assert list(results[2]["errors"]) == ["metadata"]


@pytest.mark.parametrize("role, expected", [
    ("ingest", 201), ("admin", 201), ("marketing", 403), ("community_manager", 403),
])
def test_only_ingest_and_admin_tokens_may_post(token_client, role, expected):
    response = token_client(role).post(URL, event("e-1"), format="json")
    assert response.status_code == expected
    assert Action.objects.count() == (1 if expected == 201 else 0)


def test_anonymous_and_bad_tokens_are_401(api_client):
    assert api_client.post(URL, event("e-1"), format="json").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.post(URL, event("e-1"), format="json").status_code == 401
    assert not Action.objects.exists()


def test_issued_ingest_token_from_the_command_works(api_client):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("issue_token", "--role", "ingest", "acme-bridge", stdout=out)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    response = api_client.post(URL, json.dumps(event("e-1")), content_type="application/json")
    assert response.status_code == 201


def test_sources_of_the_built_in_integrations_are_reserved(ingest):
    from forum_integration.models import DiscourseInstance

    DiscourseInstance.objects.create(base_url="https://d.example.com", source="discourse-acme", secret="s")
    events = [dict(event("post:1"), source=source) for source in ("forum", "discourse", "discourse-acme")]
    results = ingest.post(URL, {"events": events + [event("ok")]}, format="json").json()["results"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "rejected", "created"]
    assert "reserved" in results[0]["errors"]["source"][0]
    assert not Action.objects.exclude(source="acme-forum").exists()
