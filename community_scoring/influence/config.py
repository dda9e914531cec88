"""Influence configuration: the one InfluenceConfig row, its validation and the celery beat schedule it drives."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from community_scoring.influence.models import InfluenceConfig

SCHEDULE_TASK_NAME = "influence-recompute"
SCHEDULE_TASK = "community_scoring.influence.tasks.influence_recompute_scheduled"

# Editable fields -> validation. Each check returns an error message or None.
CONFIG_FIELDS = (
    "damping", "tolerance", "max_iterations", "edge_weights", "half_life_days", "window_days", "reach_types",
    "text_types", "centrality_weight", "reach_weight", "sentiment_weight", "sentiment_prior", "received_weight",
    "advocate_min_influence", "advocate_min_sentiment", "detractor_min_influence", "detractor_max_sentiment",
    "schedule_minutes", "keep_runs",
)


def influence_config_load() -> InfluenceConfig:
    config, _ = InfluenceConfig.objects.get_or_create(pk=1)
    return config


def _config_dict(config: InfluenceConfig) -> dict[str, Any]:
    data = {name: getattr(config, name) for name in CONFIG_FIELDS}
    data["updated_at"] = config.updated_at.isoformat() if config.updated_at else None
    return data


def influence_config_get() -> dict[str, Any]:
    """The current influence configuration as plain data (field name -> value, plus updated_at)."""
    return _config_dict(influence_config_load())


def _number(value, *, low=None, high=None, low_open=False, high_open=False, integer=False) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "must be an integer" if integer else "must be a number"
    if integer and not float(value).is_integer():
        return "must be an integer"
    if value != value or value in (float("inf"), float("-inf")):
        return "must be a finite number"
    if low is not None and (value <= low if low_open else value < low):
        return f"must be {'greater than' if low_open else 'at least'} {low}"
    if high is not None and (value >= high if high_open else value > high):
        return f"must be {'less than' if high_open else 'at most'} {high}"
    return None


def _type_list(value, known: set[str]) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "must be a list of action type keys"
    unknown = sorted(set(value) - known)
    return f"unknown action types: {', '.join(unknown)}" if unknown else None


def influence_config_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Field -> messages for a full set of config values (empty when valid)."""
    from community_scoring.models import ActionType

    types = dict(ActionType.objects.values_list("key", "reverses_id"))
    known = set(types)
    checks = {
        "damping": lambda v: _number(v, low=0, high=1, low_open=True, high_open=True),
        "tolerance": lambda v: _number(v, low=1e-15, high=1e-3),
        "max_iterations": lambda v: _number(v, low=1, high=100_000, integer=True),
        "half_life_days": lambda v: _number(v, low=0, low_open=True, high=36_500),
        "window_days": lambda v: _number(v, low=1, high=36_500, integer=True),
        "reach_types": lambda v: _type_list(v, known),
        "text_types": lambda v: _type_list(v, known),
        "centrality_weight": lambda v: _number(v, low=0, high=1e6),
        "reach_weight": lambda v: _number(v, low=0, high=1e6),
        "sentiment_weight": lambda v: _number(v, low=-1, high=1),
        "sentiment_prior": lambda v: _number(v, low=0, high=1e6),
        "received_weight": lambda v: _number(v, low=0, high=1e6),
        "advocate_min_influence": lambda v: _number(v, low=0, high=100),
        "detractor_min_influence": lambda v: _number(v, low=0, high=100),
        "advocate_min_sentiment": lambda v: _number(v, low=-1, high=1),
        "detractor_max_sentiment": lambda v: _number(v, low=-1, high=1),
        "schedule_minutes": lambda v: _number(v, low=0, high=525_600, integer=True),
        "keep_runs": lambda v: _number(v, low=2, high=10_000, integer=True),
    }
    errors: dict[str, list[str]] = {}
    for name, check in checks.items():
        message = check(values.get(name))
        if message:
            errors[name] = [message]
    weights = values.get("edge_weights")
    if not isinstance(weights, dict):
        errors["edge_weights"] = ["must be an object mapping action type keys to weights"]
    else:
        messages = []
        for key, weight in weights.items():
            if key not in known:
                messages.append(f"unknown action type {key!r}")
            elif types[key]:
                messages.append(f"{key!r} reverses {types[key]!r} and takes its weight; set {types[key]!r} instead")
            elif _number(weight, low=0, high=1e6):
                messages.append(f"{key!r}: {_number(weight, low=0, high=1e6)}")
        if messages:
            errors["edge_weights"] = messages
    if not errors:
        if values["centrality_weight"] + values["reach_weight"] <= 0:
            errors["reach_weight"] = ["centrality_weight + reach_weight must be greater than 0"]
        if values["detractor_max_sentiment"] >= values["advocate_min_sentiment"]:
            errors["detractor_max_sentiment"] = ["must be lower than advocate_min_sentiment"]
    return errors


def influence_config_update(*, changes: dict[str, Any], user=None, record_version: bool = True) -> dict[str, Any]:
    """Validate and save a partial update; raises ValidationError({field: [messages]}) naming each bad field.

    A change of schedule_minutes updates the celery beat schedule in the same transaction. Unless told not to
    (config_apply records its own), the change is recorded as a new ConfigVersion.
    """
    if not isinstance(changes, dict):
        raise ValidationError({"non_field_errors": ["expected an object of field -> value"]})
    unknown = sorted(set(changes) - set(CONFIG_FIELDS))
    if unknown:
        raise ValidationError({name: ["unknown field"] for name in unknown})
    with transaction.atomic():
        config = InfluenceConfig.objects.select_for_update().filter(pk=1).first() or influence_config_load()
        values = {name: getattr(config, name) for name in CONFIG_FIELDS}
        values.update(changes)
        errors = influence_config_errors(values)
        if errors:
            raise ValidationError(errors)
        for name, value in changes.items():
            setattr(config, name, value)
        if user is not None and getattr(user, "pk", None):
            config.updated_by = user
        config.save()
        if "schedule_minutes" in changes:
            influence_schedule_sync(config=config)
        if record_version and changes:
            from community_scoring.services.config import config_version_record

            config_version_record(
                user=user, note=f"influence parameters: {', '.join(sorted(changes))}", recompute_interest=False
            )
    return _config_dict(config)


def influence_schedule_sync(*, config: InfluenceConfig | None = None):
    """Create or update the celery beat entry for scheduled recomputes (idempotent); 0 minutes disables it."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    config = config or influence_config_load()
    minutes = int(config.schedule_minutes)
    interval, _ = IntervalSchedule.objects.get_or_create(every=max(minutes, 1), period=IntervalSchedule.MINUTES)
    task, created = PeriodicTask.objects.get_or_create(
        name=SCHEDULE_TASK_NAME, defaults={"task": SCHEDULE_TASK, "interval": interval, "enabled": minutes > 0}
    )
    if not created and (task.interval_id != interval.pk or task.enabled != (minutes > 0) or task.task != SCHEDULE_TASK):
        task.interval, task.enabled, task.task = interval, minutes > 0, SCHEDULE_TASK
        task.save()
    return task
