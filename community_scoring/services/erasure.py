"""Member erasure (a privacy request): the person's personal data and texts erased, their activity kept anonymous.

``member_erase`` does, for the member (the person) and every identity merged into it, in one transaction:

- each identity becomes an anonymous shell: email, name, crm_id, persona, attributes and the user link blanked,
  the external id replaced by a random token (ERASED_PREFIX + 16 hex digits, not derived from the old id),
  ``erased_at`` set. A linked Django user is anonymised and deactivated (kept, since other rows refer to users);
- the texts they wrote (Action.text), their contents' titles and their outcomes' reasons are blanked, their
  actions' metadata keeps only the keys the engine reads (METADATA_KEPT) and their event ids are replaced.
  Platform adapters erase their own rows through the ``member_erased`` signal (the bundled forum: post titles
  and bodies, its polls' choice labels, poll response texts);
- each text's sentiment is kept: texts not scored yet are scored first (the influence text types, as the next
  run would score them) and TextSentiment rows stay;
- actions, buckets, scores and influence rows stay with the shell, so every other member's interest, influence,
  rank and received sentiment are unchanged. This is why erasure does not set ``is_excluded``: excluded members
  do not count in influence ranks and percentiles, so excluding the shell would move everyone else's;
- webhook deliveries about them lose the email and external id, and those not sent yet are cancelled; no webhook
  names a shell again (services.interest, influence.recompute);
- the shell's interest is recomputed from the log (its persona and attributes are gone);
- a MemberErasure row records who asked, when, which identities and how many rows, with no personal data.

The shell is left out of the member list and its export, lookups, the audience view (404) and every leaderboard.
Aggregates (stage funnel, community days, standings) keep counting it, as they keep counting its past actions.
Erasing again returns the first record unchanged.

When the source sends the erased id again, the door (``events_erased_screen``, called by services.ingest) knows it
only by the SHA-256 of (source, external id), kept in ErasedIdentity with the shell it became:
- an event by an erased identity is rejected (field ``member.external_id``) and nothing of it is stored;
- an event by someone else naming it as target member or content author is stored against the shell, and a
  title for a content of the shell's is dropped, so the other member's action counts as before.
Whoever can read the database and knows a person's old id can find their shell through ErasedIdentity; drop that
row to cut the link (their later mentions then create a new, empty identity).
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.dispatch import Signal
from django.utils import timezone

from community_scoring.influence.models import TextSentiment
from community_scoring.influence.selectors import influence_config_load
from community_scoring.influence.store import influence_store
from community_scoring.influence.text_sentiment import sentiment_score_rows
from community_scoring.models import Action, Content, ErasedIdentity, Member, MemberErasure
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.identity import identities_of, person_of
from community_scoring.services.recompute import interest_members_refresh
from community_scoring.webhooks.models import WebhookDelivery

ERASED_PREFIX = "erased-"
# Action metadata an erasure keeps: the content an event made, explicit ratings (a poll answer's sentiment, kept
# as text sentiment is) and the engine's own inactivity record. Everything else a platform sent is dropped.
METADATA_KEPT = frozenset({"content", "sentiment", "rating", "scale", "nps", "inactive_days", "last_activity_at"})
ERASED_ACTOR_ERROR = "this member was erased at their request: events by them are not recorded"
_CHUNK = 5000

# Sent inside the erasure's transaction with identity_ids=[...]; a receiver (a platform adapter) erases its own
# rows of those identities and returns {kind: rows erased}, added to the erasure's counts.
member_erased = Signal()


def identity_digest(source: str, external_id: str) -> str:
    """How the door recognises an erased identity: sha256 of "source NUL external id" (NUL is never valid in
    either), hex."""
    return hashlib.sha256(f"{source}\x00{external_id}".encode()).hexdigest()


def member_erase(*, member_id: int, requested_by: str, now: datetime | None = None) -> MemberErasure:
    """Erase the person an identity id belongs to (see the module docstring); returns the audit record, the
    first one when the person was erased already. Raises Member.DoesNotExist for an unknown id."""
    person = person_of(member_id)
    if person is None:
        raise Member.DoesNotExist(f"no member with id {member_id}")
    now = now or timezone.now()
    with transaction.atomic():
        ids = identities_of([person])
        identities = list(Member.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        done = MemberErasure.objects.filter(member_id=person).first()
        if done is not None:
            return done
        counts = {"identities": len(identities), "texts_scored": _texts_score(ids)}
        counts.update(_log_erase(ids))
        tokens = {m.pk: f"{ERASED_PREFIX}{secrets.token_hex(8)}" for m in identities}
        counts["webhook_deliveries"] = _deliveries_scrub(ids, token=tokens[person])
        counts["users"] = _users_anonymise(identities, tokens)
        ErasedIdentity.objects.bulk_create(
            [ErasedIdentity(digest=identity_digest(m.source, m.external_id), member_id=m.pk, erased_at=now)
             for m in identities if not m.erased_at], ignore_conflicts=True)
        for m in identities:
            m.email, m.email_verified, m.display_name, m.crm_id, m.persona, m.attributes = "", False, "", "", "", {}
            m.user, m.external_id = None, tokens[m.pk]
            m.erased_at, m.updated_at = m.erased_at or now, now
        Member.objects.bulk_update(identities, ["email", "email_verified", "display_name", "crm_id", "persona",
                                                "attributes", "user", "external_id", "erased_at", "updated_at"])
        for _, response in member_erased.send(sender=MemberErasure, identity_ids=ids):
            counts.update(response or {})
        # Persona and attributes are gone: the shell's own interest follows the log again (others' do not move).
        interest_members_refresh(member_ids=[person], now=now)
        return MemberErasure.objects.create(member_id=person, identity_ids=ids, requested_by=requested_by[:150],
                                            requested_at=now, counts=counts)


def _texts_score(ids: Sequence[int]) -> int:
    """Score the texts of these identities no run has scored yet, before they are blanked: the sentiment stays."""
    text_types = list(influence_config_load().text_types)
    if not text_types:
        return 0
    store = influence_store()
    unscored = (Action.objects.filter(member_id__in=ids, action_type_id__in=text_types).exclude(text="")
                .exclude(pk__in=TextSentiment.objects.filter(member_id__in=ids).values("action_id"))
                .order_by("pk").values_list("id", "text", "member_id", "target_member_id", "occurred_at"))
    total, after = 0, 0
    while rows := list(unscored.filter(pk__gt=after)[:_CHUNK]):
        total += sentiment_score_rows(store=store, rows=rows)
        after = rows[-1][0]
    return total


def _log_erase(ids: Sequence[int]) -> dict[str, int]:
    """Blank the texts and titles of these identities (outcome reasons: the outcomes app, on member_erased), trim their actions' metadata and replace their
    event ids (a platform may build them from the person's ids; the door refuses the person's events anyway)."""
    texts = Action.objects.filter(member_id__in=ids).exclude(text="").update(text="")
    event_ids = (Action.objects.filter(member_id__in=ids).exclude(external_event_id__startswith=ERASED_PREFIX)
                 .update(external_event_id=Concat(Value(f"{ERASED_PREFIX}action-"), Cast("pk", CharField()))))
    trimmed = 0
    actions = Action.objects.filter(member_id__in=ids).exclude(metadata={}).order_by("pk").only("pk", "metadata")
    after = 0
    while chunk := list(actions.filter(pk__gt=after)[:_CHUNK]):
        after = chunk[-1].pk
        changed = [a for a in chunk if set(a.metadata) - METADATA_KEPT]
        for action in changed:
            action.metadata = {k: v for k, v in action.metadata.items() if k in METADATA_KEPT}
        trimmed += len(changed)
        Action.objects.bulk_update(changed, ["metadata"])
    titles = (Content.objects.filter(Q(author_id__in=ids) | Q(author_identity_id__in=ids)).exclude(title="")
              .update(title=""))
    return {"action_texts": texts, "action_event_ids": event_ids, "action_metadata": trimmed,
            "content_titles": titles}


def _deliveries_scrub(ids: Sequence[int], *, token: str) -> int:
    """Webhook payloads about these identities keep no email or external id; deliveries not sent yet are cancelled
    (what they would say is now anonymous). Returns how many payloads were rewritten."""
    open_states = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING)
    changed = []
    for delivery in WebhookDelivery.objects.filter(payload__member_id__in=list(ids)).select_for_update():
        payload = dict(delivery.payload)
        for key, blank in (("email", ""), ("external_id", token)):
            if key in payload:
                payload[key] = blank
        delivery.payload = payload
        if delivery.status in open_states:
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
            delivery.last_error = "cancelled: the member was erased"
        changed.append(delivery)
    WebhookDelivery.objects.bulk_update(changed, ["payload", "status", "next_attempt_at", "last_error"])
    return len(changed)


def _users_anonymise(identities: Sequence[Member], tokens: dict[int, str]) -> int:
    """Django users linked to these identities: names and email blanked, username replaced, deactivated (they are
    kept rather than deleted: admin history and configuration changes refer to users)."""
    user_model = get_user_model()
    users = user_model.objects.filter(pk__in=[m.user_id for m in identities if m.user_id])
    by_user = {m.user_id: tokens[m.pk] for m in identities if m.user_id}
    for user in users:
        setattr(user, user_model.USERNAME_FIELD, by_user[user.pk])
        for name in ("first_name", "last_name", "email"):
            if hasattr(user, name):
                setattr(user, name, "")
        user.is_active = False
        user.set_unusable_password()
        user.save()
    return len(by_user)


def events_erased_screen(accepted: list[tuple[int, EventIn]]
                         ) -> tuple[list[tuple[int, EventIn]], dict[int, dict[str, list[str]]]]:
    """The door's rule for erased identities (module docstring): the events to store, with targets and content
    authors naming an erased identity pointed at its shell (and such contents' titles dropped), and the errors of
    the events rejected because an erased identity did them, by position. One cheap query when nobody was ever
    erased; otherwise up to three per batch."""
    if not accepted or not ErasedIdentity.objects.exists():
        return accepted, {}
    named: dict[tuple[str, str], str] = {}
    tokens: set[tuple[str, str]] = set()
    for _, event in accepted:
        for external_id in _named_ids(event):
            key = (event.source, external_id)
            if key not in named:
                named[key] = identity_digest(*key)
                if external_id.startswith(ERASED_PREFIX):
                    tokens.add(key)
    shells = dict(ErasedIdentity.objects.filter(digest__in=set(named.values()))
                  .values_list("digest", "member__external_id"))
    erased = {key: shells[digest] for key, digest in named.items() if digest in shells}
    erased.update({key: key[1] for key in _shell_tokens(tokens)})
    kept, rejected = [], {}
    for position, event in accepted:
        if (event.source, event.member.external_id) in erased:
            rejected[position] = {"member.external_id": [ERASED_ACTOR_ERROR]}
        else:
            kept.append((position, event))
    titled = _shell_contents(event for _, event in kept)
    if not erased and not titled:
        return kept, rejected
    return [(position, _event_anonymised(event, erased, titled)) for position, event in kept], rejected


def _named_ids(event: EventIn) -> list[str]:
    ids = [event.member.external_id]
    if event.target_member is not None:
        ids.append(event.target_member.external_id)
    ids += [c.author_external_id for c in (event.target_content, event.content)
            if c is not None and c.author_external_id]
    return ids


def _shell_tokens(keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (source, external id) are shells' own tokens (an adapter naming the shell as it now is)."""
    if not keys:
        return set()
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    match = Q()
    for source, external_ids in by_source.items():
        match |= Q(source=source, external_id__in=external_ids)
    return set(Member.objects.filter(match, erased_at__isnull=False).values_list("source", "external_id"))


def _shell_contents(events: Any) -> set[tuple[str, str]]:
    """The (source, external id) of contents these events give a title that belong to an erased member."""
    by_source: dict[str, set[str]] = {}
    for event in events:
        for content in (event.target_content, event.content):
            if content is not None and content.title is not None:
                by_source.setdefault(event.source, set()).add(content.external_id)
    if not by_source:
        return set()
    match = Q()
    for source, external_ids in by_source.items():
        match |= Q(source=source, external_id__in=external_ids)
    return set(Content.objects.filter(match, author__erased_at__isnull=False).values_list("source", "external_id"))


def _event_anonymised(event: EventIn, erased: dict[tuple[str, str], str | None],
                      titled: set[tuple[str, str]]) -> EventIn:
    """The event with erased identities it names as target or author replaced by their shells (no shell left:
    not named), and no title for their contents."""
    changes: dict[str, Any] = {}
    target = event.target_member
    if target is not None and (event.source, target.external_id) in erased:
        shell = erased[(event.source, target.external_id)]
        changes["target_member"] = None if shell is None else MemberIn(external_id=shell)
    for name in ("target_content", "content"):
        content = getattr(event, name)
        if content is None:
            continue
        author = content.author_external_id
        if author and (event.source, author) in erased:
            changes[name] = replace(content, author_external_id=erased[(event.source, author)], title=None)
        elif content.title is not None and (event.source, content.external_id) in titled:
            changes[name] = replace(content, title=None)
    return replace(event, **changes) if changes else event
