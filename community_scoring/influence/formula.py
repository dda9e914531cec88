"""The influence score and its parts, on arrays (one entry per member or edge). No Django.

This is the reference: the recompute, the explanation of one member's score and the inbound-edge listing all
compute through these functions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Pairs whose edge weight is at or below this (e.g. a follow cancelled by an unfollow, up to rounding) are no edge.
MIN_EDGE_WEIGHT = 1e-12
SECONDS_PER_DAY = 86400.0


def edge_decay(t: np.ndarray, *, ref_epoch: float, half_life_days: float) -> np.ndarray:
    """Weight left of an action at time t (seconds since the epoch) at ref_epoch: 2^(-age / h), h in days."""
    return np.exp2((np.asarray(t, dtype=np.float64) - ref_epoch) / (half_life_days * SECONDS_PER_DAY))


def edge_weights(
    group: np.ndarray,
    kind: np.ndarray,
    decay: np.ndarray,
    *,
    groups: int,
    types: list[str],
    weights: dict[str, float],
    reversals: dict[str, str],
) -> np.ndarray:
    """Edge weight per group of actions (a group is a (source, target) pair, or a finer split of one).

        w = sum over types t of  weight[t] * max(0, sum_{a of type t} d_a - sum_{a of a type reversing t} d_a)

    d_a = edge_decay of action a. Action a is in group[a] and of type types[kind[a]]. A reversing type
    (unfollow for follow, unvote for vote_up: `reversals` maps it to the type it reverses) carries no weight of
    its own: it takes back the decayed weight of its action, and the total per type is clamped at 0, so a
    later unfollow cancels a follow. Types without a positive weight add nothing.
    """
    weighted = {t: float(w) for t, w in weights.items() if float(w) > 0}
    reversed_types = {t for t in reversals.values() if t in weighted}
    plain = np.asarray([0.0 if k in reversals or k in reversed_types else weighted.get(k, 0.0) for k in types])
    result = np.bincount(group, weights=plain[kind] * decay, minlength=groups).astype(np.float64)
    for target in sorted(reversed_types):
        sign = np.asarray([1.0 if k == target else -1.0 if reversals.get(k) == target else 0.0 for k in types])
        net = np.bincount(group, weights=sign[kind] * decay, minlength=groups)
        result += weighted[target] * np.maximum(net, 0.0)
    return result


def percentiles(values: np.ndarray, *, decimals: int | None = None) -> np.ndarray:
    """0-100: the share of the other members whose value is strictly lower (ties share the lower percentile).

    `decimals` rounds before comparing, so values equal up to floating noise tie.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return np.zeros(0)
    key = np.round(values, decimals) if decimals is not None else values
    below = np.searchsorted(np.sort(key), key, side="left")
    return 100.0 * below / max(n - 1, 1)


def centrality_percentiles(centrality: np.ndarray) -> np.ndarray:
    """Percentiles of PageRank values; values within 1e-8 of each other relative to the mean 1/n tie."""
    n = len(centrality)
    return percentiles(np.asarray(centrality) * n, decimals=8)


def ranks(values: np.ndarray, member_ids: np.ndarray) -> np.ndarray:
    """1 = highest value; ties broken by lower member id."""
    order = np.lexsort((member_ids, -np.asarray(values)))
    result = np.empty(len(values), dtype=np.int64)
    result[order] = np.arange(1, len(values) + 1)
    return result


def member_sentiment(
    written_sum: np.ndarray,
    written_count: np.ndarray,
    received_sum: np.ndarray,
    received_count: np.ndarray,
    *,
    received_weight: float,
    prior: float,
) -> np.ndarray:
    """Sentiment in -1..1 from VADER compounds, shrunk towards 0 for members with few texts.

        s = (S_w + r * S_r) / (N_w + r * N_r + k)

    S_w, N_w: sum and count of the compounds of texts the member wrote; S_r, N_r: the same for replies their
    content received; r = received_weight; k = prior (pseudo-texts of sentiment 0). No texts -> 0.
    """
    num = written_sum + received_weight * received_sum
    den = written_count + received_weight * received_count + prior
    out = np.zeros(len(num))
    np.divide(num, den, out=out, where=den > 0)
    return np.clip(out, -1.0, 1.0)


EXPRESSION = "influence = (a*C + b*R)/(a+b) * (1 + g*s)/(1 + |g|)"


@dataclass
class InfluenceTerms:
    influence: np.ndarray
    base: np.ndarray
    sentiment_factor: np.ndarray


def influence_scores(
    centrality_pct: np.ndarray,
    reach_pct: np.ndarray,
    sentiment: np.ndarray,
    *,
    centrality_weight: float,
    reach_weight: float,
    sentiment_weight: float,
) -> InfluenceTerms:
    """Influence, 0-100.

        base   = (a * C + b * R) / (a + b)                 C, R: centrality and reach percentiles, 0-100
        factor = (1 + g * s) / (1 + |g|)                   s: member sentiment (-1..1), g: sentiment_weight (-1..1)
        influence = base * factor

    a = centrality_weight, b = reach_weight (>= 0, not both 0). With g > 0 positive sentiment raises influence
    and negative lowers it; g < 0 reverses the direction; g = 0 ignores sentiment. The factor is at most 1, so
    influence stays within 0-100 (100 needs top centrality and reach and s = sign(g)).
    """
    total = centrality_weight + reach_weight
    base = (centrality_weight * np.asarray(centrality_pct) + reach_weight * np.asarray(reach_pct)) / total
    factor = (1.0 + sentiment_weight * np.asarray(sentiment)) / (1.0 + abs(sentiment_weight))
    return InfluenceTerms(np.clip(base * factor, 0.0, 100.0), base, factor)


def advocates_and_detractors(
    influence: np.ndarray,
    sentiment: np.ndarray,
    *,
    advocate_min_influence: float,
    advocate_min_sentiment: float,
    detractor_min_influence: float,
    detractor_max_sentiment: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Advocate: influence >= its threshold and sentiment >= its minimum; detractor: influence high, sentiment low."""
    advocate = (influence >= advocate_min_influence) & (sentiment >= advocate_min_sentiment)
    detractor = (influence >= detractor_min_influence) & (sentiment <= detractor_max_sentiment)
    return advocate, detractor & ~advocate
