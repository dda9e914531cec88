"""gaming.rings alone (no database): planted rings and bursts are found, friends with old accounts and spread-out
votes are not. Every expected figure is counted by hand from the edges each test builds."""
from datetime import datetime, timedelta, timezone
from itertools import count, permutations

import networkx as nx
import pytest

from community_scoring.gaming.rings import Edge, bursts_find, rings_find, young_members

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
_ids = count(1)


def edge(actor, target, kind="vote_up", at=NOW):
    return Edge(next(_ids), actor, target, kind, at)


def clique(members, *, kind="vote_up", start=NOW - timedelta(days=3)):
    """Every member votes once for every other (one edge per ordered pair, an hour apart)."""
    return [edge(a, b, kind, start + timedelta(hours=i)) for i, (a, b) in enumerate(permutations(members, 2))]


def born(days_before_first_edge, members, start=NOW - timedelta(days=3)):
    return {m: start - timedelta(days=days_before_first_edge) for m in members}


def background(members, targets, n=1):
    """Each member votes n times for each of `targets` (normal activity outside any group)."""
    return [edge(m, t, at=NOW - timedelta(days=2, minutes=k)) for m in members for t in targets for k in range(n)]


def test_a_planted_ring_of_young_accounts_is_found_with_its_edges_and_figures():
    ring = [101, 102, 103, 104]
    others = list(range(1, 21))
    edges = clique(ring) + background(others, [1, 2, 3]) + [edge(101, 5)]  # one vote outside the ring
    births = {**born(5, ring), **born(400, others)}
    found = rings_find(edges, births)
    assert len(found) == 1
    r = found[0]
    assert r.members == (101, 102, 103, 104)
    inside = [e for e in edges if e.actor in ring and e.target in ring]
    assert len(inside) == 12  # 4 * 3 ordered pairs
    assert r.edge_ids == tuple(sorted(e.id for e in inside))
    assert r.density == 1.0
    assert r.inside_share == pytest.approx(3 / 4)  # 101: 3 of its 4 votes inside
    assert len(r.pairs) == 12
    assert "4 accounts younger than 30 days" in r.reason


def test_a_tight_knit_group_of_old_accounts_is_not_a_ring():
    friends = [1, 2, 3, 4, 5]
    edges = clique(friends) + clique(friends, kind="follow")
    assert rings_find(edges, born(365, friends)) == []
    # the very same edges from young accounts are one
    assert [r.members for r in rings_find(edges, born(2, friends))] == [tuple(friends)]


def test_a_replayed_history_whose_members_joined_long_ago_is_not_young():
    """Ages come from births (the earlier of joined_at and the first action), never from the import: accounts
    that joined two years before their first vote in the window are old, however recently they were stored."""
    members = [7, 8, 9]
    edges = clique(members)
    assert young_members(edges, born(730, members)) == set()
    assert rings_find(edges, born(730, members)) == []


def test_age_is_taken_at_each_members_first_edge_in_the_window():
    start = NOW - timedelta(days=3)
    edges = clique([1, 2, 3], start=start)
    births = {1: start - timedelta(days=29), 2: start - timedelta(days=30), 3: start - timedelta(days=31)}
    # first edges: 1 at start, 2 at start + 2h, 3 at start + 4h (permutations order): 1 is 29 days old (young);
    # 2 is 30 days and 2 hours (not under 30); 3 is 31 days and 4 hours
    assert young_members(edges, births) == {1}
    assert young_members(edges, {}) == set()  # no birth known: not young


def test_members_voting_mostly_outside_are_peeled_off():
    ring, outsider = [11, 12, 13], 14
    edges = clique(ring + [outsider]) + background([outsider], [1, 2, 3, 4, 5, 6], n=2)
    # 14: 3 votes inside of 15 (20%): peeled off; 11..13 then keep 2 of their 3 votes inside (67% < 70%)
    births = born(1, ring + [outsider])
    assert rings_find(edges, births) == []
    # with the 14 -> ring votes only (it never received a vote), 11..13 keep all of theirs inside
    edges = [e for e in edges if e.target != outsider]
    found = rings_find(edges, births)
    assert [r.members for r in found] == [(11, 12, 13)]
    assert found[0].inside_share == 1.0


def test_a_sparse_group_is_not_a_ring_and_two_rings_joined_by_one_edge_are_both_found():
    chain = [21, 22, 23, 24, 25, 26]  # a path: 5 of the 15 pairs joined (33% < 50%)
    edges = [edge(a, b) for a, b in zip(chain, chain[1:])] + [edge(b, a) for a, b in zip(chain, chain[1:])]
    assert nx.density(nx.path_graph(6)) == pytest.approx(5 / 15)
    assert rings_find(edges, born(1, chain)) == []
    a, b = [31, 32, 33], [41, 42, 43]
    edges = clique(a) + clique(a) + clique(b) + [edge(33, 41)]  # each pair in a votes twice: 33 keeps 4 of 5 inside (80%)
    found = rings_find(edges, born(1, a + b))
    assert sorted(r.members for r in found) == [(31, 32, 33), (41, 42, 43)]


def test_thresholds_are_parameters():
    members = [51, 52, 53]
    edges = clique(members)
    assert rings_find(edges, born(1, members), min_size=4) == []
    assert rings_find(edges, born(40, members)) == []
    assert len(rings_find(edges, born(40, members), young_days=60)) == 1


def test_a_burst_of_votes_from_one_member_to_one_author_is_found():
    start = NOW - timedelta(days=1)
    burst = [edge(1, 2, at=start + timedelta(minutes=5 * k)) for k in range(12)]  # 12 votes in 55 minutes
    spread = [edge(1, 3, at=start + timedelta(hours=2 * k)) for k in range(12)]  # 12 votes, 2 hours apart
    few = [edge(4, 2, at=start + timedelta(minutes=k)) for k in range(9)]  # 9 votes in 8 minutes: under 10
    late = [edge(1, 2, at=start + timedelta(hours=5))]  # outside any busy hour
    found = bursts_find(burst + spread + few + late)
    assert len(found) == 1
    b = found[0]
    assert (b.actor, b.target, b.kind, b.count) == (1, 2, "vote_up", 12)
    assert b.edge_ids == tuple(sorted(e.id for e in burst))
    assert (b.start, b.end) == (start, start + timedelta(minutes=55))


def test_a_burst_window_counts_both_ends_and_only_marks_edges_inside_busy_windows():
    start = NOW - timedelta(days=1)
    # 10 votes exactly one hour end to end, then one 61 minutes after the first
    edges = [edge(5, 6, at=start + timedelta(seconds=400 * k)) for k in range(10)]  # 0 .. 3600 s
    assert edges[-1].at - edges[0].at == timedelta(hours=1)
    edges.append(edge(5, 6, at=start + timedelta(minutes=121)))
    found = bursts_find(edges)
    assert found[0].count == 10 and found[0].edge_ids == tuple(e.id for e in edges[:10])
    assert bursts_find(edges, count=11) == []
    assert bursts_find([edge(5, 6, kind="follow", at=start + timedelta(minutes=k)) for k in range(20)]) == []
