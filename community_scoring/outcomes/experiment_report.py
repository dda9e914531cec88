"""Reads of live experiments: who takes part in which variant, and how each variant converts.

The report, per variant: members (joined after the start, id above first_member_id, up to the stop), MQLs
(members whose stage is settings.OUTCOME_MQL_STAGE or above, valued at the report's instant under their variant's
configuration, as every read values stages: selectors.interest.members_in_stages; not the stored stage column,
which lags decay by up to an hour), conversions (members whose first conversion, outcomes.selectors, happened
since the start and up to the stop) and the conversion rate with its Wilson interval; then B's rate minus A's
with Newcombe's interval (outcomes.metrics), which variant leads and whether the interval excludes 0.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from community_scoring.models import Experiment, Member
from community_scoring.outcomes.metrics import difference_interval, rate, wilson_interval
from community_scoring.outcomes.selectors import conversion_types_parse, first_conversions
from community_scoring.scoring.ruleset import ScoringConfig
from community_scoring.scoring.split import A, B, variant_of
from community_scoring.scoring.stages import stage_reaches
from community_scoring.selectors import interest as interest_selectors
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


def _joined(*, experiment: Experiment, until: datetime | None) -> QuerySet[Member]:
    """The members taking part, both variants: joined after the start (id above first_member_id), and before
    ``until`` (default: the stop, if it stopped)."""
    members = Member.objects.filter(pk__gt=experiment.first_member_id, merged_into__isnull=True)
    end = until or experiment.stopped_at
    return members if end is None else members.filter(created_at__lte=end)


def experiment_participants(*, experiment: Experiment, until: datetime | None = None) -> dict[str, list[int]]:
    """The members taking part (_joined), by variant, ascending."""
    out: dict[str, list[int]] = {A: [], B: []}
    members = _joined(experiment=experiment, until=until)
    for member_id in members.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=5000):
        out[experiment_variant(experiment=experiment, member_id=member_id)].append(member_id)
    return out


def _interval(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [pair[0], pair[1]]


def _mqls(*, experiment: Experiment, mql_stage: str, until: datetime | None, at: datetime) -> dict[str, set[int]]:
    """Per variant, the participants whose stage valued at ``at`` under that variant's configuration (A: the
    current one, B: the experiment's document) is ``mql_stage`` or above; for all participants, the caller keeps
    each variant's own. Without a split of their own, so each variant values every participant by itself."""
    configs = {A: replace(scoring_config_current(), split=None), B: ScoringConfig.from_snapshot(experiment.config_b)}
    joined = _joined(experiment=experiment, until=until)
    out = {}
    for variant, config in configs.items():
        reaching = [s.name for s in config.stages if stage_reaches(s.name, mql_stage, config.stages)]
        members = interest_selectors.members_in_stages(joined, reaching, at=at, config=config) if reaching else None
        out[variant] = set() if members is None else set(members.values_list("pk", flat=True))
    return out


def experiment_report(*, experiment: Experiment, at: datetime | None = None,
                      conversion_types: list[str] | None = None) -> dict[str, Any]:
    """The experiment's figures (see the module docstring) as JSON-ready data; a stopped experiment answers the
    report kept when it stopped."""
    if experiment.status == Experiment.Status.STOPPED and experiment.report and at is None:
        return experiment.report
    types = conversion_types_parse(conversion_types)
    mql_stage = settings.OUTCOME_MQL_STAGE
    participants = experiment_participants(experiment=experiment, until=at)
    all_ids = participants[A] + participants[B]
    mql_ids = _mqls(experiment=experiment, mql_stage=mql_stage, until=at, at=at or interest_selectors.valued_now())
    firsts = first_conversions(types=types, member_ids=all_ids, until=at or experiment.stopped_at)
    variants, counts = [], {}
    for variant in (A, B):
        ids = participants[variant]
        mqls = sum(1 for m in ids if m in mql_ids[variant])
        converted = [m for m in ids if m in firsts and firsts[m] >= experiment.started_at]
        mql_converted = sum(1 for m in converted if m in mql_ids[variant])
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
