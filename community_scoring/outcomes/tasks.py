"""Celery tasks of the outcomes app. Each takes ids, calls one service, and is safe to run twice."""
from celery import shared_task

from community_scoring.outcomes.models import CalibrationRun


@shared_task(name="community_scoring.outcomes.calibration_run", acks_late=True)
def calibration_run_task(run_id: int) -> dict:
    """Run a pending (or interrupted) CalibrationRun; a run another task runs, or that has ended, is left alone
    (the service's claim decides)."""
    from community_scoring.outcomes.services import calibration

    run = calibration.calibration_run(run_id=run_id) if CalibrationRun.objects.filter(pk=run_id).exists() else None
    if run is None:
        return {"run": run_id, "skipped": True}
    return {"run": run_id, "status": run.status}
