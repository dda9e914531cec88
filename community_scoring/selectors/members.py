"""Members as the API reads them: the filterable list, lookups by id / external id / email, and the audience view.

Ordering and paging: every ordering is a keyset on (sort value, member id), both in the same direction, so a
cursor holds the last row's stored values rather than an offset (see community_scoring.api.pagination for
the guarantee this gives while scores change).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any, Mapping

import django_filters
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import BigIntegerField, Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from community_scoring.models import Action, InterestScore, Member
from community_scoring.moments import moment_parse
from community_scoring.selectors import influence_link
from community_scoring.selectors import interest as interest_selectors
from community_scoring.selectors.config import member_experiment, scoring_config_current
from community_scoring.store.compiled import Slot, compiled_query, concrete_attnames

PERIODS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "all": None}

# VADER's conventional bands for a compound score (Hutto & Gilbert): >= 0.05 positive, <= -0.05 negative.
SENTIMENT_POSITIVE = 0.05
SENTIMENT_NEGATIVE = -0.05
SENTIMENT_BANDS = ("positive", "neutral", "negative")

EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)


def period_since(period: str, *, now: datetime | None = None) -> datetime | None:
    """Start of a 7d/30d/90d window ending now; None for "all". Unknown periods are a validation error."""
    if period not in PERIODS:
        raise ValidationError({"period": [f"must be one of {', '.join(PERIODS)}"]})
    days = PERIODS[period]
    return None if days is None else (now or timezone.now()) - timedelta(days=days)


def sentiment_band(value: float | None) -> str | None:
    if value is None:
        return None
    if value >= SENTIMENT_POSITIVE:
        return "positive"
    if value <= SENTIMENT_NEGATIVE:
        return "negative"
    return "neutral"


@dataclass(frozen=True)
class MemberOrdering:
    """A sort key of the member list: `field` is what the keyset compares (annotated as sort_value)."""

    key: str
    field: str
    descending: bool
    is_datetime: bool = False


# name -> (path on Member, value used when the member has no score row yet, is a datetime)
MEMBER_SORT_KEYS: dict[str, tuple[str, Any, bool]] = {
    "id": ("id", None, False),
    "interest": ("interest__rank_key", 0.0, False),  # the board order (InterestScore.rank_key)
    "engagement": ("interest__engagement", 0.0, False),
    "fit": ("interest__fit", 0.0, False),
    "last_activity": ("interest__last_activity_at", EPOCH, True),
    "joined": ("joined_at", None, True),
}


def member_sort_keys() -> dict[str, tuple[str, Any, bool]]:
    return {**MEMBER_SORT_KEYS, **influence_link.member_sort_keys()}


def member_ordering(value: str | None) -> MemberOrdering:
    """Parse `ordering` ("interest", "-interest", ...; default "id")."""
    value = (value or "id").strip()
    descending = value.startswith("-")
    key = value.lstrip("-")
    keys = member_sort_keys()
    if key not in keys:
        choices = ", ".join(f"{k}, -{k}" for k in keys)
        raise ValidationError({"ordering": [f"unknown ordering {value!r}; choose one of: {choices}"]})
    path, _, is_datetime = keys[key]
    return MemberOrdering(key=key, field=path, descending=descending, is_datetime=is_datetime)


class UtcDateTimeField(django_filters.fields.forms.DateTimeField):
    """A date or ISO 8601 datetime (community_scoring.moments), normalised to UTC (PostgreSQL rejects offsets
    beyond +-15:59)."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                value = moment_parse(value.strip())
            except ValueError:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, dt_timezone.utc)
            return moment.astimezone(dt_timezone.utc)
        except (OverflowError, ValueError):
            raise ValidationError("out of the supported date range")


class UtcDateTimeFilter(django_filters.DateTimeFilter):
    field_class = UtcDateTimeField


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")
    return value


class MemberFilter(django_filters.FilterSet):
    """Filters of the member list and its CSV export. Dates accept a date or an ISO 8601 datetime."""

    stage = django_filters.CharFilter(method="filter_stage",
                                      help_text="Interest stage valued now (as shown); several comma-separated.")
    persona = django_filters.CharFilter(field_name="persona", validators=[_no_nul])
    source = django_filters.CharFilter(field_name="source", validators=[_no_nul])
    # On the leaderboard key: the score valued a few minutes ago at most (the stored score is valued at each
    # member's own last action, so it filters nobody consistently).
    min_interest = django_filters.NumberFilter(field_name="interest__rank_key", lookup_expr="gte")
    max_interest = django_filters.NumberFilter(field_name="interest__rank_key", lookup_expr="lte")
    min_influence = django_filters.NumberFilter(method="filter_min_influence", help_text="Influence score 0-100.")
    max_influence = django_filters.NumberFilter(method="filter_max_influence", help_text="Influence score 0-100.")
    sentiment = django_filters.ChoiceFilter(
        choices=[(b, b) for b in SENTIMENT_BANDS], method="filter_sentiment",
        help_text="Band of the member's mean implicit (VADER) sentiment: >= 0.05 positive, <= -0.05 negative.",
    )
    active_since = UtcDateTimeFilter(field_name="interest__last_activity_at", lookup_expr="gte")
    joined_since = UtcDateTimeFilter(field_name="joined_at", lookup_expr="gte")
    is_excluded = django_filters.TypedChoiceFilter(
        field_name="is_excluded", choices=[("true", "true"), ("false", "false")], coerce=lambda v: v == "true",
        help_text="true: only excluded (staff) members; false: only members who count.",
    )
    search = django_filters.CharFilter(
        method="filter_search", validators=[_no_nul],
        help_text="Name contains, external id or CRM id equals, or (callers allowed to see PII) email contains.",
    )

    class Meta:
        model = Member
        fields: list[str] = []

    def __init__(self, *args, can_see_pii: bool = False, at: datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_see_pii = can_see_pii
        self.at = at  # the instant stages are valued at (default: now)

    def filter_stage(self, queryset, name, value):
        stages = [s.strip() for s in value.split(",") if s.strip()]
        if any("\x00" in s for s in stages):
            raise ValidationError({"stage": ["must not contain NUL characters"]})
        if not stages:
            return queryset
        return interest_selectors.members_in_stages(queryset, stages, at=self.at or interest_selectors.valued_now())

    def filter_min_influence(self, queryset, name, value):
        return queryset.filter(**{f"{influence_link.SCORE_PATH}__gte": value})

    def filter_max_influence(self, queryset, name, value):
        return queryset.filter(**{f"{influence_link.SCORE_PATH}__lte": value})

    def filter_sentiment(self, queryset, name, value):
        path = influence_link.SENTIMENT_MEAN_PATH
        if value == "positive":
            return queryset.filter(**{f"{path}__gte": SENTIMENT_POSITIVE})
        if value == "negative":
            return queryset.filter(**{f"{path}__lte": SENTIMENT_NEGATIVE})
        return queryset.filter(**{f"{path}__gt": SENTIMENT_NEGATIVE, f"{path}__lt": SENTIMENT_POSITIVE})

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q(display_name__icontains=value) | Q(external_id=value) | Q(crm_id=value)
        if self.can_see_pii:
            condition |= Q(email__icontains=value)
        return queryset.filter(condition)


def member_list(
    *, filters: Mapping[str, Any] | None = None, ordering: MemberOrdering | None = None, can_see_pii: bool = False,
    at: datetime | None = None,
) -> QuerySet[Member]:
    """Filtered members with their interest (and influence) rows joined, annotated with `sort_value`. The stage
    filter reads stages valued at ``at`` (default now), the instant the caller shows the rows at.

    Raises ValidationError naming the offending filter.
    """
    ordering = ordering or member_ordering(None)
    queryset = influence_link.member_queryset_with_influence(
        Member.objects.filter(merged_into__isnull=True, erased_at__isnull=True).select_related("interest"))
    filterset = MemberFilter(data=filters or {}, queryset=queryset, can_see_pii=can_see_pii, at=at)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    path, default, _ = member_sort_keys()[ordering.key]
    sort_value = F(path) if default is None else Coalesce(F(path), Value(default))
    return filterset.qs.annotate(sort_value=sort_value)


# Sort keys whose stored column has an index on (column, member_id): paged from it (see member_keyset_segments).
INDEXED_SORT_KEYS = {"interest": "interest__rank_key"}


def member_keyset_segments(ordering: MemberOrdering) -> list[tuple[Q, str | None, Any]] | None:
    """How to page `ordering` from an index, as (condition, value field or None, constant) slices in walk order.

    The sort value COALESCE(rank_key, 0) over the left join cannot use the (rank_key, member_id) index, so the walk is
    read as: scores above 0 (from the index), then members at 0 or without a score row (by id), then scores below
    0 (from the index); reversed for an ascending walk. None when the key has no such index.
    """
    field = INDEXED_SORT_KEYS.get(ordering.key)
    if field is None:
        return None
    positive = (Q(**{f"{field}__gt": 0}), field, None)
    zero = (Q(sort_value=0.0), None, 0.0)
    negative = (Q(**{f"{field}__lt": 0}), field, None)
    return [positive, zero, negative] if ordering.descending else [negative, zero, positive]


_MEMBER_COLUMNS = concrete_attnames(Member)
_INTEREST_COLUMNS = concrete_attnames(InterestScore)


@compiled_query
def _member_and_identities_query() -> QuerySet:
    """A member's row with its interest row joined (select_related("interest") as values), for a member and the
    identities merged into it at once: the audience view's first read."""
    member_id = Slot("member_id", BigIntegerField())
    return Member.objects.filter(Q(pk=member_id) | Q(merged_into_id=member_id)).values_list(
        *_MEMBER_COLUMNS, *(f"interest__{column}" for column in _INTEREST_COLUMNS))


# Ids beyond the id column's range name no member (and compared with it as numbers would read every row).
_ID_RANGE = range(-(2 ** 63), 2 ** 63)


def _member_rows(member_id: int) -> list[Member]:
    """The member ``member_id`` and the members merged into it, each with its interest row loaded (or None)."""
    members = []
    split = len(_MEMBER_COLUMNS)
    query = _member_and_identities_query()
    for row in query.tuples(member_id=member_id):
        member = Member.from_db(query.alias, _MEMBER_COLUMNS, row[:split])
        score = None if row[split] is None else InterestScore.from_db(query.alias, _INTEREST_COLUMNS, row[split:])
        if score is not None:
            InterestScore.member.field.set_cached_value(score, member)
        Member.interest.related.set_cached_value(member, score)
        members.append(member)
    return members


def member_get_with_identities(*, member_id: int) -> tuple[Member, list[Member]]:
    """member_get's member (with its interest row) and its identities (member_identities): one query, two when
    ``member_id`` is an identity merged into another member. Raises Member.DoesNotExist as member_get does."""
    if member_id not in _ID_RANGE:
        raise Member.DoesNotExist("no member with this id")
    rows = _member_rows(member_id)
    member = next((m for m in rows if m.pk == member_id), None)
    if member is None:
        raise Member.DoesNotExist("no member with this id")
    if member.merged_into_id is not None:
        target = member.merged_into_id
        rows = _member_rows(target)
        member = next((m for m in rows if m.pk == target), None)
        if member is None:
            raise Member.DoesNotExist("no member with this id")
    if member.erased_at is not None:
        raise Member.DoesNotExist("this member was erased")
    return member, _identities_ordered(rows, member_id=member.pk)


def member_get(*, member_id: int) -> Member:
    """The member, or the member an identity id was merged into. Raises Member.DoesNotExist, also for an erased
    member (services.erasure: nothing is shown of them)."""
    return member_get_with_identities(member_id=member_id)[0]


def _identities_ordered(identities: Iterable[Member], *, member_id: int) -> list[Member]:
    """Itself first, then the identities merged into it, in id order."""
    return sorted(identities, key=lambda m: (m.pk != member_id, m.pk))


def member_identities(*, member_id: int) -> list[Member]:
    """A member's identities: itself first, then the identities merged into it, in id order."""
    return _identities_ordered(Member.objects.filter(Q(pk=member_id) | Q(merged_into_id=member_id)),
                               member_id=member_id)


class MemberLookupError(ValidationError):
    """A lookup that names no single member in a way the caller can fix (ambiguous, missing parameter)."""


def member_lookup(
    *, external_id: str | None = None, source: str | None = None, email: str | None = None
) -> Member:
    """Find one member by an identity's external id (and source when several platforms use it) or email
    (case-insensitive): the member the matching identities belong to.

    Raises Member.DoesNotExist when nothing matches, MemberLookupError when the parameters are missing or
    match several members.
    """
    if external_id:
        queryset = Member.objects.filter(external_id=external_id, erased_at__isnull=True)
        if source:
            queryset = queryset.filter(source=source)
        field = "external_id"
    elif email:
        queryset = Member.objects.filter(email__iexact=email, erased_at__isnull=True)
        field = "email"
    else:
        raise MemberLookupError({"external_id": ["give external_id (optionally with source) or email"]})
    people = {merged or pk for pk, merged in queryset.values_list("pk", "merged_into_id")[:101]}
    if not people:
        raise Member.DoesNotExist(f"no member with that {field}")
    if len(people) > 1:
        hint = "add source" if field == "external_id" else "look the member up by id or external_id"
        raise MemberLookupError({field: [f"matches several members; {hint}"]})
    return Member.objects.select_related("interest").get(pk=people.pop())


def poll_response_sentiment(metadata: Mapping[str, Any] | None) -> float | None:
    """Explicit sentiment of one poll response, in [-1, 1], or None when the response carries no rating.

    Read from the action's metadata, first match wins:
      - "sentiment": a number already in [-1, 1] (clipped);
      - "rating" with optional "scale" (default 5, i.e. 1..scale stars): mapped linearly so 1 -> -1, the
        middle -> 0, scale -> +1;
      - "nps": 0..10 likelihood to recommend, mapped linearly so 0 -> -1, 5 -> 0, 10 -> +1.
    A poll answer that is only a choice among options carries no sentiment and is not counted.
    """
    if not metadata:
        return None

    def number(key: str) -> float | None:
        raw = metadata.get(key)
        if isinstance(raw, bool) or raw is None:
            return None
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return None
        return value if value == value and abs(value) != float("inf") else None

    sentiment = number("sentiment")
    if sentiment is not None:
        return max(-1.0, min(1.0, sentiment))
    rating = number("rating")
    if rating is not None:
        scale = number("scale") or 5.0
        if scale <= 1:
            return None
        return max(-1.0, min(1.0, (rating - (1 + scale) / 2) / ((scale - 1) / 2)))
    nps = number("nps")
    if nps is not None:
        return max(-1.0, min(1.0, (nps - 5.0) / 5.0))
    return None


EXPLICIT_SENTIMENT_RESPONSES = 1000


@compiled_query
def _poll_responses_query() -> QuerySet:
    return (Action.objects.filter(member_id=Slot("member_id", BigIntegerField()), action_type_id="poll_response")
            .order_by("-occurred_at").values_list("metadata")[:EXPLICIT_SENTIMENT_RESPONSES])


def explicit_sentiment(*, member: Member) -> dict[str, Any]:
    """What the member said they feel: the mean over their rated poll responses (see poll_response_sentiment).

    Reads the newest EXPLICIT_SENTIMENT_RESPONSES poll responses (a bound for a member who answers thousands).
    """
    metadata = [row[0] for row in _poll_responses_query().tuples(member_id=member.pk)]
    values = [v for v in (poll_response_sentiment(m) for m in metadata) if v is not None]
    mean = sum(values) / len(values) if values else None
    return {"poll_responses": len(metadata), "rated_responses": len(values), "mean": mean, "band": sentiment_band(mean)}


def member_audience(*, member: Member, period: str = "30d", at: datetime | None = None,
                    identities: list[Member] | None = None) -> dict[str, Any]:
    """The unified audience view: identity, interest with its breakdowns (engagement by action type, the fit rules
    met), influence, sentiment, stage and score history, and the live experiment variant the member is scored by;
    interest, breakdown and topics valued at one instant, ``valued_at`` (``at``, default now).

    `period` (7d/30d/90d/all) bounds the score history. ``identities``: member_identities' list when the caller
    loaded it with the member (member_get_with_identities). The serializer blanks emails for callers without PII.
    """
    at = at or interest_selectors.valued_now()
    since = period_since(period, now=at)
    config = scoring_config_current()
    interest_data = interest_selectors.interest_current(member=member, when=at, config=config)
    if interest_data is not None:
        interest_data["breakdown"] = interest_selectors.interest_breakdown(member=member, when=at, config=config)
        interest_data["fit_breakdown"] = interest_selectors.interest_fit_breakdown(member=member, config=config)
        interest_data["topics"] = interest_selectors.interest_topics(member=member, when=at, limit=20, config=config)
    influence = influence_link.influence_audience(member=member, history_since=since.date() if since else None)
    implicit = None
    if influence is not None:
        implicit = {key: influence["sentiment"][key] for key in (
            "mean", "count", "positive_share", "negative_share", "received_mean", "received_count")}
        implicit["band"] = sentiment_band(implicit["mean"])
    return {
        "valued_at": at,
        "member": member,
        "identities": member_identities(member_id=member.pk) if identities is None else identities,
        "interest": interest_data,
        "influence": influence,
        "sentiment": {"implicit": implicit, "explicit": explicit_sentiment(member=member)},
        "stage_history": interest_selectors.stage_history(member=member, limit=100),
        "experiment": member_experiment(member_id=member.pk, config=config),
        "score_history": {
            "period": period,
            "since": since.date() if since else None,
            "points": interest_selectors.score_history(member=member, since=since.date() if since else None),
        },
    }


def member_personas() -> list[str]:
    """The personas members carry (for filters), sorted; kept in the cache a minute (a distinct over the index)."""
    personas = cache.get("member:personas")
    if personas is None:
        personas = sorted(p for p in Member.objects.exclude(persona="").order_by().values_list("persona", flat=True)
                          .distinct() if p)
        cache.set("member:personas", personas, 60)
    return personas


def member_recent_actions(*, member: Member, limit: int = 20) -> list[Action]:
    """The member's newest actions (type, time, target, text), from the (member, occurred_at) index."""
    return list(
        Action.objects.filter(member=member).select_related("target_member", "target_content")
        .only("id", "action_type_id", "occurred_at", "text", "source", "target_member__id",
              "target_member__display_name", "target_content__id", "target_content__title")
        .order_by("-occurred_at", "-id")[:limit]
    )


SENTIMENT_EXAMPLES_WINDOW = 200


def member_sentiment_examples(*, member: Member, limit: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Example texts behind the member's sentiment: the most positive and most negative of their newest
    SENTIMENT_EXAMPLES_WINDOW scored texts ({text, compound, occurred_at, action_type})."""
    rows = list(
        Action.objects.filter(member=member, sentiment__isnull=False).exclude(text="")
        .order_by("-occurred_at").values("text", "occurred_at", "action_type_id", "sentiment__compound")
        [:SENTIMENT_EXAMPLES_WINDOW]
    )
    examples = [{"text": r["text"], "occurred_at": r["occurred_at"], "action_type": r["action_type_id"],
                 "compound": r["sentiment__compound"]} for r in rows]
    positive = sorted((e for e in examples if e["compound"] >= SENTIMENT_POSITIVE), key=lambda e: -e["compound"])
    negative = sorted((e for e in examples if e["compound"] <= SENTIMENT_NEGATIVE), key=lambda e: e["compound"])
    return {"positive": positive[:limit], "negative": negative[:limit]}


# How many of a member's newest actions member_targets reads: a bound for members with tens of thousands.
TARGETS_RECENT_ACTIONS = 2000


def member_targets(*, member: Member, limit: int = 10) -> list[dict[str, Any]]:
    """The members this member acts on most (follows, answers, votes...) among their newest
    TARGETS_RECENT_ACTIONS actions: the people who influence them, as the influence graph reads it (an action
    points influence at its target). {member_id, display_name, actions}."""
    recent = Action.objects.filter(member=member).order_by("-occurred_at").values("id")[:TARGETS_RECENT_ACTIONS]
    return list(
        Action.objects.filter(id__in=recent, target_member__isnull=False).exclude(target_member=member)
        .values("target_member_id", "target_member__display_name").annotate(actions=Count("id"))
        .order_by("-actions", "target_member_id")[:limit]
    )


def members_named(*, member_ids: list[int]) -> list[Member]:
    """These members (id and name only), in the order of ``member_ids``."""
    found = Member.objects.only("pk", "display_name", "email", "source", "external_id").in_bulk(member_ids)
    return [found[m] for m in member_ids if m in found]
