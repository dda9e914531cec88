"""Celery tasks of the interest engine. Each takes ids (or nothing), calls one service, and is safe to run twice.

Periodic (celery beat, DatabaseScheduler; rows created by migration 0004):
- ``interest_inactivity_task`` daily at 02:00 UTC: logs inactivity penalties (services.inactivity).
- ``interest_snapshot_task`` daily at 00:15 UTC: re-values decay, re-evaluates stages, writes the day's
  ScoreSnapshot rows (services.snapshots), then refreshes the dashboard's daily aggregates
  (services.community_days).
- ``interest_revalue_task`` hourly: re-values every score to now and records stage crossings caused by decay
  alone (reason ``decay``, ``stage_changed`` webhooks; services.revalue). Rows created by migration 0020.
- ``interest_rank_rekey_task`` every 5 minutes: refreshes the leaderboard order key (InterestScore.rank_key).
- ``interest_pending_score_task`` every minute: scores actions a crash left stored but unscored
  (services.interest_queue; normally a batch's actions are scored right after it commits).
- ``members_link_sweep_task`` every 10 minutes: links identities sharing a crm_id or verified email whose linking
  was lost after their batch committed (services.identity). Rows created by migration 0025.
- ``jobs_pending_publish_task`` every 5 minutes: publishes again the tasks of background jobs left pending
  (community_scoring.jobs; normally a job's task is published when the job is created). Row: migration 0026.

On demand: ``interest_partition_score_task`` scores a partition's pending actions (INTEREST_SCORING=worker: each
stored batch starts one per idle partition).

Services enqueue these tasks (the one exception to the layers, see .importlinter), so each task imports its
service when it runs (HackSoft's pattern): importing either side first works.
"""
from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(name="community_scoring.interest_recompute", acks_late=True, bind=True)
def interest_recompute_task(self, job_id: int) -> dict:
    """Run a pending (or interrupted) RecomputeJob; a job another task runs, or that has ended, is left alone
    (the service's claim decides)."""
    from community_scoring.services import recompute

    result = recompute.interest_recompute(job_id=job_id, worker=self.request.hostname or "")
    if result is None:
        return {"job": job_id, "skipped": True}
    return {"job": job_id, "members": result.members, "actions": result.actions, "stage_changes": result.stage_changes}


@shared_task(name="community_scoring.jobs_pending_publish")
def jobs_pending_publish_task() -> dict:
    """Publish again the tasks of background jobs left pending (community_scoring.jobs): interest recomputes,
    influence runs and calibrations whose message the broker refused or a dying process never sent."""
    from community_scoring.influence.services import influence_runs_publish_pending
    from community_scoring.outcomes.services.calibration import calibration_runs_publish_pending
    from community_scoring.services.recompute import recompute_jobs_publish_pending

    return {"interest_recomputes": recompute_jobs_publish_pending(), "influence_runs": influence_runs_publish_pending(),
            "calibrations": calibration_runs_publish_pending()}


@shared_task(name="community_scoring.interest_inactivity")
def interest_inactivity_task() -> int:
    from community_scoring.services import inactivity

    return inactivity.interest_inactivity_apply()


@shared_task(name="community_scoring.interest_snapshot")
def interest_snapshot_task() -> int:
    from community_scoring.services import community_days, snapshots

    written = snapshots.interest_snapshot_take()
    # The dashboard's daily aggregates: yesterday (complete now) and today (so far).
    today = timezone.now().date()
    community_days.community_days_refresh(since=today - timedelta(days=1), until=today)
    return written


@shared_task(name="community_scoring.interest_revalue")
def interest_revalue_task() -> int:
    from community_scoring.services import revalue

    return revalue.interest_revalue()


@shared_task(name="community_scoring.interest_rank_rekey")
def interest_rank_rekey_task() -> int:
    from community_scoring.services import revalue

    return revalue.interest_rank_rekey()


@shared_task(name="community_scoring.interest_pending_score")
def interest_pending_score_task() -> int:
    from community_scoring.services import interest_queue

    return interest_queue.interest_pending_score()


@shared_task(name="community_scoring.interest_partition_score", acks_late=True)
def interest_partition_score_task(partition: int) -> int:
    """Score what is pending in a partition (a no-op when another scorer holds it: that one scores it)."""
    from community_scoring.services import interest_queue

    return interest_queue.interest_pending_drain(partition)


@shared_task(name="community_scoring.members_link_sweep")
def members_link_sweep_task() -> list[int]:
    """Link identities sharing a crm_id or verified email whose linking was lost (services.identity)."""
    from community_scoring.services import identity

    return identity.members_link_sweep()


@shared_task(name="community_scoring.members_link", acks_late=True)
def members_link_task(identity_ids: list[int]) -> list[int]:
    """Merge these identities' members with those sharing a crm_id or verified email (services.identity)."""
    from community_scoring.services import identity

    return identity.members_link(identity_ids=identity_ids)
