"""The public ingest contract: DRF serializers describe it (OpenAPI, reference validation); `event_parse` reads it fast.

A batch of 1,000 events through nested DRF serializers costs more than storing it (see bench/ingest.py), so
the view parses with `event_parse`, a direct reading of the same contract into the engine's `EventIn`; the
tests check both accept and reject the same inputs. Business rules (known type, timestamp not in the future,
lengths) are the engine's: `community_scoring.services.events.event_errors`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework import serializers

from community_scoring.moments import moment_parse
from community_scoring.services.events import (
    JSON_DEPTH_MAX, JSON_KEYS_MAX, MAX_BATCH, NUMBER_RANGE, TEXT_MAX, ContentIn, EventIn, MemberIn,
    json_limits_error,
)


def _json_within_limits(value: dict) -> None:
    error = json_limits_error(value)
    if error:
        raise serializers.ValidationError(error)


_JSON_LIMITS = (f"At most {JSON_DEPTH_MAX} levels deep (this object is level 1), {JSON_KEYS_MAX} keys per object, "
                f"numbers within {NUMBER_RANGE[0]}..{NUMBER_RANGE[1]} (floats finite); beyond, the event is rejected.")


class MemberInSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=191, help_text="The member's id on the platform.")
    email = serializers.EmailField(required=False, allow_null=True, allow_blank=True)
    name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    persona = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64,
                                    help_text="Persona or segment (may also come as attributes.persona).")
    attributes = serializers.DictField(required=False, allow_null=True, validators=[_json_within_limits],
                                       help_text="job_title, company_size, industry... (merged into stored ones). "
                                                 + _JSON_LIMITS)
    email_verified = serializers.BooleanField(
        required=False, default=False,
        help_text="The platform verified `email` (default false). Identities with the same verified email, on any "
                  "source, are one member.")
    crm_id = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=191,
        help_text="The person's id in your CRM. Identities with the same crm_id, on any source, are one member.")
    joined_at = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="When the account was created on the platform (ISO 8601 with a timezone; not in the future). "
                  "An account's age counts from it, or from its first action when earlier or not given: vote-ring "
                  "detection looks at young accounts.")


class MemberRefSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=191)


class ContentInSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=191)
    topic = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=128)
    kind = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=32)
    title = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=300)
    author = MemberRefSerializer(required=False, allow_null=True,
                                 help_text="Who wrote it; lets later events omit target_member.")


class EventSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=64, help_text="The platform, e.g. acme-forum.")
    event_id = serializers.CharField(max_length=191, help_text="Unique per source: the idempotency key.")
    type = serializers.CharField(help_text="An action type key: vote_up, question, answer, comment, follow...")
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a timezone; not in the future.")
    member = MemberInSerializer(help_text="Who acted; created or updated.")
    target_member = MemberRefSerializer(required=False, allow_null=True,
                                        help_text="Who was acted on; defaults to target_content's author.")
    target_content = ContentInSerializer(required=False, allow_null=True, help_text="What was acted on.")
    content = ContentInSerializer(required=False, allow_null=True,
                                  help_text="Content this event created (authored by member), e.g. the question.")
    text = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False,
                                 max_length=TEXT_MAX)
    metadata = serializers.DictField(required=False, allow_null=True, validators=[_json_within_limits],
                                     help_text=_JSON_LIMITS)


class EventBatchSerializer(serializers.Serializer):
    events = EventSerializer(many=True, max_length=MAX_BATCH, allow_empty=False)


class IngestResultSerializer(serializers.Serializer):
    event_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["created", "duplicate", "rejected"])
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class IngestResponseSerializer(serializers.Serializer):
    results = IngestResultSerializer(many=True)


# --- the fast reading of the same contract ---

_MISSING = object()


def _id(value: Any) -> str | None:
    """Ids may be strings or integers (many platforms use numeric ids); anything else is invalid."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def event_id_given(raw: Any) -> str | None:
    """The event id a raw event gives, as its result says it back: text (an integer id as its digits), else None."""
    return _id(raw.get("event_id")) if isinstance(raw, dict) else None


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
    verified = raw.get("email_verified", False)
    if verified is None:
        verified = False
    if type(verified) is not bool:
        errors[f"{prefix}email_verified"] = ["must be true or false"]
        verified = False
    joined_at = raw.get("joined_at")
    if joined_at == "":
        errors[f"{prefix}joined_at"] = ["must be an ISO 8601 timestamp, e.g. 2026-11-20T10:00:00Z, or null"]
        joined_at = None
    elif joined_at is not None:
        joined_at = _timestamp(joined_at, errors, f"{prefix}joined_at")
    return MemberIn(external_id=external_id, email=_opt_str(raw, "email", prefix, errors),
                    name=_opt_str(raw, "name", prefix, errors), persona=_opt_str(raw, "persona", prefix, errors),
                    attributes=attributes, crm_id=_opt_str(raw, "crm_id", prefix, errors), email_verified=verified,
                    joined_at=joined_at)


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


def _timestamp(value: Any, errors: dict, name: str = "occurred_at") -> datetime | None:
    if value is None or value == "":
        errors[name] = ["required"]
        return None
    if not isinstance(value, str):
        errors[name] = ["must be an ISO 8601 timestamp string"]
        return None
    try:
        return moment_parse(value)
    except ValueError:
        errors[name] = [f"bad timestamp {value[:40]!r}: expected ISO 8601, e.g. 2026-11-20T10:00:00Z"]
        return None


def event_parse(raw: Any) -> tuple[EventIn | None, dict[str, list[str]]]:
    """One event of the public contract -> EventIn, or the shape errors by field (nested fields dotted)."""
    event = _event_parse_plain(raw)
    if event is not None:
        return event, {}
    return _event_parse_detailed(raw)


def _member_plain(raw: Any) -> MemberIn | None:
    """`member` as _member(full=True) reads it when it has nothing to report, else None."""
    if type(raw) is not dict:
        return None
    external_id = raw.get("external_id")
    if type(external_id) is not str or not external_id:
        return None
    if len(raw) == 1:
        return MemberIn(external_id)
    email, name, persona, attributes = raw.get("email"), raw.get("name"), raw.get("persona"), raw.get("attributes")
    crm_id, verified, joined_at = raw.get("crm_id"), raw.get("email_verified"), raw.get("joined_at")
    if joined_at is not None:
        if type(joined_at) is not str or not joined_at:
            return None
        try:
            joined_at = moment_parse(joined_at)
        except ValueError:
            return None
    if ((email is None or isinstance(email, str)) and (name is None or isinstance(name, str))
            and (persona is None or isinstance(persona, str)) and (attributes is None or isinstance(attributes, dict))
            and (crm_id is None or isinstance(crm_id, str)) and (verified is None or type(verified) is bool)):
        return MemberIn(external_id, email, name, persona, attributes, crm_id, bool(verified), joined_at)
    return None


def _ref_plain(raw: Any) -> str | None:
    """The external_id of a member reference as _member(full=False) reads it when valid, else None."""
    if type(raw) is dict:
        external_id = raw.get("external_id")
        if type(external_id) is str and external_id:
            return external_id
    return None


def _content_plain(raw: Any) -> ContentIn | None:
    """Content as _content reads it when it has nothing to report, else None."""
    if type(raw) is not dict:
        return None
    external_id = raw.get("external_id")
    if type(external_id) is not str or not external_id:
        return None
    topic, kind, title, author = raw.get("topic"), raw.get("kind"), raw.get("title"), raw.get("author")
    if author is not None:
        author = _ref_plain(author)
        if author is None:
            return None
    if ((topic is None or isinstance(topic, str)) and (kind is None or isinstance(kind, str))
            and (title is None or isinstance(title, str))):
        return ContentIn(external_id, topic, kind, title, author)
    return None


def _event_parse_plain(raw: Any) -> EventIn | None:
    """The common event (string ids, every part well formed) read in few steps; None sends it to the detailed
    reading, which gives the same EventIn or the errors. The parity test holds the two together."""
    if type(raw) is not dict:
        return None
    get = raw.get
    source, event_id, kind, occurred_at = get("source"), get("event_id"), get("type"), get("occurred_at")
    if not (type(source) is str and source and type(event_id) is str and event_id and type(kind) is str and kind
            and type(occurred_at) is str and occurred_at):
        return None
    try:
        at = moment_parse(occurred_at)
    except ValueError:
        return None
    member = _member_plain(get("member"))
    if member is None:
        return None
    target_member = get("target_member")
    if target_member is not None:
        target_member = _ref_plain(target_member)
        if target_member is None:
            return None
        target_member = MemberIn(target_member)
    target_content = get("target_content")
    if target_content is not None:
        target_content = _content_plain(target_content)
        if target_content is None:
            return None
    content = get("content")
    if content is not None:
        content = _content_plain(content)
        if content is None:
            return None
    text, metadata = get("text"), get("metadata")
    if not ((text is None or isinstance(text, str)) and (metadata is None or isinstance(metadata, dict))):
        return None
    return EventIn(source, event_id, kind, at, member, target_member, target_content, content, text or "", metadata)


def _event_parse_detailed(raw: Any) -> tuple[EventIn | None, dict[str, list[str]]]:
    """event_parse for any input: every shape error, by field, in a stable order."""
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
