from django.db import models


class ActionExclusion(models.Model):
    """An action left out of both scores (interest and influence edges) while a row names it.

    The engine knows only that an action is excluded and by what (``cause``, e.g. ``gaming-flag:17``); the review
    that decides it (community_scoring.gaming) adds the rows and removes them when it is cleared. The stores read
    this table where they choose the actions that count (store.base.counted_actions, the PostgreSQL ``act`` CTEs,
    the influence store's edge reads).
    """

    action = models.ForeignKey("community_scoring.Action", on_delete=models.CASCADE, related_name="+",
                               db_constraint=False)
    cause = models.CharField(max_length=64, help_text="What excludes it, e.g. gaming-flag:17.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The unique index leads with the action: the stores' NOT EXISTS probes use it.
        constraints = [models.UniqueConstraint(fields=["action", "cause"], name="actionexclusion_unique_action_cause")]
        indexes = [models.Index(fields=["cause"], name="actionexclusion_cause")]

    def __str__(self) -> str:
        return f"action {self.action_id} excluded by {self.cause}"
