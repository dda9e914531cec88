"""The scoring configuration compiled for fast lookups, built from the JSON config document (no Django).

Resolution for a member with persona P:

- the rule for an action type is P's rule set's rule when it has one, else the default set's rule, else none
  (an action with no rule earns 0 points and is still logged);
- half-life and inactivity days come from P's set, inheriting the default set's value when null;
- fit rules are P's set's fit rules when it has any, else the default set's;
- persona matching ignores case and surrounding spaces.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from community_scoring.scoring.fit import FitCondition, fit_score
from community_scoring.scoring.split import B, variant_of
from community_scoring.scoring.stages import StageThreshold, floor_stage, stage_for


INACTIVITY = "inactivity"  # the system action type the inactivity task logs; not counted as activity


@dataclass(frozen=True)
class RuleValue:
    points: float
    target_points: float = 0.0
    daily_cap: float | None = None
    once_only: bool = False

    def unit(self, received: bool) -> float:
        """Points one action earns its actor (received=False) or the member it targets (received=True)."""
        return self.target_points if received else self.points


NO_RULE = RuleValue(points=0.0)


@dataclass(frozen=True)
class MemberRules:
    """The effective rules for one persona (default set merged under the persona set)."""

    rules: Mapping[str, RuleValue]
    half_life_days: float | None
    inactivity_days: int | None
    fit_rules: tuple[FitCondition, ...] = ()

    def rule(self, action_type: str) -> RuleValue:
        return self.rules.get(action_type, NO_RULE)

    def fit(self, attributes: Mapping[str, Any], persona: str = "") -> float:
        return fit_score({**attributes, "persona": persona} if persona else attributes, self.fit_rules)


def persona_key(persona: str | None) -> str:
    return (persona or "").strip().casefold()


@dataclass(frozen=True)
class Split:
    """A running live experiment as scoring sees it: members joined after it started (id above
    ``first_member_id``) are split by scoring.split, and those in B are scored by ``config``."""

    experiment_id: int
    first_member_id: int
    share: float
    config: "ScoringConfig"  # variant B's, compiled (without a split of its own)

    def variant(self, member_id: int) -> str | None:
        return variant_of(experiment_id=self.experiment_id, first_member_id=self.first_member_id, share=self.share,
                          member_id=member_id)


@dataclass(frozen=True)
class ScoringConfig:
    default: MemberRules
    personas: Mapping[str, MemberRules] = field(default_factory=dict)
    stages: tuple[StageThreshold, ...] = ()
    version: int = 0
    split: Split | None = None  # a running live experiment (variant A is this configuration)

    def for_member(self, member_id: int) -> "ScoringConfig":
        """The configuration that scores this member: variant B's while a running experiment puts them in B."""
        if self.split is not None and self.split.variant(member_id) == B:
            return self.split.config
        return self

    def for_persona(self, persona: str | None) -> MemberRules:
        return self.personas.get(persona_key(persona), self.default)

    def stage_for(self, engagement: float, fit: float) -> str:
        return stage_for(engagement, fit, self.stages)

    @property
    def floor_stage(self) -> str:
        return floor_stage(self.stages)

    @property
    def once_only_types(self) -> frozenset[str]:
        sets = [self.default, *self.personas.values()]
        return frozenset(key for rules in sets for key, rule in rules.rules.items() if rule.once_only)

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any], *, version: int = 0) -> "ScoringConfig":
        """Compile a config document (the shape of services.config.config_snapshot); assumes it is valid."""

        def rules_of(rule_set: Mapping[str, Any]) -> dict[str, RuleValue]:
            return {
                r["action_type"]: RuleValue(
                    points=float(r.get("points") or 0),
                    target_points=float(r.get("target_points") or 0),
                    daily_cap=None if r.get("daily_cap") is None else float(r["daily_cap"]),
                    once_only=bool(r.get("once_only")),
                )
                for r in rule_set.get("rules", [])
            }

        def fit_of(rule_set: Mapping[str, Any]) -> tuple[FitCondition, ...]:
            return tuple(
                FitCondition(f["attribute"], f["operator"], str(f["value"]), float(f["points"]))
                for f in rule_set.get("fit_rules", [])
            )

        sets = snapshot.get("rule_sets", [])
        default_set = next((s for s in sets if not persona_key(s.get("persona"))), {})
        half_life = default_set.get("half_life_days")
        inactivity = default_set.get("inactivity_days")
        default = MemberRules(
            rules=rules_of(default_set),
            half_life_days=None if half_life is None else float(half_life),
            inactivity_days=None if inactivity is None else int(inactivity),
            fit_rules=fit_of(default_set),
        )
        personas = {}
        for s in sets:
            key = persona_key(s.get("persona"))
            if not key:
                continue
            own_fit = fit_of(s)
            personas[key] = MemberRules(
                rules={**default.rules, **rules_of(s)},
                half_life_days=default.half_life_days if s.get("half_life_days") is None else float(s["half_life_days"]),
                inactivity_days=default.inactivity_days if s.get("inactivity_days") is None else int(s["inactivity_days"]),
                fit_rules=own_fit or default.fit_rules,
            )
        stages = tuple(
            sorted(
                (
                    StageThreshold(
                        name=st["name"], position=int(st["position"]),
                        min_engagement=float(st.get("min_engagement") or 0), min_fit=float(st.get("min_fit") or 0),
                    )
                    for st in snapshot.get("stages", [])
                ),
                key=lambda st: st.position,
            )
        )
        return cls(default=default, personas=personas, stages=stages, version=version)
