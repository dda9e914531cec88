"""Calibration: learn action-type points (and optionally the half-life) from the log and the outcomes, measure
them against the current points on a later, held-out period, and let an admin apply or reject them.

Periods (``end`` defaults to now, ``within_days`` to 30, ``period_days`` to 365):

- evaluation: T_eval = end - within_days; a positive is a conversion in (T_eval, end] (the quality report's T);
- training:   T_train = T_eval - within_days; a positive is a conversion in (T_train, T_eval], so the two label
  windows do not overlap and training never sees the period it is judged on;
- population at T (outcomes.selectors.population_at): persons, not excluded, with an action in
  (T - period_days, T], who had not converted by T.

Features (outcomes.weights.feature_matrix) at T: per action type, the decayed (capped, once-only aware) count of
actions the member did up to T, and of actions done to them for types whose current default rule gives target
points; the system's inactivity penalty is left out. Features that do not vary among the training members get no
suggestion (their points stay). The half-life is the current one, or, with ``fit_half_life``, the one of
HALF_LIFE_GRID (plus the current one) whose features give the best cross-validated training AUC.

Scaling (outcomes.weights.points_scale): suggested points = coefficient * k with k chosen so that the suggested
points' sum of |points| equals the current default rules' over the same features, rounded to 0.1; daily caps are
scaled with the rule's largest |points| so they still stop the same number of actions a day. Only the default
rule set changes; persona sets and stages are left as they are.

Held-out figures, for the current and the suggested config alike: ROC AUC of the interest score (engagement + fit,
services.recompute.interest_values_at at T_eval), and the MQL count (stage MQL or above at T_eval,
settings.OUTCOME_MQL_STAGE) with its precision (the share of them that converted in (T_eval, end]).
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from community_scoring.jobs import job_claimed, job_publish, jobs_pending_publish
from community_scoring.models import ConfigVersion
from community_scoring.outcomes.metrics import rate, roc_auc
from community_scoring.outcomes.models import CalibrationRun
from community_scoring.outcomes.selectors import conversion_labels, conversion_types_parse, population_at
from community_scoring.outcomes.tasks import calibration_run_task
from community_scoring.outcomes.weights import (
    CalibrationDataError, Feature, calibration_cautions, feature_matrix, half_life_score, points_scale, weights_fit,
)
from community_scoring.scoring.decay import to_epoch_days
from community_scoring.scoring.ruleset import INACTIVITY, ScoringConfig, persona_key
from community_scoring.scoring.stages import stage_reaches
from community_scoring.selectors.config import config_snapshot, config_version_latest
from community_scoring.services.config import config_apply, config_preview
from community_scoring.services.recompute import interest_tallies_load, interest_values_at

HALF_LIFE_GRID = (7.0, 14.0, 30.0, 60.0, 90.0, 180.0)
DEFAULTS = {"within_days": 30, "period_days": 365, "fit_half_life": True}


def _person(user: Any) -> tuple[Any, str]:
    """(the Django user to record, or None; a label for a token caller, kept in notes)."""
    if isinstance(user, get_user_model()):
        return user, ""
    return None, (f"[{user}] " if user is not None else "")


class CalibrationStateError(ValueError):
    """The run is not in a state that allows this (apply or reject a run that is not done, say)."""


# --- starting and running ------------------------------------------------------------------------------------

def calibration_start(*, parameters: dict[str, Any], user: Any = None) -> CalibrationRun:
    """Create a pending run with these (validated) parameters and queue its task on commit."""
    params = {**DEFAULTS, **{k: v for k, v in parameters.items() if v is not None}}
    if isinstance(params.get("end"), datetime):
        params["end"] = params["end"].isoformat()
    with transaction.atomic():
        run = CalibrationRun.objects.create(parameters=params, created_by=_person(user)[0])
        job_publish(calibration_run_task, run.pk)  # refused by the broker: calibration_runs_publish_pending
    return run


def calibration_runs_publish_pending() -> list[int]:
    """Publish again the tasks of calibrations left pending (jobs.jobs_pending_publish); their ids."""
    return jobs_pending_publish(jobs=CalibrationRun.objects.all(), task=calibration_run_task)


def calibration_run(*, run_id: int) -> CalibrationRun | None:
    """Claim the run (jobs.job_claimed: None, and nothing done, when another task runs it or it has ended), then
    compute its suggestion and evaluation, keeping status and progress (committed per step); a failure marks the
    run failed (bad data is a result, not a crash: the error says what was missing)."""
    runs = CalibrationRun.objects.filter(pk=run_id)
    run = runs.get()
    params = run.parameters or {}
    grid = _half_life_grid(params)
    total = 5 + (len(grid) if len(grid) > 1 else 0)
    with job_claimed(CalibrationRun, run_id, started_at=timezone.now(), finished_at=None, done=0, total=total,
                     error="", result=None, step="") as claimed:
        return _calibration_compute_recorded(runs, params=params, grid=grid, total=total) if claimed else None


def _calibration_compute_recorded(runs, *, params: dict[str, Any], grid: list[float | None], total: int
                                  ) -> CalibrationRun:
    """calibration_run's computation of a claimed run, its progress and outcome recorded on the row."""
    steps = {"done": 0}

    def step(name: str) -> None:
        runs.update(done=steps["done"], step=name)  # autocommit: each step is visible as it starts
        steps["done"] += 1

    try:
        result = calibration_compute(
            end=_end_of(params), within_days=int(params["within_days"]), period_days=int(params["period_days"]),
            half_lives=grid, conversion_types=params.get("conversion_types"), on_step=step,
        )
    except CalibrationDataError as error:
        runs.update(status=CalibrationRun.Status.FAILED, error=str(error), finished_at=timezone.now(), step="")
        return runs.get()
    except Exception as error:
        runs.update(status=CalibrationRun.Status.FAILED, error=f"{type(error).__name__}: {error}"[:2000],
                    finished_at=timezone.now(), step="")
        raise
    runs.update(status=CalibrationRun.Status.DONE, result=result, done=total, step="", finished_at=timezone.now())
    return runs.get()


def _end_of(params: dict[str, Any]) -> datetime:
    end = params.get("end")
    return datetime.fromisoformat(end) if end else timezone.now()


def _half_life_grid(params: dict[str, Any]) -> list[float | None]:
    current = ScoringConfig.from_snapshot(config_snapshot()).default.half_life_days
    if not params.get("fit_half_life"):
        return [current]
    return sorted({*HALF_LIFE_GRID, *([current] if current is not None else [])}) + ([None] if current is None else [])


# --- the computation -----------------------------------------------------------------------------------------

def _features_of(config: ScoringConfig, tallies: dict, member_ids: Sequence[int]) -> list[Feature]:
    """The candidate features: every type members did (but inactivity), and received types the rules pay for."""
    done, received = set(), set()
    for member_id in member_ids:
        for t in tallies.get(member_id, ()):
            (received if t.received else done).add(t.action_type)
    rules = config.default
    features = []
    for action_type in sorted(done - {INACTIVITY}):
        features.append(_feature(action_type, False, rules.rule(action_type)))
    for action_type in sorted(received - {INACTIVITY}):
        if rules.rule(action_type).target_points:
            features.append(_feature(action_type, True, rules.rule(action_type)))
    return features


def _feature(action_type: str, received: bool, rule) -> Feature:
    unit = abs(rule.unit(received))
    cap = rule.daily_cap / unit if rule.daily_cap is not None and unit > 0 else None
    return Feature(action_type, received, count_cap=cap, once_only=rule.once_only)


def _figures(*, config: ScoringConfig, member_ids: list[int], labels: dict[int, bool], at: datetime,
             tallies: dict) -> dict:
    values = interest_values_at(member_ids=member_ids, at=at, config=config, tallies=tallies)
    scores = [values[m].score if m in values else 0.0 for m in member_ids]
    y = [labels[m] for m in member_ids]
    mql_stage = settings.OUTCOME_MQL_STAGE
    mqls = [m for m in member_ids if m in values and stage_reaches(values[m].stage, mql_stage, config.stages)]
    converted = sum(1 for m in mqls if labels[m])
    return {"auc": roc_auc(scores, y), "mql_count": len(mqls), "mql_converted": converted,
            "mql_precision": rate(converted, len(mqls))}


def calibration_compute(*, end: datetime, within_days: int = 30, period_days: int = 365,
                        half_lives: Sequence[float | None] | None = None, conversion_types: Sequence[str] | None = None,
                        on_step=lambda name: None) -> dict[str, Any]:
    """Fit, scale and evaluate as the module docstring defines; returns the run's result document."""
    types = conversion_types_parse(conversion_types)
    snapshot = config_snapshot()
    current = ScoringConfig.from_snapshot(snapshot)
    half_lives = list(half_lives) if half_lives else [current.default.half_life_days]
    t_eval = end - timedelta(days=within_days)
    t_train = t_eval - timedelta(days=within_days)
    look_back = timedelta(days=period_days)

    on_step("loading the training period")
    train_ids = population_at(at=t_train, active_since=t_train - look_back, types=types)
    train_labels = conversion_labels(member_ids=train_ids, start=t_train, end=t_eval, types=types)
    y = np.array([train_labels[m] for m in train_ids], dtype=bool)
    tallies = interest_tallies_load(member_ids=train_ids, with_topics=False, until=t_train)
    features = _features_of(current, tallies, train_ids)
    as_of = to_epoch_days(t_train)

    def matrix(half_life):
        return feature_matrix(tallies=tallies, member_ids=train_ids, features=features, as_of=as_of,
                              half_life_days=half_life)

    search = []
    if len(half_lives) > 1:
        for h in half_lives:
            on_step(f"trying a half-life of {h} days")
            search.append({"half_life_days": h, "cv_auc": half_life_score(matrix(h), y)})
        half_life = max(search, key=lambda s: s["cv_auc"])["half_life_days"]
    else:
        half_life = half_lives[0]

    on_step("fitting the weights")
    x = matrix(half_life)
    varies = x.std(axis=0) > 0 if len(train_ids) else np.zeros(len(features), dtype=bool)
    fitted = [f for f, v in zip(features, varies) if v]
    fit = weights_fit(x[:, varies], y)
    current_points = [current.default.rule(f.action_type).unit(f.received) for f in fitted]
    suggested_points = points_scale(fit.coefficients, current_points)
    weights = [
        {"action_type": f.action_type, "side": "received" if f.received else "done", "current_points": c,
         "suggested_points": s, "coefficient": round(w, 6)}
        for f, c, s, w in zip(fitted, current_points, suggested_points, fit.coefficients)
    ]
    weights.sort(key=lambda w: -abs(w["suggested_points"]))
    suggested_doc = suggestion_document(snapshot=snapshot, weights=weights,
                                        half_life_days=half_life if half_life != current.default.half_life_days else None)
    suggested = ScoringConfig.from_snapshot(suggested_doc)

    on_step("loading the evaluation period")
    eval_ids = population_at(at=t_eval, active_since=t_eval - look_back, types=types)
    eval_labels = conversion_labels(member_ids=eval_ids, start=t_eval, end=end, types=types)
    eval_tallies = interest_tallies_load(member_ids=eval_ids, with_topics=False, until=t_eval)
    x_eval = feature_matrix(tallies=eval_tallies, member_ids=eval_ids, features=fitted, as_of=to_epoch_days(t_eval),
                            half_life_days=half_life)
    model_scores = x_eval @ np.asarray(fit.coefficients) if len(eval_ids) else np.zeros(0)
    y_eval = [eval_labels[m] for m in eval_ids]

    on_step("scoring the evaluation period under the current config")
    current_figures = _figures(config=current, member_ids=eval_ids, labels=eval_labels, at=t_eval,
                               tallies=eval_tallies)
    on_step("scoring the evaluation period under the suggested config")
    suggested_figures = _figures(config=suggested, member_ids=eval_ids, labels=eval_labels, at=t_eval,
                                 tallies=eval_tallies)
    return {
        "weights": weights,
        "unfitted": [f.action_type + (" (received)" if f.received else "") for f, v in zip(features, varies) if not v],
        "current": current_figures,
        "suggested": suggested_figures,
        "model": {"intercept": fit.intercept, "c": fit.c,
                  "eval_auc": roc_auc(model_scores, y_eval)},
        "half_life_days": half_life,
        "half_life_current": current.default.half_life_days,
        "half_life_search": search,
        "training": {"at": t_train.isoformat(), "until": t_eval.isoformat(), "members": len(train_ids),
                     "converted": int(y.sum())},
        "evaluation": {"at": t_eval.isoformat(), "until": end.isoformat(), "members": len(eval_ids),
                       "converted": int(sum(y_eval))},
        "conversion_types": list(types),
        "cautions": calibration_cautions(training_converted=int(y.sum()), weights=len(fitted),
                                         current_auc=current_figures["auc"], suggested_auc=suggested_figures["auc"]),
        "scaling": "sum of |suggested points| = sum of |current points| over the fitted types, rounded to 0.1",
        "config_version": config_version_latest(),
        "suggested_config": suggested_doc,
    }


def suggestion_document(*, snapshot: dict[str, Any], weights: Sequence[dict[str, Any]],
                        half_life_days: float | None = None) -> dict[str, Any]:
    """``snapshot`` with the default rule set's points (done side) and target points (received side) set to the
    suggested ones, a rule added for a type that had none, caps scaled with the rule's largest |points|, and the
    half-life replaced when given."""
    doc = copy.deepcopy(snapshot)
    doc.pop("version", None)
    doc.pop("influence", None)
    default = next(s for s in doc["rule_sets"] if not persona_key(s.get("persona")))
    rules = {r["action_type"]: r for r in default.setdefault("rules", [])}
    for w in weights:
        rule = rules.get(w["action_type"])
        if rule is None:
            rule = rules[w["action_type"]] = {"action_type": w["action_type"], "points": 0.0, "target_points": 0.0,
                                              "daily_cap": None, "once_only": False}
            default["rules"].append(rule)
            rule["_old"] = 0.0
        rule.setdefault("_old", max(abs(float(rule.get("points") or 0)), abs(float(rule.get("target_points") or 0))))
        rule["target_points" if w["side"] == "received" else "points"] = w["suggested_points"]
    for rule in rules.values():
        old = rule.pop("_old", None)
        if old is None or rule.get("daily_cap") is None:
            continue
        new = max(abs(float(rule.get("points") or 0)), abs(float(rule.get("target_points") or 0)))
        if old > 0 and new > 0:
            rule["daily_cap"] = max(0.1, round(float(rule["daily_cap"]) * new / old, 1))
    if half_life_days is not None:
        default["half_life_days"] = half_life_days
    return doc


# --- preview, apply, reject ----------------------------------------------------------------------------------

def _done_run(run_id: int, *, lock: bool = False) -> CalibrationRun:
    runs = CalibrationRun.objects.select_for_update() if lock else CalibrationRun.objects
    run = runs.get(pk=run_id)  # DoesNotExist: the caller's 404
    if run.status != CalibrationRun.Status.DONE:
        raise CalibrationStateError(f"calibration {run_id} is {run.status}: only a done calibration can be "
                                    "previewed, applied or rejected")
    return run


def _document_now(run: CalibrationRun) -> dict[str, Any]:
    """The suggestion laid over the configuration as it is now (it may have changed since the run)."""
    result = run.result or {}
    chosen = result.get("half_life_days")
    return suggestion_document(snapshot=config_snapshot(), weights=result.get("weights", []),
                               half_life_days=chosen if chosen != result.get("half_life_current") else None)


def calibration_preview(*, run_id: int) -> dict[str, Any]:
    """What applying the run would do to stages now (services.config.config_preview), and the document."""
    run = _done_run(run_id)
    document = _document_now(run)
    return {**config_preview(snapshot=document), "document": document}


def calibration_apply(*, run_id: int, user: Any = None) -> CalibrationRun:
    """Apply the suggested points as a new config version (which recomputes interest); the run becomes applied."""
    with transaction.atomic():
        run = _done_run(run_id, lock=True)
        person, label = _person(user)
        version: ConfigVersion = config_apply(snapshot=_document_now(run), user=person,
                                              note=f"{label}calibration {run.pk}: suggested weights")
        run.status = CalibrationRun.Status.APPLIED
        run.applied_version = version.number
        run.decided_by = person
        run.decided_at = timezone.now()
        run.save(update_fields=["status", "applied_version", "decided_by", "decided_at"])
    return run


def calibration_reject(*, run_id: int, user: Any = None) -> CalibrationRun:
    """Mark the run rejected; the configuration is left as it is."""
    with transaction.atomic():
        run = _done_run(run_id, lock=True)
        run.status = CalibrationRun.Status.REJECTED
        run.decided_by = _person(user)[0]
        run.decided_at = timezone.now()
        run.save(update_fields=["status", "decided_by", "decided_at"])
    return run
