"""Background jobs whose task message was lost (issue 15: nothing lost, nothing stuck, no 500): a job the broker
refused at request time is answered as queued and run by the periodic sweep; the sweep publishes only jobs still
pending after the grace period; a message sent twice never runs a job twice at once, nor again once it ended."""
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from community_scoring.influence.models import InfluenceRun
from community_scoring.influence.services import influence_run_request
from community_scoring.influence.tasks import influence_recompute_task
from community_scoring.jobs import job_claimed
from community_scoring.models import RecomputeJob
from community_scoring.outcomes.models import CalibrationRun
from community_scoring.outcomes.services.calibration import calibration_start
from community_scoring.outcomes.tasks import calibration_run_task
from community_scoring.services.recompute import recompute_job_start
from community_scoring.tasks import interest_recompute_task, jobs_pending_publish_task
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

# (how a caller starts the job, its model, its task, the sweep's key for it)
KINDS = {
    "interest": (lambda: recompute_job_start(config_version=1), RecomputeJob, interest_recompute_task,
                 "interest_recomputes"),
    "influence": (lambda: influence_run_request(trigger="api"), InfluenceRun, influence_recompute_task,
                  "influence_runs"),
    "calibration": (lambda: calibration_start(parameters={}), CalibrationRun, calibration_run_task, "calibrations"),
}


def refuse(monkeypatch, task) -> None:
    def refused(*args, **kwargs):
        raise BrokerError("[Errno 111] Connection refused")

    monkeypatch.setattr(task, "delay", refused)


def published(monkeypatch) -> list[tuple[str, int]]:
    """Record the messages the jobs' tasks are sent (a broker that takes them, and no worker yet)."""
    sent: list[tuple[str, int]] = []
    for name, (_, _, task, _) in KINDS.items():
        monkeypatch.setattr(task, "delay", lambda job_id, name=name: sent.append((name, job_id)))
    return sent


def job_row(model, **fields):
    """A job as its service creates it (without publishing its task)."""
    required = {RecomputeJob: {"kind": "interest"},
                CalibrationRun: {"parameters": {"within_days": 30, "period_days": 365, "fit_half_life": False}}}
    return model.objects.create(**required.get(model, {}), **fields)


def age(model, pk: int, seconds: float) -> None:
    model.objects.filter(pk=pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.parametrize("kind", KINDS)
def test_a_job_whose_task_the_broker_refused_is_run_by_the_sweep(kind, settings, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    start, model, task, key = KINDS[kind]
    MemberFactory()
    refuse(monkeypatch, task)
    with django_capture_on_commit_callbacks(execute=True):
        job = start()  # the broker refuses its task after the commit: the caller is not failed for it
    assert model.objects.get(pk=job.pk).status == "pending"
    monkeypatch.undo()  # the broker is back
    assert jobs_pending_publish_task() == {"interest_recomputes": [], "influence_runs": [], "calibrations": []}
    assert model.objects.get(pk=job.pk).status == "pending"  # within the grace period: its message may be queued
    age(model, job.pk, settings.JOBS_PENDING_GRACE_SECONDS + 1)
    swept = jobs_pending_publish_task()  # eager Celery: the task runs as it is published
    assert swept == {k: [job.pk] if k == key else [] for k in swept}
    job = model.objects.get(pk=job.pk)
    # it ran: an empty community fails a calibration (no conversions to learn from), and that is its result
    assert job.started_at is not None and job.finished_at is not None
    assert job.status in (("done",) if kind != "calibration" else ("failed",))


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_a_recompute_the_broker_refused_as_queued_and_the_sweep_runs_it(token_client, settings,
                                                                                      monkeypatch):
    """Outside a test transaction, as in production: the task is published as the request's job row commits."""
    admin = token_client("admin")
    MemberFactory()
    refuse(monkeypatch, interest_recompute_task)
    response = admin.post("/api/v1/recompute/interest/")
    assert response.status_code == 202  # not a 503 asking to retry: the job is stored and will run
    body = response.json()
    assert body["status"] == "pending"
    monkeypatch.undo()
    age(RecomputeJob, body["id"], settings.JOBS_PENDING_GRACE_SECONDS + 1)
    assert jobs_pending_publish_task()["interest_recomputes"] == [body["id"]]
    assert admin.get(f"/api/v1/recompute/interest/{body['id']}/").json()["status"] == "done"
    assert RecomputeJob.objects.count() == 1


def test_the_sweep_publishes_only_jobs_still_pending_after_the_grace_period(settings, monkeypatch):
    sent = published(monkeypatch)
    old = settings.JOBS_PENDING_GRACE_SECONDS + 1
    lost = {}
    for name, (_, model, _, _) in KINDS.items():
        statuses = ["running", "done", "failed"] + (["skipped"] if model is InfluenceRun else [])
        if model is CalibrationRun:
            statuses += ["applied", "rejected"]
        for status in statuses:
            age(model, job_row(model, status=status).pk, old)
        job_row(model)  # pending, just created: its message may still be on its way
        lost[name] = job_row(model).pk
        age(model, lost[name], old)
    assert sent == []  # nothing was published by creating rows
    jobs_pending_publish_task()
    assert sorted(sent) == sorted(lost.items())
    jobs_pending_publish_task()  # still pending (no worker yet): sent again, and the claim runs it once
    assert sorted(sent) == sorted([*lost.items(), *lost.items()])


def test_a_sweep_stops_at_a_broker_that_refuses_and_the_next_one_publishes(settings, monkeypatch):
    jobs = [job_row(RecomputeJob) for _ in range(2)]
    for job in jobs:
        age(RecomputeJob, job.pk, settings.JOBS_PENDING_GRACE_SECONDS + 1)
    refuse(monkeypatch, interest_recompute_task)
    assert jobs_pending_publish_task()["interest_recomputes"] == []  # logged, not raised: beat runs it again
    monkeypatch.undo()
    assert jobs_pending_publish_task()["interest_recomputes"] == [j.pk for j in jobs]
    assert set(RecomputeJob.objects.values_list("status", flat=True)) == {"done"}


def test_a_message_for_a_recompute_that_ended_does_not_run_it_again():
    for status in ("done", "failed"):
        job = job_row(RecomputeJob, status=status, error="kept" if status == "failed" else "")
        interest_recompute_task.delay(job.pk)
        after = RecomputeJob.objects.get(pk=job.pk)
        assert (after.status, after.error, after.started_at) == (status, job.error, None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["interest", "calibration"])
def test_a_second_message_never_runs_a_job_while_its_runner_holds_it(kind):
    """Two messages for one job (a sweep's and the first, delivered late; or Celery's redelivery): while one task
    runs it, the other leaves it alone. A runner that dies lets go of it: its message, delivered again, runs it."""
    _, model, task, _ = KINDS[kind]
    job = job_row(model)
    holding, release, claims = threading.Event(), threading.Event(), []

    def runner() -> None:  # another worker's task: claims the job, then dies before it finishes
        try:
            with job_claimed(model, job.pk, started_at=timezone.now()) as claimed:
                claims.append(claimed)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=runner)
    thread.start()
    try:
        assert holding.wait(30) and claims == [True]
        task.delay(job.pk)  # the duplicate message, while the runner holds the job
        during = model.objects.get(pk=job.pk)
        assert (during.status, during.finished_at) == ("running", None)
    finally:
        release.set()
        thread.join(30)
    task.delay(job.pk)  # the runner died (its hold ended with it): the job's message, delivered again, runs it
    after = model.objects.get(pk=job.pk)
    assert after.finished_at is not None and after.status in ("done", "failed")


def test_the_sweep_is_scheduled():
    from django_celery_beat.models import PeriodicTask

    from settings.celeryconf import app

    sweep = PeriodicTask.objects.get(task=jobs_pending_publish_task.name)
    assert (sweep.interval.every, sweep.interval.period, sweep.enabled) == (5, "minutes", True)
    assert jobs_pending_publish_task.name in app.tasks  # its queue: tasks/test_worker.py
