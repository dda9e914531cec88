"""`manage.py scan_gaming`: look for vote rings and vote bursts now, flag them, and print what was found."""
from datetime import timedelta

from django.core.management.base import BaseCommand

from community_scoring.gaming import rings
from community_scoring.gaming.services import WINDOW_DAYS, gaming_scan


class Command(BaseCommand):
    help = "Scan the recent actions for vote rings and bursts (gaming.rings), flag them for admin review."

    def add_arguments(self, parser):
        parser.add_argument("--window-days", type=float, default=WINDOW_DAYS, help="How far back to look.")
        parser.add_argument("--young-days", type=float, default=rings.YOUNG_DAYS,
                            help="Accounts younger than this at their first action in the window are young.")
        parser.add_argument("--min-size", type=int, default=rings.MIN_SIZE)
        parser.add_argument("--min-density", type=float, default=rings.MIN_DENSITY)
        parser.add_argument("--min-inside-share", type=float, default=rings.MIN_INSIDE_SHARE)
        parser.add_argument("--burst-count", type=int, default=rings.BURST_COUNT)
        parser.add_argument("--burst-minutes", type=float, default=rings.BURST_WINDOW.total_seconds() / 60)

    def handle(self, *args, **options):
        result = gaming_scan(window_days=options["window_days"], young_days=options["young_days"],
                             min_size=options["min_size"], min_density=options["min_density"],
                             min_inside_share=options["min_inside_share"], burst_count=options["burst_count"],
                             burst_window=timedelta(minutes=options["burst_minutes"]))
        self.stdout.write(f"edges: {result.edges}, rings: {result.rings}, bursts: {result.bursts}, "
                          f"flags created: {result.flags_created}, flags extended: {result.flags_extended}, "
                          f"actions flagged: {result.actions_flagged}, {result.seconds:.2f} s")
