"""Hypothesis fuzz of the two bodies the outside world writes, in process (WSGI) on the test database: the ingest
endpoint (POST /api/v1/events/) and the Discourse webhook (POST /integrations/discourse/webhook/).

Beside tests/fuzz_api.py, whose schemathesis cases are drawn from the OpenAPI schema (so mostly well-typed), these
bodies are built from valid ones and broken on purpose, each broken field labelled with the error it must cause.
Not part of `make test` (outside pytest's `test_*.py` pattern): `make fuzz`, step 3 of .ci/run, collects it.

- Ingest, structured: batches (and single events) mixing valid events with mutated ones: a field replaced by a
  wrong type, a value too long, too deep, with too many keys or out of range, empty or blank, with NUL, a lone
  surrogate, RTL and other odd but valid Unicode, extra keys, duplicated event ids, items that are not objects.
  Checked: never a 5xx; the status the contract gives (201/200/400 for one event, 200 for a batch, 413 over the
  body limit); the body in the OpenAPI response schema of that status (schemathesis' checks, against the served
  schema); every valid event stored exactly once (Action rows by source and event id), every invalid one rejected
  with errors naming only fields it broke; the same body again stores nothing and answers duplicate / rejected.
- Ingest, raw: truncated JSON, invalid UTF-8, random bytes, JSON-like garbage, wrong envelopes, deep nesting,
  bodies over the limit: a documented 400 or 413 in its schema, and nothing stored.
- Discourse, signed: the payload shapes of discourse_payloads.py (real Discourse serializers) with fields
  mutated (wrong types, missing keys, nulls, huge strings, deep nesting, bad ids, unknown event names), signed
  with the instance's secret. Checked: never a 5xx; 200/400 (413 over the limit) with the documented body (the
  view's docstring and forum_integration/README.md; no OpenAPI operation); a 400 or an ignored delivery writes
  nothing; a redelivery (same X-Discourse-Event-Id, and again under a new one, as Discourse retries) answers the
  same and stores nothing more.
- Discourse, unsigned or badly signed (missing, another secret, another body, no prefix, non-ASCII) or from an
  unknown instance (a NUL in the header included): 401/403 with a detail, and nothing stored, not even a member.

Like schemathesis, two phases: deterministic coverage cases first (hypothesis explicit examples: one ingest batch
holding every single mutation of MUTATIONS; every field the Discourse receiver reads, in each scored event, set to
each hostile kind or removed), then random combinations. Each example runs in a savepoint rolled back afterwards,
so examples do not see each other's rows; the body limit is lowered to BODY_LIMIT so that "over the limit" costs
kilobytes, not 10 MiB.

Budget: the coverage cases (~520 deliveries, one batch) and FUZZ_EXAMPLES (environment, default 25) x 8 random
examples per test (200), derandomized so a failure reproduces: about a minute in all on 2 cores.
FUZZ_SHRINK=1 shrinks a failure to its smallest body (minutes); without it the failing body is printed as sent.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, given, note
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)
from werkzeug.test import Client

from community_scoring.models import Action, Content, Member
from community_scoring.services.events import JSON_DEPTH_MAX, JSON_KEYS_MAX, MAX_BATCH, TEXT_MAX
from community_scoring.services.tokens import token_issue
from forum_integration.models import FORUM_SOURCE, DiscourseInstance
from forum_integration.services.discourse import SINGLE_INSTANCE_SOURCE
from settings.wsgi import application
from tests.forum_integration import discourse_payloads as d

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
EXAMPLES = 8 * FUZZ_EXAMPLES
FUZZ = hypothesis.settings(
    max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.generate] + ([Phase.shrink] if os.environ.get("FUZZ_SHRINK") else []),
    suppress_health_check=list(HealthCheck),
)
BODY_LIMIT = 512 * 1024
EVENTS_URL = "/api/v1/events/"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DELETE = object()  # a mutation that removes the key


@pytest.fixture
def body_limit(settings):
    settings.REQUEST_BODY_MAX_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = BODY_LIMIT


@contextmanager
def rolled_back():
    """One example's rows, gone afterwards (an example that fails rolls back too)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# ---- strings, numbers and JSON values ------------------------------------------------------------------------------

# Valid but unusual text: RTL marks and overrides, ZWJ emoji, line separators, combining marks, BOM, the last
# code points, control characters, SQL and HTML.
ODD_TEXT = ["\u202egnp.exe", "\u200f\u05e9\u05dc\u05d5\u05dd", "\U0001f469\u200d\U0001f469\u200d\U0001f467",
            "\u2028\u2029", "e\u0301\u0301\u0301", "\ud55c\uad6d\uc5b4", "\ufeffbom", "\uffff\U0010ffff",
            "\x01\x1f\x7f", "'; DROP TABLE x; --", "<script>alert(1)</script>", '\\"\\', "%s%n{0}"]


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Any text a field of at most `max_size` characters accepts: no NUL, no lone surrogate."""
    return (st.sampled_from([t for t in ODD_TEXT if len(t) <= max_size])
            | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=max_size))


def identifiers(max_size: int) -> st.SearchStrategy[str]:
    """An identifier (source, event id, external id): as texts, but not empty nor only spaces."""
    return (st.sampled_from([t for t in ODD_TEXT if len(t) <= max_size])
            | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1,
                      max_size=max_size)).filter(lambda t: not t.isspace())


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


json_scalars = (st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1) | texts(30)
                | st.floats(min_value=-1e18, max_value=1e18, allow_nan=False))
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts(20), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(texts(20), json_values, max_size=5).filter(lambda v: depth(v) <= JSON_DEPTH_MAX)


# Values JSON text can carry but Python's encoder cannot write (out-of-range floats; nesting deeper than its
# recursion limit): a marker string in the value, replaced by the raw text after encoding.
DEEP_LEVELS = 3000
RAW = {"@1e400@": "1e400", "@-1e400@": "-1e400", "@1.5e300@": "1.5e300", "@nan@": "NaN", "@inf@": "-Infinity",
       "@deep@": '{"a": ' * DEEP_LEVELS + "1" + "}" * DEEP_LEVELS}


def encode(body: Any, *, ascii_only: bool = True) -> bytes:
    try:
        text = json.dumps(body, ensure_ascii=ascii_only)
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only an escape carries it
        text = json.dumps(body)
        data = text.encode("utf-8")
    for marker, raw in RAW.items():
        data = data.replace(f'"{marker}"'.encode(), raw.encode())
    return data


def nested(levels: int) -> dict:
    value: Any = 1
    for _ in range(levels - 1):
        value = {"a": value}
    return {"a": value}


# ---- valid events ---------------------------------------------------------------------------------------------------

NOW = datetime.now(UTC)
TYPES = ["comment", "question", "answer", "vote_up", "follow", "share", "read", "blog_post"]
SOURCES = ["acme-forum", "slack", "\u05d2\u05d9\u05d8\u200f", "\ub17c\uc758", "x" * 64, "forum-2"]
ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)),
         timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]
moments = st.builds(
    lambda at, zulu: at.isoformat().replace("+00:00", "Z") if zulu else at.isoformat(),
    st.datetimes(min_value=datetime(1971, 1, 2), max_value=(NOW - timedelta(days=1)).replace(tzinfo=None),
                 timezones=st.sampled_from(ZONES)),
    st.booleans(),
)
member_ids = st.sampled_from(["u-1", "u-2", "42", "\u00fcn\u00ef", "\u202eevil"]) | identifiers(191) \
    | st.integers(0, 2 ** 70)
attributes = st.dictionaries(texts(20).filter(lambda k: k != "persona"), json_values, max_size=5) \
    .filter(lambda v: depth(v) <= JSON_DEPTH_MAX)
members = st.fixed_dictionaries({"external_id": member_ids}, optional={
    "email": st.sampled_from(["ada@example.com", "bob@example.org", "", None, "x.y+tag@sub.example.co"]),
    "name": st.none() | texts(200), "persona": st.sampled_from([None, "", "developer", "manager"]),
    "attributes": st.none() | attributes, "email_verified": st.none() | st.booleans(),
    "crm_id": st.sampled_from([None, "", "crm-1", "crm-2"]), "joined_at": st.none() | moments,
})
member_refs = st.fixed_dictionaries({"external_id": member_ids})
contents = st.fixed_dictionaries({"external_id": identifiers(191) | st.integers(0, 2 ** 63)}, optional={
    "topic": st.none() | texts(128), "kind": st.none() | texts(32), "title": st.none() | texts(300),
    "author": st.none() | member_refs,
})
TOP_KEYS = ("source", "event_id", "type", "occurred_at", "member", "target_member", "target_content", "content",
            "text", "metadata")
extra_keys = st.dictionaries(texts(12).filter(lambda k: k not in TOP_KEYS and k != "events"), json_values,
                             max_size=2)


@st.composite
def valid_events(draw, event_id: str | int) -> dict:
    event = draw(st.fixed_dictionaries(
        {"source": st.sampled_from(SOURCES), "type": st.sampled_from(TYPES), "occurred_at": moments,
         "member": members},
        optional={"target_member": st.none() | member_refs, "target_content": st.none() | contents,
                  "content": st.none() | contents, "metadata": st.none() | json_objects,
                  "text": st.none() | texts(300) | st.just("\u00e9" * TEXT_MAX)},
    ))
    event["event_id"] = event_id
    event.update(draw(extra_keys))  # unknown keys are ignored
    if draw(st.booleans()):
        event["member"].update(draw(extra_keys.filter(lambda extra: not set(extra) & {"attributes", "persona"})))
    return event


# ---- mutations: each breaks one field and names the error key it must cause ------------------------------------------

def _long(n: int) -> str:
    return "x" * n


def _many_keys() -> dict:
    return {f"k{i}": i for i in range(JSON_KEYS_MAX + 1)}


WRONG_TYPES = [5, 1.5, True, False, [], {}, ["x"], {"k": 1}]
BAD_TEXTS = ["a\x00b", "\ud800", "x\udfff"]
BAD_MOMENTS = ["", "yesterday", "2026-13-45T00:00:00Z", "2020-01-01T00:00:00", "2020-01-01", "2999-01-01T00:00:00Z",
               (NOW + timedelta(hours=1)).isoformat(), "1969-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00",
               "9999-12-31T23:59:59-14:00", "2020-01-01T00:00:00Z\x00", "\uff12\uff10\uff12\uff10-01-01T00:00:00Z",
               "\ud800", 1700000000, 1.5, True, [], {}]
BAD_JSON = ["x", [1], 5, True, 0, nested(JSON_DEPTH_MAX + 1), "@deep@", {"k": ["@deep@"]}, _many_keys(), {"n": 2 ** 63},
            {"n": -(2 ** 63) - 1}, {"n": 10 ** 400}, {"n": "@1e400@"}, {"n": [1, {"x": "@-1e400@"}]},
            {"n": "@1.5e300@"}, {"\x00": 1}, {"k": "a\x00"}, {"k": "\ud800"}, {"\udfff": 1}, {"a": {"b": ["\x00"]}}]
BAD_CONTENTS = ["c", 5, True, [], [{"external_id": "c"}]]
BAD_CONTENT_FIELDS = [
    ({}, "external_id"), ({"external_id": None}, "external_id"), ({"external_id": ""}, "external_id"),
    ({"external_id": []}, "external_id"), ({"external_id": True}, "external_id"),
    ({"external_id": _long(192)}, "external_id"), ({"external_id": "a\x00"}, "external_id"),
    ({"external_id": "c", "topic": _long(129)}, "topic"), ({"external_id": "c", "topic": 5}, "topic"),
    ({"external_id": "c", "kind": _long(33)}, "kind"), ({"external_id": "c", "kind": []}, "kind"),
    ({"external_id": "c", "title": _long(301)}, "title"), ({"external_id": "c", "title": {}}, "title"),
    ({"external_id": "c", "title": "\ud800"}, "title"),
    ({"external_id": "c", "author": "a"}, "author"), ({"external_id": "c", "author": 5}, "author"),
    ({"external_id": "c", "author": {}}, "author.external_id"),
    ({"external_id": "c", "author": {"external_id": True}}, "author.external_id"),
    ({"external_id": "c", "author": {"external_id": _long(192)}}, "author.external_id"),
    ({"external_id": "c", "author": {"external_id": " "}}, "author.external_id"),
]


def _ref_mutations(name: str) -> list[tuple[Any, str]]:
    return ([(value, name) for value in ["u", 5, True, False, 0, [], [{"external_id": "u"}]]]
            + [(value, f"{name}.external_id") for value in
               [{}, {"external_id": None}, {"external_id": ""}, {"external_id": " \t"}, {"external_id": True},
                {"external_id": 1.5}, {"external_id": _long(192)}, {"external_id": "\x00"}]])


# field -> [(new value, or DELETE; the error key it must cause)]; member.* replace one key inside the member.
MUTATIONS: dict[str, list[tuple[Any, str]]] = {
    "source": [(v, "source") for v in [DELETE, None, "", "   ", "\t\n", *WRONG_TYPES, _long(65), *BAD_TEXTS,
                                       FORUM_SOURCE, SINGLE_INSTANCE_SOURCE]],
    "event_id": [(v, "event_id") for v in [DELETE, None, "", "  ", True, False, 1.5, [], {}, _long(192),
                                           *BAD_TEXTS]],
    "type": [(v, "type") for v in [DELETE, None, "", "nope", "Comment", "inactivity", "comment\x00", 5, [], {}]],
    "occurred_at": [(v, "occurred_at") for v in [DELETE, None, *BAD_MOMENTS]],
    "member": [(v, "member") for v in [DELETE, None, "u-1", 5, True, [], [{"external_id": "u"}]]]
    + [({}, "member.external_id")],
    "member.external_id": [(v, "member.external_id") for v in
                           [DELETE, None, "", "   ", True, 1.5, [], {}, _long(192), *BAD_TEXTS]],
    "member.email": [(v, "member.email") for v in
                     ["not-an-email", "a@", 5, True, [], "a" * 250 + "@example.com", "a\x00@example.com",
                      "\ud800@example.com", "ada@exam ple.com"]],
    "member.name": [(v, "member.name") for v in [5, True, [], {}, _long(201), *BAD_TEXTS]],
    "member.persona": [(v, "member.persona") for v in [5, [], _long(65), "a\x00"]],
    "member.attributes": [(v, "member.attributes") for v in BAD_JSON] + [({"persona": 5}, "member.attributes"), ({"persona": _long(65)}, "member.attributes")],
    "member.email_verified": [(v, "member.email_verified") for v in ["yes", "true", 1, 0, 1.0, [], {}]],
    "member.joined_at": [(v, "member.joined_at") for v in BAD_MOMENTS],
    "member.crm_id": [(v, "member.crm_id") for v in [5, True, [], _long(192), "a\x00"]],
    "target_member": _ref_mutations("target_member"),
    **{name: [(v, name) for v in BAD_CONTENTS] + [(v, f"{name}.{sub}") for v, sub in BAD_CONTENT_FIELDS]
       for name in ("target_content", "content")},
    "text": [(v, "text") for v in [5, True, False, [], {}, _long(TEXT_MAX + 1), *BAD_TEXTS]],
    "metadata": [(v, "metadata") for v in BAD_JSON],
}
NOT_OBJECTS = [None, 5, "event", [], True, 1.5, [{"event_id": "x"}]]


@dataclass
class Item:
    """One item of a body: what was sent, and what the contract says must become of it."""

    raw: Any
    valid: bool
    fields: set[str] = field(default_factory=set)  # the error keys a rejected item must name

    @property
    def key(self) -> tuple[str, str]:
        """(source, event id): the idempotency key, as stored (an integer id as its digits)."""
        return self.raw["source"], str(self.raw["event_id"])


@st.composite
def mutated(draw, event: dict) -> Item:
    """`event` with one to three fields broken, each in another top-level part (the member persona is cleared when
    the attributes' persona is broken: the member's own persona would win over it)."""
    names = draw(st.lists(st.sampled_from(sorted(MUTATIONS)), min_size=1, max_size=3,
                          unique_by=lambda name: name.split(".")[0]))
    event = copy.deepcopy(event)
    fields = set()
    for name in names:
        value, error = draw(st.sampled_from(MUTATIONS[name]))
        _mutate(event, name, value)
        fields.add(error)
    return Item(event, False, fields)


def _mutate(event: dict, name: str, value: Any) -> None:
    """MUTATIONS[name]'s change to `event`, in place."""
    holder, key = (event["member"], name.split(".")[1]) if "." in name else (event, name)
    if value is DELETE:
        holder.pop(key, None)
    else:
        holder[key] = copy.deepcopy(value)
    if key == "attributes" and isinstance(value, dict) and "persona" in value:
        holder["persona"] = None


@st.composite
def batches(draw) -> list[Item]:
    """1-8 items (valid events, mutated ones, non-objects), then up to three copies of earlier events under the same
    (source, event id), inserted anywhere: the same event again, another valid event, or a broken one."""
    prefix = draw(identifiers(40))
    items: list[Item] = []
    for i in range(draw(st.integers(1, 8))):
        event = draw(valid_events(draw(st.sampled_from([f"{prefix}-{i}", 10 ** 6 + i]))))
        kind = draw(st.sampled_from(["valid", "valid", "mutated", "mutated", "not-object"]))
        if kind == "valid":
            items.append(Item(event, True))
        elif kind == "mutated":
            items.append(draw(mutated(event)))
        else:
            items.append(Item(draw(st.sampled_from(NOT_OBJECTS)), False, {"non_field_errors"}))
    copies = st.tuples(st.integers(0, len(items) - 1), st.sampled_from(["same", "other", "broken"]),
                       st.integers(0, len(items)))
    for original, how, at in draw(st.lists(copies, max_size=3)):
        source = items[original]
        if how == "same":
            items.insert(at, copy.deepcopy(source))
        elif source.valid:
            other = draw(valid_events(source.raw["event_id"]))
            other["source"] = source.raw["source"]
            items.insert(at, draw(mutated(other)) if how == "broken" else Item(other, True))
    return items


def named(key: str, field_name: str) -> bool:
    """An error key names the field, or a part of it (member -> member.external_id)."""
    return key == field_name or key.startswith((f"{field_name}.", f"{field_name}["))


def echoed_id(raw: Any) -> str | None:
    """The event_id a rejected result gives back: the event's own when it is a string or an integer (as text)."""
    value = raw.get("event_id") if isinstance(raw, dict) else None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def check_results(items: list[Item], results: list[dict], *, resent: bool) -> None:
    """Each result says what the contract says of its item: created once (duplicate after its first occurrence,
    and always when resent), or rejected with errors naming fields its mutation broke, and no others."""
    assert len(results) == len(items)
    seen: set[tuple[str, str]] = set()
    for item, result in zip(items, results):
        event(f"result {result['status']}")
        if item.valid:
            status = "duplicate" if resent or item.key in seen else "created"
            seen.add(item.key)
            assert result == {"event_id": item.key[1], "status": status, "errors": {}}, (encode(item.raw)[:1000], result)
        else:
            assert result["status"] == "rejected", (item.fields, encode(item.raw)[:1000], result)
            assert result["event_id"] == echoed_id(item.raw), (encode(item.raw)[:1000], result)
            errors = result["errors"]
            assert errors and all(errors.values()), result
            # Shape errors come first (the engine's checks need a readable event), so a body broken in several
            # fields may name only some of them; but it names only fields that were broken.
            stray = [key for key in errors if not any(named(key, f) for f in item.fields)]
            assert not stray, (f"{stray} named, but the fields broken are {item.fields}", encode(item.raw)[:1000])


def stored(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    return {key: Action.objects.filter(source=key[0], external_event_id=key[1]).count() for key in keys}


@pytest.fixture
def ingest(db, keep_test_connection, body_limit):
    """post(body bytes) -> the response, already checked by schemathesis against the served OpenAPI schema: no 5xx,
    a documented status, its content type and its response schema."""
    _, raw = token_issue(name="fuzz-bodies", role="ingest")
    headers = {"Authorization": f"Token {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=headers)
    (operation,) = [op for op in (r.ok() for r in schema.get_all_operations())
                    if op.path == EVENTS_URL and op.method.upper() == "POST"]
    client = Client(application)

    def post(body: bytes):
        response = client.post(EVENTS_URL, data=body, headers=headers, content_type="application/json")
        operation.Case(body={}, media_type="application/json").validate_response(response, checks=CHECKS)
        return response

    return post


def ingest_coverage() -> list[Item]:
    """The coverage case (a hypothesis explicit example, run before the random ones): one batch holding a valid event
    and every single mutation of MUTATIONS applied to a copy of it."""
    base = {"source": "acme-forum", "type": "comment", "occurred_at": "2026-01-05T10:00:00Z",
            "member": {"external_id": "u-1", "email": "ada@example.com", "name": "Ada", "persona": "developer"},
            "target_member": {"external_id": "u-2"}, "target_content": {"external_id": "c-1", "author": {
                "external_id": "u-2"}}, "content": {"external_id": "c-2"}, "text": "Thanks!", "metadata": {"k": 1}}
    items = [Item({**copy.deepcopy(base), "event_id": "coverage-valid"}, True)]
    for name, mutations in MUTATIONS.items():
        for i, (value, error) in enumerate(mutations):
            event = {**copy.deepcopy(base), "event_id": f"coverage-{name}-{i}"}
            _mutate(event, name, value)
            items.append(Item(event, False, {error}))
    return items


@given(items=batches(), single=st.booleans(), ascii_only=st.booleans())
@hypothesis.example(items=ingest_coverage(), single=False, ascii_only=True)
@FUZZ
def test_ingest_answers_every_event_of_a_mutated_batch(ingest, items, single, ascii_only):
    """Batches (or one event) of valid and mutated events: per-event results as the contract says, valid events
    stored exactly once, and the same body again stores nothing."""
    items = items[:1] if single else items
    body = encode(items[0].raw if single else {"events": [item.raw for item in items]}, ascii_only=ascii_only)
    keys = {item.key for item in items if item.valid}
    note(f"body: {body[:3000]!r}")
    with rolled_back():
        before = Action.objects.count()
        response = ingest(body)
        event(f"status {response.status_code}")
        if len(body) > BODY_LIMIT:
            assert response.status_code == 413 and Action.objects.count() == before
            return
        if single and not isinstance(items[0].raw, dict):
            assert response.status_code == 400 and "non_field_errors" in response.get_json()
        else:
            assert response.status_code == (200 if not single else 201 if items[0].valid else 400), response.get_json()
            check_results(items, response.get_json()["results"], resent=False)
        assert stored(keys) == dict.fromkeys(keys, 1) and Action.objects.count() - before == len(keys)

        again = ingest(body)
        assert again.status_code == response.status_code - (1 if response.status_code == 201 else 0)
        if "results" in again.get_json():
            check_results(items, again.get_json()["results"], resent=True)
        assert stored(keys) == dict.fromkeys(keys, 1) and Action.objects.count() - before == len(keys)


# ---- ingest: bodies that cannot be a batch ----------------------------------------------------------------------------

BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80", b"\xe2\x82"]
CORRUPTIONS = [  # (what, replace this, with that): each makes the text invalid JSON
    ("trailing comma", b"}]}", b"},]}"), ("single quotes", b'"source"', b"'source'"),
    ("NaN", b'"type"', b'"nan": NaN, "type"'), ("Infinity", b'"type"', b'"inf": -Infinity, "type"'),
    ("comment", b'{"events"', b'/* c */ {"events"'), ("BOM", b'{"events"', b'\xef\xbb\xbf{"events"'),
    ("two documents", b"}]}", b"}]} {}"), ("unclosed string", b'{"events": [', b'{"events": ["'),
    ("raw newline in a string", b'"source": "', b'"source": "\n'), ("bare word", b'"type"', b'"t": undefined, "type"'),
]
ENVELOPES = [({"events": value}, "events") for value in [5, "x", {}, None, True, [], {"events": []}]] + [
    (value, "non_field_errors") for value in [[], [{"event_id": "x"}], "events", 5, None, True, 1.5]]


@st.composite
def raw_bodies(draw) -> tuple[str, bytes, set[int], set[str]]:
    """(what, body, the statuses it may get, the error keys a field-errors 400 must name): bodies refused whole or
    holding nothing storable; none may store anything."""
    items = draw(batches())
    body = encode({"events": [item.raw for item in items]})
    kind = draw(st.sampled_from(["bad utf-8", "corrupted", "deep", "binary", "envelope", "truncated", "too many",
                                 "over the limit"]))
    if kind == "truncated":  # (cut to nothing, it is no body: read as an empty event, rejected naming its fields)
        cut = draw(st.integers(0, len(body) - 1))
        return kind, body[:cut], {400}, {"non_field_errors"} if cut else {"results"}
    if kind == "bad utf-8":
        at = draw(st.sampled_from([i + 1 for i in range(len(body)) if body[i:i + 1] == b'"']))
        return kind, body[:at] + draw(st.sampled_from(BAD_UTF8)) + body[at:], {400}, {"non_field_errors"}
    if kind == "binary":
        return kind, draw(st.binary(max_size=300)), {400}, set()
    if kind == "corrupted":
        what, old, new = draw(st.sampled_from([c for c in CORRUPTIONS if c[1] in body]))
        return f"{kind}: {what}", body.replace(old, new, 1), {400}, {"non_field_errors"}
    if kind == "envelope":
        value, key = draw(st.sampled_from(ENVELOPES))
        return kind, encode(value), {400}, {key}
    if kind == "too many":
        return kind, encode({"events": [0] * (MAX_BATCH + 1)}), {400}, {"events"}
    if kind == "deep":
        levels = draw(st.integers(JSON_DEPTH_MAX, 5000))
        shape = draw(st.sampled_from(["lists", "objects", "events"]))
        if shape == "lists":
            return f"{kind} {shape}", b"[" * levels + b"]" * levels, {400}, {"non_field_errors"}
        if shape == "objects":  # one event object, nothing but a key "a" nested: rejected
            return f"{kind} {shape}", b'{"a": ' * levels + b"1" + b"}" * levels, {400}, set()
        return f"{kind} {shape}", b'{"events": ' + b"[" * levels + b"]" * levels + b"}", {200, 400}, set()
    padding = BODY_LIMIT + 1 - len(body) + draw(st.integers(0, 1000))
    return kind, body[:-1] + b" " * padding + b"}", {413}, set()


@given(case=raw_bodies())
@FUZZ
def test_ingest_refuses_bodies_that_cannot_be_a_batch_and_stores_nothing(ingest, case):
    """Truncated, invalid UTF-8, random, corrupted, wrongly wrapped, too deep or too large bodies: a documented 400 or
    413 (a batch of non-events: 200, every item rejected), and nothing stored."""
    what, body, statuses, keys = case
    if len(body) > BODY_LIMIT:  # whatever it holds: refused unread
        statuses, keys = {413}, set()
    event(what.split(":")[0])
    note(f"{what}: {body[:3000]!r}")
    with rolled_back():
        before = Action.objects.count()
        response = ingest(body)
        assert response.status_code in statuses, (what, response.status_code, response.get_data()[:500])
        answer = response.get_json()
        if response.status_code == 200:
            assert {r["status"] for r in answer["results"]} == {"rejected"}
        elif response.status_code == 400 and keys:
            assert set(answer) & keys, (what, answer)
        assert Action.objects.count() == before


# ---- Discourse -------------------------------------------------------------------------------------------------------

WEBHOOK_URL = "/integrations/discourse/webhook/"
SECRET = "fuzz-webhook-secret"
INSTANCE_SOURCE = "discourse-fuzz"
EVENTS = ["topic_created", "post_created", "post_liked", "user_created", "accepted_solution", "ping"]
# The answers the webhook documents (forum_integration/views.py, forum_integration/README.md "3. Discourse").
_DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"],
           "additionalProperties": False}
WEBHOOK_RESPONSES = {
    200: {"type": "object", "required": ["status", "detail", "action_id"], "additionalProperties": False,
          "properties": {"status": {"enum": ["recorded", "duplicate", "ignored"]}, "detail": {"type": "string"},
                         "action_id": {"type": ["integer", "null"]}}},
    400: {"type": "object", "minProperties": 1,
          "additionalProperties": {"type": "array", "minItems": 1, "items": {"type": "string"}}},
    401: _DETAIL, 403: _DETAIL, 413: _DETAIL,
}
header_texts = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)
usernames = st.sampled_from(["ada", "bob", "\u00e9l\u00e8ve", "x" * 60]) | identifiers(20)
discourse_ids = st.integers(1, 10 ** 6)
# What a mutation may put in place of a value of the payload, in three kinds drawn evenly (the likeliest trouble
# first in each).
HOSTILE = {
    "text": ["a\x00b", "\ud800", "x" * 20_000, "", " ", "9" * 25, "-5", "\u202e\u200f", "2026-13-45T00:00:00Z",
             "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "private_message"],
    "type": [[], {}, None, True, [1, "a"], {"id": 1}, "@deep@", nested(200), 1.5, "@nan@", "@inf@", "@1e400@", False],
    "number": [2 ** 63, -(2 ** 63) - 1, 10 ** 30, 0, -1, 1, 2, 3, 2 ** 63 - 1],
}
hostile_values = st.sampled_from(sorted(HOSTILE)).flatmap(lambda kind: st.sampled_from(HOSTILE[kind])).map(copy.deepcopy)
_POST_TARGET = ["id", "topic_id", "post_number", "user_id", "name", "username", "category_id", "category_slug"]
# Per top-level key, the fields forum_integration.services.discourse reads ("" is the object itself): most
# mutations land on one of them, present in the payload or not.
READ_FIELDS = {
    "topic": ["", "id", "archetype", "created_by", "created_by.id", "created_by.username", "created_by.name",
              "user_id", "title", "tags", "category_id", "category_slug", "created_at"],
    "post": ["", *_POST_TARGET, "topic_archetype", "post_type", "created_at", "reply_to_post_number", "topic_title",
             "raw", "cooked"],
    "like": ["", "post", "user", "user.id", "user.username", "user.name", *(f"post.{f}" for f in _POST_TARGET)],
    "user": ["", "id", "email", "username", "name", "created_at"],
    "solved": ["", *_POST_TARGET],
    "ping": [""],
}


@st.composite
def discourse_payloads(draw) -> tuple[str, dict, int]:
    """(X-Discourse-Event, body, topic id): a delivery shaped like Discourse's (discourse_payloads.py), under a known
    event name or an unknown one."""
    topic_id, post_id, user_id, other_id = (draw(discourse_ids) for _ in range(4))
    username = draw(usernames)
    post = d.post_object(
        post_id, topic_id, draw(st.integers(1, 6)), user_id, username,
        reply_to_post_number=draw(st.none() | st.integers(1, 6)), raw=draw(texts(300)),
        topic_title=draw(texts(100)), category_id=draw(st.sampled_from([5, 7, None])),
        post_type=draw(st.sampled_from([1, 1, 2, 3, 4])), topic_archetype=draw(st.sampled_from(["regular", "banner"])),
    )
    tags = draw(st.lists(texts(20) | st.fixed_dictionaries({"id": discourse_ids, "name": texts(20)}), max_size=3))
    pick = draw(st.integers(0, 9))  # mostly the scored events; ping and other names too
    name = draw(st.sampled_from(EVENTS[:-1]) if pick < 7 else header_texts if pick == 9
                else st.sampled_from(["ping", "topic_edited", "", " post_created "]))
    bodies = {
        "topic_created": lambda: d.topic(topic_id, user_id, username, title=draw(texts(100)), tags=tags),
        "post_created": lambda: {"post": post},
        "post_liked": lambda: d.like(post, other_id, draw(usernames)),
        "user_created": lambda: d.user(user_id, username, draw(st.sampled_from(["ada@example.com", "", "bad"]))),
        "accepted_solution": lambda: d.solved(post),
        "ping": lambda: {"ping": "OK"},
    }
    body = bodies[name.strip() if name.strip() in bodies else draw(st.sampled_from(EVENTS))]()
    return name, body, topic_id


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place inside a payload: keys of objects, indexes of lists."""
    places = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        places.append((*prefix, key))
        places += _paths(item, (*prefix, key))
    return places


def _holder(body: dict, parents: list) -> dict | list | None:
    """The object or list at `parents` inside `body`; None when an earlier change replaced the way there."""
    holder: Any = body
    for step in parents:
        if isinstance(holder, dict):
            holder = holder.get(step)
        elif isinstance(holder, list) and isinstance(step, int) and step < len(holder):
            holder = holder[step]
        else:
            return None
    return holder if isinstance(holder, (dict, list)) else None


def _read_place(top: str, field_path: str) -> tuple:
    return (top, *field_path.split(".")) if field_path else (top,)


@st.composite
def mutated_payloads(draw, body: dict) -> dict:
    """`body` with zero to three changes: a field the receiver reads (or, one time in eight, any place) set to a
    hostile value or removed, an unknown key added, or the top-level key renamed."""
    body = copy.deepcopy(body)
    for _ in range(draw(st.sampled_from([1, 2, 1, 3, 0]))):
        how = draw(st.sampled_from(["set"] * 6 + ["remove", "remove", "add", "add", "rename"]))
        top = next(iter(body), "")
        if how == "rename":
            body = {draw(st.sampled_from(["topic", "post", "like", "user", "solved", "ping", "", "Post"])): body.get(top)}
            continue
        places = _paths(body)
        if top in READ_FIELDS and (not places or draw(st.integers(0, 7))):
            place = _read_place(top, draw(st.sampled_from(READ_FIELDS[top])))
        elif places:
            place = draw(st.sampled_from(places))
        else:
            continue
        *parents, key = place
        holder = _holder(body, parents)
        if holder is None or isinstance(holder, list) and not (isinstance(key, int) and key < len(holder)):
            continue
        if how == "remove" and isinstance(holder, dict):
            holder.pop(key, None)
        elif how == "add" and isinstance(holder, dict):
            holder[draw(texts(12))] = draw(hostile_values)
        else:
            holder[key] = draw(hostile_values)
    return body


# The coverage cases (hypothesis explicit examples, run before the random ones): in each scored event's payload,
# every field the receiver reads set to the first value of each hostile kind and to more texts, or removed.
COVERAGE_VALUES = [HOSTILE["text"][:3], HOSTILE["text"][3:4], HOSTILE["type"][:3], HOSTILE["number"][:1]]


def discourse_coverage() -> list[tuple[str, dict, int]]:
    post = d.post_object(11, 7, 2, 3, "ada", category_id=9, reply_to_post_number=2)  # category 9: no mapping
    bases = {"topic_created": d.topic(7, 3, "ada", category_id=9), "post_created": {"post": post},
             "post_liked": d.like(post, 4, "bob"), "user_created": d.user(5, "cy", "cy@example.com"),
             "accepted_solution": d.solved(post)}
    cases = []
    for name, base in bases.items():
        top = next(iter(base))
        for field_path in READ_FIELDS[top]:
            for value in [DELETE, *(v for values in COVERAGE_VALUES for v in values)]:
                body = copy.deepcopy(base)
                *parents, key = _read_place(top, field_path)
                holder = _holder(body, parents)
                if value is DELETE:
                    holder.pop(key, None)
                else:
                    holder[key] = copy.deepcopy(value)
                cases.append((name, body, 7))
    return cases


def with_coverage(test):
    """The coverage cases as explicit examples (topic 7's owner known first, except where the case creates it)."""
    for i, case in enumerate(discourse_coverage()):
        test = hypothesis.example(case=case, seed=case[0] != "topic_created", delivery_id=f"coverage-{i}",
                                  ascii_only=True)(test)
    return test


def webhook_headers(body: bytes, event: str, delivery_id: str, *, secret: str | None = SECRET,
                    signature: str | None = None, instance: str | None = d.INSTANCE) -> dict[str, str]:
    """The headers Discourse sends (signed by discourse_payloads.delivery), as HTTP header names."""
    _, meta = d.delivery(None, event, secret, event_id=delivery_id, instance=instance or "", signature=signature,
                         raw=body)
    headers = {key[len("HTTP_"):].replace("_", "-").title(): value for key, value in meta.items()}
    if event == "ping":
        headers.pop("X-Discourse-Event", None)
    if instance is None:
        headers.pop("X-Discourse-Instance")
    return headers


def _counts() -> tuple[int, int, int]:
    return Action.objects.count(), Member.objects.count(), Content.objects.count()


@pytest.fixture
def webhook(db, keep_test_connection, body_limit):
    """post(body bytes, headers) -> the response, checked: no 5xx, a documented status and body."""
    DiscourseInstance.objects.create(base_url=d.INSTANCE, source=INSTANCE_SOURCE, secret=SECRET,
                                     category_topics={"5": "api"})
    client = Client(application)
    validators = {code: Draft202012Validator(schema) for code, schema in WEBHOOK_RESPONSES.items()}

    def post(body: bytes, headers: dict[str, str]):
        response = client.post(WEBHOOK_URL, data=body, headers=headers, content_type="application/json")
        assert response.status_code in validators, (response.status_code, response.get_data()[:2000])
        assert response.mimetype == "application/json"
        errors = [error.message for error in validators[response.status_code].iter_errors(response.get_json())]
        assert not errors, (response.status_code, response.get_json(), errors)
        return response

    return post


@given(case=discourse_payloads().flatmap(lambda c: st.tuples(st.just(c[0]), mutated_payloads(c[1]), st.just(c[2]))),
       seed=st.sampled_from([True, True, False]), delivery_id=st.integers(1, 10 ** 9).map(str) | header_texts,
       ascii_only=st.booleans())
@with_coverage
@FUZZ
def test_discourse_signed_deliveries_are_answered_and_never_double_counted(webhook, case, seed, delivery_id,
                                                                           ascii_only):
    """Correctly signed, mutated deliveries: 200 or 400 with the documented body, a 400 or an ignored one writing
    nothing; a redelivery (same id, then a new id, as Discourse retries) answers the same and stores nothing more."""
    name, payload, topic_id = case
    body = encode(payload, ascii_only=ascii_only)
    note(f"{name!r} {delivery_id!r}: {body[:3000]!r}")
    with rolled_back():
        if seed:  # the topic's owner is known: accepted solutions and replies go further
            topic = encode(d.topic(topic_id, 1, "owner"))
            assert webhook(topic, webhook_headers(topic, "topic_created", "seed")).status_code == 200
        before, rows = Action.objects.count(), _counts()
        first = webhook(body, webhook_headers(body, name, delivery_id))
        event(f"{name if name in EVENTS else 'other'}: {first.status_code} {first.get_json().get('status', '')}")
        if len(body) > BODY_LIMIT:
            assert first.status_code == 413 and Action.objects.count() == before
            return
        assert first.status_code in (200, 400)
        answer = first.get_json()
        recorded = first.status_code == 200 and answer["status"] == "recorded"
        assert Action.objects.count() - before == (1 if recorded else 0), answer
        if first.status_code == 400 or answer["status"] == "ignored":  # refused or ignored: nothing written at all
            assert _counts() == rows, answer
        if first.status_code == 200 and answer["status"] != "ignored":
            assert Action.objects.filter(pk=answer["action_id"], source=INSTANCE_SOURCE).exists(), answer
        for again_id in (delivery_id, f"{delivery_id}-retry"):
            again = webhook(body, webhook_headers(body, name, again_id))
            assert again.status_code == first.status_code, (answer, again.get_json())
            if first.status_code == 200:
                expected = "ignored" if answer["status"] == "ignored" else "duplicate"
                assert again.get_json()["status"] == expected and again.get_json()["action_id"] == answer["action_id"]
            else:
                assert again.get_json() == answer
            assert Action.objects.count() - before == (1 if recorded else 0)


SIGNATURES = ["missing", "empty", "other secret", "other body", "no prefix", "sha1 prefix", "truncated",
              "non-ascii", "good"]
# X-Discourse-Instance: the configured instance, none, or values naming no configured instance.
INSTANCES = st.sampled_from([d.INSTANCE, None, "https://evil.example.com", d.INSTANCE + "\x00", d.INSTANCE + "/x",
                             "x" * 5000, "", " ", "%00", "https://forum.example.com.evil.com"]) | header_texts


@given(case=discourse_payloads().flatmap(lambda c: st.tuples(st.just(c[0]), mutated_payloads(c[1]))),
       how=st.sampled_from(SIGNATURES), instance=INSTANCES, delivery_id=header_texts)
@FUZZ
def test_discourse_unsigned_or_badly_signed_deliveries_store_nothing(webhook, case, how, instance, delivery_id):
    """Deliveries without a valid signature from a configured instance: 401 (no signature) or 403, and nothing
    stored, not even a member."""
    if how == "good" and instance == d.INSTANCE:
        instance = None  # a good signature from the configured instance is the other test's
    name, payload = case
    body = encode(payload)
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    signature = {
        "missing": None, "empty": "", "no prefix": good[len("sha256="):], "sha1 prefix": "sha1=" + good[7:],
        "truncated": good[:-1], "non-ascii": good[:-1] + "\u00e9",
        "other secret": "sha256=" + hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest(),
        "other body": "sha256=" + hmac.new(SECRET.encode(), body + b" ", hashlib.sha256).hexdigest(),
    }.get(how, good)
    headers = webhook_headers(body, name, delivery_id, secret=None, signature=signature, instance=instance)
    if how == "empty":
        headers["X-Discourse-Event-Signature"] = ""
    note(f"{how}: {headers} {body[:2000]!r}")
    with rolled_back():
        before = _counts()
        response = webhook(body, headers)
        assert response.status_code == (401 if how in ("missing", "empty") else 403), how
        assert _counts() == before
