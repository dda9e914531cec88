"""Config versions as people read them: the history, and what changed from one version to another.

A version's snapshot is the interest document plus the influence parameters under "influence" (see
services/config.py). The diff matches things by what they are, not by their place in a list: rule sets by
persona, rules by action type, fit rules by attribute, operator and value, stages by name, influence parameters
by name, so moving a rule in a list is no change and a changed weight is one line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from community_scoring.models import ConfigVersion

RULE_FIELDS = ("points", "target_points", "daily_cap", "once_only")
RULE_SET_FIELDS = ("name", "half_life_days", "inactivity_days")
STAGE_FIELDS = ("position", "min_engagement", "min_fit")


@dataclass(frozen=True)
class ConfigChange:
    """One line of a diff: in ``where``, ``what`` went from ``before`` to ``after``; ``kind`` is "changed", or
    "added" / "removed" for a whole item (then the side it is absent from is None)."""

    where: str
    what: str
    before: Any
    after: Any
    kind: str = "changed"

    @property
    def before_text(self) -> str:
        return _number(self.before)

    @property
    def after_text(self) -> str:
        return _number(self.after)


def config_versions(*, limit: int = 50) -> list[ConfigVersion]:
    """The latest versions, newest first, with their authors."""
    return list(ConfigVersion.objects.select_related("created_by").order_by("-number")[:limit])


def config_version_get(*, number: int) -> ConfigVersion | None:
    return ConfigVersion.objects.select_related("created_by").filter(number=number).first()


def config_versions_diff(*, before: int, after: int) -> list[ConfigChange] | None:
    """What changed from version ``before`` to version ``after`` (None when either does not exist)."""
    found = {v.number: v.snapshot for v in ConfigVersion.objects.filter(number__in=[before, after])}
    if before not in found or after not in found:
        return None
    return document_diff(found[before], found[after])


# --- the diff itself: documents in, lines out (no database) -------------------------------------------------

def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def _rule_summary(rule: dict[str, Any]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {_number(rule.get(name))}" for name in RULE_FIELDS)


def _rule_set_label(rule_set: dict[str, Any]) -> str:
    persona = rule_set.get("persona") or ""
    return f"rule set {rule_set.get('name')!r} ({'persona ' + persona if persona else 'default'})"


def _fit_key(fit: dict[str, Any]) -> str:
    return f"{fit.get('attribute')} {fit.get('operator')} {fit.get('value')}"


def _keyed_diff(where: str, noun: str, before: dict[str, dict], after: dict[str, dict], fields: tuple[str, ...],
                summary) -> list[ConfigChange]:
    """Items matched by key: added, removed, or changed field by field."""
    changes = []
    for key in sorted(set(before) | set(after), key=str):
        a, b = before.get(key), after.get(key)
        if a is None:
            changes.append(ConfigChange(where, f"{noun} {key}", None, summary(b), "added"))
        elif b is None:
            changes.append(ConfigChange(where, f"{noun} {key}", summary(a), None, "removed"))
        else:
            changes += [ConfigChange(where, f"{noun} {key}: {name.replace('_', ' ')}", a.get(name), b.get(name))
                        for name in fields if a.get(name) != b.get(name)]
    return changes


def document_diff(before: dict[str, Any], after: dict[str, Any]) -> list[ConfigChange]:
    """Every difference between two version snapshots, rule sets first, then stages, then influence."""
    changes: list[ConfigChange] = []
    sets_a = {rs.get("persona") or "": rs for rs in before.get("rule_sets", [])}
    sets_b = {rs.get("persona") or "": rs for rs in after.get("rule_sets", [])}
    for persona in sorted(set(sets_a) | set(sets_b)):
        a, b = sets_a.get(persona), sets_b.get(persona)
        if a is None or b is None:
            present = a or b
            summary = f"{len(present.get('rules', []))} rules, {len(present.get('fit_rules', []))} fit rules"
            changes.append(ConfigChange(_rule_set_label(present), "rule set", None if a is None else summary,
                                        summary if a is None else None, "added" if a is None else "removed"))
            continue
        where = _rule_set_label(b)
        changes += [ConfigChange(where, name.replace("_", " "), a.get(name), b.get(name))
                    for name in RULE_SET_FIELDS if a.get(name) != b.get(name)]
        changes += _keyed_diff(where, "rule", {r["action_type"]: r for r in a.get("rules", [])},
                               {r["action_type"]: r for r in b.get("rules", [])}, RULE_FIELDS, _rule_summary)
        changes += _keyed_diff(where, "fit rule", {_fit_key(f): f for f in a.get("fit_rules", [])},
                               {_fit_key(f): f for f in b.get("fit_rules", [])}, ("points",),
                               lambda f: f"points {_number(f.get('points'))}")
    changes += _keyed_diff("stages", "stage", {s["name"]: s for s in before.get("stages", [])},
                           {s["name"]: s for s in after.get("stages", [])}, STAGE_FIELDS,
                           lambda s: ", ".join(f"{n.replace('_', ' ')} {_number(s.get(n))}" for n in STAGE_FIELDS))
    influence_a, influence_b = before.get("influence") or {}, after.get("influence") or {}
    for name in sorted(set(influence_a) | set(influence_b)):
        a, b = influence_a.get(name), influence_b.get(name)
        if a == b:
            continue
        if isinstance(a, dict) or isinstance(b, dict):
            a, b = a or {}, b or {}
            changes += [ConfigChange("influence", f"{name.replace('_', ' ')}: {key}", a.get(key), b.get(key))
                        for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
        elif isinstance(a, list) or isinstance(b, list):
            if sorted(a or []) == sorted(b or []):
                continue  # the same types in another order
            changes.append(ConfigChange("influence", name.replace("_", " "), ", ".join(sorted(a or [])),
                                        ", ".join(sorted(b or []))))
        else:
            changes.append(ConfigChange("influence", name.replace("_", " "), a, b))
    return changes
