"""Recompute jobs as the settings page and the API follow them."""
from __future__ import annotations

from community_scoring.models import RecomputeJob


def recompute_jobs_interest(*, limit: int = 5) -> list[RecomputeJob]:
    """The latest interest recompute jobs, newest first."""
    return list(RecomputeJob.objects.filter(kind=RecomputeJob.Kind.INTEREST).order_by("-id")[:limit])


def recompute_job_interest(*, job_id: int) -> RecomputeJob | None:
    return RecomputeJob.objects.filter(pk=job_id, kind=RecomputeJob.Kind.INTEREST).first()


def recompute_job_for_version(*, number: int) -> RecomputeJob | None:
    """The interest recompute a config version started (None for a change of influence parameters only)."""
    return RecomputeJob.objects.filter(kind=RecomputeJob.Kind.INTEREST, config_version=number).order_by("-id").first()
