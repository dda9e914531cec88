"""Config reads: the interest document, its compiled form for the engine, and the config version (shared by
both scores). The influence parameters are read in community_scoring.influence.selectors.

The engine reads the compiled interest configuration through ``scoring_config_current()``, cached per process
and keyed by a cheap fingerprint (latest version number, row counts and latest ``updated_at`` of the config
tables and of the experiments), so edits made any other way (the admin, a shell) are seen too. A running live
experiment is part of it (``ScoringConfig.split``): starting or stopping one changes what the engine scores by. The document's shape is described once,
in ``community_scoring.services.config_documents``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from community_scoring.models import ActionType, ConfigVersion, Experiment, RuleSet, Stage
from community_scoring.scoring.ruleset import ScoringConfig, Split
from community_scoring.store import interest_store

_cache: dict[str, Any] = {"key": None, "config": None}


def snapshot_from_models(rule_set_model: Any, stage_model: Any) -> dict[str, Any]:
    """The config document from the given model classes (also used by migrations with historical models)."""
    rule_sets = []
    for rs in rule_set_model.objects.order_by("persona", "name").prefetch_related("rules", "fit_rules"):
        rule_sets.append({
            "name": rs.name,
            "persona": rs.persona,
            "half_life_days": rs.half_life_days,
            "inactivity_days": rs.inactivity_days,
            "rules": [
                {"action_type": r.action_type_id, "points": r.points, "target_points": r.target_points,
                 "daily_cap": r.daily_cap, "once_only": r.once_only}
                for r in sorted(rs.rules.all(), key=lambda r: r.action_type_id)
            ],
            "fit_rules": [
                {"attribute": f.attribute, "operator": f.operator, "value": f.value, "points": f.points}
                for f in sorted(rs.fit_rules.all(), key=lambda f: f.pk)
            ],
        })
    stages = [
        {"name": s.name, "position": s.position, "min_engagement": s.min_engagement, "min_fit": s.min_fit}
        for s in stage_model.objects.order_by("position")
    ]
    return {"rule_sets": rule_sets, "stages": stages}


def config_snapshot() -> dict[str, Any]:
    """The current interest configuration as a JSON-ready document."""
    return snapshot_from_models(RuleSet, Stage)


def config_version_latest() -> int:
    """The number of the latest config version (0 when the configuration was never recorded)."""
    return ConfigVersion.objects.order_by("-number").values_list("number", flat=True).first() or 0


def config_fingerprint() -> tuple:
    """(latest version number, then row count and latest updated_at of each config table), in one query."""
    return interest_store().config_fingerprint()


def experiment_running() -> Experiment | None:
    """The running live experiment, if any (at most one runs)."""
    return Experiment.objects.filter(status=Experiment.Status.RUNNING).first()


def split_of(experiment: Experiment | None, *, version: int) -> Split | None:
    """A running experiment as the engine sees it (variant B's document compiled)."""
    if experiment is None or experiment.status != Experiment.Status.RUNNING:
        return None
    return Split(experiment_id=experiment.pk, first_member_id=experiment.first_member_id, share=experiment.share,
                 config=ScoringConfig.from_snapshot(experiment.config_b, version=version))


def scoring_config_current() -> ScoringConfig:
    """The compiled current configuration, with the running experiment's split (cached until the config tables,
    the experiments or the version number change)."""
    key = config_fingerprint()
    if _cache["key"] != key:
        config = ScoringConfig.from_snapshot(config_snapshot(), version=key[0])
        _cache["config"] = replace(config, split=split_of(experiment_running(), version=key[0]))
        _cache["key"] = key
    return _cache["config"]


def member_experiment(*, member_id: int, config: ScoringConfig | None = None) -> dict[str, Any] | None:
    """The running experiment a member takes part in: {"id", "name", "variant"} (None: the member is in none).
    ``config``: the current configuration when the caller has it (scoring_config_current)."""
    split = (config or scoring_config_current()).split
    variant = split.variant(member_id) if split is not None else None
    if variant is None:
        return None
    name = Experiment.objects.filter(pk=split.experiment_id).values_list("name", flat=True).first() or ""
    return {"id": split.experiment_id, "name": name, "variant": variant}


def scoring_config_cache_clear() -> None:
    """Forget the compiled configuration (the next read compiles it again)."""
    _cache["key"] = _cache["config"] = None


def action_types_for_rules() -> list[tuple[str, str, str | None]]:
    """Every action type a rule or an edge weight may name: (key, label, key of the type it reverses or None)."""
    return [(key, label, reverses) for key, label, reverses in
            ActionType.objects.order_by("key").values_list("key", "label", "reverses_id")]
