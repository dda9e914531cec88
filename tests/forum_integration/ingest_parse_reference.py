"""event_parse and event_errors as they were before their fast paths (commit 920302e), kept verbatim as the
reference the parity tests hold the fast code to. Not used by the application."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.utils import timezone

from community_scoring.services.actions import FUTURE_TOLERANCE
from community_scoring.services.events import (
    _LIMITS, EARLIEST, ContentIn, EventIn, MemberIn, _email_valid,
)


_MISSING = object()


def _id(value: Any) -> str | None:
    """Ids may be strings or integers (many platforms use numeric ids); anything else is invalid."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _opt_str(raw: dict, name: str, prefix: str, errors: dict) -> str | None:
    value = raw.get(name)
    if value is None or isinstance(value, str):
        return value
    errors[f"{prefix}{name}"] = ["must be a string"]
    return None


def _member(raw: Any, prefix: str, errors: dict, *, full: bool) -> MemberIn | None:
    if not isinstance(raw, dict):
        errors[prefix.rstrip(".")] = ["must be an object with an external_id"]
        return None
    external_id = _id(raw.get("external_id", _MISSING))
    if external_id is None or external_id == "":
        errors[f"{prefix}external_id"] = ["required" if raw.get("external_id") in (None, "") else
                                          "must be a string or an integer"]
        return None
    if not full:
        return MemberIn(external_id=external_id)
    attributes = raw.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        errors[f"{prefix}attributes"] = ["must be an object"]
        attributes = None
    return MemberIn(external_id=external_id, email=_opt_str(raw, "email", prefix, errors),
                    name=_opt_str(raw, "name", prefix, errors), persona=_opt_str(raw, "persona", prefix, errors),
                    attributes=attributes)


def _content(raw: Any, prefix: str, errors: dict) -> ContentIn | None:
    if not isinstance(raw, dict):
        errors[prefix.rstrip(".")] = ["must be an object with an external_id"]
        return None
    external_id = _id(raw.get("external_id"))
    if not external_id:
        errors[f"{prefix}external_id"] = ["required" if raw.get("external_id") in (None, "") else
                                          "must be a string or an integer"]
        return None
    author = raw.get("author")
    author_id = None
    if author is not None:
        ref = _member(author, f"{prefix}author.", errors, full=False)
        author_id = ref.external_id if ref else None
    return ContentIn(external_id=external_id, topic=_opt_str(raw, "topic", prefix, errors),
                     kind=_opt_str(raw, "kind", prefix, errors), title=_opt_str(raw, "title", prefix, errors),
                     author_external_id=author_id)


def _timestamp(value: Any, errors: dict) -> datetime | None:
    if value is None or value == "":
        errors["occurred_at"] = ["required"]
        return None
    if not isinstance(value, str):
        errors["occurred_at"] = ["must be an ISO 8601 timestamp string"]
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        errors["occurred_at"] = [f"bad timestamp {value[:40]!r}: expected ISO 8601, e.g. 2026-11-20T10:00:00Z"]
        return None


def event_parse(raw: Any) -> tuple[EventIn | None, dict[str, list[str]]]:
    """One event of the public contract -> EventIn, or the shape errors by field (nested fields dotted)."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["each event must be a JSON object"]}
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name in ("source", "event_id", "type"):
        value = raw.get(name)
        text = _id(value) if name == "event_id" else (value if isinstance(value, str) else None)
        if value is None or value == "":
            errors[name] = ["required"]
        elif text is None:
            errors[name] = ["must be a string"]
        else:
            values[name] = text
    occurred_at = _timestamp(raw.get("occurred_at"), errors)
    member = _member(raw["member"], "member.", errors, full=True) if raw.get("member") is not None else None
    if raw.get("member") is None:
        errors["member"] = ["required"]
    target_member = (_member(raw["target_member"], "target_member.", errors, full=False)
                     if raw.get("target_member") is not None else None)
    target_content = (_content(raw["target_content"], "target_content.", errors)
                      if raw.get("target_content") is not None else None)
    content = _content(raw["content"], "content.", errors) if raw.get("content") is not None else None
    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        errors["text"] = ["must be a string"]
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        errors["metadata"] = ["must be an object"]
    if errors:
        return None, errors
    return EventIn(
        source=values["source"], event_id=values["event_id"], type=values["type"], occurred_at=occurred_at,
        member=member, target_member=target_member, target_content=target_content, content=content,
        text=text or "", metadata=metadata,
    ), {}


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


def _json_error(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "must be an object"
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


def _member_errors(prefix: str, member: MemberIn, errors: dict[str, list[str]], *, full: bool) -> None:
    def add(name: str, msg: str | None) -> None:
        if msg:
            errors.setdefault(f"{prefix}.{name}", []).append(msg)

    if not member.external_id:
        add("external_id", "required")
    else:
        add("external_id", _text_error(member.external_id, _LIMITS["external_id"]))
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
    if member.attributes is not None:
        add("attributes", _json_error(member.attributes))
        persona = member.attributes.get("persona") if isinstance(member.attributes, dict) else None
        if persona is not None and member.persona is None:
            add("attributes", None if isinstance(persona, str) and len(persona) <= _LIMITS["persona"]
                else f"persona must be a string of at most {_LIMITS['persona']} characters")


def _content_errors(prefix: str, content: ContentIn, errors: dict[str, list[str]]) -> None:
    if not content.external_id:
        errors.setdefault(f"{prefix}.external_id", []).append("required")
    for name in ("external_id", "topic", "kind", "title", "author_external_id"):
        value = getattr(content, name)
        if value is None or (name == "external_id" and not value):
            continue
        msg = _text_error(value, _LIMITS.get(name, _LIMITS["external_id"]))
        if msg:
            errors.setdefault(f"{prefix}.{name}", []).append(msg)


def event_errors(event: EventIn, *, known_types: set[str] | frozenset[str], now: datetime) -> dict[str, list[str]]:
    """Everything wrong with one event, by field (dotted for nested fields); empty when it can be stored."""
    errors: dict[str, list[str]] = {}
    for name, value in (("source", event.source), ("event_id", event.event_id)):
        msg = "required" if not value else _text_error(value, _LIMITS[name])
        if msg:
            errors[name] = [msg]
    if not event.type:
        errors["type"] = ["required"]
    elif event.type not in known_types:
        errors["type"] = [f"unknown action type {event.type!r}"]
    if event.occurred_at is None:
        errors["occurred_at"] = ["required"]
    elif timezone.is_naive(event.occurred_at):
        errors["occurred_at"] = ["must include a timezone"]
    elif event.occurred_at > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = ["is in the future"]
    elif event.occurred_at < EARLIEST:
        errors["occurred_at"] = ["is before 1970"]
    if event.member is None:
        errors["member"] = ["required"]
    else:
        _member_errors("member", event.member, errors, full=True)
    if event.target_member is not None:
        _member_errors("target_member", event.target_member, errors, full=False)
    if event.target_content is not None:
        _content_errors("target_content", event.target_content, errors)
    if event.content is not None:
        _content_errors("content", event.content, errors)
    msg = _text_error(event.text or "", None)
    if msg:
        errors["text"] = [msg]
    if event.metadata:
        msg = _json_error(event.metadata)
        if msg:
            errors["metadata"] = [msg]
    return errors

