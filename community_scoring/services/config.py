"""The interest-scoring configuration as one versioned JSON document: read, validate, apply, preview.

Snapshot document (``config_snapshot()`` returns it, ``config_apply(snapshot=...)`` takes it)::

    {
      "rule_sets": [                              # exactly one with persona "" (the default set)
        {
          "name": "Default",                      # unique, non-empty
          "persona": "",                          # "" = default; else the persona it applies to (unique)
          "half_life_days": 90.0,                 # > 0, or null (default set: no decay; persona set: inherit)
          "inactivity_days": 60,                  # integer >= 1, or null (default set: off; persona set: inherit)
          "rules": [                              # at most one per action type
            {"action_type": "answer",             # an existing ActionType key
             "points": 8.0,                       # to the actor; negative allowed
             "target_points": 0.0,                # to the member acted on; negative allowed
             "daily_cap": 40.0,                   # > 0 or null (no cap): |points| per member per type per day
             "once_only": false}                  # only the member's first such action counts
          ],
          "fit_rules": [
            {"attribute": "job_title", "operator": "contains",   # eq, contains, gte, lte, in
             "value": "engineer", "points": 10.0}                # gte/lte need a numeric value
          ]
        }
      ],
      "stages": [                                 # at least one; unique names and positions
        {"name": "visitor", "position": 0, "min_engagement": 0.0, "min_fit": 0.0}
      ]
    }

Validation errors raise ``django.core.exceptions.ValidationError`` built from a dict, so
``error.message_dict`` maps field paths (``rule_sets[0].rules[2].daily_cap``) to lists of messages.

Every change makes a ConfigVersion (number + 1, the normalised document, who and why) and a RecomputeJob, and
enqueues the recompute on commit. The engine reads the compiled configuration through
``scoring_config_current()``, cached per process and keyed by a cheap fingerprint (latest version number,
row counts and latest ``updated_at`` of the config tables), so edits made any other way are seen too.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from community_scoring.store.bulk import sized_execute
from community_scoring.models import ActionType, ConfigVersion, FitRule, Member, Rule, RuleSet, Stage
from community_scoring.scoring.decay import to_epoch_days
from community_scoring.scoring.fit import OPERATORS, parse_number
from community_scoring.scoring.ruleset import ScoringConfig, persona_key

_cache: dict[str, Any] = {"key": None, "config": None}


# --- reading -------------------------------------------------------------------------------------------------

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
    """The current configuration as a JSON-ready document (shape in the module docstring)."""
    return snapshot_from_models(RuleSet, Stage)


def _fingerprint() -> tuple:
    """(latest version number, then row count and latest updated_at of each config table), in one query."""
    selects = [f"(SELECT MAX(number) FROM {ConfigVersion._meta.db_table})"]
    for model in (RuleSet, Rule, FitRule, Stage):
        table = model._meta.db_table
        selects += [f"(SELECT COUNT(*) FROM {table})", f"(SELECT MAX(updated_at) FROM {table})"]
    with connection.cursor() as cursor:
        sized_execute(cursor, "SELECT " + ", ".join(selects), [], rows=1)  # prepared: it runs for every batch
        row = cursor.fetchone()
    return (row[0] or 0, *row[1:])


def scoring_config_current() -> ScoringConfig:
    """The compiled current configuration (cached until the config tables or the version number change)."""
    key = _fingerprint()
    if _cache["key"] != key:
        _cache["config"] = ScoringConfig.from_snapshot(config_snapshot(), version=key[0])
        _cache["key"] = key
    return _cache["config"]


def scoring_config_cache_clear() -> None:
    _cache["key"] = _cache["config"] = None


# --- validation ----------------------------------------------------------------------------------------------

def _number(value: Any, *, allow_null: bool = False) -> str | None:
    """An error message when value is not a finite number (None when it is fine)."""
    if value is None:
        return None if allow_null else "is required and must be a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "must be a number"
    if not math.isfinite(value):
        return "must be a finite number"
    return None


def config_validate(snapshot: Any) -> None:
    """Raise ValidationError({field_path: [messages]}) listing every problem in a config document."""
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    if not isinstance(snapshot, dict):
        raise ValidationError({"snapshot": ["must be an object with rule_sets and stages"]})
    for key in snapshot:
        if key not in ("rule_sets", "stages"):
            add(key, "unknown field")
    known_types = set(ActionType.objects.values_list("key", flat=True))

    rule_sets = snapshot.get("rule_sets")
    if not isinstance(rule_sets, list) or not rule_sets:
        add("rule_sets", "must be a non-empty list")
        rule_sets = []
    names: Counter = Counter()
    personas: Counter = Counter()
    for i, rs in enumerate(rule_sets):
        p = f"rule_sets[{i}]"
        if not isinstance(rs, dict):
            add(p, "must be an object")
            continue
        for key in rs:
            if key not in ("name", "persona", "half_life_days", "inactivity_days", "rules", "fit_rules"):
                add(f"{p}.{key}", "unknown field")
        name = rs.get("name")
        if not isinstance(name, str) or not name.strip():
            add(f"{p}.name", "is required")
        elif len(name) > 100:
            add(f"{p}.name", "must be at most 100 characters")
        else:
            names[name.strip()] += 1
        persona = rs.get("persona", "")
        if persona is None:
            persona = ""
        if not isinstance(persona, str) or len(persona) > 64:
            add(f"{p}.persona", "must be a string of at most 64 characters")
        else:
            personas[persona_key(persona)] += 1
        half_life = rs.get("half_life_days")
        if (msg := _number(half_life, allow_null=True)) is not None:
            add(f"{p}.half_life_days", msg)
        elif half_life is not None and half_life <= 0:
            add(f"{p}.half_life_days", "must be greater than 0 (or null)")
        inactivity = rs.get("inactivity_days")
        if inactivity is not None and (isinstance(inactivity, bool) or not isinstance(inactivity, int) or inactivity < 1):
            add(f"{p}.inactivity_days", "must be a whole number of days >= 1 (or null)")

        rules = rs.get("rules", [])
        if not isinstance(rules, list):
            add(f"{p}.rules", "must be a list")
            rules = []
        seen_types: set[str] = set()
        for j, rule in enumerate(rules):
            rp = f"{p}.rules[{j}]"
            if not isinstance(rule, dict):
                add(rp, "must be an object")
                continue
            for key in rule:
                if key not in ("action_type", "points", "target_points", "daily_cap", "once_only"):
                    add(f"{rp}.{key}", "unknown field")
            action_type = rule.get("action_type")
            if action_type not in known_types:
                add(f"{rp}.action_type", f"unknown action type {action_type!r}")
            elif action_type in seen_types:
                add(f"{rp}.action_type", f"duplicate rule for {action_type!r} in this rule set")
            else:
                seen_types.add(action_type)
            if (msg := _number(rule.get("points"))) is not None:
                add(f"{rp}.points", msg)
            if (msg := _number(rule.get("target_points", 0))) is not None:
                add(f"{rp}.target_points", msg)
            cap = rule.get("daily_cap")
            if (msg := _number(cap, allow_null=True)) is not None:
                add(f"{rp}.daily_cap", msg)
            elif cap is not None and cap <= 0:
                add(f"{rp}.daily_cap", "must be greater than 0 (or null for no cap)")
            if not isinstance(rule.get("once_only", False), bool):
                add(f"{rp}.once_only", "must be true or false")

        fit_rules = rs.get("fit_rules", [])
        if not isinstance(fit_rules, list):
            add(f"{p}.fit_rules", "must be a list")
            fit_rules = []
        for j, fit in enumerate(fit_rules):
            fp = f"{p}.fit_rules[{j}]"
            if not isinstance(fit, dict):
                add(fp, "must be an object")
                continue
            for key in fit:
                if key not in ("attribute", "operator", "value", "points"):
                    add(f"{fp}.{key}", "unknown field")
            attribute = fit.get("attribute")
            if not isinstance(attribute, str) or not attribute.strip() or len(attribute) > 64:
                add(f"{fp}.attribute", "is required (at most 64 characters)")
            operator = fit.get("operator")
            if operator not in OPERATORS:
                add(f"{fp}.operator", f"must be one of {', '.join(OPERATORS)}")
            value = fit.get("value")
            if isinstance(value, bool) or not isinstance(value, (str, int, float)) or len(str(value)) > 200:
                add(f"{fp}.value", "must be a string or number (at most 200 characters)")
            elif operator in ("gte", "lte") and parse_number(value) is None:
                add(f"{fp}.value", f"must be a number for operator {operator!r}")
            if (msg := _number(fit.get("points"))) is not None:
                add(f"{fp}.points", msg)

    for name, n in names.items():
        if n > 1:
            add("rule_sets", f"rule set name {name!r} is used {n} times")
    for persona, n in personas.items():
        if n > 1:
            add("rule_sets", f"persona {persona!r} has {n} rule sets" if persona else "more than one default rule set")
    if rule_sets and personas.get("", 0) == 0:
        add("rule_sets", "a default rule set (persona \"\") is required")

    stages = snapshot.get("stages")
    if not isinstance(stages, list) or not stages:
        add("stages", "must be a non-empty list")
        stages = []
    stage_names: Counter = Counter()
    positions: Counter = Counter()
    for i, st in enumerate(stages):
        sp = f"stages[{i}]"
        if not isinstance(st, dict):
            add(sp, "must be an object")
            continue
        for key in st:
            if key not in ("name", "position", "min_engagement", "min_fit"):
                add(f"{sp}.{key}", "unknown field")
        name = st.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            add(f"{sp}.name", "is required (at most 64 characters)")
        else:
            stage_names[name] += 1
        position = st.get("position")
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            add(f"{sp}.position", "must be a whole number >= 0")
        else:
            positions[position] += 1
        for key in ("min_engagement", "min_fit"):
            if (msg := _number(st.get(key, 0))) is not None:
                add(f"{sp}.{key}", msg)
    for name, n in stage_names.items():
        if n > 1:
            add("stages", f"stage name {name!r} is used {n} times")
    for position, n in positions.items():
        if n > 1:
            add("stages", f"position {position} is used {n} times")
    if errors:
        raise ValidationError(errors)


# --- writing -------------------------------------------------------------------------------------------------

def _config_write(snapshot: dict[str, Any]) -> None:
    """Replace the stored configuration with the (validated) document."""
    keep_personas = []
    for rs in snapshot["rule_sets"]:
        persona = (rs.get("persona") or "").strip()
        keep_personas.append(persona)
        rule_set = RuleSet.objects.filter(persona=persona).first() or RuleSet(persona=persona)
        rule_set.name = rs["name"].strip()
        rule_set.half_life_days = rs.get("half_life_days")
        rule_set.inactivity_days = rs.get("inactivity_days")
        # Names are unique: free this one if another (soon deleted or renamed) set holds it.
        RuleSet.objects.filter(name=rule_set.name).exclude(persona=persona).update(name=f"~{persona}~{rule_set.pk}")
        rule_set.save()
        rule_set.rules.all().delete()
        rule_set.fit_rules.all().delete()
        Rule.objects.bulk_create([
            Rule(rule_set=rule_set, action_type_id=r["action_type"], points=r["points"],
                 target_points=r.get("target_points") or 0, daily_cap=r.get("daily_cap"),
                 once_only=bool(r.get("once_only")))
            for r in rs.get("rules", [])
        ])
        FitRule.objects.bulk_create([
            FitRule(rule_set=rule_set, attribute=f["attribute"].strip(), operator=f["operator"], value=str(f["value"]),
                    points=f["points"])
            for f in rs.get("fit_rules", [])
        ])
    RuleSet.objects.exclude(persona__in=keep_personas).delete()
    Stage.objects.all().delete()
    Stage.objects.bulk_create([
        Stage(name=st["name"], position=st["position"], min_engagement=st.get("min_engagement") or 0,
              min_fit=st.get("min_fit") or 0)
        for st in snapshot["stages"]
    ])


def config_version_record(*, user: Any = None, note: str = "", recompute_interest: bool = True) -> ConfigVersion:
    """Record the configuration as it now stands as a new version and recompute every interest score on commit.

    The version's snapshot is the interest document plus an "influence" key holding the influence parameters,
    so every change of either makes a version and a restore brings both back. The admin calls this after saving
    rule sets or stages; config_apply after writing a document; influence_config_update (with
    recompute_interest=False: interest does not depend on influence parameters) after saving them.
    """
    from community_scoring.influence.config import influence_config_get
    from community_scoring.services.recompute import recompute_job_start

    with transaction.atomic():
        last = ConfigVersion.objects.select_for_update().order_by("-number").first()
        influence = influence_config_get()
        influence.pop("updated_at", None)
        version = ConfigVersion.objects.create(
            number=(last.number if last else 0) + 1,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            note=note[:300],
            snapshot={**config_snapshot(), "influence": influence},
        )
        if recompute_interest:
            recompute_job_start(config_version=version.number)
    scoring_config_cache_clear()
    return version


def config_apply(*, snapshot: dict[str, Any], user: Any = None, note: str = "") -> ConfigVersion:
    """Validate and store a config document, record it as a new version and enqueue a full recompute.

    A document may carry an "influence" object (as stored in versions): those parameters are applied too.
    """
    from community_scoring.influence.config import influence_config_update

    influence = None
    if isinstance(snapshot, dict):
        snapshot = dict(snapshot)
        influence = snapshot.pop("influence", None)
    config_validate(snapshot)
    with transaction.atomic():
        if influence is not None:
            try:
                influence_config_update(changes=influence, user=user, record_version=False)
            except ValidationError as error:
                raise ValidationError({f"influence.{k}": v for k, v in error.message_dict.items()}) from error
        _config_write(snapshot)
        return config_version_record(user=user, note=note)


def config_preview(*, snapshot: dict[str, Any]) -> dict[str, Any]:
    """What applying ``snapshot`` would do to stages, computed from the action log without writing anything.

    Every member's engagement and fit are computed now under the current and under the proposed
    configuration, the same way (so decay since the last stored update is not mistaken for an effect).
    Returns {"members_changing_stage": n, "by_transition": {"engaged->MQL": k, ...}, "members": total}.
    """
    from community_scoring.services.recompute import interest_tallies_load

    config_validate(snapshot)
    current = ScoringConfig.from_snapshot(config_snapshot())
    proposed = ScoringConfig.from_snapshot(snapshot)
    from community_scoring.scoring.ledger import bucket_values, engagement_at

    now = to_epoch_days(timezone.now())
    transitions: Counter = Counter()
    total = 0
    member_ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(member_ids), 1000):
        chunk = member_ids[start:start + 1000]
        members = {m["pk"]: m for m in Member.objects.filter(pk__in=chunk).values("pk", "persona", "attributes")}
        tallies = interest_tallies_load(member_ids=chunk, with_topics=False)
        for member_id in chunk:
            total += 1
            member = members[member_id]
            stages = []
            for config in (current, proposed):
                rules = config.for_persona(member["persona"])
                values = bucket_values(tallies.get(member_id, []), rules)
                as_of = max([now, *(v.tally.day for v in values)])
                engagement = engagement_at(values, as_of, rules.half_life_days)
                fit = rules.fit(member["attributes"] or {}, member["persona"])
                stages.append(config.stage_for(engagement, fit))
            if stages[0] != stages[1]:
                transitions[f"{stages[0]}->{stages[1]}"] += 1
    return {
        "members_changing_stage": sum(transitions.values()),
        "by_transition": dict(transitions.most_common()),
        "members": total,
    }
