"""Config writes for both scores: the interest document and the influence parameters, validated by their one
description (``services/config_documents.py``, where the documents' shapes are written down), and the config
versions, which this module alone records.

Every change makes a ConfigVersion (number + 1, the interest document plus the influence parameters under
"influence", who and why); a change of the interest document also makes a RecomputeJob and enqueues the
recompute on commit. A change may name the version it was read at: if another version was saved since, it is
refused with ConfigVersionConflict (the API's 409) and nothing is written. Reads are in ``selectors/config.py``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from community_scoring.influence.config import influence_schedule_sync
from community_scoring.influence.models import InfluenceConfig
from community_scoring.influence.selectors import influence_config_get, influence_config_load
from community_scoring.models import ConfigVersion, FitRule, Member, Rule, RuleSet, Stage
from community_scoring.scoring.decay import to_epoch_days
from community_scoring.scoring.ledger import bucket_values, engagement_at
from community_scoring.scoring.ruleset import ScoringConfig
from community_scoring.selectors.config import config_snapshot, scoring_config_cache_clear, scoring_config_current
from community_scoring.services.config_documents import (
    InfluenceConfigSerializer, InterestConfigChangeSerializer, document_parse,
)
from community_scoring.services.recompute import interest_tallies_load, recompute_job_start
from community_scoring.store import interest_store
from community_scoring.store.base import config_for, rules_for


class ConfigVersionConflict(Exception):
    """A change was read at an older version than the latest: applying it would undo what was saved since."""

    def __init__(self, *, read_at: int, latest: int) -> None:
        self.read_at, self.latest = read_at, latest
        super().__init__(
            f"this change was read at version {read_at}, but version {latest} has been saved since: read the "
            f"configuration again, make the change there and send it with version {latest}"
        )


# --- validation ----------------------------------------------------------------------------------------------

def config_validate(snapshot: Any) -> dict[str, Any]:
    """The change normalised, or ValidationError({field path: [messages]}) naming every offending field.

    A change is an interest document, optionally with the version it was read at, a note and influence
    parameters (see services/config_documents.py).
    """
    return document_parse(InterestConfigChangeSerializer, snapshot)


# --- versions ------------------------------------------------------------------------------------------------

def _versions_lock() -> int:
    """Hold the config lock until the transaction ends and return the latest version number.

    Every config writer locks the first version row (versions are never deleted), so writers queue one behind
    another; the latest number is read once the lock is held, so it includes a version committed meanwhile.
    """
    ConfigVersion.objects.select_for_update().order_by("number").values_list("number", flat=True).first()
    return ConfigVersion.objects.order_by("-number").values_list("number", flat=True).first() or 0


def _version_check(*, read_at: int | None, latest: int) -> None:
    """A change read at an older version than the latest is refused; one that names no version applies."""
    if read_at is not None and read_at != latest:
        raise ConfigVersionConflict(read_at=read_at, latest=latest)


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


def _influence_write(*, changes: dict[str, Any], config: InfluenceConfig, user: Any = None) -> None:
    """Save validated influence parameters; a change of schedule_minutes updates the beat schedule with them."""
    for name, value in changes.items():
        setattr(config, name, value)
    if getattr(user, "pk", None):
        config.updated_by = user
    config.save()
    if "schedule_minutes" in changes:
        influence_schedule_sync(config=config)


def config_version_record(*, user: Any = None, note: str = "", recompute_interest: bool = True) -> ConfigVersion:
    """Record the configuration as it now stands as a new version and recompute every interest score on commit.

    The version's snapshot is the interest document plus an "influence" key holding the influence parameters,
    so every change of either makes a version and a restore brings both back. The admin calls this after saving
    rule sets or stages; config_apply after writing a document; influence_config_update (with
    recompute_interest=False: interest does not depend on influence parameters) after saving them.
    """
    with transaction.atomic():
        latest = _versions_lock()
        influence = influence_config_get()
        influence.pop("updated_at", None)
        version = ConfigVersion.objects.create(
            number=latest + 1,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            note=note[:300],
            snapshot={**config_snapshot(), "influence": influence},
        )
        if recompute_interest:
            recompute_job_start(config_version=version.number)
    scoring_config_cache_clear()
    return version


def config_apply(*, snapshot: Any, user: Any = None, note: str = "") -> ConfigVersion:
    """Validate and store an interest configuration change, record it as a new version, enqueue a full recompute.

    ``snapshot`` is a document as GET /api/v1/config/interest/ answers it or as versions store it: its
    "version" (if any) must be the latest (else ConfigVersionConflict), its "note" follows ``note`` in the
    version's note, and the parameters in its "influence" object (if any) are applied in the same version.
    """
    with transaction.atomic():
        latest = _versions_lock()
        change = config_validate(snapshot)
        _version_check(read_at=change.get("version"), latest=latest)
        influence = dict(change.get("influence") or {})
        influence.pop("version", None)
        if influence:
            _influence_write(changes=influence, config=influence_config_load(), user=user)
        _config_write(change)
        return config_version_record(user=user, note=note + (change.get("note") or ""))


def config_version_restore(*, number: int, user: Any = None, note: str = "") -> ConfigVersion:
    """Apply version ``number``'s document again (rule sets, stages and influence parameters) as a new version;
    history is never rewritten. Raises ConfigVersion.DoesNotExist for an unknown number."""
    version = ConfigVersion.objects.get(number=number)
    return config_apply(snapshot=dict(version.snapshot), user=user,
                        note=f"restore of v{number}" + (f": {note}" if note else ""))


def influence_config_update(*, changes: Any, user: Any = None) -> dict[str, Any]:
    """Validate and save a change of some influence parameters, recorded as a new config version.

    Raises ValidationError({field: [messages]}) naming each bad field, or ConfigVersionConflict when the change
    names a "version" that is not the latest. Takes effect at the next influence run.
    """
    with transaction.atomic():
        latest = _versions_lock()
        config = InfluenceConfig.objects.select_for_update().filter(pk=1).first() or influence_config_load()
        change = dict(document_parse(InfluenceConfigSerializer, changes, context={"influence_current": config}))
        _version_check(read_at=change.pop("version", None), latest=latest)
        change = {name: value for name, value in change.items() if getattr(config, name) != value}  # sent back as read
        if change:
            _influence_write(changes=change, config=config, user=user)
            config_version_record(
                user=user, note=f"influence parameters: {', '.join(sorted(change))}", recompute_interest=False
            )
    return influence_config_get()


def config_preview(*, snapshot: Any) -> dict[str, Any]:
    """What applying ``snapshot`` would do to stages, computed from the action log without writing anything.

    Every member's engagement and fit are computed now under the current and under the proposed
    configuration, the same way (so decay since the last stored update is not mistaken for an effect). Members a
    running live experiment scores by its variant B stay on B under both.
    Returns {"members_changing_stage": n, "by_transition": {"engaged->MQL": k, ...}, "members": total,
    "member_ids_by_transition": {"engaged->MQL": [member ids, ascending], ...}} (transitions most common first).
    """
    current = scoring_config_current()
    proposed = replace(ScoringConfig.from_snapshot(config_validate(snapshot)), split=current.split)

    now = to_epoch_days(timezone.now())
    transitions: Counter = Counter()
    movers: dict[str, list[int]] = {}
    total = 0
    member_ids = list(Member.objects.filter(merged_into__isnull=True).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(member_ids), 1000):
        chunk = member_ids[start:start + 1000]
        members = interest_store().members_facts(chunk)
        tallies = interest_tallies_load(member_ids=chunk, with_topics=False)
        for member_id in chunk:
            total += 1
            member = members[member_id]
            stages = []
            for config in (current, proposed):
                rules = rules_for(config, member)
                values = bucket_values(tallies.get(member_id, []), rules)
                as_of = max([now, *(v.tally.day for v in values)])
                engagement = engagement_at(values, as_of, rules.half_life_days)
                fit = rules.fit(member.attributes, member.persona)
                stages.append(config_for(config, member).stage_for(engagement, fit))
            if stages[0] != stages[1]:
                transition = f"{stages[0]}->{stages[1]}"
                transitions[transition] += 1
                movers.setdefault(transition, []).append(member_id)
    return {
        "members_changing_stage": sum(transitions.values()),
        "by_transition": dict(transitions.most_common()),
        "members": total,
        "member_ids_by_transition": {transition: movers[transition] for transition, _ in transitions.most_common()},
    }
