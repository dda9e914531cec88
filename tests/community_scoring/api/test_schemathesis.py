"""Property-based run of every API operation against the OpenAPI schema (schemathesis, in-process via WSGI).

A few generated examples per operation, with an admin token: no response may be a 5xx, use an undocumented
status code or content type, or break its documented schema.
"""
import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from community_scoring.services.tokens import token_issue
from settings.wsgi import application

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 5
# Drawing the nested configuration document is slow (~2 s an example): fewer examples keep the run under a minute.
FEWER_EXAMPLES = {("PUT", "/api/v1/config/interest/"): 2, ("POST", "/api/v1/config/interest/preview/"): 2}
# Ingest is the forum_integration engineer's; this run covers the scoring API.
OURS = ("/api/v1/members", "/api/v1/leaderboards", "/api/v1/config", "/api/v1/recompute", "/api/v1/webhooks",
        "/api/v1/quality")


@pytest.mark.django_db
def test_api_conforms_to_its_schema(community, keep_test_connection):
    _, raw = token_issue(name="schemathesis", role="admin")
    headers = {"Authorization": f"Token {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(OURS)]
    assert len(operations) >= 25
    failures: list[str] = []
    for operation in operations:
        examples = FEWER_EXAMPLES.get((operation.method.upper(), operation.path), MAX_EXAMPLES)

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case):
            # A savepoint per request: like autocommit in production, one request's DB error cannot poison the next.
            with transaction.atomic():
                response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
def test_full_audience_view_matches_its_schema(community, keep_test_connection):
    """Generated ids rarely hit a member: check a member with interest, influence and history explicitly."""
    from datetime import timedelta

    from community_scoring.models import Action, ScoreSnapshot, StageTransition
    from tests.community_scoring.api.conftest import NOW

    StageTransition.objects.create(member=community.alice, from_stage="engaged", to_stage="MQL", engagement=60, fit=20,
                                   occurred_at=NOW - timedelta(days=2))
    assert ScoreSnapshot.objects.filter(member=community.alice).exists()
    Action.objects.create(source="t", external_event_id="f1", action_type_id="follow", member=community.bob,
                          target_member=community.alice, occurred_at=NOW - timedelta(days=1))
    _, raw = token_issue(name="schemathesis", role="admin")
    headers = {"Authorization": f"Token {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=headers)
    operation = schema["/api/v1/members/{member_id}/"]["GET"]
    for member in (community.alice, community.dave):
        case = operation.Case(path_parameters={"member_id": member.pk}, query={"period": "all"})
        response = case.call(headers=headers)
        assert response.status_code == 200
        case.validate_response(response, checks=CHECKS)
        body = response.json()
        if member == community.alice:
            assert body["influence"]["top_inbound"][0]["member_id"] == community.bob.pk
            assert body["stage_history"] and body["score_history"]["points"]
    assert body["influence"] is None and body["member"]["id"] == community.dave.pk
