"""Reads of gaming review: the edges a scan looks at, account ages, and the exclusions a member's audience view
explains."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import BigIntegerField, Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Least

from community_scoring.gaming.models import FlaggedAction, GamingFlag
from community_scoring.gaming.rings import Edge
from community_scoring.models import Action, Member
from community_scoring.store.compiled import Slot, compiled_query, concrete_attnames


def gaming_edges(*, since: datetime, until: datetime, kinds: Iterable[str]) -> list[Edge]:
    """Every action of these kinds from one member to another that occurred in [since, until], excluded or not
    (a scan sees the findings it already made, so it does not make them again)."""
    rows = Action.objects.filter(occurred_at__gte=since, occurred_at__lte=until, action_type_id__in=list(kinds),
                                 target_member__isnull=False).exclude(member_id=F("target_member_id"))
    return [Edge(pk, actor, target, kind, at) for pk, actor, target, kind, at in rows.values_list(
        "pk", "member_id", "target_member_id", "action_type_id", "occurred_at").order_by("occurred_at", "pk")]


def account_births(member_ids: Iterable[int]) -> dict[int, datetime]:
    """When each account began, the one rule for account age: the earlier of ``Member.joined_at`` and its first
    action.

    ``joined_at`` is the source's word when an event gave ``member.joined_at``; otherwise it is when the engine
    first stored the row, which is never before the first action it stored for it (events are stored as they
    arrive, after they occurred). So the earlier of the two is the source's date when given and earlier than the
    first action, and otherwise the first action: a replayed history is as old as its actions, never as young as
    its import. Age at a moment t = t - birth."""
    first = Action.objects.filter(member_id=OuterRef("pk")).order_by("occurred_at").values("occurred_at")[:1]
    rows = (Member.objects.filter(pk__in=list(member_ids))
            .annotate(birth=Least("joined_at", Coalesce(Subquery(first), "joined_at")))
            .values_list("pk", "birth"))
    return dict(rows)


@compiled_query
def _member_flags_query() -> QuerySet:
    return (GamingFlag.objects.filter(members=Slot("member_id", BigIntegerField()))
            .order_by("-detected_at", "-pk").values(*concrete_attnames(GamingFlag)))


def member_exclusions(*, member_id: int) -> list[dict]:
    """The gaming flags naming this member, newest first, with how many of its actions (done and received) each
    one names: what the audience view explains. Cleared flags are listed too (they exclude nothing)."""
    flags = _member_flags_query().instances(GamingFlag, member_id=member_id)
    if not flags:  # most members: no counts to build a query for
        return []
    counts = {
        row["flag_id"]: row
        for row in FlaggedAction.objects.filter(flag__in=flags).values("flag_id").annotate(
            done=Count("pk", filter=Q(action__member_id=member_id)),
            received=Count("pk", filter=Q(action__target_member_id=member_id)))
    }
    return [{"flag": flag.pk, "kind": flag.kind, "status": flag.status, "excluding": flag.excludes,
             "reason": flag.reason, "detected_at": flag.detected_at,
             "actions_excluded": counts.get(flag.pk, {}).get("done", 0) if flag.excludes else 0,
             "received_excluded": counts.get(flag.pk, {}).get("received", 0) if flag.excludes else 0}
            for flag in flags]


def flag_member_ids(*, flag_id: int) -> set[int]:
    """The members whose interest a flag's actions change: their actors and their targets."""
    rows = Action.objects.filter(pk__in=FlaggedAction.objects.filter(flag_id=flag_id).values("action_id"))
    return {m for pair in rows.values_list("member_id", "target_member_id") for m in pair if m is not None}
