"""`manage.py recompute_influence`: recompute influence now, synchronously, and print the run record."""
import json

from django.core.management.base import BaseCommand, CommandError

from community_scoring.influence.selectors import influence_config_load
from community_scoring.influence.recompute import influence_recompute
from community_scoring.influence.selectors import run_record
from community_scoring.influence.text_sentiment import sentiment_score_pending
from community_scoring.influence.store import influence_store


PHASES = ["sentiment_scoring", "graph_read", "previous_read", "matrix_build", "pagerank", "sentiment_read", "formula",
          "write", "swap", "prune"]


class Command(BaseCommand):
    help = "Recompute centrality, reach, sentiment and influence for every member and print the run record."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the run record as JSON.")
        parser.add_argument("--rescan-texts", action="store_true",
                            help="Look for unscored texts over the whole action log, not only the newest.")

    def handle(self, *args, **options):
        if options["rescan_texts"]:
            scored = sentiment_score_pending(store=influence_store(), text_types=list(influence_config_load().text_types),
                                             full=True)
            self.stdout.write(f"texts scored by the full rescan: {scored}")
        run = influence_recompute(trigger="command")
        record = run_record(run)
        if options["json"]:
            self.stdout.write(json.dumps(record, indent=2))
        else:
            for key in ("id", "status", "started", "finished", "nodes", "edges", "iterations", "converged",
                        "warm_start", "texts_scored", "duration_seconds"):
                self.stdout.write(f"{key}: {record[key]}")
            phases = sorted((record["timings"] or {}).items(), key=lambda kv: PHASES.index(kv[0]) if kv[0] in PHASES else 99)
            timings = ", ".join(f"{k} {v:.3f}s" for k, v in phases)
            self.stdout.write(f"timings: {timings}")
        if run.status != run.Status.DONE:
            raise CommandError(f"influence run {run.pk} {run.status}: {run.error}")
