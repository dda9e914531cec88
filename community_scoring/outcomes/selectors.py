"""Reads of outcomes that the quality report, calibration and experiments share: who converted, and when."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.db.models import BigIntegerField, Count, Exists, Min, OuterRef, Q, QuerySet

from community_scoring.models import Member
from community_scoring.scoring.ruleset import INACTIVITY
from community_scoring.outcomes.models import Outcome
from community_scoring.store.base import counted_actions
from community_scoring.store.compiled import Slot, compiled_query, concrete_attnames


def conversion_types_parse(spec: Iterable[str] | None = None) -> tuple[str, ...]:
    """The conversion set: outcome types, or ``converted:<value>`` for one custom conversion. Unknown names raise
    ValueError naming them. Default: settings.OUTCOME_CONVERSION_TYPES."""
    names = tuple(s.strip() for s in (spec if spec is not None else settings.OUTCOME_CONVERSION_TYPES) if s.strip())
    known = set(Outcome.Type.values)
    unknown = [n for n in names if n.split(":", 1)[0] not in known]
    if unknown:
        raise ValueError(f"unknown outcome type: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return names


def _conversion_q(types: Sequence[str]) -> Q:
    q = Q(pk__in=[])
    plain = [t for t in types if ":" not in t]
    if plain:
        q |= Q(type__in=plain)
    for t in types:
        if ":" in t:
            kind, value = t.split(":", 1)
            q |= Q(type=kind, value__iexact=value)
    return q


def first_conversions(*, types: Sequence[str] | None = None, member_ids: Iterable[int] | None = None,
                      until: datetime | None = None) -> dict[int, datetime]:
    """Each member's first conversion (an outcome of a type in ``types``), at or before ``until`` when given."""
    outcomes = Outcome.objects.filter(_conversion_q(conversion_types_parse(types)))
    if member_ids is not None:
        outcomes = outcomes.filter(member_id__in=list(member_ids))
    if until is not None:
        outcomes = outcomes.filter(occurred_at__lte=until)
    return dict(outcomes.values("member_id").annotate(first=Min("occurred_at")).order_by()
                .values_list("member_id", "first"))


def conversion_labels(*, member_ids: Sequence[int], start: datetime, end: datetime,
                      types: Sequence[str] | None = None) -> dict[int, bool]:
    """Whether each member converted in (start, end]: a conversion outcome with start < occurred_at <= end."""
    outcomes = Outcome.objects.filter(_conversion_q(conversion_types_parse(types)), member_id__in=list(member_ids),
                                      occurred_at__gt=start, occurred_at__lte=end)
    positive = set(outcomes.values_list("member_id", flat=True).distinct())
    return {m: m in positive for m in member_ids}


def outcome_persons(*, persona: str | None = None, source: str | None = None) -> QuerySet[Member]:
    """The members predictions are about: persons (not an identity merged into another), not excluded (staff), of
    the persona (ignoring case) and who came through the source (the person or one of their identities is from it)."""
    persons = Member.objects.filter(merged_into__isnull=True, is_excluded=False)
    if persona:
        persons = persons.filter(persona__iexact=persona)
    if source:
        persons = persons.filter(
            Q(source=source) | Exists(Member.objects.filter(merged_into=OuterRef("pk"), source=source)))
    return persons


def population_at(*, at: datetime, active_since: datetime | None = None, types: Sequence[str] | None = None,
                  converted_by: datetime | None = None, persona: str | None = None,
                  source: str | None = None) -> list[int]:
    """The members a prediction at ``at`` is about (ascending ids), for the quality report, calibration and
    replays alike: outcome_persons with an action of their own that counts (not a flagged one, not the system's
    inactivity entry) at or before ``at`` (and after ``active_since`` when given), leaving out those whose first
    conversion (``types``) is at or before ``converted_by`` (default ``at``): they have converted already."""
    actions = counted_actions().filter(member=OuterRef("pk"), occurred_at__lte=at).exclude(action_type_id=INACTIVITY)
    if active_since is not None:
        actions = actions.filter(occurred_at__gt=active_since)
    ids = list(outcome_persons(persona=persona, source=source).filter(Exists(actions)).order_by("pk")
               .values_list("pk", flat=True))
    converted = first_conversions(types=types, member_ids=ids, until=converted_by or at)
    return [m for m in ids if m not in converted]


def _within(outcomes: QuerySet[Outcome], members: Iterable[int] | QuerySet | None, start: datetime | None,
            end: datetime | None) -> QuerySet[Outcome]:
    """Outcomes of ``members`` (ids, or a queryset of ids: a subquery) with start <= occurred_at <= end, each
    where given."""
    if members is not None:
        outcomes = outcomes.filter(member_id__in=members if isinstance(members, QuerySet) else list(members))
    if start is not None:
        outcomes = outcomes.filter(occurred_at__gte=start)
    if end is not None:
        outcomes = outcomes.filter(occurred_at__lte=end)
    return outcomes


def outcome_times(*, types: Sequence[str], members: Iterable[int] | QuerySet | None = None,
                  start: datetime | None = None, end: datetime | None = None) -> dict[int, list[datetime]]:
    """When each member had an outcome of ``types`` (names as conversion_types_parse reads them), oldest first,
    with start <= occurred_at <= end where given. ``members``: ids, or a queryset of member ids (a subquery)."""
    outcomes = _within(Outcome.objects.filter(_conversion_q(conversion_types_parse(types))), members, start, end)
    times: dict[int, list[datetime]] = {}
    for member_id, occurred_at in outcomes.order_by("occurred_at", "id").values_list("member_id", "occurred_at"):
        times.setdefault(member_id, []).append(occurred_at)
    return times


def outcome_counts(*, members: Iterable[int] | QuerySet | None = None, start: datetime | None = None,
                   end: datetime | None = None) -> dict[str, int]:
    """Outcomes per type (every type, 0 when none) with start <= occurred_at <= end where given."""
    outcomes = _within(Outcome.objects.all(), members, start, end)
    counts = dict(outcomes.values("type").annotate(n=Count("id")).order_by().values_list("type", "n"))
    return {t: counts.get(t, 0) for t in Outcome.Type.values}


MEMBER_OUTCOMES_SHOWN = 100


# What member_outcomes loads of each outcome, in the order of Outcome's fields (the rest deferred).
_MEMBER_OUTCOME_COLUMNS = tuple(name for name in concrete_attnames(Outcome) if name in {
    "id", "source", "outcome_id", "type", "occurred_at", "reason", "value", "amount", "member_id", "identity_id"})


@compiled_query
def _member_outcomes_query(limit: int) -> QuerySet:
    return (Outcome.objects.filter(member_id=Slot("member_id", BigIntegerField()))
            .order_by("-occurred_at", "-id").values(*_MEMBER_OUTCOME_COLUMNS)[:limit])


def member_outcomes(*, member_id: int, limit: int = MEMBER_OUTCOMES_SHOWN) -> list[Outcome]:
    """The member's newest outcomes (type, occurred_at, reason, value, amount, source), for the audience view."""
    return _member_outcomes_query(limit).instances(Outcome, member_id=member_id)
