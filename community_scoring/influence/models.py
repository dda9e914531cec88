"""Influence: configuration, one record per recompute, per-run member scores (the history) and text sentiment."""
from django.conf import settings
from django.db import models

# Edge weight per action type: an action of that type from A on B (or B's content) adds this weight to A -> B.
# A type listed in REVERSING subtracts the weight of the type it reverses (unfollow takes back a follow).
DEFAULT_EDGE_WEIGHTS = {
    "follow": 3.0,
    "answer": 2.0,
    "comment": 1.0,
    "solved": 2.0,
    "vote_up": 1.0,
    "share": 2.0,
    "read": 0.2,
    "poll_response": 0.5,
}
# Types whose texts are scored with VADER.
DEFAULT_TEXT_TYPES = ["question", "answer", "comment", "blog_post", "poll_response"]
# Types that count towards reach: distinct members who read or engaged with someone's content in the window.
DEFAULT_REACH_TYPES = ["read", "vote_up", "answer", "comment", "share", "solved", "poll_response"]
# A run keeps each member's heaviest inbound edges, this many (InfluenceEdge): the audience view shows them.
INBOUND_EDGES_KEPT = 10


def default_edge_weights() -> dict:
    return dict(DEFAULT_EDGE_WEIGHTS)


def default_text_types() -> list:
    return list(DEFAULT_TEXT_TYPES)


def default_reach_types() -> list:
    return list(DEFAULT_REACH_TYPES)


class InfluenceConfig(models.Model):
    """The influence parameters; one row (pk=1), edited in the admin or through influence_config_update."""

    damping = models.FloatField(default=0.85, help_text="PageRank damping factor (0 < d < 1).")
    tolerance = models.FloatField(
        default=1e-10, help_text="Stop when the L1 change of the score vector (which sums to 1) is below this."
    )
    max_iterations = models.PositiveIntegerField(default=1000)
    edge_weights = models.JSONField(default=default_edge_weights, help_text="Action type key -> edge weight.")
    half_life_days = models.FloatField(default=180.0, help_text="Edge weight of an action halves every this many days.")
    window_days = models.PositiveIntegerField(default=90, help_text="Window for reach and sentiment.")
    reach_types = models.JSONField(default=default_reach_types)
    text_types = models.JSONField(default=default_text_types)
    centrality_weight = models.FloatField(default=0.7, help_text="Weight of the centrality percentile in the blend.")
    reach_weight = models.FloatField(default=0.3, help_text="Weight of the reach percentile in the blend.")
    sentiment_weight = models.FloatField(
        default=0.2, help_text="-1..1: how far sentiment moves influence (positive: positive sentiment raises it)."
    )
    sentiment_prior = models.FloatField(
        default=3.0, help_text="Texts of pseudo-count 0 sentiment: shrinks the sentiment of members with few texts."
    )
    received_weight = models.FloatField(
        default=0.5, help_text="Weight of replies received relative to texts written in a member's sentiment."
    )
    evidence_prior = models.FloatField(
        default=10.0,
        help_text="Pseudo-observations of a typical member (percentile 50) added to each member's evidence: with "
                  "e members behind a percentile, the member's own percentile counts e/(e+k) and 50 the rest, so "
                  "little evidence cannot make anyone influential. 0 = no shrinking.",
    )
    min_texts = models.PositiveIntegerField(
        default=3, help_text="Texts a member must have written in the window to be flagged advocate or detractor."
    )
    advocate_min_influence = models.FloatField(
        default=60.0, help_text="Advocate: influence before sentiment (the base) at least this, 0-100."
    )
    advocate_min_sentiment = models.FloatField(
        default=0.25, help_text="Advocate: sentiment at least this, -1..1 (default 0.25: clearly positive).")
    detractor_min_influence = models.FloatField(
        default=60.0, help_text="Detractor: influence before sentiment (the base) at least this, 0-100."
    )
    detractor_max_sentiment = models.FloatField(
        default=-0.15, help_text="Detractor: sentiment at most this, -1..1 (default -0.15: clearly negative).")
    schedule_minutes = models.PositiveIntegerField(default=360, help_text="Scheduled recompute interval; 0 = off.")
    keep_runs = models.PositiveIntegerField(default=10, help_text="Runs whose scores are kept as history.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "influence configuration"
        verbose_name_plural = "influence configuration"

    def __str__(self) -> str:
        return "Influence configuration"


class InfluenceRun(models.Model):
    """One recompute of influence. Its scores become current when it is marked done, in one transaction."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        SKIPPED = "skipped"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    trigger = models.CharField(max_length=16, default="manual", help_text="manual, schedule, command, config.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ref_time = models.DateTimeField(null=True, blank=True, help_text="The 'now' decay and windows are measured from.")
    nodes = models.PositiveIntegerField(default=0)
    edges = models.PositiveBigIntegerField(default=0)
    iterations = models.PositiveIntegerField(default=0)
    converged = models.BooleanField(default=False)
    warm_start = models.BooleanField(default=False)
    texts_scored = models.PositiveIntegerField(default=0)
    duration_seconds = models.FloatField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per phase.")
    config = models.JSONField(default=dict, blank=True, help_text="The configuration this run used.")
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True, default="",
                              help_text="The Celery node running it (restarted when that node starts again).")
    scores_pruned = models.BooleanField(default=False, help_text="Its scores were deleted (older than keep_runs).")
    # A database default too: runs created by code from before this column (during a rolling deploy) store none.
    inbound_edges_kept = models.PositiveSmallIntegerField(
        default=0, db_default=0, help_text="Heaviest inbound edges it stored per member (InfluenceEdge). 0: none (runs made before "
                             "edges were stored); their members' edges are aggregated from the action log when read.")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"influence run {self.pk} ({self.status})"


class InfluenceScore(models.Model):
    """A member's influence in one run. Rows of the current run are the scores; older runs are the history."""

    # No database-level FK constraints: a run writes one row per member with COPY, and PostgreSQL's deferred FK
    # checks (two per row, at commit) cost more than the rest of the write at 1M members. The columns are still
    # concrete foreign keys (joins, select_related); deleting a member or run cascades through Django.
    # Indexes: (run, member) unique and (run, -influence) only; every extra index costs seconds per 1M-row run.
    run = models.ForeignKey(InfluenceRun, on_delete=models.CASCADE, related_name="scores", db_constraint=False,
                            db_index=False)
    member = models.ForeignKey(
        "community_scoring.Member", on_delete=models.CASCADE, related_name="influence_scores", db_constraint=False,
        db_index=False,
    )
    centrality = models.FloatField(help_text="Raw weighted PageRank; sums to 1 over the community.")
    rank = models.PositiveIntegerField(
        help_text="Influence rank: 1 + the number of members (not excluded) with a higher influence; ties share a "
                  "rank (1224)."
    )
    percentile = models.FloatField(
        help_text="Influence percentile, 0-100, among members not excluded (mid-rank: ties share the middle)."
    )
    centrality_percentile = models.FloatField(
        default=50.0,
        help_text="C: mid-rank percentile of centrality pulled towards 50 by the evidence prior "
                  "(formula.evidence_percentiles, evidence = sources).",
    )
    in_degree = models.PositiveIntegerField(default=0, help_text="Followers.")
    sources = models.PositiveIntegerField(
        default=0, help_text="Distinct members with an edge into this member: the evidence behind centrality."
    )
    reach = models.PositiveIntegerField(default=0, help_text="Distinct members who engaged with their content.")
    reach_percentile = models.FloatField(
        default=50.0, help_text="R: mid-rank percentile of reach pulled towards 50 by the evidence prior."
    )
    sentiment_mean = models.FloatField(null=True, blank=True, help_text="Mean VADER compound of texts written.")
    sentiment_count = models.PositiveIntegerField(default=0)
    sentiment_positive_share = models.FloatField(default=0)
    sentiment_negative_share = models.FloatField(default=0)
    received_sentiment_mean = models.FloatField(null=True, blank=True, help_text="Mean compound of replies received.")
    received_count = models.PositiveIntegerField(default=0)
    sentiment = models.FloatField(default=0, help_text="Blended, shrunk sentiment used by the formula (-1..1).")
    influence_base = models.FloatField(
        default=0.0, help_text="Influence before sentiment, 0-100: (a*C + b*R)/(a+b), what advocates and "
                               "detractors are judged on."
    )
    influence = models.FloatField(help_text="0-100, see community_scoring.influence.formula.influence_scores.")
    is_advocate = models.BooleanField(
        default=False, help_text="Influential before sentiment and clearly positive over enough texts."
    )
    is_detractor = models.BooleanField(
        default=False, help_text="Influential before sentiment and clearly negative over enough texts."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "member"], name="influence_score_unique_run_member")]
        # The influence boards' order, influence then member id, both descending (selectors.leaderboards), read
        # straight off an index, a page in as many rows; advocates and detractors (a few in a hundred) from their
        # own partial ones, not by filtering the whole run's order.
        indexes = [
            models.Index(fields=["run", "-influence", "-member"], name="influence_score_run_influence"),
            models.Index(fields=["run", "-influence", "-member"], condition=models.Q(is_advocate=True),
                         name="influence_score_run_advocates"),
            models.Index(fields=["run", "-influence", "-member"], condition=models.Q(is_detractor=True),
                         name="influence_score_run_detractors"),
        ]

    def __str__(self) -> str:
        return f"influence of {self.member} in run {self.run_id}: {self.influence:.1f}"


class InfluenceEdge(models.Model):
    """One of a member's heaviest inbound edges in a run, per (source member, action type family): what the run's
    graph held (graph.graph_build), so the audience view explains the run's own score without reading the log.

    Partitioned by run like InfluenceScore (written with COPY, attached with the scores, dropped when pruned).
    """

    # No database FK constraints and one index, as InfluenceScore; deletes cascade through Django.
    run = models.ForeignKey(InfluenceRun, on_delete=models.CASCADE, related_name="inbound_edges", db_constraint=False,
                            db_index=False)
    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="+",
                               db_constraint=False, db_index=False, help_text="The member the edge points to.")
    source = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="+",
                               db_constraint=False, db_index=False, help_text="The member who acted.")
    action_type = models.ForeignKey(
        "community_scoring.ActionType", on_delete=models.CASCADE, related_name="+", db_constraint=False,
        db_index=False, help_text="The type family: a type with the types reversing it netted in (follow, unfollow).")
    actions = models.PositiveIntegerField(help_text="Actions of the type (reversing ones not counted).")
    weight = models.FloatField(help_text="The weight the family adds to the source's edge (formula.edge_weights).")

    class Meta:
        indexes = [models.Index(fields=["run", "member"], name="influence_edge_run_member")]

    def __str__(self) -> str:
        return f"{self.source_id} -> {self.member_id} ({self.action_type_id}) in run {self.run_id}: {self.weight:.3f}"


class InfluenceSnapshot(models.Model):
    """A member's influence on one day: written by the last run whose ref_time fell on that day (a later run on
    the same day replaces it). Snapshots are the member's influence history; pruning old runs keeps them."""

    # No database FK constraint (a run upserts one row per member; see InfluenceScore); deletes cascade in Django.
    member = models.ForeignKey(
        "community_scoring.Member", on_delete=models.CASCADE, related_name="influence_snapshots", db_constraint=False,
        db_index=False,
    )
    day = models.DateField(help_text="The date (UTC) of the run's ref_time.")
    # Runs are never deleted (pruning deletes their scores only): no cascade, no constraint.
    run = models.ForeignKey(InfluenceRun, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
                            db_index=False, help_text="The run that wrote this day (its scores may be pruned since).")
    influence = models.FloatField(help_text="0-100.")
    influence_base = models.FloatField(help_text="Influence before sentiment, 0-100.")
    rank = models.PositiveIntegerField(help_text="Influence rank that day (ties share a rank).")
    percentile = models.FloatField(help_text="Influence percentile that day.")
    centrality_percentile = models.FloatField(help_text="C: evidence-weighted centrality percentile.")
    reach = models.PositiveIntegerField()
    sentiment = models.FloatField(help_text="Blended, shrunk sentiment (-1..1).")
    is_advocate = models.BooleanField()
    is_detractor = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "day"], name="influence_snapshot_unique_member_day")]

    def __str__(self) -> str:
        return f"influence of {self.member} on {self.day}: {self.influence:.1f}"


class TextSentiment(models.Model):
    """VADER compound score of one action's text, computed once."""

    action = models.OneToOneField(
        "community_scoring.Action", primary_key=True, on_delete=models.CASCADE, related_name="sentiment"
    )
    compound = models.FloatField()
    # Copied from the (append-only) action so per-member aggregates read this table alone.
    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="+",
                               db_constraint=False, null=True)
    target_member = models.ForeignKey("community_scoring.Member", on_delete=models.SET_NULL, related_name="+",
                                      db_constraint=False, null=True)
    occurred_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["occurred_at"], name="text_sentiment_time")]
