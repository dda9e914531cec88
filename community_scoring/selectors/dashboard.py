"""What the dashboard reads: the daily aggregates (CommunityDay, computed ahead), members per stage now, the
leading members, the last scoring runs and the scoring work still pending. Every read is bounded: no scan of
the action log at request time."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from community_scoring.influence import selectors as influence_selectors
from community_scoring.influence.models import InfluenceRun
from community_scoring.models import CommunityDay, InterestPending, InterestScore, RecomputeJob
from community_scoring.selectors.config import scoring_config_current


def community_days(*, days: int = 90, until: date | None = None) -> list[CommunityDay]:
    """The last ``days`` daily aggregates up to ``until`` (default today), oldest first."""
    until = until or timezone.now().date()
    return list(CommunityDay.objects.filter(day__gt=until - timedelta(days=days), day__lte=until).order_by("day"))


def stage_funnel() -> list[tuple[str, int]]:
    """Members (not excluded) per stage as last recorded (by actions, recomputes and the hourly re-valuation that
    records crossings by decay: services.revalue), in the stages' order (lowest threshold first); stages nobody
    is in count 0, stages no longer configured come last."""
    counts = dict(
        InterestScore.objects.filter(member__is_excluded=False).order_by().values("stage")
        .annotate(n=Count("pk")).values_list("stage", "n")
    )
    order = [stage.name for stage in scoring_config_current().stages]
    funnel = [(name, counts.pop(name, 0)) for name in order]
    funnel += sorted(((name or "(none)", n) for name, n in counts.items()), key=lambda kv: -kv[1])
    return funnel


def scoring_runs(*, limit: int = 3) -> dict[str, Any]:
    """The last interest recomputes and influence runs (newest first, with durations) and the pending work."""
    interest = list(RecomputeJob.objects.order_by("-id")[:limit])
    for job in interest:
        job.duration_seconds = ((job.finished_at - job.started_at).total_seconds()
                                if job.finished_at and job.started_at else None)
    influence: list[InfluenceRun] = list(influence_selectors.influence_runs(limit=limit))
    return {
        "interest": interest,
        "influence": influence,
        "pending_batches": InterestPending.objects.filter(failed_at__isnull=True).count(),
        "failed_batches": InterestPending.objects.filter(failed_at__isnull=False).count(),
    }
