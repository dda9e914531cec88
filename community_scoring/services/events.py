"""Platform events as the engine takes them (EventIn and its parts) and their validation (event_errors).

services.ingest stores what passes; forum_integration.api parses JSON into these. A bad event is rejected
alone, with errors by field (dotted for nested fields), and never reaches the database.

Per-event limits (the constants below are the one place they are set; the API serializers and docs read them):
`member.attributes` and `metadata` nest at most JSON_DEPTH_MAX levels (the object itself is level 1, each
object or list inside one more), each of their objects has at most JSON_KEYS_MAX keys, and every number in
them lies in NUMBER_RANGE (int64; a float must also be finite); `text` is at most TEXT_MAX characters.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from community_scoring.scoring.ruleset import INACTIVITY

MAX_BATCH = 1000
# Clocks drift: an event a little in the future is accepted, further is rejected.
FUTURE_TOLERANCE = timedelta(minutes=5)
JSON_DEPTH_MAX = 20  # levels of objects and lists in attributes/metadata, the outer object included
JSON_KEYS_MAX = 100  # keys of any one object in attributes/metadata
NUMBER_RANGE = (-(2 ** 63), 2 ** 63 - 1)  # any number in attributes/metadata (what PostgreSQL and float() take)
TEXT_MAX = 65_536  # characters of an event's text
EARLIEST = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)  # older timestamps are typos (and overflow day arithmetic)

CREATED, DUPLICATE, REJECTED = "created", "duplicate", "rejected"


@dataclass(slots=True)
class MemberIn:
    """A member as the platform names it; None = not given (leave the stored value as is)."""

    external_id: str
    email: str | None = None
    name: str | None = None
    persona: str | None = None
    attributes: dict[str, Any] | None = None
    crm_id: str | None = None  # the CRM's id of the person: identities with one crm_id are one member
    email_verified: bool = False  # the source verified `email`: identities with one verified email are one member
    joined_at: datetime | None = None  # when the account was created on the source (its age: gaming.selectors)


@dataclass(slots=True)
class ContentIn:
    external_id: str
    topic: str | None = None
    kind: str | None = None
    title: str | None = None
    author_external_id: str | None = None


@dataclass(slots=True)
class EventIn:
    """One platform event. `target_content` is what was acted on; `content` is what the event created."""

    source: str
    event_id: str
    type: str
    occurred_at: datetime | None
    member: MemberIn | None
    target_member: MemberIn | None = None
    target_content: ContentIn | None = None
    content: ContentIn | None = None
    text: str = ""
    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class IngestResult:
    event_id: str
    status: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    action_id: int | None = None


# Column limits of the tables the batch writes (a too-long value must be rejected, not fail the statement).
_LIMITS = {"source": 64, "event_id": 191, "external_id": 191, "email": 254, "name": 200, "persona": 64, "crm_id": 191,
           "topic": 128, "kind": 32, "title": 300}


def _blank_error(value: str) -> str | None:
    """Identifiers (source, event id, external id) must say something: only spaces is no name."""
    return "must not be blank" if value.isspace() else None


def _text_error(value: Any, limit: int | None) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if limit is not None and len(value) > limit:
        return f"at most {limit} characters"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode"
    if "\x00" in value:
        return "must not contain NUL characters"
    return None


text_error = _text_error  # the same check under a public name, for the other intakes (outcomes)


def member_name_error(value: Any) -> str | None:
    """What is wrong with a member's name (member.name's check), for adapters that write a name the event has no
    room for (a Discourse post's author); None when it can be stored."""
    return _text_error(value, _LIMITS["name"])


def _path_join(path: str, key: Any) -> str:
    key = str(key)
    return (f"{path}.{key}" if path else key)[:200]


def json_limits_error(value: dict | list) -> str | None:
    """The first per-event limit that attributes or metadata break (depth, keys per object, number range),
    naming where inside; None when within. Walks at most JSON_DEPTH_MAX levels, so any depth is safe to check."""
    low, high = NUMBER_RANGE
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > JSON_DEPTH_MAX:
            return f"nested deeper than {JSON_DEPTH_MAX} levels"
        if isinstance(node, dict):
            if len(node) > JSON_KEYS_MAX:
                return f"{path + ': ' if path else ''}more than {JSON_KEYS_MAX} keys"
            items = [(_path_join(path, key), item) for key, item in node.items()]
        else:
            items = [(f"{path}[{i}]"[:200], item) for i, item in enumerate(node)]
        for item_path, item in reversed(items):  # the stack pops them in their order
            if isinstance(item, (dict, list, tuple)):
                stack.append((item, depth + 1, item_path))
            elif isinstance(item, (int, float)) and not isinstance(item, bool) and not low <= item <= high:
                return (f"{item_path}: number out of range: numbers must lie within {low}..{high} "
                        "(int64; floats finite)")
    return None


def _json_error(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "must be an object"
    limit = json_limits_error(value)
    if limit:
        return limit
    try:
        dumped = json.dumps(value)
    except (TypeError, ValueError):
        return "must be JSON"
    if "\\u0000" in dumped:
        return "must not contain NUL characters"
    # Lone surrogates survive json.dumps as escapes but PostgreSQL's jsonb refuses them.
    if "\\ud" in dumped:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode"
    return None


@lru_cache(maxsize=65536)
def _email_valid(email: str) -> bool:
    """Django's email validation, remembered: the same members' emails arrive batch after batch."""
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def _moment_error(value: Any, now: datetime) -> str | None:
    """What is wrong with a timestamp an event gives (occurred_at, member.joined_at); None when it is fine."""
    if not isinstance(value, datetime):
        return "must be an ISO 8601 timestamp"
    if timezone.is_naive(value):
        return "must include a timezone"
    if value > now + FUTURE_TOLERANCE:
        return "is in the future"
    if value < EARLIEST:
        return "is before 1970"
    return None


def _member_errors(prefix: str, member: MemberIn, errors: dict[str, list[str]], *, full: bool,
                   now: datetime) -> None:
    def add(name: str, msg: str | None) -> None:
        if msg:
            errors.setdefault(f"{prefix}.{name}", []).append(msg)

    if not member.external_id:
        add("external_id", "required")
    else:
        add("external_id", _text_error(member.external_id, _LIMITS["external_id"]) or _blank_error(member.external_id))
    if not full:
        return
    if member.email:
        error = _text_error(member.email, _LIMITS["email"])
        if error is None:
            if not _email_valid(member.email):
                error = "is not a valid email address"
        add("email", error)
    if member.name is not None:
        add("name", _text_error(member.name, _LIMITS["name"]))
    if member.persona is not None:
        add("persona", _text_error(member.persona, _LIMITS["persona"]))
    if member.crm_id is not None:
        add("crm_id", _text_error(member.crm_id, _LIMITS["crm_id"]))
    if type(member.email_verified) is not bool:
        add("email_verified", "must be true or false")
    if member.joined_at is not None:
        add("joined_at", _moment_error(member.joined_at, now))
    if member.attributes is not None:
        add("attributes", _json_error(member.attributes))
        persona = member.attributes.get("persona") if isinstance(member.attributes, dict) else None
        if persona is not None and member.persona is None:
            add("attributes", None if isinstance(persona, str) and len(persona) <= _LIMITS["persona"]
                else f"persona must be a string of at most {_LIMITS['persona']} characters")


# ContentIn's fields by the name the event gives them (the author is a member reference: author.external_id).
_CONTENT_FIELDS = {"external_id": "external_id", "topic": "topic", "kind": "kind", "title": "title",
                   "author_external_id": "author.external_id"}


def _content_errors(prefix: str, content: ContentIn, errors: dict[str, list[str]]) -> None:
    if not content.external_id:
        errors.setdefault(f"{prefix}.external_id", []).append("required")
    for name, given_as in _CONTENT_FIELDS.items():
        value = getattr(content, name)
        if value is None or (name == "external_id" and not value):
            continue
        msg = _text_error(value, _LIMITS.get(name, _LIMITS["external_id"]))
        if msg is None and name == "author_external_id":  # a member's id, like member.external_id
            msg = _blank_error(value)
        if msg:
            errors.setdefault(f"{prefix}.{given_as}", []).append(msg)


def event_errors(event: EventIn, *, known_types: set[str] | frozenset[str], now: datetime) -> dict[str, list[str]]:
    """Everything wrong with one event, by field (dotted for nested fields); empty when it can be stored."""
    if _event_plain(event, known_types, now):
        return {}
    return _event_errors_detailed(event, known_types=known_types, now=now)


# _LIMITS as plain names for the fast path, which reads them for every event.
_SOURCE_MAX, _EVENT_ID_MAX, _EXTERNAL_ID_MAX = _LIMITS["source"], _LIMITS["event_id"], _LIMITS["external_id"]
_EMAIL_MAX, _NAME_MAX, _PERSONA_MAX, _CRM_ID_MAX = _LIMITS["email"], _LIMITS["name"], _LIMITS["persona"], _LIMITS["crm_id"]
_TOPIC_MAX, _KIND_MAX, _TITLE_MAX = _LIMITS["topic"], _LIMITS["kind"], _LIMITS["title"]
_PLAIN_DEPTH = 4  # deeper attributes/metadata take the detailed check (which also meets cycles and odd types)
assert _PLAIN_DEPTH < JSON_DEPTH_MAX  # so the fast path never needs to check depth itself
_NUMBER_LOW, _NUMBER_HIGH = NUMBER_RANGE


def _json_plain(value: Any, texts: list[str], depth: int = 0) -> bool:
    """True when json.dumps takes the dict or list `value` as it is (str keys; str, int, float, bool, None, list
    and dict values) and it is within the per-event limits (json_limits_error). Its strings go to `texts`, which
    the caller checks for NUL and lone surrogates as _text_error and _json_error do. False means: let
    _json_error decide."""
    if depth > _PLAIN_DEPTH:
        return False
    if type(value) is dict:
        if len(value) > JSON_KEYS_MAX:
            return False
        for key in value:
            if type(key) is not str:
                return False
            texts.append(key)
        items = value.values()
    elif type(value) is list:
        items = value
    else:
        return False
    for item in items:
        kind = type(item)
        if kind is str:
            texts.append(item)
        elif kind is int or kind is float:
            if not _NUMBER_LOW <= item <= _NUMBER_HIGH:  # NaN fails too
                return False
        elif not (item is None or kind is bool or _json_plain(item, texts, depth + 1)):
            return False
    return True


def _event_plain(event: EventIn, known_types: set[str] | frozenset[str], now: datetime) -> bool:
    """True when _event_errors_detailed would find nothing, decided in few steps for the common event (exact
    types, strings within their limits); False sends the event to the detailed checks for its exact errors."""
    source, event_id, kind, at, member = event.source, event.event_id, event.type, event.occurred_at, event.member
    if not (type(source) is str and source and len(source) <= _SOURCE_MAX and not source.isspace()
            and type(event_id) is str and event_id and len(event_id) <= _EVENT_ID_MAX and not event_id.isspace()
            and type(kind) is str and kind and kind in known_types and kind != INACTIVITY
            and type(at) is datetime and at.utcoffset() is not None and EARLIEST <= at <= now + FUTURE_TOLERANCE
            and type(member) is MemberIn):
        return False
    external_id, email, name, persona, attributes = (member.external_id, member.email, member.name,
                                                     member.persona, member.attributes)
    if type(member.email_verified) is not bool:
        return False
    joined_at = member.joined_at
    if joined_at is not None and not (type(joined_at) is datetime and joined_at.utcoffset() is not None
                                      and EARLIEST <= joined_at <= now + FUTURE_TOLERANCE):
        return False
    if not (type(external_id) is str and external_id and len(external_id) <= _EXTERNAL_ID_MAX
            and not external_id.isspace()):
        return False
    texts = [source, event_id, external_id]
    if member.crm_id is not None:
        if not (type(member.crm_id) is str and len(member.crm_id) <= _CRM_ID_MAX):
            return False
        texts.append(member.crm_id)
    if email:
        if not (type(email) is str and len(email) <= _EMAIL_MAX):
            return False
        texts.append(email)
    if name is not None:
        if not (type(name) is str and len(name) <= _NAME_MAX):
            return False
        texts.append(name)
    if persona is not None:
        if not (type(persona) is str and len(persona) <= _PERSONA_MAX):
            return False
        texts.append(persona)
    if attributes is not None:
        if type(attributes) is not dict or not _json_plain(attributes, texts):
            return False
        attribute_persona = attributes.get("persona")
        if persona is None and attribute_persona is not None and not (
                isinstance(attribute_persona, str) and len(attribute_persona) <= _PERSONA_MAX):
            return False
    target_member = event.target_member
    if target_member is not None:
        if type(target_member) is not MemberIn:
            return False
        external_id = target_member.external_id
        if not (type(external_id) is str and external_id and len(external_id) <= _EXTERNAL_ID_MAX
                and not external_id.isspace()):
            return False
        texts.append(external_id)
    for content in (event.target_content, event.content):
        if content is None:
            continue
        if type(content) is not ContentIn:
            return False
        external_id, topic, kind, title, author = (content.external_id, content.topic, content.kind,
                                                   content.title, content.author_external_id)
        if not (type(external_id) is str and external_id and len(external_id) <= _EXTERNAL_ID_MAX
                and (topic is None or (type(topic) is str and len(topic) <= _TOPIC_MAX))
                and (kind is None or (type(kind) is str and len(kind) <= _KIND_MAX))
                and (title is None or (type(title) is str and len(title) <= _TITLE_MAX))
                and (author is None or (type(author) is str and len(author) <= _EXTERNAL_ID_MAX
                                        and not author.isspace()))):
            return False
        texts.append(external_id)
        if topic is not None:
            texts.append(topic)
        if kind is not None:
            texts.append(kind)
        if title is not None:
            texts.append(title)
        if author is not None:
            texts.append(author)
    text, metadata = event.text, event.metadata
    if text:
        if type(text) is not str or len(text) > TEXT_MAX:
            return False
        texts.append(text)
    if metadata and (type(metadata) is not dict or not _json_plain(metadata, texts)):
        return False
    joined = "".join(texts)
    # No NUL (nor the text "\u0000", which _json_error's search of json.dumps output also meets), and no lone
    # surrogate (UTF-8 refuses them, string by string or joined).
    if "\x00" in joined or "\\u0000" in joined:
        return False
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return not email or _email_valid(email)


def _event_errors_detailed(event: EventIn, *, known_types: set[str] | frozenset[str],
                           now: datetime) -> dict[str, list[str]]:
    """event_errors for any event: every check, each error in a stable order."""
    errors: dict[str, list[str]] = {}
    for name, value in (("source", event.source), ("event_id", event.event_id)):
        msg = "required" if not value else _text_error(value, _LIMITS[name]) or _blank_error(value)
        if msg:
            errors[name] = [msg]
    if not event.type:
        errors["type"] = ["required"]
    elif event.type == INACTIVITY:
        errors["type"] = [f"{INACTIVITY!r} is recorded by the engine itself (the inactivity penalty), not posted"]
    elif event.type not in known_types:
        errors["type"] = [f"unknown action type {event.type!r}"]
    if event.occurred_at is None:
        errors["occurred_at"] = ["required"]
    else:
        msg = _moment_error(event.occurred_at, now)
        if msg:
            errors["occurred_at"] = [msg]
    if event.member is None:
        errors["member"] = ["required"]
    else:
        _member_errors("member", event.member, errors, full=True, now=now)
    if event.target_member is not None:
        _member_errors("target_member", event.target_member, errors, full=False, now=now)
    if event.target_content is not None:
        _content_errors("target_content", event.target_content, errors)
    if event.content is not None:
        _content_errors("content", event.content, errors)
    msg = _text_error(event.text or "", TEXT_MAX)
    if msg:
        errors["text"] = [msg]
    if event.metadata:
        msg = _json_error(event.metadata)
        if msg:
            errors["metadata"] = [msg]
    return errors
