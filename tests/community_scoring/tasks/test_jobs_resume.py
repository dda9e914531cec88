"""A worker killed mid-recompute: when its node starts again (celery's worker_ready), what it was running runs again."""
import pytest
from celery.signals import worker_ready

from community_scoring.influence.models import InfluenceRun
from community_scoring.models import RecomputeJob

pytestmark = pytest.mark.django_db


class Consumer:
    """What celery's worker_ready sends: the node's consumer, which knows the node's name."""

    def __init__(self, hostname: str):
        self.hostname = hostname


def node_starts(hostname: str, capture) -> None:
    with capture(execute=True):  # the queued tasks run (eager Celery) once the resume commits
        worker_ready.send(sender=Consumer(hostname))


def test_an_interrupted_interest_recompute_is_queued_again_and_finishes(django_capture_on_commit_callbacks):
    mine = RecomputeJob.objects.create(kind=RecomputeJob.Kind.INTEREST, status=RecomputeJob.Status.RUNNING,
                                       worker="recompute@a", total=10, done=4)
    other = RecomputeJob.objects.create(kind=RecomputeJob.Kind.INTEREST, status=RecomputeJob.Status.RUNNING,
                                        worker="recompute@b")
    node_starts("recompute@a", django_capture_on_commit_callbacks)
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.status == RecomputeJob.Status.DONE and mine.finished_at is not None
    assert other.status == RecomputeJob.Status.RUNNING  # another node's job: that node may still be running it


def test_a_recompute_records_the_node_that_runs_it():
    from community_scoring.services.recompute import interest_recompute

    job = RecomputeJob.objects.create(kind=RecomputeJob.Kind.INTEREST)
    interest_recompute(job_id=job.pk, worker="recompute@host")
    job.refresh_from_db()
    assert job.worker == "recompute@host" and job.status == RecomputeJob.Status.DONE


def test_an_interrupted_influence_run_fails_and_a_new_run_replaces_it(django_capture_on_commit_callbacks):
    run = InfluenceRun.objects.create(status=InfluenceRun.Status.RUNNING, worker="influence@a", trigger="schedule")
    untouched = InfluenceRun.objects.create(status=InfluenceRun.Status.RUNNING, worker="influence@b")
    node_starts("influence@a", django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == InfluenceRun.Status.FAILED and "interrupted" in run.error
    (new,) = InfluenceRun.objects.filter(pk__gt=untouched.pk)
    assert new.trigger == "schedule" and new.status == InfluenceRun.Status.DONE
    untouched.refresh_from_db()
    assert untouched.status == InfluenceRun.Status.RUNNING
