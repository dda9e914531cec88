"""The quality report: does the interest score predict who converts? Each figure is defined in quality_report's
docstring, from the action log and the outcomes alone, so anyone can recompute it."""
from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date

from community_scoring.models import Member, StageTransition
from community_scoring.moments import moment_parse
from community_scoring.outcomes import metrics
from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.selectors import (
    conversion_labels, conversion_types_parse, outcome_counts, outcome_persons, outcome_times,
    population_at,
)
from community_scoring.scoring.ruleset import ScoringConfig
from community_scoring.scoring.stages import stage_reaches
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.recompute import interest_values_at

MAX_DAYS = 3650
SALES_QUALIFIED = (Outcome.Type.SQL.value, Outcome.Type.SALES_ACCEPTED.value)
_PERIOD = re.compile(r"^\s*([0-9]{1,5})\s*([dw])\s*$", re.IGNORECASE)


def quality_population(*, at: datetime, persona: str | None = None, source: str | None = None,
                       conversion_types: Sequence[str] | None = None) -> list[int]:
    """Ids of the members scored at ``at``: outcome_persons with an action of their own at or before ``at`` (not
    flagged, not the system's inactivity entries), less those with a conversion at or before ``at``
    (selectors.population_at)."""
    return population_at(at=at, persona=persona, source=source, types=conversion_types)


def _band(members: int, converted: int) -> dict[str, Any]:
    return {"members": members, "converted": converted, "rate": metrics.rate(converted, members)}


def quality_report(*, period_days: int, within_days: int, persona: str | None = None, source: str | None = None,
                   conversion_types: Sequence[str] | None = None, end: datetime | None = None,
                   capacity_per_week: float | None = None, config: ScoringConfig | None = None) -> dict[str, Any]:
    """How well the interest score predicted conversion, and what MQLs became, for one period.

    With end (default now), T = end - within_days and start = end - period_days:

    - population: quality_population at T (members, not excluded, of the persona and source, with an action at
      or before T, who had not converted at or before T); ``members`` counts it.
    - score and stage: each member's interest (engagement + fit) and stage at T from the log
      (services.recompute.interest_values_at, under ``config``, default the current one).
    - positive: a conversion (an outcome of ``conversion_types``, default settings.OUTCOME_CONVERSION_TYPES) in
      (T, end]; ``converted`` counts them, ``conversion_rate`` = converted / members.
    - ``auc``: ROC AUC of score against positive; ``top_decile_lift``: the top score decile's conversion rate over
      the population's (metrics); ``by_stage`` (the configured stages, lowest first) and ``by_decile`` (1..10,
      metrics.deciles) give members, converted and rate per band.
    - ``mql_precision``: of the population at the MQL stage or above at T (settings.OUTCOME_MQL_STAGE), the share
      that converted (``mql_members``, ``mql_converted``).
    - an MQL entry: a StageTransition in [start, end] from a stage below MQL to MQL or above (stages not in the
      configuration count as below); a member's first such entry is their entry moment.
      ``mql_per_week``: members with an entry in each week counted from start (the last week may be shorter:
      ``days``), drawn against ``capacity_per_week`` (default settings.OUTCOME_SALES_CAPACITY_PER_WEEK);
      ``weeks_over_capacity`` counts weeks above it.
    - ``mql_to_sql_rate``: the MQL cohort is the members with an entry (reference moment: their entry moment) and
      the population members at MQL or above at T without one (reference moment: T); the rate is the share of
      the cohort with an ``sql`` or ``sales_accepted`` outcome at or after their reference moment and at or
      before end (``mql_cohort``, ``mql_cohort_sql``).
    - ``median_days_mql_to_conversion``: over members with an entry and a conversion at or after their entry
      moment and at or before end, the median of the days between the entry and the first such conversion
      (``mql_conversions`` counts them).
    - ``sales_acceptance_rate``: per outcome, sales_accepted / (sales_accepted + sales_rejected) over the
      outcome_persons' outcomes in [start, end] (a lead decided twice counts twice).
    - ``outcomes_recorded``: the outcome_persons' outcomes of any type up to end (0: nothing to judge by yet).

    A figure without data (no population, no positives or no negatives, no MQLs) is None.
    """
    end = end or timezone.now()
    at = end - timedelta(days=within_days)
    start = end - timedelta(days=period_days)
    types = conversion_types_parse(conversion_types)
    config = config or scoring_config_current()
    stages = sorted(config.stages, key=lambda s: s.position)
    mql_stage = settings.OUTCOME_MQL_STAGE
    capacity = float(settings.OUTCOME_SALES_CAPACITY_PER_WEEK if capacity_per_week is None else capacity_per_week)
    persons = outcome_persons(persona=persona, source=source)

    population = quality_population(at=at, persona=persona, source=source, conversion_types=types)
    values = interest_values_at(member_ids=population, at=at, config=config)
    population = [m for m in population if m in values]
    scores = [values[m].score for m in population]
    labelled = conversion_labels(member_ids=population, start=at, end=end, types=types)
    labels = [labelled[m] for m in population]
    is_mql = [stage_reaches(values[m].stage, mql_stage, stages) for m in population]

    by_stage = []
    for stage in stages:
        name = stage.name.casefold()
        inside = [i for i, m in enumerate(population) if values[m].stage.casefold() == name]
        by_stage.append({"stage": stage.name, **_band(len(inside), sum(labels[i] for i in inside))})
    bands = metrics.deciles(scores)
    by_decile = []
    for decile in range(1, 11):
        inside = [i for i in range(len(population)) if bands[i] == decile]
        band_scores = [scores[i] for i in inside]
        by_decile.append({"decile": decile, **_band(len(inside), sum(labels[i] for i in inside)),
                          "min_score": min(band_scores) if band_scores else None,
                          "max_score": max(band_scores) if band_scores else None})
    mql_members = sum(is_mql)
    mql_converted = sum(1 for flag, label in zip(is_mql, labels) if flag and label)

    weeks = max(1, math.ceil(period_days / 7))
    entries, weekly = _mql_entries(persons=persons, start=start, end=end, stages=stages, mql_stage=mql_stage,
                                   weeks=weeks)
    reference = dict(entries)
    for member_id, flag in zip(population, is_mql):
        if flag:
            reference.setdefault(member_id, at)
    sales = outcome_times(types=SALES_QUALIFIED, members=list(reference), end=end)
    cohort_sql = sum(1 for m, moment in reference.items() if any(t >= moment for t in sales.get(m, ())))
    conversions = outcome_times(types=types, members=list(entries), end=end)
    days_to_convert = []
    for member_id, moment in entries.items():
        after = [t for t in conversions.get(member_id, ()) if t >= moment]
        if after:
            days_to_convert.append((after[0] - moment).total_seconds() / 86400)
    counts = outcome_counts(members=persons.values("pk"), start=start, end=end)
    accepted, rejected = counts[Outcome.Type.SALES_ACCEPTED], counts[Outcome.Type.SALES_REJECTED]
    per_week = [{"week_start": start + timedelta(days=7 * k), "days": min(7, period_days - 7 * k),
                 "mql": len(weekly[k])} for k in range(weeks)]

    return {
        "period_days": period_days, "within_days": within_days, "start": start, "T": at, "end": end,
        "persona": persona, "source": source, "conversion_types": list(types), "mql_stage": mql_stage,
        "members": len(population), "converted": sum(labels), "conversion_rate": metrics.rate(sum(labels), len(labels)),
        "auc": metrics.roc_auc(scores, labels), "top_decile_lift": metrics.top_decile_lift(scores, labels),
        "by_stage": by_stage, "by_decile": by_decile,
        "mql_members": mql_members, "mql_converted": mql_converted,
        "mql_precision": metrics.rate(mql_converted, mql_members),
        "mql_cohort": len(reference), "mql_cohort_sql": cohort_sql,
        "mql_to_sql_rate": metrics.rate(cohort_sql, len(reference)),
        "sales_accepted": accepted, "sales_rejected": rejected,
        "sales_acceptance_rate": metrics.rate(accepted, accepted + rejected),
        "mql_conversions": len(days_to_convert),
        "median_days_mql_to_conversion": statistics.median(days_to_convert) if days_to_convert else None,
        "mql_per_week": per_week, "capacity_per_week": capacity,
        "weeks_over_capacity": sum(1 for w in per_week if w["mql"] > capacity),
        "outcomes_recorded": Outcome.objects.filter(member_id__in=persons.values("pk"), occurred_at__lte=end).count(),
    }


def _mql_entries(*, persons: QuerySet[Member], start: datetime, end: datetime, stages, mql_stage: str,
                 weeks: int) -> tuple[dict[int, datetime], list[set[int]]]:
    """Each member's first MQL entry in [start, end], and the members entering in each week from start."""
    entries: dict[int, datetime] = {}
    weekly: list[set[int]] = [set() for _ in range(weeks)]
    names = [s.name for s in stages if stage_reaches(s.name, mql_stage, stages)]
    if not names:
        return entries, weekly
    into_mql = Q()
    for name in names:
        into_mql |= Q(to_stage__iexact=name)
    rows = (StageTransition.objects.filter(into_mql, member_id__in=persons.values("pk"), occurred_at__gte=start,
                                           occurred_at__lte=end)
            .order_by("occurred_at", "id").values_list("member_id", "from_stage", "occurred_at"))
    for member_id, from_stage, when in rows:
        if stage_reaches(from_stage, mql_stage, stages):
            continue  # a move between stages at or above MQL, not an entry
        entries.setdefault(member_id, when)
        weekly[min(weeks - 1, (when - start) // timedelta(days=7))].add(member_id)
    return entries, weekly


def quality_period_parse(text: str) -> int:
    """A period as days: "90d" or "12w" (1 to MAX_DAYS days); ValueError otherwise."""
    match = _PERIOD.match(text or "")
    if not match:
        raise ValueError('must be a number of days or weeks, like "90d" or "12w"')
    days = int(match.group(1)) * (7 if match.group(2).lower() == "w" else 1)
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"must be between 1 and {MAX_DAYS} days")
    return days


def _moment_parse(text: str) -> datetime | None:
    """An ISO 8601 date and time (UTC when it names no zone), or a date alone: the end of that day, UTC."""
    try:
        day = parse_date(text) if len(text) == 10 else None  # a datetime parser takes a bare date as midnight
        moment = datetime.combine(day, time.min) + timedelta(days=1) if day else moment_parse(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)


def quality_query_parse(*, params: Mapping[str, str]) -> dict[str, Any]:
    """quality_report's arguments from a query string (API and page): period (default 90d), within_days (30),
    persona, source, conversions (comma-separated types), capacity, end (_moment_parse). ValidationError naming each
    bad field."""
    errors: dict[str, str] = {}
    query: dict[str, Any] = {}
    try:
        query["period_days"] = quality_period_parse(params.get("period") or "90d")
    except ValueError as exc:
        errors["period"] = str(exc)
    within = (params.get("within_days") or "30").strip()
    if not within.isdigit() or not 1 <= int(within) <= MAX_DAYS:
        errors["within_days"] = f"must be a whole number of days from 1 to {MAX_DAYS}"
    else:
        query["within_days"] = int(within)
    for name in ("persona", "source"):
        value = (params.get(name) or "").strip()
        if "\x00" in value or len(value) > 64:
            errors[name] = "must be at most 64 characters, without NUL"
        query[name] = value or None
    conversions = params.get("conversions")
    query["conversion_types"] = None
    if conversions is not None and conversions.strip():
        if "\x00" in conversions or len(conversions) > 1000:
            errors["conversions"] = "must be at most 1000 characters, without NUL"
        else:
            try:
                query["conversion_types"] = list(conversion_types_parse(conversions.split(",")))
            except ValueError as exc:
                errors["conversions"] = str(exc)
            else:
                if not query["conversion_types"]:
                    errors["conversions"] = "must name at least one outcome type"
    capacity = (params.get("capacity") or "").strip()
    query["capacity_per_week"] = None
    if capacity:
        try:
            value = float(capacity)
        except ValueError:
            value = math.nan
        if not 0 <= value <= 1_000_000:
            errors["capacity"] = "must be a number of MQLs a week from 0 to 1000000"
        else:
            query["capacity_per_week"] = value
    end = (params.get("end") or "").strip()
    query["end"] = None
    if end:
        try:
            moment = _moment_parse(end)
        except ValueError:
            moment = None
        if moment is None or not 1900 <= moment.year <= 9000:
            errors["end"] = "must be a date and time in ISO 8601, like 2026-03-31T00:00:00Z"
        else:
            query["end"] = moment
    if errors:
        raise ValidationError({field: [message] for field, message in errors.items()})
    return query
