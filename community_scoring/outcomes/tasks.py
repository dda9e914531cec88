"""Celery tasks of the outcomes app. Each takes ids, calls one service, and is safe to run twice."""
from celery import shared_task

from community_scoring.outcomes.models import CalibrationRun


@shared_task(name="community_scoring.outcomes.calibration_run", acks_late=True)
def calibration_run_task(run_id: int) -> dict:
    """Run a pending (or interrupted: running) CalibrationRun; a finished or decided one is left alone."""
    from community_scoring.outcomes.services import calibration

    run = CalibrationRun.objects.filter(pk=run_id).first()
    if run is None or run.status not in (CalibrationRun.Status.PENDING, CalibrationRun.Status.RUNNING):
        return {"run": run_id, "skipped": True}
    run = calibration.calibration_run(run_id=run_id)
    return {"run": run_id, "status": run.status}
