"""Reads of outcomes that the quality report, calibration and experiments share: who converted, and when."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.db.models import Min, Q

from community_scoring.outcomes.models import Outcome


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


MEMBER_OUTCOMES_SHOWN = 100


def member_outcomes(*, member_id: int, limit: int = MEMBER_OUTCOMES_SHOWN) -> list[Outcome]:
    """The member's newest outcomes (type, occurred_at, reason, value, amount, source), for the audience view."""
    return list(Outcome.objects.filter(member_id=member_id).order_by("-occurred_at", "-id")
                .only("id", "source", "outcome_id", "type", "occurred_at", "reason", "value", "amount",
                      "member_id", "identity_id")[:limit])
