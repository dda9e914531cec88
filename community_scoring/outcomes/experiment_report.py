"""Reads of live experiments: who takes part in which variant, and how each variant converts.

The report, per variant: members (joined after the start, id above first_member_id, up to the stop), MQLs
(members whose stored stage is settings.OUTCOME_MQL_STAGE or above, under their variant's stages: the stage
each variant's thresholds gave them), conversions (members whose first conversion, outcomes.selectors, happened
since the start and up to the stop) and the conversion rate with its Wilson interval; then B's rate minus A's
with Newcombe's interval (outcomes.metrics), which variant leads and whether the interval excludes 0.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from community_scoring.models import Experiment, InterestScore, Member
from community_scoring.outcomes.metrics import difference_interval, rate, wilson_interval
from community_scoring.outcomes.selectors import conversion_types_parse, first_conversions
from community_scoring.scoring.ruleset import ScoringConfig
from community_scoring.scoring.split import A, B, variant_of
from community_scoring.scoring.stages import stage_reaches
from community_scoring.selectors.config import scoring_config_current

CONFIDENCE = 0.95


def experiments_list() -> QuerySet[Experiment]:
    return Experiment.objects.select_related("started_by", "stopped_by").order_by("-started_at", "-id")


def experiment_get(*, experiment_id: int) -> Experiment:
    """Raises Experiment.DoesNotExist."""
    return experiments_list().get(pk=experiment_id)


def experiment_variant(*, experiment: Experiment, member_id: int) -> str | None:
    """The member's variant in this experiment ("A", "B"), None when they do not take part."""
    return variant_of(experiment_id=experiment.pk, first_member_id=experiment.first_member_id,
                      share=experiment.share, member_id=member_id)


def experiment_participants(*, experiment: Experiment, until: datetime | None = None) -> dict[str, list[int]]:
    """The members taking part, by variant, ascending: joined after the start (id above first_member_id), and
    before ``until`` (default: the stop, if it stopped)."""
    members = Member.objects.filter(pk__gt=experiment.first_member_id, merged_into__isnull=True)
    end = until or experiment.stopped_at
    if end is not None:
        members = members.filter(created_at__lte=end)
    out: dict[str, list[int]] = {A: [], B: []}
    for member_id in members.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=5000):
        out[experiment_variant(experiment=experiment, member_id=member_id)].append(member_id)
    return out


def _interval(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [pair[0], pair[1]]


def experiment_report(*, experiment: Experiment, at: datetime | None = None,
                      conversion_types: list[str] | None = None) -> dict[str, Any]:
    """The experiment's figures (see the module docstring) as JSON-ready data; a stopped experiment answers the
    report kept when it stopped."""
    if experiment.status == Experiment.Status.STOPPED and experiment.report and at is None:
        return experiment.report
    types = conversion_types_parse(conversion_types)
    mql_stage = settings.OUTCOME_MQL_STAGE
    participants = experiment_participants(experiment=experiment, until=at)
    stages = {A: scoring_config_current().stages, B: ScoringConfig.from_snapshot(experiment.config_b).stages}
    all_ids = participants[A] + participants[B]
    stored = dict(InterestScore.objects.filter(member_id__in=all_ids).values_list("member_id", "stage"))
    firsts = first_conversions(types=types, member_ids=all_ids, until=at or experiment.stopped_at)
    variants, counts = [], {}
    for variant in (A, B):
        ids = participants[variant]
        mqls = sum(1 for m in ids if stage_reaches(stored.get(m, ""), mql_stage, stages[variant]))
        converted = [m for m in ids if m in firsts and firsts[m] >= experiment.started_at]
        mql_converted = sum(1 for m in converted if stage_reaches(stored.get(m, ""), mql_stage, stages[variant]))
        counts[variant] = (len(converted), len(ids))
        variants.append({
            "variant": variant, "members": len(ids), "mqls": mqls, "mql_rate": rate(mqls, len(ids)),
            "conversions": len(converted), "conversion_rate": rate(len(converted), len(ids)),
            "conversion_interval": _interval(wilson_interval(len(converted), len(ids), CONFIDENCE)),
            "mql_conversions": mql_converted, "mql_precision": rate(mql_converted, mqls),
        })
    interval = difference_interval(counts[A], counts[B], CONFIDENCE)
    rate_a, rate_b = rate(*counts[A]), rate(*counts[B])
    difference = None if rate_a is None or rate_b is None else rate_b - rate_a
    leader = None if not difference else (B if difference > 0 else A)
    return {
        "mql_stage": mql_stage, "conversion_types": list(types), "confidence": CONFIDENCE,
        "variants": variants,
        "difference": {
            "b_minus_a": difference, "interval": _interval(interval), "leader": leader,
            "excludes_zero": interval is not None and (interval[0] > 0 or interval[1] < 0),
        },
    }
