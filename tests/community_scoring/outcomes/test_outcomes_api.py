"""POST /api/v1/outcomes/: the public contract (single and batched, answered like /api/v1/events/), its errors,
who may post, the schema, and outcomes and sales stages in the audience view, the member list and the page."""
import csv
import json

import pytest
from django.test import Client

from community_scoring.models import InterestScore
from community_scoring.outcomes.models import Outcome
from tests.community_scoring.outcomes.conftest import T, engaged_member
from tests.factories import MemberFactory

URL = "/api/v1/outcomes/"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def read_at_t(monkeypatch):
    """Reads value scores at T, the day of these members' actions (engaged then; decay would make them visitors
    by today): the score-driven stage beside the sales stage is the one they had."""
    from community_scoring.selectors import interest

    monkeypatch.setattr(interest, "valued_now", lambda: T)


def body(outcome_id="opp-1", type_="sales_accepted", **extra):
    data = {"source": "crm", "outcome_id": outcome_id, "type": type_, "occurred_at": "2026-03-01T12:00:00Z",
            "member": {"external_id": "c-1"}, "reason": "", "value": ""}
    data.update(extra)
    return data


@pytest.fixture
def member(db):
    return MemberFactory(source="crm", external_id="c-1", email="ada@example.com")


@pytest.fixture
def ingest(token_client):
    return token_client("ingest")


def test_the_contract_example(ingest, member):
    sent = {"outcomes": [body("opp-1", reason="Budget confirmed", member={"email": "ADA@example.com"})]}
    response = ingest.post(URL, sent, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"results": [{"outcome_id": "opp-1", "status": "created", "errors": {}}]}
    outcome = Outcome.objects.get()
    assert (outcome.member_id, outcome.type, outcome.reason) == (member.pk, "sales_accepted", "Budget confirmed")
    assert outcome.recorded_by.startswith("token ingest-")
    assert InterestScore.objects.get(member=member).sales_stage == "SQL"


def test_a_batch_answers_each_outcome_in_order(ingest, member):
    sent = {"outcomes": [
        body("o-1"), body("o-1"), body("o-2", type_="sometimes"), "not an outcome",
        body("o-3", member={"external_id": "nobody"}), body("o-4", "converted", value=250),
        body("o-5", member="c-1"),
    ]}
    response = ingest.post(URL, sent, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["outcome_id"], r["status"]) for r in results] == [
        ("o-1", "created"), ("o-1", "duplicate"), ("o-2", "rejected"), (None, "rejected"), ("o-3", "rejected"),
        ("o-4", "created"), ("o-5", "rejected")]
    assert list(results[2]["errors"]) == ["type"]
    assert results[3]["errors"] == {"non_field_errors": ["each outcome must be a JSON object"]}
    assert results[4]["errors"] == {"member": ["no member with external_id 'nobody' in source 'crm'"]}
    assert results[6]["errors"] == {"member": ["must be an object with external_id, email or crm_id"]}
    assert Outcome.objects.count() == 2
    assert str(Outcome.objects.get(outcome_id="o-4").amount) == "250.00"


def test_a_single_outcome_answers_201_then_200_as_a_duplicate(ingest, member):
    first = ingest.post(URL, body("o-1"), format="json")
    assert first.status_code == 201
    assert first.json() == {"results": [{"outcome_id": "o-1", "status": "created", "errors": {}}]}
    again = ingest.post(URL, body("o-1"), format="json")
    assert again.status_code == 200
    assert again.json() == {"results": [{"outcome_id": "o-1", "status": "duplicate", "errors": {}}]}
    assert Outcome.objects.count() == 1


def test_a_rejected_single_outcome_answers_400_naming_the_fields(ingest, member):
    response = ingest.post(URL, body(7, occurred_at="soon", member={"crm_id": 42}), format="json")
    assert response.status_code == 400
    (result,) = response.json()["results"]
    assert (result["outcome_id"], result["status"]) == ("7", "rejected")
    assert set(result["errors"]) == {"occurred_at", "member.crm_id"}


def test_a_nul_suffixed_timestamp_answers_400_naming_it(ingest, member):
    response = ingest.post(URL, body(occurred_at="2026-03-01T12:00:00Z\u0000junk"), format="json")
    assert response.status_code == 400
    (result,) = response.json()["results"]
    assert (result["status"], list(result["errors"])) == ("rejected", ["occurred_at"])
    assert not Outcome.objects.exists()


@pytest.mark.parametrize("sent, errors", [
    ({"outcomes": "all"}, {"outcomes": ["must be a list of outcomes"]}),
    ({"outcomes": []}, {"outcomes": ["must contain at least one outcome"]}),
    ({"outcomes": [{}] * 1001}, {"outcomes": ["at most 1000 outcomes per batch, got 1001"]}),
    ([body()], {"non_field_errors": ['expected one outcome object or {"outcomes": [...]}']}),
])
def test_a_body_that_is_no_outcome_or_batch_answers_400_and_records_nothing(ingest, member, sent, errors):
    response = ingest.post(URL, sent, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not Outcome.objects.exists()


def test_unreadable_json_answers_400(ingest):
    response = ingest.post(URL, data='{"outcomes": [', content_type="application/json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json() or "detail" in response.json()


@pytest.mark.parametrize("role, code", [("ingest", 201), ("marketing", 201), ("admin", 201),
                                        ("community_manager", 403)])
def test_who_may_post(token_client, member, role, code):
    response = token_client(role).post(URL, body(f"o-{role}"), format="json")
    assert response.status_code == code
    assert Outcome.objects.filter(outcome_id=f"o-{role}").exists() == (code == 201)


def test_anonymous_and_bad_tokens_get_401(api_client, member):
    assert api_client.post(URL, body(), format="json").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Token nope")
    assert api_client.post(URL, body(), format="json").status_code == 401
    assert not Outcome.objects.exists()


def test_a_signed_in_user_with_no_role_gets_403(django_user_model, member):
    user = django_user_model.objects.create_user("norole", password="x")
    client = Client()
    client.force_login(user)
    assert client.post(URL, json.dumps(body()), content_type="application/json").status_code == 403


def test_the_schema_describes_the_endpoint(token_client):
    schema = token_client("admin").get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/outcomes/"]["post"]
    assert operation["operationId"] == "outcomes_record"
    assert {"200", "201", "400", "401", "403", "429"} <= set(operation["responses"])
    components = schema["components"]["schemas"]
    request = components["OutcomeOrBatchRequest"]["oneOf"]
    assert {"$ref": "#/components/schemas/OutcomeRequest"} in request
    assert {"$ref": "#/components/schemas/OutcomeBatchRequest"} in request
    outcome = components["OutcomeRequest"]
    assert set(outcome["properties"]) == {"source", "outcome_id", "type", "occurred_at", "member", "reason", "value"}
    assert set(outcome["required"]) == {"source", "outcome_id", "type", "occurred_at", "member"}
    assert set(components["OutcomeMemberRefRequest"]["properties"]) == {"external_id", "email", "crm_id"}

    def enum(prop):
        refs = [prop, *prop.get("allOf", [])]
        ref = next(r["$ref"] for r in refs if "$ref" in r) if "enum" not in prop else None
        return prop["enum"] if ref is None else components[ref.rsplit("/", 1)[1]]["enum"]

    assert enum(components["OutcomeResult"]["properties"]["status"]) == ["created", "duplicate", "rejected"]
    assert set(enum(outcome["properties"]["type"])) == {
        "sales_accepted", "sales_rejected", "sql", "opportunity", "won", "lost", "churned", "converted"}


# ---- reading them back ------------------------------------------------------------------------------------------

def test_the_audience_view_shows_outcomes_sales_stage_and_both_kinds_of_moves(token_client, config):
    ada = engaged_member(external_id="ada", email="ada@example.com")
    ingest = token_client("ingest")
    ingest.post(URL, {"outcomes": [
        body("o-1", "sql", source="forum", occurred_at="2026-03-02T09:00:00Z", member={"external_id": "ada"}),
        body("o-2", "sales_rejected", source="forum", occurred_at="2026-03-03T09:00:00Z",
             member={"email": "ada@example.com"}, reason="Student, no budget"),
        body("o-3", "converted", source="product", occurred_at="2026-03-04T09:00:00Z",
             member={"email": "ada@example.com"}, value="trial"),
    ]}, format="json")
    data = token_client("marketing").get(f"/api/v1/members/{ada.pk}/").json()
    interest = data["interest"]
    assert (interest["stage"], interest["sales_stage"], interest["sales_stage_outcome"],
            interest["sales_stage_reason"], interest["sales_stage_at"]) == (
        "engaged", "", "sales_rejected", "Student, no budget", "2026-03-03T09:00:00Z")
    assert [(o["type"], o["occurred_at"], o["reason"], o["value"], o["source"], o["amount"])
            for o in data["outcomes"]] == [
        ("converted", "2026-03-04T09:00:00Z", "", "trial", "product", None),
        ("sales_rejected", "2026-03-03T09:00:00Z", "Student, no budget", "", "forum", None),
        ("sql", "2026-03-02T09:00:00Z", "", "", "forum", None)]
    moves = [(t["from_stage"], t["to_stage"], t["reason"], t["detail"]) for t in data["stage_history"]]
    assert moves[:2] == [("SQL", "engaged", "sales_rejected", "Student, no budget"), ("engaged", "SQL", "sql", "")]
    assert ("visitor", "engaged", "action", "") in moves  # the score-driven move, in the same history


def test_member_lists_show_the_sales_stage_beside_the_stage(token_client, config):
    ada = engaged_member(external_id="ada")
    token_client("ingest").post(URL, body("o-1", "won", source="forum", member={"external_id": "ada"}),
                                format="json")
    rows = token_client("marketing").get("/api/v1/members/").json()["results"]
    (row,) = [r for r in rows if r["id"] == ada.pk]
    assert (row["interest"]["stage"], row["interest"]["sales_stage"]) == ("engaged", "customer")
    board = token_client("marketing").get("/api/v1/leaderboards/interest/").json()["results"]
    assert board[0]["interest"]["sales_stage"] == "customer"
    export = token_client("marketing").get("/api/v1/members/export/")
    rows = list(csv.DictReader(b"".join(export.streaming_content).decode().splitlines()))
    assert [(r["external_id"], r["stage"], r["sales_stage"]) for r in rows] == [("ada", "engaged", "customer")]


def test_the_member_page_has_an_outcomes_section(client, django_user_model, config):
    ada = engaged_member(external_id="ada")
    MemberFactory(source="crm", external_id="c-1")
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    from community_scoring.outcomes.services.intake import outcomes_record
    from tests.community_scoring.outcomes.conftest import outcome

    outcomes_record(outcomes=[outcome("o-1", "opportunity", external_id="ada", source="forum",
                                      reason="Demo booked"),
                              outcome("o-2", "converted", external_id="ada", source="forum", value="purchase")])
    page = client.get(f"/members/{ada.pk}/").content.decode()
    section = page[page.index('id="outcomes-h"'):page.index('id="recent-h"')]
    assert "Demo booked" in section and "purchase" in section and "opportunity" in section
    assert "Sales stage" in page and ">opportunity</span>" in page
