"""The influence score and its parts, on arrays (one entry per member). No Django."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
