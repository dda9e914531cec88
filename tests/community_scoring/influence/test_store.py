"""The influence store's two backends agree with each other and with the edge formula worked out directly.

The plain ORM backend runs on any database, so here both run on the same PostgreSQL data: the graph each one
reads, the texts each one scores and stores, and whole recomputes through each.
"""
from collections import defaultdict
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import numpy as np
import pytest
from django.db import connection
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from community_scoring.influence.graph import graph_build, reversals_read
from community_scoring.influence.models import (
    DEFAULT_EDGE_WEIGHTS, InfluenceEdge, InfluenceRun, InfluenceScore, InfluenceSnapshot, TextSentiment,
)
from community_scoring.influence.recompute import influence_recompute
from community_scoring.influence.store import OrmInfluenceStore, PostgresInfluenceStore
from community_scoring.models import Action, Member
from tests.factories import ActionFactory, MemberFactory

REF = datetime(2026, 6, 1, 12, 0, tzinfo=dt_timezone.utc)
HALF_LIFE = 180.0
TYPES = ["follow", "unfollow", "vote_up", "unvote", "answer", "comment", "read", "share", "blog_post", "login"]
TEXTS = ["", "Great answer, thanks a lot!", "This is awful and broken.", "The meeting is on Tuesday.",
         "I love it but the docs are wrong."]
REACH = ["read", "vote_up", "answer", "comment", "share", "solved", "poll_response"]
SCORE_FIELDS = ("centrality", "rank", "percentile", "centrality_percentile", "in_degree", "sources", "reach",
                "reach_percentile", "sentiment_mean", "sentiment_count", "received_sentiment_mean", "received_count",
                "sentiment", "influence_base", "influence", "is_advocate", "is_detractor")
SNAPSHOT_FIELDS = ("influence", "influence_base", "rank", "percentile", "centrality_percentile", "reach", "sentiment",
                   "is_advocate", "is_detractor")

action = st.tuples(
    st.integers(0, 3),                          # actor
    st.sampled_from(TYPES),
    st.integers(-1, 3),                         # target member, -1: none
    st.floats(0, 400, allow_nan=False),         # days before REF
    st.integers(0, len(TEXTS) - 1),             # text
)


def expected_family_edges(rows, reversals):
    """(source, target, type family) -> (actions, weight) straight from the definition: the decayed actions of
    the type minus those of the types reversing it, clamped at 0, times the family's weight; actions counts the
    type's own."""
    net, actions = defaultdict(float), defaultdict(int)
    for actor, kind, target, when in rows:
        if target is None or target == actor:
            continue
        family = reversals.get(kind, kind)
        if DEFAULT_EDGE_WEIGHTS.get(family, 0) <= 0:
            continue
        age_days = (REF - when).total_seconds() / 86400
        net[(actor, target, family)] += (-1 if kind in reversals else 1) * 0.5 ** (age_days / HALF_LIFE)
        actions[(actor, target, family)] += kind not in reversals
    return {key: (actions[key], DEFAULT_EDGE_WEIGHTS[key[2]] * max(total, 0.0)) for key, total in net.items()}


def expected_edges(rows, reversals):
    """Edge weights straight from the definition: the families' weights (expected_family_edges) summed per pair."""
    edges = defaultdict(float)
    for (source, target, _), (_, weight) in expected_family_edges(rows, reversals).items():
        edges[(source, target)] += weight
    return {pair: w for pair, w in edges.items() if w > 1e-12}


def expected_inbound(rows, reversals, *, limit):
    """Per member, the `limit` heaviest (source, family) edges into them, heaviest first, then by source, then by
    family: [(source, family, actions, weight rounded to 9 places)]."""
    inbound = defaultdict(list)
    for (source, target, family), (actions, weight) in expected_family_edges(rows, reversals).items():
        if weight > 1e-12:
            inbound[target].append((source, family, actions, round(weight, 9)))
    return {target: sorted(edges, key=lambda e: (-e[3], e[0], e[1]))[:limit] for target, edges in inbound.items()}


def stored_inbound(run):
    """The run's InfluenceEdge rows in the same form, per member, in the same order."""
    inbound = defaultdict(list)
    for e in InfluenceEdge.objects.filter(run=run):
        inbound[e.member_id].append((e.source_id, e.action_type_id, e.actions, round(e.weight, 9)))
    return {target: sorted(edges, key=lambda e: (-e[3], e[0], e[1])) for target, edges in inbound.items()}


def graph_of(store):
    graph = graph_build(store=store, ref_time=REF, half_life_days=HALF_LIFE, window_days=90,
                        edge_weights=dict(DEFAULT_EDGE_WEIGHTS), reach_types=REACH, reversals=reversals_read())
    ids = graph.member_ids
    edges = {(int(ids[s]), int(ids[d])): float(w) for s, d, w in zip(graph.src, graph.dst, graph.weight)}
    return ids.tolist(), edges, graph.in_degree.tolist(), graph.reach.tolist()


def run_scores(run):
    return {s.member_id: s for s in InfluenceScore.objects.filter(run=run)}


def snapshots(day):
    return {s.member_id: s for s in InfluenceSnapshot.objects.filter(day=day)}


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(actions=st.lists(action, max_size=40))
# A withdrawn vote without a vote takes nothing from the follow on the same pair; a vote, its withdrawal and a
# later vote add up with their own decays.
@example(actions=[(0, "unvote", 1, 1.0, 0), (0, "follow", 1, 2.0, 0), (2, "vote_up", 3, 300.0, 0),
                  (2, "unvote", 3, 200.0, 0), (2, "vote_up", 3, 10.0, 1)])
def test_backends_agree_with_each_other_and_with_the_edge_formula(actions, monkeypatch):
    monkeypatch.setattr("community_scoring.influence.recompute.INBOUND_EDGES_KEPT", 2)  # some members have more
    Action.objects.all().delete()
    TextSentiment.objects.all().delete()
    InfluenceRun.objects.all().delete()
    InfluenceSnapshot.objects.all().delete()
    Member.objects.all().delete()
    members = MemberFactory.create_batch(4)
    rows = []
    for actor, kind, target, days, text in actions:
        when = REF - timedelta(days=days)
        target_member = members[target] if target >= 0 else None
        ActionFactory(member=members[actor], action_type_id=kind, target_member=target_member, occurred_at=when,
                      text=TEXTS[text])
        rows.append((members[actor].pk, kind, target_member.pk if target_member else None, when))
    postgres, orm = PostgresInfluenceStore(bucket_rows=7), OrmInfluenceStore()

    ids, edges, in_degree, reach = graph_of(postgres)
    assert graph_of(orm)[0] == ids and graph_of(orm)[2:] == (in_degree, reach)
    expected = expected_edges(rows, reversals_read())
    for got in (edges, graph_of(orm)[1]):
        assert set(got) == set(expected)
        assert all(got[pair] == pytest.approx(expected[pair], rel=1e-9) for pair in expected)

    # Whole recomputes, each from a cold start: texts scored and stored by the ORM backend, then by PostgreSQL's.
    # Each keeps every member's two heaviest inbound edges.
    first = influence_recompute(ref_time=REF, store=orm)
    inbound = expected_inbound(rows, reversals_read(), limit=2)
    assert stored_inbound(first) == inbound
    stored = dict(TextSentiment.objects.values_list("action_id", "compound"))
    by_orm = run_scores(first)
    snapshots_by_orm = snapshots(REF.date())
    InfluenceRun.objects.all().delete()
    TextSentiment.objects.all().delete()
    second = influence_recompute(ref_time=REF, store=postgres)
    assert stored_inbound(second) == inbound and second.inbound_edges_kept == 2
    assert dict(TextSentiment.objects.values_list("action_id", "compound")) == stored
    assert (first.texts_scored, first.edges, first.nodes) == (second.texts_scored, second.edges, second.nodes)
    by_postgres = run_scores(second)
    assert set(by_postgres) == set(by_orm) == {m.pk for m in members}
    for pk, score in by_postgres.items():
        for name in SCORE_FIELDS:
            assert getattr(score, name) == pytest.approx(getattr(by_orm[pk], name), abs=1e-9), name
    # Each backend's snapshot of the day copies its run's scores; the second run's upsert replaced the first's.
    snapshots_by_postgres = snapshots(REF.date())
    assert set(snapshots_by_postgres) == set(snapshots_by_orm) == {m.pk for m in members}
    for pk, snapshot in snapshots_by_postgres.items():
        assert (snapshot.run_id, snapshots_by_orm[pk].run_id) == (second.pk, first.pk)
        for name in SNAPSHOT_FIELDS:
            assert getattr(snapshot, name) == getattr(by_postgres[pk], name), name
            assert getattr(snapshots_by_orm[pk], name) == getattr(by_orm[pk], name), name


def test_sentiment_totals_agree_and_count_texts_in_the_window_only(db):
    author, other = MemberFactory.create_batch(2)
    for days, kind, target, text in [(1, "answer", other, "Great answer, thanks!"), (2, "comment", other, "awful"),
                                     (200, "answer", other, "Great!"), (3, "comment", author, "I love it"),
                                     (4, "blog_post", None, "The meeting is on Tuesday.")]:
        ActionFactory(member=author, action_type_id=kind, target_member=target, text=text,
                      occurred_at=REF - timedelta(days=days))
    influence_recompute(ref_time=REF, store=OrmInfluenceStore())
    compound = {a.text: a.sentiment.compound for a in Action.objects.select_related("sentiment")}
    window = REF - timedelta(days=90)
    for received in (False, True):
        totals = [PostgresInfluenceStore().sentiment_totals(window_start=window, received=received, positive=0.05,
                                                            negative=-0.05),
                  OrmInfluenceStore().sentiment_totals(window_start=window, received=received, positive=0.05,
                                                       negative=-0.05)]
        if received:  # texts on `other` (the one on the author is the author's own)
            texts = ["Great answer, thanks!", "awful"]
            who = other.pk
        else:
            texts = ["Great answer, thanks!", "awful", "I love it", "The meeting is on Tuesday."]
            who = author.pk
        for got in totals:
            assert got["member"].tolist() == [who]
            assert got["total"][0] == pytest.approx(sum(compound[t] for t in texts))
            assert got["n"][0] == len(texts)
            assert got["pos"][0] == sum(compound[t] >= 0.05 for t in texts)
            assert got["neg"][0] == sum(compound[t] <= -0.05 for t in texts)


def test_a_runs_partition_carries_the_models_indexes_before_it_is_attached(db):
    a, b = MemberFactory.create_batch(2)
    ActionFactory(member=a, action_type_id="follow", target_member=b, occurred_at=REF)
    run = influence_recompute(ref_time=REF)

    def definitions(table):
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexdef", [table])
            return [row[0].split(" USING btree ")[1] for row in cursor.fetchall()]

    # Built by the store from the model's Meta, so ATTACH adopts them rather than building its own.
    board = "(run_id, influence DESC, member_id DESC)"
    assert definitions(f"influence_influencescore_r{run.pk}") == [
        board, f"{board} WHERE is_advocate", f"{board} WHERE is_detractor", "(run_id, member_id)"]
    assert definitions(f"influence_influenceedge_r{run.pk}") == ["(run_id, member_id)"]
    assert list(InfluenceEdge.objects.filter(run=run).values_list("member_id", "source_id", "action_type_id")) == [
        (b.pk, a.pk, "follow")]


@pytest.mark.parametrize("store", [PostgresInfluenceStore(), OrmInfluenceStore()], ids=["postgresql", "orm"])
def test_a_text_another_run_stored_meanwhile_is_left_as_it_is(db, store):
    author, other = MemberFactory.create_batch(2)
    first = ActionFactory(member=author, action_type_id="answer", target_member=other, text="Great!", occurred_at=REF)
    second = ActionFactory(member=author, action_type_id="blog_post", text="Awful.", occurred_at=REF)
    rows = store.texts_unscored(text_types=["answer", "blog_post"], after_id=0, scored_up_to=0, limit=10)
    assert [r[:4] for r in rows] == [(first.pk, "Great!", author.pk, other.pk), (second.pk, "Awful.", author.pk, None)]
    TextSentiment.objects.create(action=first, compound=0.25, member=author, target_member=other, occurred_at=REF)
    store.sentiments_add(rows=rows, compounds=np.array([0.9, -0.5]))
    stored = {t.action_id: (t.compound, t.member_id, t.target_member_id, t.occurred_at)
              for t in TextSentiment.objects.all()}
    assert stored == {first.pk: (0.25, author.pk, other.pk, REF), second.pk: (-0.5, author.pk, None, REF)}
    # Scored texts are not offered again (below scored_up_to they are checked one by one).
    assert store.texts_unscored(text_types=["answer", "blog_post"], after_id=0, scored_up_to=second.pk,
                                limit=10) == []
    assert store.texts_last_scored() == second.pk


def test_inbound_decay_sums_agree_with_the_edge_formula_action_by_action(db):
    """The member page's "who influences them" sums decays in the database: the same counts and sums as
    formula.edge_decay applied to each action (the ORM backend does exactly that), in both backends."""
    from community_scoring.influence import formula

    target, a, b = MemberFactory(), MemberFactory(), MemberFactory()
    ref = datetime(2026, 11, 20, tzinfo=dt_timezone.utc)
    ages = {(a, "follow"): [3.0], (a, "vote_up"): [0.5, 10.25, 40.0], (b, "vote_up"): [1.0], (b, "unfollow"): [2.0]}
    for (source, kind), days in ages.items():
        for d in days:
            ActionFactory(member=source, target_member=target, action_type_id=kind, occurred_at=ref - timedelta(days=d))
    ActionFactory(member=target, target_member=target, action_type_id="vote_up", occurred_at=ref)  # self: left out
    expected = sorted((source.pk, kind, len(days),
                       float(formula.edge_decay(np.asarray([(ref - timedelta(days=d)).timestamp() for d in days]),
                                                ref_epoch=ref.timestamp(), half_life_days=30.0).sum()))
                      for (source, kind), days in ages.items())
    types = ["follow", "unfollow", "vote_up"]
    for store in [OrmInfluenceStore()] + ([PostgresInfluenceStore()] if connection.vendor == "postgresql" else []):
        got = store.inbound_decay_sums(member_id=target.pk, types=types, ref_time=ref, half_life_days=30.0)
        assert [row[:3] for row in got] == [row[:3] for row in expected]
        assert [row[3] for row in got] == pytest.approx([row[3] for row in expected], rel=1e-12)
