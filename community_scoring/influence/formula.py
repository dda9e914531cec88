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


def percentiles(values: np.ndarray, *, decimals: int | None = None, reference: np.ndarray | None = None
                ) -> np.ndarray:
    """Mid-rank percentiles, 0-100:

        M_i = 100 * (#{j != i: x_j < x_i} + 1/2 * #{j != i: x_j = x_i}) / (number of j != i)

    over the reference members j (every member, or those where the boolean mask `reference` is true; a member
    outside the reference is placed among it). Ties share the middle of their ranks, so a block of equal values
    sits at its middle, not at its bottom: when every value is equal, each is 50, and the percentiles of the
    reference average exactly 50. With nobody to compare with: 50. `decimals` rounds before comparing, so values
    equal up to floating noise tie.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return np.zeros(0)
    key = np.round(values, decimals) if decimals is not None else values
    inside = np.ones(n, dtype=bool) if reference is None else np.asarray(reference, dtype=bool)
    ordered = np.sort(key[inside])
    below = np.searchsorted(ordered, key, side="left")
    equal = np.searchsorted(ordered, key, side="right") - below - inside  # others only
    others = len(ordered) - inside
    out = np.full(n, 50.0)
    np.divide(100.0 * (below + 0.5 * equal), others, out=out, where=others > 0)
    return out


def centrality_percentiles(centrality: np.ndarray) -> np.ndarray:
    """Mid-rank percentiles of PageRank values; values within 1e-8 of each other relative to the mean 1/n tie."""
    n = len(centrality)
    return percentiles(np.asarray(centrality) * n, decimals=8)


def evidence_weights(evidence: np.ndarray, *, prior: float) -> np.ndarray:
    """How much of a member's percentile rests on their own evidence, 0..1:

        w = e / (e + k)

    e = the member's evidence (distinct members with an edge into them, for centrality; distinct members reached,
    for reach); k = prior (pseudo-observations of a typical member). k = 0: no shrinking (w = 1).
    """
    e = np.asarray(evidence, dtype=np.float64)
    if prior <= 0:
        return np.ones(len(e))
    return e / (e + prior)


def evidence_percentiles(values: np.ndarray, evidence: np.ndarray, *, prior: float, decimals: int | None = None
                         ) -> np.ndarray:
    """Percentiles of values that rest on evidence, pulled towards a typical member's by a prior, 0-100:

        P_i = w_i * M_i + (1 - w_i) * 50

    M_i = percentiles(values) (mid-rank), w_i = evidence_weights(e_i, k). Reading: member i's evidence is e_i
    observations of their own value plus k pseudo-observations of a typical member, i.e. a member drawn from the
    community. Their value is then x_i with weight w_i and a typical member's with weight 1 - w_i; P_i is the
    expected mid-rank percentile of that mixture, a typical member's being exactly 50 (mid-rank percentiles
    average 50). So a member without evidence is at 50, one follower moves a newcomer at most 50 / (1 + k) from
    50, and a member with e >> k keeps their own percentile.

    Why not shrink the point value (w * x + (1 - w) * mean) and rank that: ranks ignore distances. Where most
    members have no evidence they all sit at the mean, tied, and one follower lifts a newcomer a hair above the
    mean, hence above all of them (the 90th percentile in a community of lurkers). The mixture keeps the
    newcomer within (1 - w) * 50 of the middle, whatever the community looks like.
    """
    w = evidence_weights(evidence, prior=prior)
    return w * percentiles(values, decimals=decimals) + (1.0 - w) * 50.0


def evidence_share(centrality_evidence: np.ndarray, reach_evidence: np.ndarray, *, prior: float,
                   centrality_weight: float, reach_weight: float) -> np.ndarray:
    """The share of the influence base resting on the member's own evidence, 0..1:

        W = (a * w_C + b * w_R) / (a + b)

    w_C, w_R: evidence_weights of centrality (distinct members with an edge into them) and reach."""
    w_c = evidence_weights(centrality_evidence, prior=prior)
    w_r = evidence_weights(reach_evidence, prior=prior)
    return (centrality_weight * w_c + reach_weight * w_r) / (centrality_weight + reach_weight)


# evidence_share -> label: below 0.2 "little", below 0.5 "some", else "solid" (with k = 10: 1-2 members, 3-9, 10+).
EVIDENCE_LABELS = ((0.2, "little"), (0.5, "some"), (float("inf"), "solid"))


def evidence_label(share: float) -> str:
    """A plain word for evidence_share: little, some or solid."""
    return next(label for limit, label in EVIDENCE_LABELS if share < limit)


def ranks(values: np.ndarray, *, eligible: np.ndarray | None = None, decimals: int | None = 6) -> np.ndarray:
    """Competition ranks ("1224"): rank_i = 1 + #{eligible j: v_j > v_i}.

    1 = highest; tied values share the best rank and the next distinct value skips the tied places. Only
    `eligible` members (a boolean mask; default all) are counted above anyone, so the ranks of the eligible are
    1..n among themselves, and an ineligible member gets the rank its value would have among them. `decimals`
    rounds before comparing, so values equal up to floating noise tie.
    """
    values = np.asarray(values, dtype=np.float64)
    key = np.round(values, decimals) if decimals is not None else values
    inside = np.ones(len(values), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    ordered = np.sort(key[inside])
    return (1 + len(ordered) - np.searchsorted(ordered, key, side="right")).astype(np.int64)


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


EXPRESSION = ("influence = (a*C + b*R)/(a+b) * (1 + g*s)/(1 + |g|); C = w_C*M_C + (1-w_C)*50, "
              "R = w_R*M_R + (1-w_R)*50, w = e/(e+k)")


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

    C and R are evidence_percentiles: C of n * PageRank with e = distinct members with an edge into the member,
    R of reach with e = reach; both pulled towards 50 by the evidence prior k. a = centrality_weight,
    b = reach_weight (>= 0, not both 0). With g > 0 positive sentiment raises influence and negative lowers it;
    g < 0 reverses the direction; g = 0 ignores sentiment. The factor is at most 1, so influence stays within
    0-100 (100 needs top centrality and reach on unlimited evidence and s = sign(g)).
    """
    total = centrality_weight + reach_weight
    base = (centrality_weight * np.asarray(centrality_pct) + reach_weight * np.asarray(reach_pct)) / total
    factor = (1.0 + sentiment_weight * np.asarray(sentiment)) / (1.0 + abs(sentiment_weight))
    return InfluenceTerms(np.clip(base * factor, 0.0, 100.0), base, factor)


def advocates_and_detractors(
    base: np.ndarray,
    sentiment: np.ndarray,
    texts: np.ndarray,
    *,
    eligible: np.ndarray | None = None,
    advocate_min_influence: float,
    advocate_min_sentiment: float,
    detractor_min_influence: float,
    detractor_max_sentiment: float,
    min_texts: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Who speaks for the community and who against it, judged on influence before any sentiment adjustment:

        advocate  = eligible and base >= advocate_min_influence  and s >= advocate_min_sentiment  and n >= min_texts
        detractor = eligible and base >= detractor_min_influence and s <= detractor_max_sentiment and n >= min_texts

    base: influence_scores' base (the blend of C and R, before the sentiment factor), so a well-followed member
    writing negative texts is still influential enough to be a detractor; s: member_sentiment (already shrunk
    towards 0 for few texts); n: texts the member wrote in the window; eligible: members who may be flagged (not
    excluded or staff). A member is never both (the thresholds are validated so that they cannot overlap).
    """
    base = np.asarray(base)
    sentiment = np.asarray(sentiment)
    enough = (np.asarray(texts) >= min_texts) & (True if eligible is None else np.asarray(eligible, dtype=bool))
    advocate = enough & (base >= advocate_min_influence) & (sentiment >= advocate_min_sentiment)
    detractor = enough & (base >= detractor_min_influence) & (sentiment <= detractor_max_sentiment)
    return advocate, detractor & ~advocate


def _ordinal(value: float) -> str:
    k = round(value)
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def flag_reason(*, is_advocate: bool, is_detractor: bool, base: float, centrality_pct: float, reach_pct: float,
                sentiment: float, texts: int, received: int) -> str | None:
    """Why a member is an advocate or a detractor, in words (None when they are neither), e.g.

        influence before sentiment 74 (centrality 81st pct, reach 66th pct); sentiment -0.42 over 12 texts

    from the terms advocates_and_detractors judged: base, C, R, the member's sentiment and the texts it rests on.
    """
    if not (is_advocate or is_detractor):
        return None
    over = f"{texts} text{'' if texts == 1 else 's'}"
    if received:
        over += f" and {received} repl{'y' if received == 1 else 'ies'} received"
    return (f"influence before sentiment {base:.0f} (centrality {_ordinal(centrality_pct)} pct, "
            f"reach {_ordinal(reach_pct)} pct); sentiment {sentiment:.2f} over {over}")
