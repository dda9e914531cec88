"""POST /api/v1/events/ under hostile input (issue 11): a batch answers per event, a bad event never costs a good
one, and each per-event limit (services/events.py) rejects only its event, naming the field.

Bodies are written as raw JSON text: 10**400, 1e400 and 100,000 levels of nesting cannot pass through a Python
JSON encoder the way a hostile client sends them.
"""
import json

import pytest

from community_scoring.models import Action, Member
from community_scoring.services.events import JSON_DEPTH_MAX, JSON_KEYS_MAX, TEXT_MAX
from tests.forum_integration.helpers import T_ISO

URL = "/api/v1/events/"
pytestmark = pytest.mark.django_db


def event_json(event_id: str, *, attributes: str | None = None, metadata: str | None = None, text: str = "") -> str:
    """One event as JSON text, attributes and metadata spliced in verbatim."""
    member = '{"external_id": "u-%s"%s}' % (event_id, "" if attributes is None else f', "attributes": {attributes}')
    extra = "" if metadata is None else f', "metadata": {metadata}'
    if text:
        extra += f', "text": {json.dumps(text)}'
    return ('{"source": "acme-forum", "event_id": "%s", "type": "comment", "occurred_at": "%s", "member": %s%s}'
            % (event_id, T_ISO, member, extra))


def nested(levels: int) -> str:
    """An object nested `levels` deep: {"a": {"a": ... {"a": 1}}} (the outer object is level 1)."""
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.fixture
def post_batch(token_client):
    client = token_client("ingest")

    def post(*events: str):
        response = client.generic("POST", URL, '{"events": [%s]}' % ", ".join(events), content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        return response.json()["results"]

    return post


def stored() -> set[str]:
    return set(Action.objects.values_list("external_event_id", flat=True))


@pytest.mark.parametrize("levels", [1_000, 100_000])  # within JSON parsers' own limits (1,024), and far beyond
def test_deeply_nested_attributes_or_metadata_reject_only_their_event(post_batch, levels):
    results = post_batch(event_json("good-1"), event_json("deep-attributes", attributes=nested(levels)),
                         event_json("deep-metadata", metadata=nested(levels)), event_json("good-2"))
    assert [r["status"] for r in results] == ["created", "rejected", "rejected", "created"]
    assert results[1]["errors"] == {"member.attributes": [f"nested deeper than {JSON_DEPTH_MAX} levels"]}
    assert results[2]["errors"] == {"metadata": [f"nested deeper than {JSON_DEPTH_MAX} levels"]}
    assert stored() == {"good-1", "good-2"}


def test_nesting_depth_limit_boundary(post_batch):
    assert JSON_DEPTH_MAX == 20
    # 20 levels of objects; then 19 objects around a list (a list is a level too).
    at_limit = nested(20)
    list_at_limit = '{"a": ' * 19 + "[1]" + "}" * 19
    results = post_batch(event_json("at", attributes=at_limit), event_json("list-at", metadata=list_at_limit),
                         event_json("over", attributes=nested(21)),
                         event_json("list-over", metadata='{"a": ' * 20 + "[1]" + "}" * 20))
    assert [r["status"] for r in results] == ["created", "created", "rejected", "rejected"]
    assert list(results[2]["errors"]) == ["member.attributes"] and list(results[3]["errors"]) == ["metadata"]


@pytest.mark.parametrize("number", ["1" + "0" * 400, "-" + "1" + "0" * 400, "9223372036854775808",
                                    "-9223372036854775809", "1e400", "-1e400", "1.5e300", "9.3e18"],
                         ids=["10**400", "-10**400", "2**63", "-2**63-1", "1e400", "-1e400", "1.5e300", "9.3e18"])
def test_numbers_out_of_range_reject_only_their_event(post_batch, number):
    results = post_batch(event_json("good-1"), event_json("big", attributes='{"company_size": %s}' % number),
                         event_json("big-meta", metadata='{"k": [1, {"x": %s}]}' % number), event_json("good-2"))
    assert [r["status"] for r in results] == ["created", "rejected", "rejected", "created"], number
    assert list(results[1]["errors"]) == ["member.attributes"]
    assert "company_size" in results[1]["errors"]["member.attributes"][0]
    assert list(results[2]["errors"]) == ["metadata"]
    assert stored() == {"good-1", "good-2"}


def test_numbers_at_the_int64_bounds_are_stored_exactly(post_batch):
    attributes = '{"company_size": 9223372036854775807, "floor": -9223372036854775808, "ratio": 0.25, "big": 9.2e18}'
    results = post_batch(event_json("edge", attributes=attributes))
    assert results[0]["status"] == "created", results
    member = Action.objects.get(external_event_id="edge").member
    assert member.attributes["company_size"] == 2 ** 63 - 1 and member.attributes["floor"] == -(2 ** 63)
    assert member.attributes["ratio"] == 0.25 and member.attributes["big"] == 9.2e18


def test_too_many_keys_reject_only_their_event(post_batch):
    assert JSON_KEYS_MAX == 100
    keys = lambda n: "{%s}" % ", ".join(f'"k{i}": {i}' for i in range(n))  # noqa: E731
    results = post_batch(event_json("at", attributes=keys(100)), event_json("over", attributes=keys(101)),
                         event_json("nested-over", metadata='{"inner": %s}' % keys(101)))
    assert [r["status"] for r in results] == ["created", "rejected", "rejected"]
    assert list(results[1]["errors"]) == ["member.attributes"] and list(results[2]["errors"]) == ["metadata"]
    assert "more than 100 keys" in results[1]["errors"]["member.attributes"][0]
    assert results[2]["errors"]["metadata"][0].startswith("inner: ")


def test_text_longer_than_the_limit_rejects_only_its_event(post_batch):
    assert TEXT_MAX == 65_536
    results = post_batch(event_json("at", text="é" * TEXT_MAX), event_json("over", text="x" * (TEXT_MAX + 1)))
    assert [r["status"] for r in results] == ["created", "rejected"]
    assert results[1]["errors"] == {"text": [f"at most {TEXT_MAX} characters"]}
    assert len(Action.objects.get(external_event_id="at").text) == TEXT_MAX


def test_a_single_event_over_a_limit_is_400_naming_the_field(token_client):
    response = token_client("ingest").generic(
        "POST", URL, event_json("one", attributes='{"company_size": 1e400}'), content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["results"][0]["errors"]) == ["member.attributes"]
    assert not Action.objects.exists()


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, "[" * 100_000], ids=["lists", "unclosed"])
def test_a_body_nested_beyond_any_parser_is_400_not_500(token_client, body):
    response = token_client("ingest").generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["non_field_errors"] and all(isinstance(m, str) for m in errors["non_field_errors"])
    assert not Action.objects.exists()


def test_an_object_nested_beyond_any_parser_is_one_rejected_event(token_client):
    body = '{"a": ' * 100_000 + "1" + "}" * 100_000
    response = token_client("ingest").generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["results"][0]["status"] == "rejected"
    assert not Action.objects.exists()


def test_a_deeply_nested_list_in_place_of_an_event_rejects_only_that_event(post_batch):
    results = post_batch(event_json("good-1"), "[" * 100_000 + "]" * 100_000, event_json("good-2"))
    assert [r["status"] for r in results] == ["created", "rejected", "created"]
    assert results[1] == {"event_id": None, "status": "rejected",
                          "errors": {"non_field_errors": ["each event must be a JSON object"]}}
    assert stored() == {"good-1", "good-2"}


def test_malformed_json_answers_the_documented_400_shape(token_client):
    response = token_client("ingest").generic("POST", URL, '{"events": [', content_type="application/json")
    assert response.status_code == 400
    (message,) = response.json()["non_field_errors"]
    assert message.startswith("JSON parse error")


def test_the_readme_states_the_limits_the_code_enforces():
    """The limits live in services/events.py; the README restates them for users: they must agree."""
    from pathlib import Path

    from community_scoring.services.events import NUMBER_RANGE

    readme = " ".join((Path(__file__).parents[2] / "forum_integration" / "README.md").read_text().split())
    assert f"nest at most {JSON_DEPTH_MAX} levels" in readme
    assert f"at most {JSON_KEYS_MAX} keys" in readme
    assert f"{NUMBER_RANGE[0]}..{NUMBER_RANGE[1]}" in readme
    assert f"`text` is at most {TEXT_MAX:,} characters" in readme


# Found by tests/fuzz_bodies.py (the hypothesis fuzz of ingest bodies):

def test_a_rejected_event_says_its_id_back_as_text(post_batch, token_client):
    """An integer id is the id's digits in every result (the schema's string), a boolean is no id: a rejected
    event's result used to say the integer (or `true`) back."""
    results = post_batch(event_json("1000000").replace('"1000000"', "1000000").replace('"comment"', '"nope"'),
                         event_json("x").replace('"x"', "true"), event_json("42").replace('"42"', "42"))
    assert [(r["event_id"], r["status"]) for r in results] == [("1000000", "rejected"), (None, "rejected"),
                                                                ("42", "created")]
    response = token_client("ingest").generic(
        "POST", URL, event_json("7").replace('"7"', "7").replace('"comment"', '"nope"'), content_type="application/json")
    assert response.status_code == 400 and response.json()["results"][0]["event_id"] == "7"


@pytest.mark.parametrize("single", [False, True], ids=["batch", "single"])
def test_a_rejected_event_id_with_a_lone_surrogate_is_said_back_escaped_not_a_500(token_client, single):
    event = event_json("x").replace('"x"', '"id-\\udfff"')
    body = event if single else '{"events": [%s, %s]}' % (event, event_json("good"))
    response = token_client("ingest").generic("POST", URL, body, content_type="application/json")
    assert response.status_code == (400 if single else 200)
    assert b'"id-\\udfff"' in response.content  # the client's own escape, as ASCII JSON
    result = response.json()["results"][0]
    assert result == {"event_id": "id-\udfff", "status": "rejected", "errors": {"event_id": ["is not valid Unicode"]}}
    assert stored() == (set() if single else {"good"})


@pytest.mark.parametrize("part", ["content", "target_content"])
def test_a_content_author_error_names_the_field_as_sent(post_batch, part):
    """`<part>.author.external_id`, not the engine's own name for it (author_external_id)."""
    bad = event_json("bad").replace('"member"', '"%s": {"external_id": "c", "author": {"external_id": "%s"}}, "member"'
                                    % (part, "x" * 192))
    results = post_batch(bad, event_json("good"))
    assert results[0]["errors"] == {f"{part}.author.external_id": ["at most 191 characters"]}
    assert stored() == {"good"}


@pytest.mark.parametrize("part", ["content", "target_content"])
def test_a_blank_content_author_is_refused_like_any_blank_member_id(post_batch, part):
    """The author of a content is a member: an id of spaces only would have created a nameless identity."""
    bad = event_json("bad").replace('"member"', '"%s": {"external_id": "c", "author": {"external_id": " \\t"}}, '
                                                '"member"' % part)
    results = post_batch(bad, event_json("good"))
    assert results[0]["errors"] == {f"{part}.author.external_id": ["must not be blank"]}
    assert stored() == {"good"}
    assert not Member.objects.filter(external_id__regex=r"^\s*$").exists()


@pytest.mark.parametrize("field", ["occurred_at", "member.joined_at"])
@pytest.mark.parametrize("tail", ["\\u0000", "\\u0000junk", "\\u0000+05:00"], ids=["NUL", "NUL-junk", "NUL-offset"])
def test_a_timestamp_with_a_nul_is_refused_naming_the_field(post_batch, field, tail):
    """CPython's fromisoformat stops reading at a NUL: "2026-11-20T10:00:00Z<NUL>junk" was taken as a timestamp."""
    at = T_ISO + tail
    bad = (event_json("bad").replace(T_ISO, at) if field == "occurred_at"
           else event_json("bad").replace('{"external_id": "u-bad"', '{"external_id": "u-bad", "joined_at": "%s"' % at))
    results = post_batch(bad, event_json("good"))
    assert results[0]["status"] == "rejected" and list(results[0]["errors"]) == [field], results[0]
    assert stored() == {"good"}
