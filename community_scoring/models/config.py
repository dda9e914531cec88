from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


class ConfigVersion(models.Model):
    """A saved version of the whole scoring configuration; every change makes one and triggers a recompute."""

    number = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=300, blank=True)
    snapshot = models.JSONField(default=dict)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"v{self.number}"


class RuleSet(models.Model):
    """Points per action type. The default set has an empty persona; a persona set overrides it for that persona."""

    name = models.CharField(max_length=100, unique=True)
    persona = models.CharField(max_length=64, blank=True, unique=True, help_text="Empty = the default rule set.")
    half_life_days = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.001)],
        help_text="Decay half-life in days; empty inherits the default (default set: no decay).",
    )
    inactivity_days = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="After this many days without activity an 'inactivity' action is logged; its rule sets the penalty.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    action_type = models.ForeignKey("community_scoring.ActionType", on_delete=models.CASCADE, related_name="rules")
    points = models.FloatField(help_text="Points to the member who acts. Negative allowed.")
    target_points = models.FloatField(
        default=0, help_text="Points to the member acted on (e.g. -2 for a vote_down received). Negative allowed."
    )
    daily_cap = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.001)],
        help_text="Max |points| per member per day for this type; empty = no cap.",
    )
    once_only = models.BooleanField(default=False, help_text="Counts only the member's first such action.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule_set", "action_type"], name="rule_unique_per_set_type")]

    def __str__(self) -> str:
        return f"{self.rule_set}: {self.action_type_id} {self.points:+g}"


class FitRule(models.Model):
    """Points from who the member is: attribute OP value -> points (e.g. job_title contains engineer -> 10)."""

    class Operator(models.TextChoices):
        EQUALS = "eq", "equals"
        CONTAINS = "contains", "contains"
        GTE = "gte", ">="
        LTE = "lte", "<="
        IN = "in", "one of (comma separated)"

    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="fit_rules")
    attribute = models.CharField(max_length=64, help_text="job_title, company_size, industry, persona...")
    operator = models.CharField(max_length=16, choices=Operator.choices)
    value = models.CharField(max_length=200)
    points = models.FloatField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.attribute} {self.operator} {self.value} -> {self.points:+g}"

    def clean(self) -> None:
        from community_scoring.scoring.fit import parse_number

        if self.operator in (self.Operator.GTE, self.Operator.LTE) and parse_number(self.value) is None:
            raise ValidationError({"value": f"must be a number for operator {self.operator!r}"})


class Stage(models.Model):
    """A named band of the interest score; a member is in the highest stage whose thresholds they meet."""

    name = models.CharField(max_length=64, unique=True)
    position = models.PositiveIntegerField(unique=True)
    min_engagement = models.FloatField(default=0)
    min_fit = models.FloatField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name
