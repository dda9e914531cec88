"""How well a score predicts an outcome: ROC AUC, lift, rates per band, confidence intervals (numbers only).

The quality report, calibration and experiments measure with these, so each figure is defined once here.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm, rankdata


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance a random positive scores above a random negative (ties count half),
    by the Mann-Whitney U statistic on mid-ranks. None when there are no positives or no negatives."""
    y = np.asarray(labels, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(np.asarray(scores, dtype=float))
    u = ranks[y].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def deciles(scores: Sequence[float], count: int = 10) -> np.ndarray:
    """Each member's score decile, 1 (lowest) to ``count`` (highest): ``ceil(count * r / n)`` where r is how many
    members score at most as much. Equal scores share a decile (the highest their ranks reach), so the top
    decile is never empty, and a mostly-zero population leaves some low deciles empty."""
    s = np.asarray(scores, dtype=float)
    if s.size == 0:
        return np.zeros(0, dtype=int)
    at_most = rankdata(s, method="max")
    return np.ceil(at_most * count / s.size).astype(int)


def rate(positives: int, total: int) -> float | None:
    return positives / total if total else None


def top_decile_lift(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Conversion rate of the top score decile divided by the population's rate (None without data or positives)."""
    y = np.asarray(labels, dtype=bool)
    if y.size == 0 or not y.any():
        return None
    top = deciles(scores) == 10
    if not top.any():
        return None
    return float(y[top].mean() / y.mean())


def wilson_interval(positives: int, total: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (sound for small counts and rates near 0 or 1)."""
    if total <= 0:
        return None
    z = float(norm.ppf(0.5 + confidence / 2))
    p = positives / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(a: tuple[int, int], b: tuple[int, int],
                        confidence: float = 0.95) -> tuple[float, float] | None:
    """Newcombe's interval for the difference of two proportions (b's rate minus a's), from Wilson intervals;
    ``a`` and ``b`` are (positives, total)."""
    wa, wb = wilson_interval(*a, confidence), wilson_interval(*b, confidence)
    if wa is None or wb is None:
        return None
    pa, pb = a[0] / a[1], b[0] / b[1]
    low = (pb - pa) - math.sqrt((pb - wb[0]) ** 2 + (wa[1] - pa) ** 2)
    high = (pb - pa) + math.sqrt((wb[1] - pb) ** 2 + (pa - wa[0]) ** 2)
    return low, high
