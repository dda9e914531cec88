"""Vote rings, sock-puppet follows and vote bursts, found in a list of edges: numbers in, groups out (no Django).

A **ring** is a group of young accounts that vote on or follow mostly each other. In the edges of the window
(actor -> target, one per action), with an account young while its age is under ``young_days`` at its first
edge in the window (age: gaming.selectors.account_births), a group is a ring when

- it has at least ``min_size`` young members,
- its internal density (pairs of members joined by an edge either way / all pairs) is at least ``min_density``,
- and for every member, at least ``min_inside_share`` of their edges in the window go to other members of it.

How groups are found in the young accounts' graph: members whose share inside falls below the threshold leave
(exact: a share only falls as a group shrinks, see _share_prune); each connected component left is a ring when
dense enough; one that is not is split into its communities (Louvain, networkx, seeded: the same edges give
the same groups) and each is searched again the same way. A tight-knit group of old accounts is never a ring,
however dense: age is what tells sock puppets from friends.

A **burst** is at least ``burst_count`` edges of a burst kind (votes) from one actor to one target within
``burst_window`` (any account age). Its evidence is every edge of the pair inside such a window.

Each finding names its edges by id (the actions to exclude) and says why in a sentence.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import networkx as nx

YOUNG_DAYS = 30.0  # an account younger than this at its first edge in the window is young
MIN_SIZE = 3  # members of a ring
MIN_DENSITY = 0.5  # pairs joined inside a ring / all its pairs
MIN_INSIDE_SHARE = 0.7  # of each member's edges in the window, the share that stays inside the ring
BURST_COUNT = 10  # edges from one actor to one target...
BURST_WINDOW = timedelta(hours=1)  # ...within this long make a burst
RING_KINDS = frozenset({"vote_up", "follow"})  # the edges rings are made of
BURST_KINDS = frozenset({"vote_up", "vote_down"})  # the edges bursts are made of


@dataclass(frozen=True, slots=True)
class Edge:
    """One action from a member to another member."""

    id: int
    actor: int
    target: int
    kind: str
    at: datetime


@dataclass(frozen=True)
class Ring:
    members: tuple[int, ...]  # sorted
    edge_ids: tuple[int, ...]  # the edges inside (actor and target both members), sorted
    pairs: tuple[tuple[int, int], ...]  # distinct (actor, target) inside, sorted
    density: float
    inside_share: float  # the smallest member's share of edges inside
    reason: str

    @property
    def key(self) -> str:
        return "ring:" + ",".join(map(str, self.members))


@dataclass(frozen=True)
class Burst:
    actor: int
    target: int
    kind: str
    edge_ids: tuple[int, ...]  # every edge of the pair inside a window with at least burst_count edges
    count: int  # the most edges inside one window
    start: datetime  # that window's first and last edge
    end: datetime
    reason: str

    @property
    def key(self) -> str:
        return f"burst:{self.actor}>{self.target}:{self.kind}"


def young_members(edges: Iterable[Edge], births: Mapping[int, datetime], *,
                  young_days: float = YOUNG_DAYS) -> set[int]:
    """Actors whose age (their first edge's time minus their birth) is under young_days; no birth: not young."""
    first: dict[int, datetime] = {}
    for edge in edges:
        if edge.actor not in first or edge.at < first[edge.actor]:
            first[edge.actor] = edge.at
    limit = timedelta(days=young_days)
    return {m for m, at in first.items() if m in births and at - births[m] < limit}


def _density(graph: nx.Graph, nodes: set[int]) -> float:
    n = len(nodes)
    return graph.subgraph(nodes).number_of_edges() / (n * (n - 1) / 2) if n > 1 else 0.0


def _shares(nodes: set[int], out_counts: Mapping[int, Mapping[int, int]]) -> dict[int, float]:
    """Per member, the share of their edges that go to another member of ``nodes``."""
    shares = {}
    for m in nodes:
        targets = out_counts.get(m, {})
        total = sum(targets.values())
        shares[m] = sum(n for t, n in targets.items() if t in nodes and t != m) / total if total else 0.0
    return shares


def _share_prune(nodes: set[int], out_counts: Mapping[int, Mapping[int, int]],
                 voters: Mapping[int, Mapping[int, int]], min_share: float) -> set[int]:
    """The largest subset in which every member keeps at least ``min_share`` of their edges inside: members
    below it leave, which lowers the shares of those who voted for them, and so on. Exact, since a member's
    share can only fall as the group shrinks: no member removed here belongs to any ring within ``nodes``."""
    nodes = set(nodes)
    total = {m: sum(out_counts.get(m, {}).values()) for m in nodes}
    inside = {m: sum(n for t, n in out_counts.get(m, {}).items() if t in nodes and t != m) for m in nodes}
    queue = [m for m in nodes if inside[m] < min_share * total[m] or not total[m]]
    while queue:
        gone = queue.pop()
        if gone not in nodes:
            continue
        nodes.discard(gone)
        for voter, n in voters.get(gone, {}).items():
            if voter in nodes and voter != gone:
                inside[voter] -= n
                if inside[voter] < min_share * total[voter]:
                    queue.append(voter)
    return nodes


def rings_find(edges: Iterable[Edge], births: Mapping[int, datetime], *, young_days: float = YOUNG_DAYS,
               min_size: int = MIN_SIZE, min_density: float = MIN_DENSITY,
               min_inside_share: float = MIN_INSIDE_SHARE, kinds: frozenset[str] = RING_KINDS) -> list[Ring]:
    """The rings among these edges (see the module docstring), largest first."""
    edges = [e for e in edges if e.kind in kinds and e.actor != e.target]
    young = young_members(edges, births, young_days=young_days)
    out_counts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    voters: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for e in edges:
        out_counts[e.actor][e.target] += 1
        voters[e.target][e.actor] += 1
    graph = nx.Graph()
    graph.add_nodes_from(young)
    graph.add_edges_from((e.actor, e.target) for e in edges if e.actor in young and e.target in young)
    found: list[set[int]] = []
    todo = [set(young)]
    while todo:
        kept = _share_prune(todo.pop(), out_counts, voters, min_inside_share)
        for component in nx.connected_components(graph.subgraph(kept)):
            if len(component) < min_size:
                continue
            if _density(graph, component) >= min_density:
                found.append(set(component))
                continue
            parts = nx.community.louvain_communities(graph.subgraph(component), seed=0)
            if len(parts) > 1:
                todo.extend(set(p) for p in parts if len(p) >= min_size)
            else:  # no structure to split along: let the busiest member go
                hub = max(component, key=lambda m: (graph.degree(m), m))
                todo.append(set(component) - {hub})
    rings = []
    for nodes in found:
        inside = [e for e in edges if e.actor in nodes and e.target in nodes]
        pairs = tuple(sorted({(e.actor, e.target) for e in inside}))
        density, share = _density(graph, nodes), min(_shares(nodes, out_counts).values())
        members = tuple(sorted(nodes))
        reason = (f"{len(members)} accounts younger than {young_days:g} days voted on or followed mostly each other: "
                  f"{len(inside)} actions inside the group, {share:.0%} or more of each one's, "
                  f"{density:.0%} of the possible pairs joined")
        rings.append(Ring(members, tuple(sorted(e.id for e in inside)), pairs, density, share, reason))
    rings.sort(key=lambda r: (-len(r.members), r.members))
    return rings


def bursts_find(edges: Iterable[Edge], *, count: int = BURST_COUNT, window: timedelta = BURST_WINDOW,
                kinds: frozenset[str] = BURST_KINDS) -> list[Burst]:
    """Pairs (actor, target, kind) with at least ``count`` edges inside some span of ``window`` (both ends
    included), in (actor, target, kind) order."""
    by_pair: dict[tuple[int, int, str], list[Edge]] = defaultdict(list)
    for e in edges:
        if e.kind in kinds and e.actor != e.target:
            by_pair[(e.actor, e.target, e.kind)].append(e)
    bursts = []
    for (actor, target, kind), pair_edges in sorted(by_pair.items()):
        if len(pair_edges) < count:
            continue
        pair_edges.sort(key=lambda e: (e.at, e.id))
        marked: set[int] = set()
        best, best_span = 0, (pair_edges[0].at, pair_edges[0].at)
        lo = 0
        for hi, edge in enumerate(pair_edges):
            while edge.at - pair_edges[lo].at > window:
                lo += 1
            n = hi - lo + 1
            if n >= count:
                marked.update(e.id for e in pair_edges[lo:hi + 1])
                if n > best:
                    best, best_span = n, (pair_edges[lo].at, edge.at)
        if marked:
            minutes = window.total_seconds() / 60
            reason = (f"{best} {kind} actions from one member to one member within {minutes:g} minutes "
                      f"({len(marked)} in bursts of {count} or more)")
            bursts.append(Burst(actor, target, kind, tuple(sorted(marked)), best, *best_span, reason))
    return bursts
