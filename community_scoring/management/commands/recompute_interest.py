"""`manage.py recompute_interest`: rebuild every interest score from the action log, synchronously."""
from django.core.management.base import BaseCommand

from community_scoring.models import RecomputeJob
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.recompute import interest_recompute


class Command(BaseCommand):
    help = "Recompute interest (buckets, topics, scores, stages) from the action log and print what it did."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=500, help="Members per transaction (default 500).")
        parser.add_argument("--member", type=int, action="append", dest="members",
                            help="Only this member id (repeatable).")

    def handle(self, *args, chunk_size: int, members: list[int] | None, **options):
        config = scoring_config_current()
        job = RecomputeJob.objects.create(kind=RecomputeJob.Kind.INTEREST, config_version=config.version)
        result = interest_recompute(job_id=job.pk, member_ids=members, chunk_size=chunk_size)
        rate = result.actions / result.seconds if result.seconds else 0.0
        self.stdout.write(
            f"Recomputed interest (config v{config.version}, job {job.pk}): {result.members} members, "
            f"{result.actions} actions, {result.stage_changes} stage changes in {result.seconds:.2f} s "
            f"({rate:,.0f} actions/s)."
        )
