"""The audience view's whole response, pinned: every field, its order and its text, for members of every kind
(rich, merged identity, empty, excluded, in a live experiment) over the periods, with and without PII access, compared with the
responses recorded in audience_pinned.json (written by the code as it was before the view was made cheaper).

Ids depend on the database's sequences, so they are replaced by names before comparing; everything else is
compared as the bytes the API writes (key order and float text included). To record the file again after a
deliberate change of the response: AUDIENCE_PINNED_WRITE=1 pytest this file, and review the diff.
"""
import json
import os
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from community_scoring.gaming.models import FlaggedAction, GamingFlag
from community_scoring.influence.models import InfluenceEdge, InfluenceRun, InfluenceScore, InfluenceSnapshot
from community_scoring.models import (
    Action, ActionType, Experiment, InterestBucket, InterestScore, InterestTopic, ScoreSnapshot, StageTransition,
)
from community_scoring.outcomes.models import Outcome
from community_scoring.scoring.split import variant_of
from community_scoring.selectors.config import scoring_config_cache_clear
from community_scoring.services.config import config_apply
from tests.factories import UTC, MemberFactory

PINNED = Path(__file__).with_name("audience_pinned.json")
AT = datetime(2026, 6, 15, 12, 34, 56, 789012, tzinfo=UTC)  # every read is valued at this instant
PERIODS = ("7d", "30d", "90d", "all", "")

RULE = {"target_points": 0, "daily_cap": None, "once_only": False}
CONFIG = {
    "rule_sets": [
        {"name": "Default", "persona": "", "half_life_days": 10.0, "inactivity_days": None,
         "rules": [{"action_type": "answer", "points": 10, **RULE}, {"action_type": "poll_response", "points": 1, **RULE},
                   {"action_type": "vote_up", "points": 0, **RULE, "target_points": 2}],
         "fit_rules": [{"attribute": "job_title", "operator": "contains", "value": "engineer", "points": 10}]},
        {"name": "Developers", "persona": "developer", "half_life_days": 7.5, "inactivity_days": None,
         "rules": [{"action_type": "answer", "points": 12, **RULE}],
         "fit_rules": [{"attribute": "job_title", "operator": "contains", "value": "engineer", "points": 10},
                       {"attribute": "company_size", "operator": "gte", "value": "500", "points": 15},
                       {"attribute": "persona", "operator": "in", "value": "developer, architect", "points": 5}]},
    ],
    "stages": [{"name": "visitor", "position": 0, "min_engagement": 0, "min_fit": 0},
               {"name": "engaged", "position": 1, "min_engagement": 15, "min_fit": 0},
               {"name": "MQL", "position": 2, "min_engagement": 30, "min_fit": 20}],
}


def _days(n: float) -> timedelta:
    return timedelta(days=n)


@pytest.fixture
def audience(db, monkeypatch, django_capture_on_commit_callbacks):
    """Members of every kind with every part of the audience view filled in, at fixed instants."""
    from community_scoring.selectors import interest

    monkeypatch.setattr(interest, "valued_now", lambda: AT)
    for key in ("answer", "poll_response", "vote_up", "follow", "reply"):
        ActionType.objects.get_or_create(key=key, defaults={"label": key})
    with django_capture_on_commit_callbacks(execute=False):
        config_apply(snapshot=CONFIG)
    scoring_config_cache_clear()

    alice = MemberFactory(display_name="Alice Anders", email="alice@acme.test", email_verified=True,
                          persona="developer", external_id="a-1", crm_id="crm-1",
                          attributes={"job_title": "Staff Engineer", "company_size": "800", "tags": ["x", 1]},
                          joined_at=datetime(2024, 1, 10, 8, 0, 0, 5, tzinfo=UTC))
    alias = MemberFactory(display_name="A. Anders", email="a@discourse.test", source="discourse",
                          external_id="a-disc", merged_into=alice, joined_at=datetime(2024, 2, 1, tzinfo=UTC))
    fan = MemberFactory(display_name="Fan", external_id="f-1", joined_at=datetime(2024, 3, 1, tzinfo=UTC))
    nameless = MemberFactory(display_name="", external_id="n-1", joined_at=datetime(2024, 3, 2, tzinfo=UTC))
    unranked = MemberFactory(display_name="Unranked", external_id="r-1", joined_at=datetime(2024, 3, 3, tzinfo=UTC))
    dave = MemberFactory(display_name="Dave Dune", email="dave@home.test", external_id="d-4",
                         joined_at=datetime(2025, 1, 1, tzinfo=UTC))
    staff = MemberFactory(display_name="Sam Staff", email="sam@us.test", persona="marketer", external_id="s-5",
                          is_excluded=True, joined_at=datetime(2023, 1, 1, tzinfo=UTC))

    InterestScore.objects.create(
        member=alice, engagement=42.123456789, ref_time=AT - _days(2.3), fit=30.0, score=72.123456789, stage="MQL",
        rank_key=70.5, primary_topic="api", last_activity_at=AT - _days(2.3), sales_stage="opportunity",
        sales_stage_outcome="opportunity", sales_stage_reason="demo booked", sales_stage_at=AT - _days(4))
    InterestScore.objects.create(member=staff, engagement=25.0, ref_time=AT + _days(1), fit=0.0, score=25.0,
                                 stage="engaged", rank_key=25.0, primary_topic="", last_activity_at=None)
    buckets = [("answer", False, 1, 2, 24.0, 24.0), ("answer", False, 3, 1, 12.0, 12.0),
               ("answer", False, 40, 3, 36.0, 30.0), ("poll_response", False, 1, 4, 4.0, 4.0),
               ("vote_up", True, 1, 5, 10.0, 10.0), ("vote_up", True, 12, 1, 2.0, 2.0),
               ("answer", True, 3, 1, 0.0, 0.0)]
    for action_type, received, days_ago, count, raw, points in buckets:
        InterestBucket.objects.create(member=alice, action_type_id=action_type, received=received,
                                      day=(AT - _days(days_ago)).date(), count=count, raw_points=raw, points=points)
    for i in range(23):  # more than the 20 shown; ties broken by name
        InterestTopic.objects.create(member=alice, topic=f"topic-{i % 7}-{i}", points=float(i % 5) + 0.125 * i,
                                     ref_time=AT - _days(i % 4) + (_days(2) if i == 3 else timedelta()))

    InfluenceRun.objects.create(status=InfluenceRun.Status.DONE, ref_time=AT - _days(3))  # superseded
    run = InfluenceRun.objects.create(
        status=InfluenceRun.Status.DONE, trigger="schedule", started_at=AT - _days(1),
        finished_at=AT - _days(1) + timedelta(seconds=12.5), ref_time=AT - _days(1), nodes=7, edges=12,
        iterations=33, converged=True, warm_start=True, texts_scored=4, duration_seconds=12.5,
        timings={"graph": 1.25, "pagerank": 0.5}, inbound_edges_kept=10,
        config={"centrality_weight": 0.7, "reach_weight": 0.3, "sentiment_weight": 0.2, "evidence_prior": 25.0,
                "min_texts": 3, "half_life_days": 10.0, "edge_weights": {"follow": 3.0}})
    InfluenceRun.objects.create(status=InfluenceRun.Status.RUNNING)  # in progress: not current

    def score(member, rank, influence, **kwargs):
        values = {"centrality": influence / 1000, "rank": rank, "percentile": 100 - rank * 9.5,
                  "centrality_percentile": 80.25 - rank, "in_degree": 9 - rank, "sources": 8 - rank,
                  "reach": 20 - rank, "reach_percentile": 55.5, "sentiment_mean": 0.6, "sentiment_count": 5,
                  "sentiment_positive_share": 0.6, "sentiment_negative_share": 0.2, "received_sentiment_mean": 0.3,
                  "received_count": 2, "sentiment": 0.45, "influence_base": influence * 0.9, "influence": influence}
        return InfluenceScore.objects.create(run=run, member=member, **{**values, **kwargs})

    score(alice, 1, 91.5, is_advocate=True)
    score(fan, 2, 40.0, received_sentiment_mean=None, received_count=0)
    score(nameless, 3, 12.0, sentiment_mean=None, sentiment_count=0)
    score(staff, 1, 95.0, is_advocate=True, sentiment_mean=-0.25)  # excluded: never shown flagged
    for source, kind, actions, weight in ((fan, "follow", 2, 4.5), (fan, "reply", 3, 1.5), (nameless, "follow", 1, 3.0),
                                          (unranked, "follow", 1, 3.0), (staff, "reply", 1, 0.25)):
        InfluenceEdge.objects.create(run=run, member=alice, source=source, action_type_id=kind, actions=actions,
                                     weight=weight)
    for i, days_ago in enumerate(range(100, 0, -3)):
        InfluenceSnapshot.objects.create(
            member=alice, day=(AT - _days(days_ago)).date(), run=run, influence=50 + i * 1.1, influence_base=45 + i,
            rank=40 - i, percentile=60 + i * 0.7, centrality_percentile=55.5, reach=i, sentiment=0.01 * i,
            is_advocate=i % 2 == 0, is_detractor=False)

    for i, metadata in enumerate([{"rating": 5, "scale": 5}, {"nps": 2}, {"choice": "blue"}, {"sentiment": 0.3}]):
        Action.objects.create(source="t", external_event_id=f"p{i}", action_type_id="poll_response", member=alice,
                              occurred_at=AT - _days(1 + i), metadata=metadata)
    own = Action.objects.create(source="t", external_event_id="a1", action_type_id="answer", member=alice,
                                occurred_at=AT - _days(3))
    received = Action.objects.create(source="t", external_event_id="v1", action_type_id="vote_up", member=fan,
                                     target_member=alice, occurred_at=AT - _days(3))
    for occurred, from_stage, to_stage, reason, detail in (
            (AT - _days(50), "", "visitor", "action", ""), (AT - _days(20), "visitor", "engaged", "action", ""),
            (AT - _days(5), "engaged", "MQL", "decay", ""), (AT - _days(4), "MQL", "opportunity", "opportunity",
                                                               "demo booked")):
        StageTransition.objects.create(member=alice, from_stage=from_stage, to_stage=to_stage, occurred_at=occurred,
                                       engagement=33.25, fit=30.0, reason=reason, detail=detail)
    for days_ago in range(100, 0, -2):
        ScoreSnapshot.objects.create(member=alice, date=(AT - _days(days_ago)).date(), engagement=days_ago / 3,
                                     fit=30.0, score=days_ago / 3 + 30, stage="engaged" if days_ago > 5 else "MQL")
    Outcome.objects.create(source="crm", outcome_id="o-1", type="opportunity", occurred_at=AT - _days(4), member=alice,
                           reason="demo booked", value="1234.5", amount=Decimal("1234.50"))
    Outcome.objects.create(source="crm", outcome_id="o-2", type="sql", occurred_at=AT - _days(6), member=alice,
                           identity=alias, value="")
    ring = GamingFlag.objects.create(kind="ring", key="ring-1", reason="votes within a ring of 3",
                                     detected_at=AT - _days(2))
    ring.members.add(alice, fan)
    FlaggedAction.objects.create(flag=ring, action=own)
    FlaggedAction.objects.create(flag=ring, action=received)
    cleared = GamingFlag.objects.create(kind="burst", status="cleared", key="burst-1", reason="a burst of votes",
                                        detected_at=AT - _days(8))
    cleared.members.add(alice)
    FlaggedAction.objects.create(flag=cleared, action=received)
    # Only members created after it started take part: staff does (variant by hash), the others do not.
    experiment = Experiment.objects.create(name="Lower MQL", config_version_a=1, config_b=CONFIG, share=0.5,
                                           first_member_id=dave.pk, started_at=AT - _days(10))
    scoring_config_cache_clear()
    members = {"alice": alice, "alias": alias, "fan": fan, "nameless": nameless, "unranked": unranked, "dave": dave,
               "staff": staff}
    runs = {"run": run}
    return members, runs, experiment


def _named(body: dict, members: dict, runs: dict, experiment) -> dict:
    """The response with its ids replaced by names (and the experiment's variant checked against scoring.split)."""
    member_names = {m.pk: name for name, m in members.items()}
    run_names = {r.pk: name for name, r in runs.items()}
    flag_names = {f.pk: f.key for f in GamingFlag.objects.all()}
    body["member"]["id"] = member_names[body["member"]["id"]]
    for identity in body["identities"]:
        identity["id"] = member_names[identity["id"]]
    if body["influence"] is not None:
        body["influence"]["run"]["id"] = run_names[body["influence"]["run"]["id"]]
        for edge in body["influence"]["top_inbound"]:
            edge["member_id"] = member_names[edge["member_id"]]
        for point in body["influence"]["history"]:
            point["run_id"] = run_names[point["run_id"]]
    for exclusion in body["exclusions"]:
        exclusion["flag"] = flag_names[exclusion["flag"]]
    if body["experiment"] is not None:
        member_id = members[body["member"]["id"]].pk
        assert body["experiment"]["id"] == experiment.pk
        assert body["experiment"]["variant"] == variant_of(
            experiment_id=experiment.pk, first_member_id=experiment.first_member_id, share=experiment.share,
            member_id=member_id)
        body["experiment"]["id"], body["experiment"]["variant"] = "experiment", "by split"
    return body


# Which members are asked for over which periods (the rich member over every one).
ASKED = {"alice": PERIODS, "staff": ("7d", "all"), "fan": ("30d",), "dave": ("",)}


def test_audience_responses_are_the_pinned_ones(token_client, audience):
    members, runs, experiment = audience
    clients = {"pii": token_client("admin"), "no-pii": token_client("community_manager")}
    responses = {}
    for name, periods in ASKED.items():
        for period in periods:
            for access, client in clients.items():
                query = f"?period={period}" if period else ""
                response = client.get(f"/api/v1/members/{members[name].pk}/{query}")
                assert response.status_code == 200, response.content
                # The bytes, parsed with their key order kept, then written back the way they were read.
                body = json.loads(response.content)
                assert json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() == response.content
                if name == "alice":  # a merged identity's id answers its member's document
                    assert client.get(f"/api/v1/members/{members['alias'].pk}/{query}").content == response.content
                responses[f"{name} {period or 'default'} {access}"] = _named(body, members, runs, experiment)
    lookup = clients["pii"].get("/api/v1/members/lookup/?external_id=a-disc&period=90d")
    responses["lookup a-disc 90d pii"] = _named(json.loads(lookup.content), members, runs, experiment)
    if os.environ.get("AUDIENCE_PINNED_WRITE"):
        PINNED.write_text("{\n" + ",\n".join(f"{json.dumps(key)}: {json.dumps(body, ensure_ascii=False)}"
                                              for key, body in responses.items()) + "\n}\n")
        pytest.skip(f"recorded {PINNED.name}")
    pinned = json.loads(PINNED.read_text())
    assert list(responses) == list(pinned)
    for key, body in responses.items():
        # Compared as text, so a key's order and a float's digits count too.
        assert json.dumps(body, ensure_ascii=False) == json.dumps(pinned[key], ensure_ascii=False), key


def test_the_pinned_responses_cover_every_part():
    """The recorded documents are worth pinning: every part of the view is filled in for the rich member."""
    pinned = json.loads(PINNED.read_text())
    alice = pinned["alice 90d pii"]
    assert alice["member"]["email"] == "alice@acme.test" and pinned["alice 90d no-pii"]["member"]["email"] is None
    assert [i["id"] for i in alice["identities"]] == ["alice", "alias"]
    interest = alice["interest"]
    assert len(interest["breakdown"]) == 4 and len(interest["fit_breakdown"]) == 3 and len(interest["topics"]) == 20
    influence = alice["influence"]
    assert influence["is_advocate"] and influence["reason"] and len(influence["top_inbound"]) == 5
    assert {e["source_rank"] for e in influence["top_inbound"]} >= {None, 2}
    assert 25 <= len(influence["history"]) <= 31 and len(pinned["alice all pii"]["influence"]["history"]) == 34
    assert alice["sentiment"]["explicit"]["rated_responses"] == 3 and alice["sentiment"]["implicit"]["band"]
    assert len(alice["stage_history"]) == 4 and len(alice["outcomes"]) == 2
    assert [e["flag"] for e in alice["exclusions"]] == ["ring-1", "burst-1"]
    assert alice["exclusions"][0]["actions_excluded"] == 1 and alice["exclusions"][0]["received_excluded"] == 1
    assert len(alice["score_history"]["points"]) == 45 and pinned["alice 7d pii"]["score_history"]["since"]
    assert pinned["lookup a-disc 90d pii"] == alice
    assert pinned["dave default pii"]["interest"] is None and pinned["dave default pii"]["influence"] is None
    assert pinned["fan 30d pii"]["interest"] is None and pinned["fan 30d pii"]["influence"]["top_inbound"] == []
    staff = pinned["staff all pii"]
    assert staff["experiment"]["variant"] == "by split" and staff["influence"]["is_advocate"] is False
    assert staff["member"]["is_excluded"] is True and pinned["alice 30d pii"]["experiment"] is None


def test_the_audience_view_reads_each_part_once(token_client, audience, django_assert_max_num_queries):
    """One query for the member and its identities, the configuration's fingerprint once, then one per part: 14 for
    the rich member (it was 16: the member row read twice, the fingerprint twice)."""
    members, _, _ = audience
    client = token_client("admin")
    url = f"/api/v1/members/{members['alice'].pk}/?period=30d"
    assert client.get(url).status_code == 200  # the token is cached from here on
    with django_assert_max_num_queries(14) as captured:
        assert client.get(url).status_code == 200
    statements = [query["sql"] for query in captured.captured_queries]
    assert sum(sql.startswith('SELECT "community_scoring_member".') for sql in statements) == 1
    assert sum(sql.startswith("EXECUTE ") for sql in statements) == 1  # the fingerprint: a prepared statement
    with django_assert_max_num_queries(15):  # an identity's id: its row, then its member's (with identities)
        assert client.get(f"/api/v1/members/{members['alias'].pk}/?period=30d").status_code == 200
    with django_assert_max_num_queries(9):  # a member with no interest row nor influence score
        assert client.get(f"/api/v1/members/{members['dave'].pk}/?period=30d").status_code == 200


def test_ids_beyond_the_id_column_are_404_without_a_query(token_client, audience, django_assert_num_queries):
    """An id no bigint holds names no member: 404, as for any unknown id, and no query compares the column with it
    (compared as a number, it would read every row)."""
    client = token_client("admin")
    assert client.get("/api/v1/members/999999999/").status_code == 404  # the token is cached from here on
    for member_id in (2 ** 63, 10 ** 30):
        with django_assert_num_queries(0):
            assert client.get(f"/api/v1/members/{member_id}/").status_code == 404
