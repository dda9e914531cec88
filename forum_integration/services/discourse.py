"""Discourse webhooks -> actions: each delivery becomes one event (EventIn) handed to the engine's door,
`actions_ingest`, whose per-event result becomes the DiscourseOutcome (or a 400 naming the refused fields).

Discourse POSTs `{"<event type>": <serialized object>}` with headers X-Discourse-Instance (its base URL),
X-Discourse-Event (topic_created, post_created...), X-Discourse-Event-Type (topic, post, like, user, solved,
ping), X-Discourse-Event-Id and, when a secret is set, X-Discourse-Event-Signature = "sha256=" + hex
HMAC-SHA256 of the raw body. A failed delivery is retried as a new event with a new id and the same body,
so the action's idempotency key is what happened, never the delivery id:

| event             | action                    | actor -> target                                    | event id            |
|-------------------|---------------------------|----------------------------------------------------|---------------------|
| topic_created     | question                  | topic creator, topic = category                    | question:topic:<t>  |
| post_created #1   | question (same as above)  | poster                                             | question:topic:<t>  |
| post_created #n   | answer (reply to topic)   | poster -> the topic and its author                 | post:<post id>      |
|                   | comment (reply to post r) | poster -> post r and its author (else the topic's) | post:<post id>      |
| post_liked        | vote_up                   | liker -> the post and its author                   | like:<post>:<liker> |
| user_created      | signup                    | the new user                                       | signup:<user id>    |
| accepted_solution | solved                    | topic owner (acceptor) -> the post's author        | solved:<post id>    |

The source (and so the member namespace) is the instance's `source`, e.g. "discourse-acme". Content ids:
"topic:<t>" for a topic and its first post, "topic:<t>/post:<n>" for later posts, so replies (which name
`reply_to_post_number`) find their parent without another table. Private messages, moderator/small-action
posts and system users (id < 1) are ignored.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.html import strip_tags

from community_scoring.moments import moment_parse
from community_scoring.selectors.contents import action_id_find, content_find
from community_scoring.services.errors import ActionRejected
from community_scoring.services.events import (
    CREATED, EARLIEST, NUMBER_RANGE, REJECTED, ContentIn, EventIn, MemberIn, member_name_error, text_error,
)
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.members import member_upsert
from forum_integration.models import DiscourseInstance

SINGLE_INSTANCE_SOURCE = "discourse"
IGNORED_POST_TYPES = {2, 3}  # moderator_action, small_action ("closed this topic"...)


class DiscoursePayloadError(ValueError):
    """A delivery whose body lacks what its event needs; `field` names the missing or bad field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DiscourseReceiver:
    """Where a delivery's actions go and how it is verified."""

    source: str
    secret: str
    category_topics: dict[str, str] = field(default_factory=dict)
    verifies_emails: bool = False  # the instance confirms its users' emails (DiscourseInstance.verifies_emails)


@dataclass(frozen=True)
class DiscourseOutcome:
    status: str  # recorded | duplicate | ignored
    detail: str = ""
    action_id: int | None = None


def discourse_receiver_for(*, instance_url: str) -> DiscourseReceiver | None:
    """The configured receiver for an X-Discourse-Instance value: an admin-configured instance, else the
    single-instance DISCOURSE_WEBHOOK_SECRET; None when neither applies (the delivery is refused)."""
    url = (instance_url or "").strip().rstrip("/")
    if url and "\x00" not in url:  # no stored URL holds a NUL (and PostgreSQL takes none in a query)
        instance = DiscourseInstance.objects.filter(base_url__in=[url, url + "/"], is_active=True).first()
        if instance is None:
            instance = DiscourseInstance.objects.filter(base_url__iexact=url, is_active=True).first()
        if instance is not None:
            mapping = instance.category_topics if isinstance(instance.category_topics, dict) else {}
            topics = {str(k): str(v) for k, v in mapping.items()}
            return DiscourseReceiver(source=instance.source, secret=instance.secret, category_topics=topics,
                                     verifies_emails=instance.verifies_emails)
    if settings.DISCOURSE_WEBHOOK_SECRET:
        return DiscourseReceiver(source=SINGLE_INSTANCE_SOURCE, secret=settings.DISCOURSE_WEBHOOK_SECRET)
    return None


def discourse_signature_valid(*, secret: str, body: bytes, signature: str) -> bool:
    """Discourse signs with "sha256=" + lowercase hex HMAC-SHA256(secret, raw body); compare in constant time.
    Any header text is an answer, never an error: compare_digest refuses non-ASCII str, so bytes are compared."""
    if not secret or not signature.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    given = signature[len("sha256="):].strip().lower().encode("ascii", "backslashreplace")
    return hmac.compare_digest(expected, given)


def _require(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict):
        raise DiscoursePayloadError(where, "must be an object")
    value = obj.get(key)
    if value is None or value == "":
        raise DiscoursePayloadError(f"{where}.{key}", "required")
    return value


def _int(obj: dict, key: str, where: str) -> int:
    """An id or number of the payload: an integer (or its digits) within the range events take (NUMBER_RANGE)."""
    value = _require(obj, key, where)
    if isinstance(value, str) and len(value) <= 20 and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not NUMBER_RANGE[0] <= value <= NUMBER_RANGE[1]:
        raise DiscoursePayloadError(f"{where}.{key}", "must be an integer within the 64-bit range")
    return value


def _opt_int(obj: dict, key: str, where: str) -> int | None:
    return None if obj.get(key) in (None, "") else _int(obj, key, where)


def _when(value: Any) -> datetime:
    """Discourse's created_at, clamped to now (a fast Discourse clock must not make the action 'future')."""
    now = timezone.now()
    if isinstance(value, str):
        try:
            parsed = moment_parse(value)
        except ValueError:
            return now
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, dt_timezone.utc)
        return now if parsed < EARLIEST else min(parsed, now)
    return now


def tag_names(tags: Any) -> list[str]:
    """Topic tags: plain names (older Discourse) or {"id", "name", "slug"} objects (newer); both -> names."""
    names = []
    for tag in tags or []:
        if isinstance(tag, str):
            names.append(tag)
        elif isinstance(tag, dict) and (tag.get("name") or tag.get("slug")):
            names.append(str(tag.get("name") or tag.get("slug")))
    return names


def _category_topic(obj: dict, receiver: DiscourseReceiver, where: str) -> str:
    category_id = obj.get("category_id")
    if category_id in (None, ""):
        return ""
    slug = obj.get("category_slug")
    if slug is not None and not isinstance(slug, str):
        raise DiscoursePayloadError(f"{where}.category_slug", "must be a string")
    return (receiver.category_topics.get(str(category_id)) or slug or f"category-{category_id}")[:128]


def _member_in(user_id: int, *, username: Any = None, name: Any = None, email: Any = None,
               verified: bool = False) -> MemberIn:
    return MemberIn(external_id=str(user_id), email=email or None, name=name or username or None,
                    email_verified=bool(email) and verified)


def _post_content_id(topic_id: int, post_number: int) -> str:
    return f"topic:{topic_id}" if post_number <= 1 else f"topic:{topic_id}/post:{post_number}"


def _post_text(post: dict) -> str:
    raw = post.get("raw")
    if isinstance(raw, str) and raw:
        return raw
    cooked = post.get("cooked")
    return strip_tags(cooked).strip() if isinstance(cooked, str) else ""


def _ingest(receiver: DiscourseReceiver, detail: str, *, event_id: str, action_type: str, member: MemberIn,
            occurred_at: datetime, **parts: Any) -> DiscourseOutcome:
    """Hand the delivery's one event to the engine and say what became of it: recorded or duplicate (with the
    action's id); a refused event raises ActionRejected with its fields (the webhook answers 400)."""
    (result,) = actions_ingest(events=[EventIn(source=receiver.source, event_id=event_id, type=action_type,
                                               occurred_at=occurred_at, member=member, **parts)])
    if result.status == REJECTED:
        raise ActionRejected(result.errors)
    action_id = result.action_id
    if action_id is None:
        action_id = action_id_find(source=receiver.source, external_event_id=event_id)
    return DiscourseOutcome(status="recorded" if result.status == CREATED else "duplicate", detail=detail,
                            action_id=action_id)


def _topic_question(receiver: DiscourseReceiver, *, topic_id: int, author: MemberIn, title: str, topic: str,
                    occurred_at: datetime, metadata: dict) -> DiscourseOutcome:
    return _ingest(
        receiver, f"question in topic {topic_id}", event_id=f"question:topic:{topic_id}", action_type="question",
        member=author, occurred_at=occurred_at, text=title or "", metadata=metadata,
        content=ContentIn(external_id=f"topic:{topic_id}", topic=topic or None, kind="question",
                          title=(title or None) and title[:300]),
    )


def _on_topic_created(receiver: DiscourseReceiver, payload: dict, meta: dict) -> DiscourseOutcome:
    topic = _require(payload, "topic", "body")
    topic_id = _int(topic, "id", "topic")
    if topic.get("archetype") == "private_message":
        return DiscourseOutcome("ignored", "private message")
    creator = topic.get("created_by") if isinstance(topic.get("created_by"), dict) else {}
    user_id = _int(creator, "id", "topic.created_by") if creator.get("id") is not None else _int(topic, "user_id", "topic")
    if user_id < 1:
        return DiscourseOutcome("ignored", "system user")
    author = _member_in(user_id, username=creator.get("username"), name=creator.get("name"))
    if topic.get("tags") is not None and not isinstance(topic["tags"], list):
        raise DiscoursePayloadError("topic.tags", "must be a list")
    tags = tag_names(topic.get("tags"))
    return _topic_question(
        receiver, topic_id=topic_id, author=author, title=str(topic.get("title") or ""),
        topic=_category_topic(topic, receiver, "topic"),
        occurred_at=_when(topic.get("created_at")), metadata={**meta, "topic_id": topic_id, "tags": tags},
    )


def _on_post_created(receiver: DiscourseReceiver, payload: dict, meta: dict) -> DiscourseOutcome:
    post = _require(payload, "post", "body")
    post_id = _int(post, "id", "post")
    topic_id = _int(post, "topic_id", "post")
    post_number = _int(post, "post_number", "post")
    user_id = _int(post, "user_id", "post")
    if post.get("topic_archetype") == "private_message":
        return DiscourseOutcome("ignored", "private message")
    if _opt_int(post, "post_type", "post") in IGNORED_POST_TYPES:
        return DiscourseOutcome("ignored", "moderator or small-action post")
    if user_id < 1:
        return DiscourseOutcome("ignored", "system user")
    author = _member_in(user_id, username=post.get("username"), name=post.get("name"))
    topic = _category_topic(post, receiver, "post")
    meta = {**meta, "topic_id": topic_id, "post_id": post_id, "post_number": post_number}
    if post_number <= 1:
        return _topic_question(receiver, topic_id=topic_id, author=author, title=str(post.get("topic_title") or ""),
                               topic=topic, occurred_at=_when(post.get("created_at")), metadata=meta)

    reply_to = _opt_int(post, "reply_to_post_number", "post")
    parent = None
    if reply_to is not None and reply_to > 1:
        parent = content_find(source=receiver.source, external_id=_post_content_id(topic_id, reply_to))
        action_type = "comment"
    else:
        action_type = "answer"
    if parent is None or parent.author_id is None:
        # The reply's target is the topic's first post (and its author) when the replied-to post is unknown.
        target = ContentIn(external_id=f"topic:{topic_id}", topic=topic or None,
                           title=(post.get("topic_title") or None) and str(post["topic_title"])[:300])
    else:
        target = ContentIn(external_id=parent.external_id, topic=topic or None)
    return _ingest(
        receiver, f"{action_type} {post_id}", event_id=f"post:{post_id}", action_type=action_type, member=author,
        occurred_at=_when(post.get("created_at")), target_content=target,
        content=ContentIn(external_id=_post_content_id(topic_id, post_number), topic=topic or None, kind=action_type),
        text=_post_text(post), metadata={**meta, "reply_to_post_number": reply_to},
    )


@dataclass(frozen=True)
class _PostTarget:
    """A liked or accepted post as the engine's content, with its author."""

    content: ContentIn
    author_id: int
    author_name: str | None
    post_id: int
    topic_id: int


def _post_target(receiver: DiscourseReceiver, post: dict, where: str) -> _PostTarget:
    post_id = _int(post, "id", where)
    topic_id = _int(post, "topic_id", where)
    post_number = _int(post, "post_number", where)
    user_id = _int(post, "user_id", where)
    content = ContentIn(external_id=_post_content_id(topic_id, post_number), author_external_id=str(user_id),
                        topic=_category_topic(post, receiver, where) or None,
                        kind="question" if post_number <= 1 else None)
    name_field = "name" if post.get("name") else "username"
    author_name = post.get(name_field) or None
    if not isinstance(author_name, str):
        author_name = None
    elif error := member_name_error(author_name):
        raise DiscoursePayloadError(f"{where}.{name_field}", error)
    return _PostTarget(content, user_id, author_name, post_id, topic_id)


def _author_name(receiver: DiscourseReceiver, target: _PostTarget) -> None:
    """The post author's name, which the payload gives and the event has no room for (the event names a content's
    author by id alone). A member is no action: this writes the member only, once the event is stored (a refused
    delivery writes nothing)."""
    if isinstance(target.author_name, str):
        member_upsert(source=receiver.source, external_id=str(target.author_id), display_name=target.author_name)


def _on_post_liked(receiver: DiscourseReceiver, payload: dict, meta: dict) -> DiscourseOutcome:
    like = _require(payload, "like", "body")
    post = _require(like, "post", "like")
    user = _require(like, "user", "like")
    liker_id = _int(user, "id", "like.user")
    if liker_id < 1:
        return DiscourseOutcome("ignored", "system user")
    target = _post_target(receiver, post, "like.post")
    outcome = _ingest(
        receiver, f"like of post {target.post_id}", event_id=f"like:{target.post_id}:{liker_id}",
        action_type="vote_up", member=_member_in(liker_id, username=user.get("username"), name=user.get("name")),
        occurred_at=timezone.now(), target_content=target.content,
        metadata={**meta, "topic_id": target.topic_id, "post_id": target.post_id},
    )
    _author_name(receiver, target)
    return outcome


def _on_user_created(receiver: DiscourseReceiver, payload: dict, meta: dict) -> DiscourseOutcome:
    user = _require(payload, "user", "body")
    user_id = _int(user, "id", "user")
    if user_id < 1:
        return DiscourseOutcome("ignored", "system user")
    email = user.get("email") if isinstance(user.get("email"), str) else None
    return _ingest(
        receiver, f"signup of user {user_id}", event_id=f"signup:{user_id}", action_type="signup",
        member=_member_in(user_id, username=user.get("username"), name=user.get("name"), email=email,
                          verified=receiver.verifies_emails),
        occurred_at=_when(user.get("created_at")), metadata={**meta, "username": user.get("username")},
    )


def _on_accepted_solution(receiver: DiscourseReceiver, payload: dict, meta: dict) -> DiscourseOutcome:
    post = _require(payload, "solved", "body")
    target = _post_target(receiver, post, "solved")
    topic = content_find(source=receiver.source, external_id=f"topic:{target.topic_id}")
    if topic is None or topic.author is None:
        # The payload names only the accepted post; who accepted it is the topic owner, known from topic_created.
        return DiscourseOutcome("ignored", f"owner of topic {target.topic_id} unknown (no topic_created seen)")
    outcome = _ingest(
        receiver, f"solution {target.post_id} accepted", event_id=f"solved:{target.post_id}", action_type="solved",
        member=MemberIn(external_id=topic.author.external_id), occurred_at=timezone.now(),
        target_member=MemberIn(external_id=str(target.author_id)), target_content=target.content,
        metadata={**meta, "topic_id": target.topic_id, "post_id": target.post_id},
    )
    _author_name(receiver, target)
    return outcome


HANDLERS = {
    "topic_created": _on_topic_created,
    "post_created": _on_post_created,
    "post_liked": _on_post_liked,
    "user_created": _on_user_created,
    "accepted_solution": _on_accepted_solution,
}


def discourse_event_receive(*, receiver: DiscourseReceiver, event: str, payload: dict,
                            delivery_id: str = "") -> DiscourseOutcome:
    """Record the action a verified delivery describes; unknown events are acknowledged and ignored."""
    if event == "ping" or payload.get("ping") == "OK":
        return DiscourseOutcome("ignored", "pong")
    handler = HANDLERS.get(event)
    if handler is None:
        return DiscourseOutcome("ignored", f"event {event or '(none)'} is not scored")
    meta = {"discourse_event": event}
    if delivery_id:
        error = text_error(delivery_id, None)  # kept in the action's metadata: refused there as `metadata` otherwise
        if error:
            raise DiscoursePayloadError("X-Discourse-Event-Id", error)
        meta["discourse_event_id"] = delivery_id
    return handler(receiver, payload, meta)
