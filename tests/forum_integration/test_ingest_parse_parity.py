"""event_parse and event_errors give exactly what they gave before their fast paths, for any input: each is
checked against its detailed path (the code from before, unchanged: _event_parse_detailed, _event_errors_detailed),
on random, mostly invalid, events (hypothesis) and on every edge value in every field of a valid event."""
import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring.services.events import (
    TEXT_MAX, ContentIn, EventIn, MemberIn, _event_errors_detailed, event_errors,
)
from forum_integration.api.serializers import _event_parse_detailed, event_parse

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
KNOWN = frozenset({"comment", "vote_up", "question"})
FAST = settings(max_examples=500, deadline=None, database=None, suppress_health_check=list(HealthCheck))

# Strings near every limit and every special case the checks know: empty, NUL, the text "\u0000", a lone
# surrogate, non-ASCII (Hangul escapes as \ud55c in json.dumps), U+2028, digits.
LONG = [n * "x" for n in (32, 33, 64, 65, 128, 129, 191, 192, 200, 201, 254, 255, 300, 301)]
SPECIAL = ["", " ", "a", "u-1", "\x00", "a\x00b", "\\u0000", "\\ud800", "\ud800", "x\udfff", "한국", "José",
           "\u2028", "12345678901234567890", "ada@example.com", "not-an-email", "é@example.com",
           "a@b.c\x00", "comment", "vote_up", "Comment", "bench"]
texts = st.sampled_from(SPECIAL + LONG) | st.text(max_size=12)
TIMES = ["2026-11-20T10:00:00Z", "2026-11-20T10:00:00+02:00", "2026-11-20T10:00:00.123456Z", "2026-11-20T10:00:00",
         "2026-11-20", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2026-11-20T12:04:59Z",
         "2026-11-20T12:05:01Z", "2999-01-01T00:00:00Z", "yesterday", "2026-13-01T00:00:00Z", "",
         "2026-11-20T10:00:00\x00"]
scalars = (texts | st.integers(min_value=-(2**70), max_value=2**70) | st.booleans() | st.none()
           | st.floats(allow_nan=True, allow_infinity=True))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(texts, inner, max_size=3), max_leaves=8)
# Keys json.dumps converts (ints, floats, None) and values it refuses (tuples are fine, sets are not).
odd_values = st.sampled_from([{1: "a"}, {None: 1}, {1.5: 2}, {"s": {1, 2}}, {"t": (1, 2)}, [1, 2], ("a",),
                              {"deep": [[[[[[["x"]]]]]]]}, {"big": 10**5000}, {"persona": 5},
                              {"persona": "x" * 65}, {"persona": "dev"}, {"persona": None}])
anything = scalars | json_values | odd_values


def maybe(strategy):
    """A field as clients send it: well formed most of the time, missing or anything else sometimes."""
    return st.one_of(strategy, strategy, strategy, anything, st.just(KeyError))


def obj(**fields):
    return st.fixed_dictionaries({}, optional=fields).map(
        lambda d: {k: v for k, v in d.items() if v is not KeyError})


member_refs = maybe(obj(external_id=maybe(texts | st.integers(-5, 2**65)), name=texts))
members = maybe(obj(external_id=maybe(texts | st.integers(-5, 2**65)), email=maybe(texts), name=maybe(texts),
                    persona=maybe(texts), attributes=maybe(json_values | odd_values),
                    joined_at=maybe(st.sampled_from(TIMES))))
contents = maybe(obj(external_id=maybe(texts | st.integers(-5, 5)), topic=maybe(texts), kind=maybe(texts),
                     title=maybe(texts), author=member_refs))
events = maybe(obj(
    source=maybe(texts), event_id=maybe(texts | st.integers()), type=maybe(st.sampled_from(sorted(KNOWN)) | texts),
    occurred_at=maybe(st.sampled_from(TIMES)), member=members, target_member=member_refs,
    target_content=contents, content=contents, text=maybe(texts), metadata=maybe(json_values | odd_values),
    extra=anything,
))
VALID = {"source": "acme", "event_id": "e-1", "type": "comment", "occurred_at": "2026-11-20T10:00:00Z",
         "member": {"external_id": "u-1", "email": "ada@example.com", "name": "Ada", "persona": "dev",
                    "attributes": {"job_title": "x", "company_size": 500, "tags": ["a"], "f": 1.5}},
         "target_member": {"external_id": "u-2"},
         "target_content": {"external_id": "p-1", "topic": "api", "kind": "post", "title": "T",
                            "author": {"external_id": "u-3"}},
         "content": {"external_id": "q-1"}, "text": "hi", "metadata": {"k": [1, {"n": None}]}}


PATHS = ["source", "event_id", "type", "occurred_at", "member", "member.external_id", "member.email", "member.name",
         "member.persona", "member.joined_at", "member.attributes", "member.attributes.persona", "member.attributes.job_title",
         "target_member", "target_member.external_id", "target_content", "target_content.external_id",
         "target_content.topic", "target_content.kind", "target_content.title", "target_content.author",
         "target_content.author.external_id", "content", "content.external_id", "text", "metadata", "metadata.k"]


def email_of(length: int) -> str:
    """A valid address of exactly `length` characters (labels of at most 63)."""
    labels, rest = [], length - len("a" * 64 + "@" + ".com")
    while rest > 0:
        labels.append("b" * min(63, rest))
        rest -= len(labels[-1]) + 1
    return "a" * 64 + "@" + ".".join(labels) + ".com"


def nested_dict(levels: int) -> dict:
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def nested_list(levels: int) -> list:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


EDGE_VALUES = [*SPECIAL, *LONG, *TIMES, email_of(254), email_of(255), KeyError, None, 0, 1, -1, 2**64, True, 1.5, [],
               ["a"], {}, {"external_id": "u"},
               {"external_id": 5}, {"external_id": ""}, {"k": "\x00"}, {"k": "\\u0000"}, {"k": "\ud800"},
               # the per-event limits (services/events.py): numbers, keys per object, depth, text length
               2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 9.2e18, 9.3e18, float("inf"), float("nan"),
               {"k": 2**63 - 1}, {"k": 2**63}, {"k": [10**400]}, {"k": -1e300}, {"k": float("nan")},
               {"k": {"n": float("-inf")}}, {f"k{i}": i for i in range(100)}, {f"k{i}": i for i in range(101)},
               {"k": {f"k{i}": i for i in range(101)}}, "x" * TEXT_MAX, "x" * (TEXT_MAX + 1),
               nested_dict(19), nested_dict(20), nested_dict(21), {"k": nested_list(19)}, {"k": nested_list(20)}]


def replaced(path, value, base=VALID):
    """`base` with the field at `path` (dotted) replaced, or removed when value is KeyError."""
    event = json.loads(json.dumps(base))
    node = event
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    if value is KeyError:
        node.pop(last, None)
    else:
        node[last] = value
    return event


@st.composite
def near_valid(draw):
    """VALID with one field (possibly nested) replaced or removed: the fast path's edges, one at a time."""
    path = draw(st.sampled_from(PATHS))
    return replaced(path, draw(st.sampled_from(TIMES) if path == "occurred_at" else anything | st.just(KeyError)))


@pytest.mark.parametrize("path", PATHS)
def test_every_edge_value_in_every_field_matches_the_detailed_path(path):
    without_persona = replaced("member.persona", KeyError)  # then attributes.persona counts
    for value in EDGE_VALUES:
        check_event(replaced(path, value))
        check_event(replaced(path, value, without_persona))


def structure(value):
    """A value with its types spelt out (1 vs "1" vs 1.0, the timezone of a datetime, the order of keys)."""
    if dataclasses.is_dataclass(value):
        return type(value).__name__, [structure(getattr(value, f.name)) for f in dataclasses.fields(value)]
    if isinstance(value, dict):
        return type(value).__name__, [(structure(k), structure(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return type(value).__name__, [structure(v) for v in value]
    if isinstance(value, datetime):
        return "datetime", value.isoformat()
    return type(value).__name__, value


def shown(result):
    event, errors = result
    return structure(event), list(errors.items())


def check_event(raw):
    expected = _event_parse_detailed(raw)
    assert shown(event_parse(raw)) == shown(expected)
    if expected[0] is not None:
        event = expected[0]
        for now in (NOW, NOW - timedelta(days=36500)):
            assert list(event_errors(event, known_types=KNOWN, now=now).items()) == list(
                _event_errors_detailed(event, known_types=KNOWN, now=now).items())


@FAST
@given(events)
def test_event_parse_and_errors_match_the_detailed_path(raw):
    check_event(raw)


@FAST
@given(near_valid())
def test_near_valid_events_match_the_detailed_path(raw):
    check_event(raw)


def test_the_valid_event_and_its_known_edge_cases_match_the_detailed_path():
    check_event(VALID)
    for attributes in ({"a": "\\u0000"}, {"a": "\x00"}, {"\x00": 1}, {"a": "\ud800"}, {"a": "한"}, {"a": 2**63},
                       {"a": 2**63 - 1}, {"a": -(2**63)}, {"a": float("nan")}, {"persona": "x" * 64}, {}):
        check_event({**VALID, "member": {"external_id": "u-1", "attributes": attributes}})
        check_event({**VALID, "member": {"external_id": "u-1", "persona": None, "attributes": attributes}})
        check_event({**VALID, "metadata": attributes})


@st.composite
def engine_events(draw):
    """EventIn as any caller of event_errors may build it, not only event_parse: any types in any field."""
    value = texts | anything
    member = st.builds(MemberIn, external_id=value, email=value, name=value, persona=value,
                       attributes=st.none() | json_values | odd_values)
    content = st.builds(ContentIn, external_id=value, topic=value, kind=value, title=value, author_external_id=value)
    at = st.sampled_from([None, NOW, NOW + timedelta(minutes=6), NOW.replace(tzinfo=None),
                          datetime(1969, 12, 31, tzinfo=timezone.utc), datetime(1970, 1, 1, tzinfo=timezone.utc),
                          NOW.astimezone(timezone(timedelta(hours=-5)))])
    return EventIn(source=draw(value), event_id=draw(value), type=draw(st.sampled_from(sorted(KNOWN)) | texts),
                   occurred_at=draw(at), member=draw(st.none() | member), target_member=draw(st.none() | member),
                   target_content=draw(st.none() | content), content=draw(st.none() | content),
                   text=draw(value), metadata=draw(st.none() | json_values | odd_values))


def test_event_errors_matches_the_detailed_path_for_each_odd_field_of_a_valid_event():
    event = _event_parse_detailed(VALID)[0]
    odd = [*EDGE_VALUES, NOW.replace(tzinfo=None), NOW + timedelta(minutes=6), ("a",), {1: "a"}, 10**5000]
    fields = [(event, f.name) for f in dataclasses.fields(EventIn)] + [
        (part, f.name) for part in (event.member, event.target_member, event.target_content, event.content)
        for f in dataclasses.fields(part)]
    for part, name in fields:
        original = getattr(part, name)
        for value in odd:
            setattr(part, name, None if value is KeyError else value)
            try:
                expected = list(_event_errors_detailed(event, known_types=KNOWN, now=NOW).items())
            except Exception as exc:
                with pytest.raises(type(exc)):
                    event_errors(event, known_types=KNOWN, now=NOW)
            else:
                assert list(event_errors(event, known_types=KNOWN, now=NOW).items()) == expected, (name, value)
        setattr(part, name, original)


@FAST
@given(engine_events())
def test_event_errors_matches_the_detailed_path_for_any_event(event):
    try:
        expected = list(_event_errors_detailed(event, known_types=KNOWN, now=NOW).items())
    except Exception as exc:  # e.g. an unhashable type: both must fail alike
        with pytest.raises(type(exc)):
            event_errors(event, known_types=KNOWN, now=NOW)
        return
    assert list(event_errors(event, known_types=KNOWN, now=NOW).items()) == expected
