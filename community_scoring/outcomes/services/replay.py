"""Offline A/B replay: what two configurations (or two MQL thresholds) would have produced from the same log.

Definitions (everything is counted from the log and the outcomes; nothing stored is read or written):

- days: the UTC days from ``start``'s day to ``end``'s day, inclusive; the baseline is the day before.
- a member's engagement on day d, under a config: the decayed sum of their bucket points (caps, once-only and
  received points as the engine computes them, scoring/ledger.py) over the buckets of days <= d, valued at the
  start of day d. A bucket decays from the start of its day, so this is the most the engine's engagement reaches
  during day d, once all of the day's actions are in. Fit uses today's attributes (attributes keep no history).
- MQL or above on day d: the stage of (engagement, fit) is settings.OUTCOME_MQL_STAGE or a stage above it.
- population: persons (not merged, not excluded) with an action up to the end of ``end``'s day, leaving out those
  whose first conversion came before ``start``'s day.
- an MQL produced: a member of the population not MQL or above on the baseline day who is on some day of the
  window; their MQL day is the first such day. Members already MQL at the start are not produced.
- converted: the member's first conversion falls in [start of the MQL day, start of the MQL day + within_days].
  Conversions after ``end`` count (give ``end`` at least ``within_days`` before now: ``mature`` says whether).
- volume: MQLs produced per week, weeks counted from ``start``'s day (the last one may be shorter).
- the threshold for a sales capacity (MQLs per week): the lowest MQL min_engagement, among the 101 quantiles of the
  members' highest engagement in the window, whose mean weekly MQLs produced is at most the capacity (stages above
  MQL keep their thresholds and still count, so a capacity below what they produce has no threshold: None).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from community_scoring.outcomes.metrics import rate, wilson_interval
from community_scoring.outcomes.selectors import conversion_types_parse, first_conversions, population_at
from community_scoring.scoring.decay import day_of, day_start, from_epoch_days
from community_scoring.scoring.ledger import bucket_values
from community_scoring.scoring.ruleset import ScoringConfig
from community_scoring.selectors.config import config_snapshot
from community_scoring.services.config import config_validate
from community_scoring.services.recompute import interest_tallies_load
from community_scoring.store import interest_store
from community_scoring.store.base import rules_for

SHORTHAND = ("mql_min_engagement", "mql_min_fit")


def replay_variant_document(*, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A variant as a config document: a full document (validated), or the current configuration with the MQL
    stage's thresholds changed ({"mql_min_engagement": 60, "mql_min_fit": 20}, either key). Raises ValidationError
    naming the offending field."""
    if not isinstance(spec, Mapping):
        raise ValidationError({"non_field_errors": ["a config document or {\"mql_min_engagement\": number}"]})
    if "rule_sets" in spec or "stages" in spec:
        return dict(config_validate(dict(spec)))
    unknown = sorted(set(spec) - set(SHORTHAND))
    if unknown or not spec:
        raise ValidationError({(unknown[0] if unknown else "mql_min_engagement"): [
            f"give a config document, or one of {', '.join(SHORTHAND)}"]})
    doc = copy.deepcopy(config_snapshot())
    doc.pop("version", None)
    mql = next((st for st in doc["stages"] if st["name"].casefold() == settings.OUTCOME_MQL_STAGE.casefold()), None)
    if mql is None:
        raise ValidationError({"mql_min_engagement": [f"no stage named {settings.OUTCOME_MQL_STAGE} is configured"]})
    for key in SHORTHAND:
        if key in spec:
            value = spec[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValidationError({key: ["must be a number"]})
            mql[key.removeprefix("mql_")] = float(value)
    return dict(config_validate(doc))


def _mql_reach(engagement: np.ndarray, fit: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """Whether each (member, day) cell is MQL or above: some non-floor stage at or above the MQL stage has both
    thresholds met (scoring/stages.stage_for + stage_reaches, over arrays)."""
    target = settings.OUTCOME_MQL_STAGE.casefold()
    ordered = sorted(config.stages, key=lambda s: s.position)
    mql = next((s for s in ordered if s.name.casefold() == target), None)
    if mql is None:
        return np.zeros(engagement.shape, dtype=bool)
    if mql is ordered[0]:
        return np.ones(engagement.shape, dtype=bool)  # the floor: everyone is there
    reach = np.zeros(engagement.shape, dtype=bool)
    for stage in ordered[1:]:
        if stage.position >= mql.position:
            reach |= (engagement >= stage.min_engagement) & (fit[:, None] >= stage.min_fit)
    return reach


def _engagement_days(*, config: ScoringConfig, member_ids: Sequence[int], tallies: Mapping, facts: Mapping,
                     days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(engagement[member, day] valued at each day's start from the buckets of days <= it, fit[member])."""
    engagement = np.zeros((len(member_ids), days.size))
    fit = np.zeros(len(member_ids))
    for i, member_id in enumerate(member_ids):
        member = facts.get(member_id)
        if member is None:
            continue
        rules = rules_for(config, member)
        fit[i] = rules.fit(member.attributes, member.persona)
        kept = [t for t in tallies.get(member_id, []) if not t.received or rules.rule(t.action_type).target_points]
        values = [v for v in bucket_values(kept, rules) if v.points]
        if not values:
            continue
        points = np.array([v.points for v in values])
        bucket_days = np.array([v.tally.day for v in values])
        elapsed = days[:, None] - bucket_days[None, :]
        h = rules.half_life_days
        weight = np.where(elapsed >= 0, 1.0 if h is None else np.exp2(-np.maximum(elapsed, 0) / (h or 1)), 0.0)
        engagement[i] = weight @ points
    return engagement, fit


def _variant_figures(*, engagement: np.ndarray, fit: np.ndarray, config: ScoringConfig, member_ids: Sequence[int],
                     conversions: Mapping[int, datetime], days: np.ndarray, within_days: int) -> dict[str, Any]:
    reach = _mql_reach(engagement, fit, config)
    window = reach[:, 1:]
    produced = ~reach[:, 0] & window.any(axis=1)
    first_day = np.argmax(window, axis=1)
    weeks = max(1, math.ceil((days.size - 1) / 7))
    per_week = [0] * weeks
    converted = 0
    for i in np.flatnonzero(produced):
        k = int(first_day[i])
        per_week[k // 7] += 1
        became = from_epoch_days(float(days[k + 1]))
        when = conversions.get(member_ids[i])
        if when is not None and became <= when <= became + timedelta(days=within_days):
            converted += 1
    mqls = int(produced.sum())
    interval = wilson_interval(converted, mqls)
    return {"already_mql": int(reach[:, 0].sum()), "mqls": mqls, "converted": converted,
            "precision": rate(converted, mqls), "precision_interval": list(interval) if interval else None,
            "mqls_per_week": per_week, "mean_per_week": mqls / ((days.size - 1) / 7)}


def _mql_stage_name(config: ScoringConfig) -> Any:
    return next((s for s in config.stages if s.name.casefold() == settings.OUTCOME_MQL_STAGE.casefold()), None)


def _capacity_threshold(*, engagement: np.ndarray, fit: np.ndarray, config: ScoringConfig, capacity: float,
                        days: np.ndarray, **figures_kwargs) -> dict[str, Any] | None:
    mql = _mql_stage_name(config)
    if mql is None or engagement.size == 0:
        return None
    candidates = sorted({round(float(q), 1) for q in np.quantile(engagement[:, 1:].max(axis=1), np.linspace(0, 1, 101))
                         if q > 0})
    for threshold in candidates:
        stages = tuple(replace(s, min_engagement=threshold) if s is mql else s for s in config.stages)
        trial = replace(config, stages=stages)
        figures = _variant_figures(engagement=engagement, fit=fit, config=trial, days=days, **figures_kwargs)
        if figures["mean_per_week"] <= capacity:
            return {"capacity_per_week": capacity, "mql_min_engagement": threshold, **figures}
    return {"capacity_per_week": capacity, "mql_min_engagement": None,
            "reason": "no MQL threshold keeps the volume within capacity: the stages above MQL alone produce more"}


def config_replay(*, configs: Mapping[str, Mapping[str, Any]], start: datetime, end: datetime, within_days: int,
                  conversion_types: Sequence[str] | None = None,
                  capacity_per_week: float | None = None) -> dict[str, Any]:
    """Replay the log from ``start`` to ``end`` under each named config document (see the module docstring)."""
    types = conversion_types_parse(conversion_types)
    first, last = day_start(day_of(start)), day_start(day_of(end))
    if last < first:
        raise ValidationError({"end": ["must not be before start"]})
    days = np.arange(first - 1, last + 1)  # the baseline day, then the window
    window_start = from_epoch_days(first)
    until = from_epoch_days(last + 1) - timedelta(microseconds=1)
    member_ids = population_at(at=until, types=types, converted_by=window_start - timedelta(microseconds=1))
    conversions = first_conversions(types=types, member_ids=member_ids)
    compiled = {name: ScoringConfig.from_snapshot(doc) for name, doc in configs.items()}
    store = interest_store()
    series: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {name: ([], []) for name in compiled}
    for offset in range(0, len(member_ids), 2000):
        chunk = member_ids[offset:offset + 2000]
        tallies = interest_tallies_load(member_ids=chunk, with_topics=False, until=until)
        facts = store.members_facts(chunk)
        for name, config in compiled.items():
            engagement, fit = _engagement_days(config=config, member_ids=chunk, tallies=tallies, facts=facts, days=days)
            series[name][0].append(engagement)
            series[name][1].append(fit)
    variants = {}
    for name, config in compiled.items():
        engagement = np.vstack(series[name][0]) if member_ids else np.zeros((0, days.size))
        fit = np.concatenate(series[name][1]) if member_ids else np.zeros(0)
        common = {"member_ids": member_ids, "conversions": conversions, "within_days": within_days}
        mql = _mql_stage_name(config)
        variants[name] = {
            "mql_min_engagement": mql.min_engagement if mql else None,
            "mql_min_fit": mql.min_fit if mql else None,
            **_variant_figures(engagement=engagement, fit=fit, config=config, days=days, **common),
            "capacity_threshold": None if capacity_per_week is None else _capacity_threshold(
                engagement=engagement, fit=fit, config=config, capacity=capacity_per_week, days=days, **common),
        }
    return {
        "start": window_start.isoformat(), "end": until.isoformat(), "days": int(days.size - 1),
        "within_days": within_days, "members": len(member_ids), "conversion_types": list(types),
        "mature": until + timedelta(days=within_days) <= timezone.now(),
        "variants": variants,
    }


def replay_period(*, period_days: int, within_days: int, end: datetime | None = None) -> tuple[datetime, datetime]:
    """(start, end) of a replay over the last ``period_days`` days that ends ``within_days`` before ``end`` (default
    now), so every MQL of the window had its full ``within_days`` to convert."""
    last = (end or timezone.now()) - timedelta(days=within_days)
    return last - timedelta(days=period_days - 1), last


def replay_compare(*, a: Mapping[str, Any], b: Mapping[str, Any], period_days: int, within_days: int,
                   end: datetime | None = None, conversion_types: Sequence[str] | None = None,
                   capacity_per_week: float | None = None) -> dict[str, Any]:
    """config_replay of variants A and B (validated documents) over replay_period: what the API and page run."""
    start, last = replay_period(period_days=period_days, within_days=within_days, end=end)
    return config_replay(configs={"A": a, "B": b}, start=start, end=last, within_days=within_days,
                         conversion_types=conversion_types, capacity_per_week=capacity_per_week)

