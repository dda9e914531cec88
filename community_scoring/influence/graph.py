"""The influence graph, read straight from the action log into numpy arrays.

One aggregate query over community_scoring_action grouped by (member, target member) returns, per pair, the
decayed edge weight, whether the member currently follows the target, and whether they engaged with the
target's content inside the window. It is streamed as arrays (COPY binary on PostgreSQL): no Python object
per edge, so a 10M-action community fits in a few hundred MB.

Edge weight of A -> B:

    w(A, B) = sum over edge types t of  weight[t] * max(0, sum_{a of type t} 2^(-age_a / h) - sum_{a reversing t} 2^(-age_a / h))

h = half-life in days, age in days at the reference time. A reversing type (unfollow for follow, unvote for
vote_up, from ActionType.reverses) subtracts the decayed weight of its action, and a pair's total per type is
clamped at 0: a later unfollow cancels a follow. Actions on oneself never count. Pairs whose weight is below
MIN_EDGE_WEIGHT (e.g. a follow cancelled by an unfollow, up to rounding) are not edges.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from community_scoring.influence.pgcopy import is_postgresql, query_arrays

MIN_EDGE_WEIGHT = 1e-12
FOLLOW = "follow"


@dataclass
class InfluenceGraph:
    member_ids: np.ndarray  # int64, sorted: node i is member member_ids[i]
    src: np.ndarray  # int32 node index, one per edge
    dst: np.ndarray
    weight: np.ndarray  # float64 > 0
    in_degree: np.ndarray  # followers per node
    reach: np.ndarray  # distinct members who engaged with the node's content in the window

    @property
    def n(self) -> int:
        return len(self.member_ids)

    @property
    def edges(self) -> int:
        return len(self.weight)


def timestamp_param(value: datetime):
    """A datetime the way each backend compares it with stored values."""
    if is_postgresql():
        return value
    from datetime import timezone as dt_timezone

    return value.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def edge_query(
    *,
    ref_time: datetime,
    half_life_days: float,
    window_days: int,
    edge_weights: dict[str, float],
    reach_types: list[str],
    reversals: dict[str, str],
) -> tuple[str, list]:
    """SQL and params of the per-pair aggregate: (src, dst, weight, flags); flags bit 0 follows, bit 1 reached."""
    pg = is_postgresql()
    ref = timestamp_param(ref_time)
    window_start = timestamp_param(ref_time - timedelta(days=window_days))
    if pg:
        age_seconds = "EXTRACT(EPOCH FROM (%s::timestamptz - a.occurred_at))"
        greatest = "GREATEST"
    else:
        age_seconds = "((julianday(%s) - julianday(a.occurred_at)) * 86400.0)"
        greatest = "MAX"
    rate = -math.log(2) / (half_life_days * 86400.0)
    weighted = {t: float(w) for t, w in edge_weights.items() if float(w) > 0}
    reversed_by: dict[str, list[str]] = {}
    for reverser, target in reversals.items():
        if target in weighted or target == FOLLOW:
            reversed_by.setdefault(target, []).append(reverser)
    plain = {t: w for t, w in weighted.items() if t not in reversed_by}
    parts: list[str] = []
    params: list = []
    if plain:
        whens = " ".join("WHEN %s THEN %s * d.decay" for _ in plain)
        parts.append(f"COALESCE(SUM(CASE d.action_type_id {whens} END), 0)")
        for t, w in plain.items():
            params += [t, w]
    for target, reversers in reversed_by.items():
        if target not in weighted:
            continue
        marks = ", ".join(["%s"] * len(reversers))
        parts.append(
            f"%s * {greatest}(COALESCE(SUM(CASE WHEN d.action_type_id = %s THEN d.decay "
            f"WHEN d.action_type_id IN ({marks}) THEN -d.decay END), 0), 0)"
        )
        params += [weighted[target], target, *reversers]
    weight_sql = " + ".join(parts) if parts else "0"
    follow_reversers = reversed_by.get(FOLLOW, [])
    follow_marks = ", ".join(["%s"] * len(follow_reversers)) or "NULL"
    reach_marks = ", ".join(["%s"] * len(reach_types)) or "NULL"
    flags_sql = (
        f"(CASE WHEN SUM(CASE WHEN d.action_type_id = %s THEN 1 WHEN d.action_type_id IN ({follow_marks}) THEN -1 "
        f"ELSE 0 END) > 0 THEN 1 ELSE 0 END) + "
        f"(CASE WHEN MAX(CASE WHEN d.action_type_id IN ({reach_marks}) AND d.occurred_at >= %s THEN 1 ELSE 0 END) = 1 "
        f"THEN 2 ELSE 0 END)"
    )
    flag_params = [FOLLOW, *follow_reversers, *reach_types, window_start]
    types = sorted(set(weighted) | {r for rs in reversed_by.values() for r in rs} | set(reach_types) | {FOLLOW})
    type_marks = ", ".join(["%s"] * len(types))
    cast_float = "::float8" if pg else ""
    cast_small = "::int2" if pg else ""
    sql = (
        f"SELECT d.member_id AS src, d.target_member_id AS dst, ({weight_sql}){cast_float} AS weight, "
        f"({flags_sql}){cast_small} AS flags "
        f"FROM (SELECT a.member_id, a.target_member_id, a.action_type_id, a.occurred_at, "
        f"EXP(%s * {age_seconds}) AS decay FROM community_scoring_action a "
        f"WHERE a.target_member_id IS NOT NULL AND a.member_id <> a.target_member_id "
        f"AND a.action_type_id IN ({type_marks})) d "
        f"GROUP BY d.member_id, d.target_member_id"
    )
    # Parameter order follows the placeholders: SELECT list, then the subquery.
    all_params = params + flag_params + [rate, ref] + types
    return sql, all_params


def member_ids_read() -> np.ndarray:
    """Every member's id, sorted."""
    return query_arrays("SELECT id FROM community_scoring_member ORDER BY id", [], [("id", "int8")])["id"]


def ids_to_index(member_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Node index of each id in the sorted `member_ids`; -1 for ids not there."""
    if len(member_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int32)
    max_id = int(max(member_ids[-1], ids.max() if len(ids) else 0))
    if max_id <= 4 * len(member_ids) + 1_000_000:
        table = np.full(max_id + 1, -1, dtype=np.int32)
        table[member_ids] = np.arange(len(member_ids), dtype=np.int32)
        return table[ids]
    pos = np.searchsorted(member_ids, ids)
    pos_clipped = np.minimum(pos, len(member_ids) - 1)
    found = member_ids[pos_clipped] == ids
    return np.where(found, pos_clipped, -1).astype(np.int32)


def graph_build(
    *,
    ref_time: datetime,
    half_life_days: float,
    window_days: int,
    edge_weights: dict[str, float],
    reach_types: list[str],
    reversals: dict[str, str],
) -> InfluenceGraph:
    """Read the graph of the whole community at `ref_time` (see the module docstring for the weights)."""
    sql, params = edge_query(
        ref_time=ref_time,
        half_life_days=half_life_days,
        window_days=window_days,
        edge_weights=edge_weights,
        reach_types=reach_types,
        reversals=reversals,
    )
    pairs = query_arrays(sql, params, [("src", "int8"), ("dst", "int8"), ("weight", "float8"), ("flags", "int2")])
    member_ids = member_ids_read()
    n = len(member_ids)
    src = ids_to_index(member_ids, pairs.pop("src"))
    dst = ids_to_index(member_ids, pairs.pop("dst"))
    weight, flags = pairs["weight"], pairs["flags"]
    known = (src >= 0) & (dst >= 0)
    if not known.all():  # members deleted between the two reads
        src, dst, weight, flags = src[known], dst[known], weight[known], flags[known]
    in_degree = np.bincount(dst[(flags & 1) == 1], minlength=n) if n else np.zeros(0, dtype=np.int64)
    reach = np.bincount(dst[(flags & 2) == 2], minlength=n) if n else np.zeros(0, dtype=np.int64)
    edge = weight > MIN_EDGE_WEIGHT
    if not edge.all():
        src, dst, weight = src[edge], dst[edge], weight[edge]
    return InfluenceGraph(member_ids, src, dst, weight, in_degree, reach)


def reversals_read() -> dict[str, str]:
    """Action type key -> the key it reverses (unfollow -> follow)."""
    from community_scoring.models import ActionType

    return dict(ActionType.objects.filter(reverses__isnull=False).values_list("key", "reverses_id"))


def inbound_edges(*, member_id: int, ref_time: datetime, half_life_days: float, edge_weights: dict[str, float],
                  reversals: dict[str, str], limit: int = 10) -> list[dict]:
    """Who gives `member_id` influence: per (source member, action type) the decayed edge weight, largest first.

    Reversing actions are netted into the type they reverse and clamped at 0, as in the graph.
    """
    from community_scoring.models import Action

    rows = (
        Action.objects.filter(target_member_id=member_id)
        .exclude(member_id=member_id)
        .filter(action_type_id__in=set(edge_weights) | set(reversals))
        .values_list("member_id", "action_type_id", "occurred_at")
    )
    totals: dict[tuple[int, str], float] = {}
    counts: dict[tuple[int, str], int] = {}
    rate = math.log(2) / (half_life_days * 86400.0)
    for source, kind, occurred_at in rows.iterator(chunk_size=2000):
        family = reversals.get(kind, kind)
        if float(edge_weights.get(family, 0)) <= 0:
            continue
        sign = -1.0 if kind != family else 1.0
        decay = math.exp(-rate * (ref_time - occurred_at).total_seconds())
        totals[(source, family)] = totals.get((source, family), 0.0) + sign * decay
        counts[(source, family)] = counts.get((source, family), 0) + (1 if sign > 0 else 0)
    edges = [
        {"member_id": source, "action_type": family, "actions": counts[(source, family)],
         "weight": float(edge_weights[family]) * total}
        for (source, family), total in totals.items()
        if total * float(edge_weights[family]) > MIN_EDGE_WEIGHT
    ]
    edges.sort(key=lambda e: (-e["weight"], e["member_id"], e["action_type"]))
    return edges[:limit]

