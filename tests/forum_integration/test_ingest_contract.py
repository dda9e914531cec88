"""The view reads events with the fast `event_parse` (+ the engine's `event_errors`); the DRF serializers
describe the same contract in the OpenAPI schema. Both must accept and reject the same events."""
import copy

import pytest
from django.utils import timezone

from community_scoring.services.events import TEXT_MAX, event_errors
from forum_integration.api.serializers import EventSerializer, event_parse

VALID = {
    "source": "acme-forum", "event_id": "e-1001", "type": "comment", "occurred_at": "2026-11-20T10:00:00Z",
    "member": {"external_id": "u-42", "email": "ada@example.com", "name": "Ada", "attributes": {"job_title": "x"}},
    "target_member": {"external_id": "u-7"}, "target_content": {"external_id": "post-9", "topic": "api"},
    "text": "...",
}


def variant(path, value):
    body = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return body


NESTED_20: dict = {"leaf": 1}
for _ in range(19):
    NESTED_20 = {"a": NESTED_20}
NESTED_21 = {"a": NESTED_20}

CASES = [
    VALID,
    variant("extra_field", "fine"),
    variant("member.email", None), variant("member.email", ""), variant("member.name", None),
    variant("member.attributes", None), variant("target_member", None), variant("target_content", None),
    variant("target_content.topic", None), variant("text", None), variant("text", ""),
    variant("occurred_at", "2026-11-20T10:00:00+02:00"), variant("occurred_at", "2026-11-20T10:00:00.123456Z"),
    variant("target_content", {"external_id": "p", "author": {"external_id": "u-1"}}),
    variant("content", {"external_id": "q-1", "topic": "api", "title": "How?"}),
    variant("metadata", {"k": 1}),
    # invalid
    variant("source", KeyError), variant("event_id", KeyError), variant("type", KeyError),
    variant("occurred_at", KeyError), variant("member", KeyError), variant("member.external_id", KeyError),
    variant("source", ""), variant("event_id", ""), variant("occurred_at", "yesterday"), variant("occurred_at", 5),
    variant("member", "u-42"), variant("member.email", "nope"), variant("member.attributes", [1]),
    variant("target_member", {"name": "no id"}), variant("target_content", {"topic": "api"}),
    variant("target_content.topic", "x" * 129), variant("source", "x" * 65), variant("event_id", "x" * 192),
    variant("member.name", "x" * 201), variant("text", ["list"]), variant("metadata", "str"),
    variant("member.external_id", ""), variant("target_content.author", {"external_id": ""}),
    # the per-event limits (services/events.py), at and over each
    variant("member.attributes", {"n": 2**63 - 1, "f": -9.2e18}), variant("member.attributes", {"n": 2**63}),
    variant("member.attributes", {"n": 10**400}), variant("metadata", {"n": [float("inf")]}),
    variant("metadata", {"n": float("nan")}), variant("member.attributes", {f"k{i}": i for i in range(100)}),
    variant("member.attributes", {f"k{i}": i for i in range(101)}), variant("metadata", {"k": {str(i): i for i in range(101)}}),
    variant("member.attributes", NESTED_20), variant("member.attributes", NESTED_21),
    variant("metadata", NESTED_20), variant("metadata", NESTED_21),
    variant("text", "x" * TEXT_MAX), variant("text", "x" * (TEXT_MAX + 1)),
]


@pytest.mark.parametrize("body", CASES)
def test_fast_parser_and_drf_serializer_agree(body):
    drf_valid = EventSerializer(data=body).is_valid()
    event, errors = event_parse(body)
    if event is not None:
        errors = event_errors(event, known_types={"comment"}, now=timezone.now())
    assert (not errors) == drf_valid, errors
