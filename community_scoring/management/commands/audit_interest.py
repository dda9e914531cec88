"""`manage.py audit_interest`: check every stored interest score against the action log (services.audit)."""
import json

from django.core.management.base import BaseCommand, CommandError

from community_scoring.services.audit import interest_audit


class Command(BaseCommand):
    help = ("Check that every stored interest score equals a recompute from the log at this instant, every action "
            "is counted once and nothing waits to be scored. Prints a JSON report; exits 1 when anything differs.")

    def add_arguments(self, parser):
        parser.add_argument("--tolerance", type=float, default=1e-6, help="Relative tolerance (default 1e-6).")

    def handle(self, *args, tolerance: float, **options):
        audit = interest_audit(tolerance=tolerance)
        self.stdout.write(json.dumps(audit.as_dict(), indent=2, default=str))
        if not audit.ok:
            raise CommandError("interest differs from the log, or work is still waiting (see the report above)")
