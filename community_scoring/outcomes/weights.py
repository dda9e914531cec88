"""Learning action-type weights from who converted (numbers only: bucket tallies and labels in, weights out).

A member's feature for one (action type, side) is the decayed count of such actions up to ``as_of``, counted the
way the rules count points, so that a config whose points are the fitted weights scores members by the fitted
model's linear predictor:

    x = sum over the member's buckets of min(count, count_cap) * 2 ** (-(as_of - day) / half_life)

where ``count_cap`` = the rule's daily cap / |points of that side| (no cap: every action counts), and a once-only
rule counts 1 in the member's earliest bucket of the type and 0 elsewhere (caps.bucket_points). Buckets decay
from the start of their UTC day, as in scoring/ledger.py.

The model is an L2-regularised logistic regression on standardised features (so the penalty treats every type
alike), C chosen by stratified cross-validation on log-loss (a proper scoring rule: AUC alone is flat in C and
picks the most shrunk model); coefficients are mapped back to the raw feature scale. Nothing forces them to be
positive: a negative weight says the type predicts *not* converting.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from community_scoring.scoring.decay import decay_factor
from community_scoring.scoring.ledger import BucketTally

C_GRID = tuple(float(c) for c in np.logspace(-3, 2, 8))  # inverse regularisation strengths tried
MIN_CLASS = 5  # positives and negatives each needed to fit (and the most folds cross-validation uses)


class CalibrationDataError(ValueError):
    """The training data cannot support a fit (too few conversions or non-conversions, no feature varies)."""


@dataclass(frozen=True)
class Feature:
    action_type: str
    received: bool  # False: actions the member did (rule ``points``); True: done to them (``target_points``)
    count_cap: float | None = None  # the most actions a day that count; None: all
    once_only: bool = False


@dataclass(frozen=True)
class WeightFit:
    coefficients: tuple[float, ...]  # per feature, on the raw (decayed count) scale
    intercept: float
    c: float  # the regularisation strength chosen (inverse)


def feature_matrix(*, tallies: Mapping[int, Sequence[BucketTally]], member_ids: Sequence[int],
                   features: Sequence[Feature], as_of: float, half_life_days: float | None) -> np.ndarray:
    """Rows = members (in ``member_ids`` order), columns = features: decayed, capped counts up to ``as_of``
    (buckets whose day starts after ``as_of`` are left out)."""
    column = {(f.action_type, f.received): j for j, f in enumerate(features)}
    x = np.zeros((len(member_ids), len(features)))
    for i, member_id in enumerate(member_ids):
        kept = [t for t in tallies.get(member_id, ()) if t.count > 0 and t.day <= as_of
                and (t.action_type, t.received) in column]
        first: dict[tuple[str, bool], float] = {}
        for t in kept:
            key = (t.action_type, t.received)
            first[key] = min(first.get(key, t.day), t.day)
        for t in kept:
            key = (t.action_type, t.received)
            feature = features[column[key]]
            if feature.once_only:
                counted = 1.0 if first[key] == t.day else 0.0
            else:
                counted = float(t.count) if feature.count_cap is None else min(float(t.count), feature.count_cap)
            x[i, column[key]] += counted * decay_factor(as_of - t.day, half_life_days)
    return x


def _folds(y: np.ndarray, seed: int, most: int = 5) -> StratifiedKFold:
    positives = int(y.sum())
    smaller = min(positives, y.size - positives)
    if smaller < MIN_CLASS:
        raise CalibrationDataError(
            f"{positives} conversions among {y.size} members: at least {MIN_CLASS} conversions and "
            f"{MIN_CLASS} non-conversions are needed to fit weights"
        )
    return StratifiedKFold(n_splits=min(most, smaller), shuffle=True, random_state=seed)


def half_life_score(x: np.ndarray, y: np.ndarray, *, seed: int = 0) -> float:
    """Cross-validated (4 folds) AUC of a logistic model (C=1, standardised features) on these features: how the
    half-life search compares candidate half-lives."""
    y = np.asarray(y, dtype=int)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    return float(cross_val_score(model, x, y, cv=_folds(y, seed, most=4), scoring="roc_auc").mean())


def weights_fit(x: np.ndarray, y: Sequence[bool], *, seed: int = 0) -> WeightFit:
    """The regularised logistic regression of conversion on the features (see the module docstring)."""
    y = np.asarray(y, dtype=int)
    folds = _folds(y, seed)
    if x.shape[1] == 0 or not np.any(x.std(axis=0) > 0):
        raise CalibrationDataError("no action type varies among the training members: nothing to learn from")
    scaler = StandardScaler().fit(x)
    z = scaler.transform(x)
    model = LogisticRegressionCV(Cs=list(C_GRID), l1_ratios=(0.0,), cv=folds, scoring="neg_log_loss",
                                 max_iter=5000, use_legacy_attributes=False).fit(z, y)
    c = float(model.C_)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    raw = model.coef_[0] / scale
    intercept = float(model.intercept_[0] - np.sum(raw * scaler.mean_))
    return WeightFit(coefficients=tuple(float(w) for w in raw), intercept=intercept, c=c)


def points_scale(coefficients: Sequence[float], current_points: Sequence[float], *, fallback_max: float = 10.0,
                 decimals: int = 1) -> list[float]:
    """Coefficients in points: multiplied by k = sum|current points| / sum|coefficients| (the same total weight
    as today's rules over the same features, so stage thresholds keep roughly their meaning), rounded. With no
    current points the largest |weight| becomes ``fallback_max``. Scaling by a positive k keeps every ranking
    the model makes."""
    w = np.asarray(coefficients, dtype=float)
    total = float(np.abs(w).sum())
    if total == 0 or not math.isfinite(total):
        return [0.0] * len(w)
    current = float(np.abs(np.asarray(current_points, dtype=float)).sum())
    k = current / total if current > 0 else fallback_max / float(np.abs(w).max())
    return [round(float(v) * k, decimals) + 0.0 for v in w]  # + 0.0: no "-0.0"


EVENTS_PER_WEIGHT = 10  # the usual floor for a logistic regression's events per variable (Peduzzi et al., 1996)


def calibration_cautions(*, training_converted: int, weights: int, current_auc: float | None,
                         suggested_auc: float | None) -> list[str]:
    """Why an admin should not apply a suggestion, in plain words (empty: nothing against it)."""
    cautions = []
    if weights and training_converted < EVENTS_PER_WEIGHT * weights:
        cautions.append(f"Only {training_converted} conversions to learn {weights} weights from (fewer than "
                        f"{EVENTS_PER_WEIGHT} per weight): the suggestion is likely to fit noise.")
    if suggested_auc is None or (current_auc is not None and suggested_auc <= current_auc):
        shown = "n/a" if suggested_auc is None else f"{suggested_auc:.3f}"
        was = "n/a" if current_auc is None else f"{current_auc:.3f}"
        cautions.append(f"On the held-out period the suggested weights predict conversion no better than the current "
                        f"ones (AUC {shown} against {was}): keep the current weights.")
    return cautions
