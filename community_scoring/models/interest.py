from django.db import models


class InterestScore(models.Model):
    """A member's interest as last written: engagement (decayed, valued at ref_time) and fit, and the stage they
    gave then. Reads never show these stored values as they are: they value them at one instant
    (store.base.interest_value_at: engagement decays from ref_time to now, stage follows). ``stage`` is the stage
    last recorded (by an action, a recompute, or the hourly re-valuation that records crossings by decay alone)."""

    member = models.OneToOneField(
        "community_scoring.Member", primary_key=True, on_delete=models.CASCADE, related_name="interest"
    )
    engagement = models.FloatField(default=0, help_text="Decayed engagement, valued at ref_time (not now).")
    ref_time = models.DateTimeField(null=True, blank=True)
    fit = models.FloatField(default=0)
    score = models.FloatField(default=0, help_text="engagement + fit at ref_time (not now).")
    stage = models.CharField(max_length=64, blank=True, help_text="The stage last recorded (see StageTransition).")
    rank_key = models.FloatField(
        default=0, db_default=0.0,
        help_text="Leaderboard order: the score valued at the moment it was last keyed (written by the scorer, a "
                  "recompute, or the periodic re-key every few minutes). Orders rows only; never shown.")
    primary_topic = models.CharField(max_length=128, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)
    config_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    # Beside the score-driven stage: where sales put the member (scoring.sales_stages). Only outcomes move it
    # (outcomes.services.sales_stages); scoring, decay and recomputes never write these columns. Database
    # defaults too, because the stores insert score rows with raw SQL naming only their own columns.
    sales_stage = models.CharField(max_length=64, blank=True, default="", db_default="",
                                   help_text="SQL, opportunity or customer, from sales outcomes (empty: none).")
    sales_stage_outcome = models.CharField(
        max_length=32, blank=True, default="", db_default="",
        help_text="The outcome type that last set or cleared the sales stage (sql, sales_rejected, ...).")
    sales_stage_reason = models.TextField(
        blank=True, default="", db_default="",
        help_text="Sales' reason given with that outcome; kept when a rejection or loss clears the sales stage.")
    sales_stage_at = models.DateTimeField(null=True, blank=True, help_text="When that outcome occurred.")

    class Meta:
        # A plain index on stage (not also the LIKE-pattern one db_index adds on PostgreSQL): every batch of
        # actions rewrites these rows, so each index costs ingest throughput. No index on engagement alone:
        # rankings use (rank_key, member), and the member list orders by engagement with missing rows as 0, which
        # no plain index serves.
        # (rank_key, member): leaderboards page by keyset on (rank_key, member id), answered from the index alone.
        # The stored score is valued at each row's own ref_time, so it orders nobody: rank_key is the score valued
        # at (nearly) one instant for everyone (no single formula orders members at every instant: fit does not
        # decay, engagement may be negative and personas have their own half-lives).
        indexes = [
            models.Index(fields=["stage"], name="interest_stage"),
            models.Index(fields=["rank_key", "member"], name="interest_rank_member"),
        ]

    def __str__(self) -> str:
        return f"interest of {self.member}: {self.score:.1f} ({self.stage or 'no stage'})"


# Buckets and topics are derived rows that every ingested action writes (and a recompute rebuilds from the log):
# their foreign keys are kept by Django (on_delete runs in the ORM), not by database constraints, and have no
# index of their own (the unique constraints lead with member). A deferred constraint check is one index probe
# per written row at commit; with the Action log's (see models.action) they were ~25% of an ingest batch's
# PostgreSQL time (1,000 events: 215 -> 160 ms, measured).
_DERIVED_FK = {"db_constraint": False, "db_index": False}


class InterestBucket(models.Model):
    """Points one member earned from one action type on one day, after caps; the unit decay and caps apply to."""

    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="interest_buckets",
                               **_DERIVED_FK)
    action_type = models.ForeignKey("community_scoring.ActionType", on_delete=models.CASCADE, related_name="+",
                                    **_DERIVED_FK)
    day = models.DateField()
    received = models.BooleanField(default=False, help_text="Points for being the target of the action.")
    count = models.PositiveIntegerField(default=0)
    raw_points = models.FloatField(default=0, help_text="Sum of rule points before caps.")
    points = models.FloatField(default=0, help_text="Points after caps and once-only rules, before decay.")
    topic_counts = models.JSONField(
        default=dict, blank=True, help_text="Actions per topic in this bucket; topics get points * share."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "action_type", "received", "day"], name="bucket_unique_member_type_day")
        ]

    def __str__(self) -> str:
        side = "received" if self.received else "done"
        return f"{self.member_id} {self.action_type_id} {side} on {self.day}: {self.count} for {self.points:.1f} points"


class InterestTopic(models.Model):
    """Engagement a member earned on one topic (category/tag), decayed, valued at ref_time."""

    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="interest_topics",
                               **_DERIVED_FK)
    topic = models.CharField(max_length=128)
    points = models.FloatField(default=0)
    ref_time = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "topic"], name="topic_unique_member_topic")]

    def __str__(self) -> str:
        return f"{self.member_id} on {self.topic}: {self.points:.1f}"


class StageTransition(models.Model):
    """A recorded crossing of a stage threshold, in either direction."""

    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="stage_transitions")
    from_stage = models.CharField(max_length=64, blank=True)
    to_stage = models.CharField(max_length=64)
    occurred_at = models.DateTimeField(db_index=True)
    engagement = models.FloatField()
    fit = models.FloatField()
    reason = models.CharField(
        max_length=32, default="action",
        help_text="action, recompute, decay, config; for a sales stage move the outcome type (sql, won, lost...).")
    detail = models.TextField(blank=True, default="", db_default="",
                              help_text="A sales stage move: the reason sales gave (a rejection's, a loss's).")

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_stage or '(none)'} -> {self.to_stage} on {self.occurred_at:%Y-%m-%d %H:%M} ({self.reason})"


class ScoreSnapshot(models.Model):
    """A member's scores on one day, for trends and 'rising' leaderboards."""

    member = models.ForeignKey("community_scoring.Member", on_delete=models.CASCADE, related_name="score_snapshots")
    date = models.DateField(db_index=True)
    engagement = models.FloatField()
    fit = models.FloatField()
    score = models.FloatField()
    stage = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "date"], name="snapshot_unique_member_date")]
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.member_id} on {self.date}: {self.score:.1f} ({self.stage or 'no stage'})"


class InterestPending(models.Model):
    """Actions stored but not yet scored: one row per ingested batch (see services.interest_queue).

    A batch's actions and its rows (one per scorer partition) commit together; a row is deleted in the
    transaction that scores its partition of them, so each action is scored exactly once, even across a crash.
    The members whose profile the batch changed are queued the same way (a batch may change profiles and add no
    action): their fit, or their whole score under a new persona's rules, is re-evaluated by the same pass.
    An action whose scoring fails is set aside in a row of its own, with the error, until retried.
    """

    action_ids = models.JSONField(default=list, help_text="Ids of the batch's new actions.")
    refit = models.JSONField(default=list, help_text="Members whose attributes the batch changed: fit re-evaluated.")
    rescore = models.JSONField(default=list, help_text="Members whose persona the batch changed: re-scored from the log.")
    partition = models.PositiveSmallIntegerField(default=0, help_text="Scores only members with id % scorers == this.")
    partitions = models.PositiveSmallIntegerField(default=1, help_text="The scorer count (INTEREST_SCORERS) when queued.")
    created_at = models.DateTimeField(auto_now_add=True)
    error = models.TextField(blank=True, default="", help_text="Why scoring failed: set aside until retried.")
    failed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        state = "set aside" if self.failed_at else "waiting"
        profiles = len(self.refit) + len(self.rescore)
        members = f" and {profiles} profile changes" if profiles else ""
        return (f"{len(self.action_ids)} actions{members} {state} (partition {self.partition} of "
                f"{self.partitions}, row {self.pk})")
