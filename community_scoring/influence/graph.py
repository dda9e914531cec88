"""The influence graph, read from the action log into numpy arrays and aggregated per (member, target) pair.

The store streams every action between two different members (actor, target, type, time) as arrays; the
actions are then aggregated in numpy per (pair, type family) (sort once, bincount per term), and the families
summed per pair. Edge weights: formula.edge_weights (decay: formula.edge_decay). Followers: pairs with more
follows than unfollows. Sources: distinct members with an edge into a member. Reach: distinct members with an
action of a reach type in the window. Inbound edges: a member's heaviest (source, family) weights, the
explanation the audience view shows. Actions on oneself never count.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from community_scoring.influence import formula
from community_scoring.influence.store import InfluenceStore, influence_store
from community_scoring.models import ActionType

FOLLOW = "follow"


@dataclass
class InboundEdges:
    """Each member's heaviest inbound edges, one per (source, type family), by member, then source, then family."""

    member: np.ndarray  # int32 node index of the member the edge points to
    source: np.ndarray  # int32 node index of the member who acted
    family: np.ndarray  # int index into `families`: the type family (a type and the types reversing it)
    actions: np.ndarray  # int64: actions of the family's own type
    weight: np.ndarray  # float64 > MIN_EDGE_WEIGHT: what the family adds to the source's edge
    families: list[str]


@dataclass
class InfluenceGraph:
    member_ids: np.ndarray  # int64, sorted: node i is member member_ids[i]
    src: np.ndarray  # int32 node index, one per edge
    dst: np.ndarray
    weight: np.ndarray  # float64 > 0
    in_degree: np.ndarray  # followers per node
    reach: np.ndarray  # distinct members who engaged with the node's content in the window
    sources: np.ndarray  # distinct members with an edge into the node: the evidence behind its centrality
    inbound: InboundEdges | None = None  # each node's heaviest inbound edges, when graph_build was asked for them

    @property
    def n(self) -> int:
        return len(self.member_ids)

    @property
    def edges(self) -> int:
        return len(self.weight)


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
    store: InfluenceStore,
    ref_time: datetime,
    half_life_days: float,
    window_days: int,
    edge_weights: dict[str, float],
    reach_types: list[str],
    reversals: dict[str, str],
    inbound_limit: int = 0,
) -> InfluenceGraph:
    """Read the graph of the whole community at `ref_time` (see the module docstring for its parts), with each
    member's `inbound_limit` heaviest inbound edges when that is above 0."""
    weighted = {t for t, w in edge_weights.items() if float(w) > 0}
    reversers = {r for r, t in reversals.items() if t in weighted or t == FOLLOW}
    types = sorted(weighted | reversers | set(reach_types) | {FOLLOW})
    member_ids = store.member_ids()
    rows = store.action_rows(types=types, max_member_id=int(member_ids[-1]) if len(member_ids) else 0)
    n = len(member_ids)
    src = ids_to_index(member_ids, rows.pop("src"))
    dst = ids_to_index(member_ids, rows.pop("dst"))
    kind, t = rows.pop("kind"), rows.pop("t")
    known = (src >= 0) & (dst >= 0)
    if not known.all():  # members deleted between the two reads
        src, dst, kind, t = src[known], dst[known], kind[known], t[known]
    ref_epoch = ref_time.timestamp()
    decay = formula.edge_decay(t, ref_epoch=ref_epoch, half_life_days=half_life_days)
    # Groups of actions: (target, source, type family), in that order. A family's weight depends on its own
    # actions only (formula.edge_weights nets a type with the types reversing it), so a pair's weight is the sum
    # of its families' and the inbound edges come out of the same pass.
    families = sorted({reversals.get(k, k) for k in types})
    family_of = np.asarray([families.index(reversals.get(k, k)) for k in types], dtype=np.int64)
    group_key = (dst.astype(np.int64) * max(n, 1) + src) * len(families) + family_of[kind]
    del src, dst
    groups, group_of = np.unique(group_key, return_inverse=True)
    del group_key
    group_weight = formula.edge_weights(group_of, kind, decay, groups=len(groups), types=types,
                                        weights=edge_weights, reversals=reversals)
    group_pair_key = groups // len(families)
    new_pair = np.ones(len(groups), dtype=bool)
    new_pair[1:] = group_pair_key[1:] != group_pair_key[:-1]
    pair_of_group = np.cumsum(new_pair) - 1
    pairs = group_pair_key[new_pair]
    p = len(pairs)
    weight = np.bincount(pair_of_group, weights=group_weight, minlength=p)
    inbound = None
    if inbound_limit > 0:
        plain = np.asarray([k not in reversals for k in types], dtype=np.float64)
        actions = np.bincount(group_of, weights=plain[kind], minlength=len(groups))
        inbound = _inbound_top(group_pair_key, groups % len(families), group_weight, actions, n=n,
                               limit=inbound_limit, families=families)
    del groups, group_pair_key, group_weight
    pair_of = pair_of_group[group_of]
    del group_of, pair_of_group
    follow_sign = np.asarray([1.0 if k == FOLLOW else -1.0 if reversals.get(k) == FOLLOW else 0.0 for k in types])
    follows = np.bincount(pair_of, weights=follow_sign[kind], minlength=p) > 0.5
    window_epoch = ref_epoch - window_days * formula.SECONDS_PER_DAY
    reach_kind = np.asarray([k in reach_types for k in types])
    reached = np.bincount(pair_of, weights=(reach_kind[kind] & (t >= window_epoch)).astype(np.float64), minlength=p) > 0
    del pair_of, kind, t, decay
    pair_src = (pairs % max(n, 1)).astype(np.int32)
    pair_dst = (pairs // max(n, 1)).astype(np.int32)
    del pairs
    in_degree = np.bincount(pair_dst[follows], minlength=n)
    reach = np.bincount(pair_dst[reached], minlength=n)
    edge = weight > formula.MIN_EDGE_WEIGHT
    sources = np.bincount(pair_dst[edge], minlength=n)
    return InfluenceGraph(member_ids, pair_src[edge], pair_dst[edge], weight[edge], in_degree, reach, sources,
                          inbound)


def _inbound_top(pair_key: np.ndarray, family: np.ndarray, weight: np.ndarray, actions: np.ndarray, *, n: int,
                 limit: int, families: list[str]) -> InboundEdges:
    """Per target node, its `limit` heaviest (source, family) groups above MIN_EDGE_WEIGHT; among equal weights
    the first in (source, family) order, as edge_order lists them (node order is member id order, family order
    the keys' order). The groups come sorted by (target, source, family); so do the edges returned."""
    keep = np.flatnonzero(weight > formula.MIN_EDGE_WEIGHT)
    target = (pair_key[keep] // max(n, 1)).astype(np.int32)
    w = weight[keep]
    count = np.bincount(target, minlength=n)
    start = np.cumsum(count) - count
    # A target with more edges than `limit` keeps those at or above its limit-th heaviest weight in float32:
    # rounding to float32 keeps the order (a lighter float32 is a lighter weight), so all its top edges are
    # among them, with at most a few more (equal in float32). One sort of packed integers finds that bound.
    bits = w.astype(np.float32).view(np.int32).astype(np.int64)  # order-preserving for weights > 0
    heaviest_first = np.sort((target.astype(np.int64) << 32) | (2**31 - 1 - bits))
    crowded = np.flatnonzero(count > limit)
    bound = np.zeros(n, dtype=np.int64)
    bound[crowded] = 2**31 - 1 - (heaviest_first[start[crowded] + limit - 1] & 0xFFFFFFFF)
    del heaviest_first
    near = bits >= bound[target]
    # Exact order among the few left of crowded targets: by weight, ties in (source, family) order (stable).
    tight = np.flatnonzero(near & (count[target] > limit))
    order = tight[np.lexsort((-w[tight], target[tight]))]
    rank = np.arange(len(order)) - np.searchsorted(target[order], target[order], side="left")
    chosen = near & (count[target] <= limit)
    chosen[order[rank < limit]] = True
    picked = keep[chosen]
    return InboundEdges(member=target[chosen], source=(pair_key[picked] % max(n, 1)).astype(np.int32),
                        family=family[picked], actions=np.rint(actions[picked]).astype(np.int64),
                        weight=weight[picked], families=families)


def reversals_read() -> dict[str, str]:
    """Action type key -> the key it reverses (unfollow -> follow)."""
    return dict(ActionType.objects.filter(reverses__isnull=False).values_list("key", "reverses_id"))


def inbound_edges(*, member_id: int, ref_time: datetime, half_life_days: float, edge_weights: dict[str, float],
                  reversals: dict[str, str], limit: int = 10) -> list[dict]:
    """Who gives `member_id` influence: per (source member, action type) the edge weight that type adds to the
    source's edge (formula.edge_weights, reversing actions netted into the type they reverse), largest first."""
    # Per (source, type): the count and the summed decay of its actions (edge_weights sums decays per group and
    # type, so the sums give the same weights as the actions one by one).
    rows = influence_store().inbound_decay_sums(member_id=member_id, types=sorted(set(edge_weights) | set(reversals)),
                                                ref_time=ref_time, half_life_days=half_life_days)
    types = sorted({kind for _, kind, _, _ in rows})
    kind_of = {k: i for i, k in enumerate(types)}
    # One group per (source, type family): a family is a type and the types that reverse it.
    keys = sorted({(source, reversals.get(kind, kind)) for source, kind, _, _ in rows})
    group_of = {key: g for g, key in enumerate(keys)}
    group = np.fromiter((group_of[(s, reversals.get(k, k))] for s, k, _, _ in rows), dtype=np.int64, count=len(rows))
    kind = np.fromiter((kind_of[k] for _, k, _, _ in rows), dtype=np.int64, count=len(rows))
    decay = np.fromiter((total for _, _, _, total in rows), dtype=np.float64, count=len(rows))
    count = np.fromiter((n for _, _, n, _ in rows), dtype=np.float64, count=len(rows))
    weight = formula.edge_weights(group, kind, decay, groups=len(keys), types=types, weights=edge_weights,
                                  reversals=reversals)
    plain = np.asarray([k not in reversals for k in types], dtype=np.float64)
    actions = np.bincount(group, weights=plain[kind] * count, minlength=len(keys))
    edges = [
        {"member_id": source, "action_type": family, "actions": int(actions[g]), "weight": float(weight[g])}
        for g, (source, family) in enumerate(keys)
        if weight[g] > formula.MIN_EDGE_WEIGHT
    ]
    edges.sort(key=edge_order)
    return edges[:limit]


def edge_order(edge: dict) -> tuple:
    """How a member's inbound edges are listed: heaviest first, then by source member id, then by type family."""
    return -edge["weight"], edge["member_id"], edge["action_type"]

