"""One person, one member: identities merged into the member they belong to, and split off again.

An identity is a Member row: one (source, external id), with what that source says of the person (email and
whether it verified it, crm_id, name). A member is the identity others are merged into (``merged_into`` empty);
it carries the person's actions, contents, scores, persona and attributes. The rules:

- identities with the same ``crm_id``, or the same email verified by their sources (compared case-insensitively),
  are one member: ``members_link`` merges them as they arrive, into the oldest member;
- an admin may merge members by hand (``members_merge``) and split an identity off (``member_unmerge``). An
  unmerge is remembered (MergeBlock): the identities it separated are never merged again automatically;
- every action keeps the identities it named (Action.identity, target_identity; Content.author_identity, where
  they differ from the member), so an unmerge gives each identity exactly what it brought;
- after a merge or an unmerge the members' interest is recomputed from the log, and their influence with the
  next run (one is requested): no action is counted twice, none is lost.

Apps that keep per-person records of their own (outcomes) move them when told: ``members_merged`` and
``member_unmerged`` are sent inside the transaction, after the log has moved. The engine never imports them.

A merge holds every interest scorer partition while it moves actions, so no scorer counts an action for the old
member while the recompute counts it for the new one (services.interest_queue).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import Signal

from community_scoring.influence.models import InfluenceScore
from community_scoring.influence.services import influence_run_request_once
from community_scoring.models import (
    Action, Content, InterestBucket, InterestScore, InterestTopic, Member, MergeBlock, ScoreSnapshot, StageTransition,
)
from community_scoring.selectors.identity import identities_sharing, identities_unlinked
from community_scoring.services.interest_queue import scorers_hold
from community_scoring.services.recompute import interest_recompute
from community_scoring.tasks import members_link_task

logger = logging.getLogger(__name__)


# Sent inside a merge's or an unmerge's transaction, once actions have moved and interest is recomputed:
# members_merged(into=member id, merged=[member ids merged into it]); member_unmerged(identity=id, member=id left).
members_merged = Signal()
member_unmerged = Signal()


class IdentityError(ValueError):
    """A merge or unmerge that cannot be done; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def person_of(member_id: int) -> int | None:
    """The member an identity belongs to (itself unless merged); None if there is no such identity."""
    row = Member.objects.filter(pk=member_id).values_list("pk", "merged_into_id").first()
    return None if row is None else (row[1] or row[0])


def identities_of(person_ids: Iterable[int]) -> list[int]:
    """Every identity of these members (the members themselves included), in id order."""
    ids = list(person_ids)
    return sorted(Member.objects.filter(Q(pk__in=ids) | Q(merged_into_id__in=ids)).values_list("pk", flat=True))


def _erased_of(member_ids: Iterable[int]) -> set[int]:
    """Which of these members were erased (services.erasure): their shells are never merged or split again."""
    return set(Member.objects.filter(pk__in=list(member_ids), erased_at__isnull=False).values_list("pk", flat=True))


def _derived_delete(member_ids: Sequence[int]) -> None:
    """Scores of members that no longer exist as such (merged into another): the person's are recomputed."""
    for model in (InterestBucket, InterestTopic, StageTransition, ScoreSnapshot, InterestScore, InfluenceScore):
        model.objects.filter(member_id__in=member_ids).delete()


def members_merge(*, into: int, others: Sequence[int], by: str = "", automatic: bool = False) -> Member:
    """Merge the members of ``others`` (each with all its identities) into the member of ``into``.

    The member merged into keeps its persona and attributes, filled in from the others where it has none; it is
    excluded from leaderboards if any of them was. A merge by hand lifts the blocks an unmerge left between
    them (an automatic one never happens across a block: see members_link). Returns the member.
    """
    target = person_of(into)
    if target is None:
        raise IdentityError("into", f"no member with id {into}")
    people = set()
    for other in others:
        person = person_of(other)
        if person is None:
            raise IdentityError("members", f"no member with id {other}")
        people.add(person)
    people.discard(target)
    if not people:
        return Member.objects.get(pk=target)
    erased = _erased_of([target, *people])
    if erased:
        raise IdentityError("into" if target in erased else "members",
                            f"member {min(erased)} was erased (privacy request): it cannot be merged")
    moving = sorted(people)
    with transaction.atomic():
        scorers_hold()
        rows = {m.pk: m for m in Member.objects.select_for_update().filter(pk__in=[target, *moving]).order_by("pk")}
        person = rows[target]
        for other in (rows[m] for m in moving):
            person.persona = person.persona or other.persona
            person.attributes = {**other.attributes, **person.attributes}
            person.is_excluded = person.is_excluded or other.is_excluded
        person.save(update_fields=["persona", "attributes", "is_excluded", "updated_at"])
        # What each action and content named stays recorded: identity = the member it named, where that changes.
        for member_field, identity_field, model in (("member_id", "identity_id", Action),
                                                    ("target_member_id", "target_identity_id", Action),
                                                    ("author_id", "author_identity_id", Content)):
            moved = model.objects.filter(**{f"{member_field}__in": moving})
            moved.filter(**{f"{identity_field}__isnull": True}).update(**{identity_field: F(member_field)})
            moved.update(**{member_field: target})
        Member.objects.filter(merged_into_id__in=moving).update(merged_into_id=target)
        Member.objects.filter(pk__in=moving).update(merged_into_id=target)
        if not automatic:
            mine = identities_of([target])
            MergeBlock.objects.filter(Q(identity_id__in=mine, other_id__in=mine)).delete()
        _derived_delete(moving)
        interest_recompute(member_ids=[target], reason="merge")
        influence_run_request_once(trigger="merge")
        members_merged.send(sender=Member, into=target, merged=moving)
    return Member.objects.get(pk=target)


def member_unmerge(*, identity: int, member: int | None = None, by: str = "") -> Member:
    """Split an identity off the member it was merged into (``member``, when given, must be that one): it becomes
    a member of its own again, with exactly the actions and contents it brought, and is never merged back
    automatically. Returns the identity's member."""
    row = Member.objects.filter(pk=identity).first()
    if row is None:
        raise IdentityError("identity", f"no identity with id {identity}")
    if row.merged_into_id is None or (member is not None and row.merged_into_id != member):
        raise IdentityError("identity", "is not an identity merged into this member" if member is not None
                            else "is not merged into another member")
    person = row.merged_into_id
    if row.erased_at is not None:
        raise IdentityError("identity", "was erased (privacy request): it cannot be unmerged")
    with transaction.atomic():
        scorers_hold()
        list(Member.objects.select_for_update().filter(pk__in=[person, identity]).order_by("pk"))
        Member.objects.filter(pk=identity).update(merged_into_id=None)
        Action.objects.filter(member_id=person, identity_id=identity).update(member_id=identity, identity_id=None)
        Action.objects.filter(target_member_id=person, target_identity_id=identity).update(
            target_member_id=identity, target_identity_id=None)
        Content.objects.filter(author_id=person, author_identity_id=identity).update(
            author_id=identity, author_identity_id=None)
        MergeBlock.objects.bulk_create(
            [MergeBlock(identity_id=min(identity, other), other_id=max(identity, other), created_by=by[:150])
             for other in identities_of([person])], ignore_conflicts=True)
        interest_recompute(member_ids=sorted([person, identity]), reason="unmerge")
        influence_run_request_once(trigger="merge")
        member_unmerged.send(sender=Member, identity=identity, member=person)
    return Member.objects.get(pk=identity)


def _blocked(a: Sequence[int], b: Sequence[int]) -> bool:
    """Whether an unmerge separated any identity of one group from any of the other."""
    return MergeBlock.objects.filter(Q(identity_id__in=a, other_id__in=b) | Q(identity_id__in=b, other_id__in=a)).exists()


def members_link(*, identity_ids: Iterable[int]) -> list[int]:
    """Merge each of these identities' members with the members of the identities sharing its crm_id or its
    verified email, into the oldest member, except across an unmerge. Returns the members merged into."""
    merged_into = []
    for identity in sorted(set(identity_ids)):
        sharing = identities_sharing(identity)
        if not sharing:
            continue
        people = {m or pk for pk, m in sharing}
        own = person_of(identity)
        people.discard(own)
        if not people:
            continue
        group = sorted({own, *people})
        target, rest = group[0], []
        for person in group[1:]:
            if not _blocked(identities_of([target, *rest]), identities_of([person])):
                rest.append(person)
        if rest:
            members_merge(into=target, others=rest, automatic=True)
            merged_into.append(target)
    return merged_into


def members_link_sweep() -> list[int]:
    """Link the identities that share a crm_id or verified email with another person and were never linked: the
    batch that gave them the key committed, and its linking was lost (the process died or the database went away
    right after the commit; the batch's resend changes nothing, so it queues nothing). Run periodically
    (tasks.members_link_sweep_task); identities an unmerge separated stay apart. Returns the members merged into."""
    return members_link(identity_ids=identities_unlinked())


def members_link_dispatch(identity_ids: Iterable[int]) -> None:
    """For identities a batch gave a crm_id or verified email: link them now (INTEREST_SCORING=inline, in the
    caller's transaction), or with a task once the caller commits (worker)."""
    ids = sorted(set(identity_ids))
    if not ids:
        return
    if settings.INTEREST_SCORING == "inline":
        members_link(identity_ids=ids)
    else:
        transaction.on_commit(lambda: _link_task_start(ids))


def _link_task_start(ids: list[int]) -> None:
    """Queue the linking; when the broker cannot take it, link here and now. A batch that already committed is
    answered as stored, and its resend changes nothing, so nothing else would ever link these identities."""
    try:
        members_link_task.delay(ids)
    except Exception:
        logger.warning("broker unavailable: linking identities %s in the request", ids, exc_info=True)
        members_link(identity_ids=ids)
