"""Issue 12 through the API: advocates and detractors judged before sentiment with a reason, evidence before
influence, ranks with ties, staff never listed or notified, and the daily influence history.

The planted community (20 members, default parameters: k = 10, a = 0.7, b = 0.3, g = 0.2, thresholds 60, 3 texts):
  - Paula (positive), Nick (negative) and Sam (staff, excluded, positive): each followed and read by the same
    12 fans; each wrote 4 texts;
  - Newt, a newcomer: followed and read by one friend; wrote 6 positive posts;
  - the 12 fans, the friend and 3 lurkers: nothing points at them.
Worked out by hand (mid-rank percentiles M = 100 * (average rank - 1) / (n - 1), n = 20):
  - centrality and reach order the same way: 16 members with nothing (tied: ranks 1-16, average 8.5, M = 7.5/19),
    Newt (rank 17, M = 16/19), the three hubs (tied by symmetry: ranks 18-20, average 19, M = 18/19);
  - evidence weights w = e/(e + 10): hubs 12/22 (12 sources, reach 12), Newt 1/11, the rest 0;
  - C = R = w * M + (1 - w) * 50, so base = C (a + b = 1): hubs 12/22 * 1800/19 + 10/22 * 50, Newt
    1/11 * 1600/19 + 10/11 * 50, the rest exactly 50.
Sentiment comes from the stock VADER analyser (an independent implementation of the texts' compounds).
"""
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from community_scoring.influence import selectors
from community_scoring.influence.models import InfluenceSnapshot
from community_scoring.influence.recompute import influence_recompute
from community_scoring.influence.store import OrmInfluenceStore, PostgresInfluenceStore
from community_scoring.webhooks.models import WebhookDelivery
from community_scoring.webhooks.services import webhook_subscription_create
from tests.factories import ActionFactory, MemberFactory

# Noon yesterday (UTC): the audience view's periods count back from now.
REF = datetime.combine(datetime.now(dt_timezone.utc).date() - timedelta(days=1), time(12), tzinfo=dt_timezone.utc)
LOGGED = REF - timedelta(days=4)  # every action: before the earliest run of the history test
POSITIVE = "Great answer, thanks a lot, this is really helpful!"
NEGATIVE = "This is awful and broken, terrible docs, I hate it."

HUB_BASE = 12 / 22 * 1800 / 19 + 10 / 22 * 50  # 74.40
NEWT_BASE = 1 / 11 * 1600 / 19 + 10 / 11 * 50  # 53.11


def compound(text: str) -> float:
    return SentimentIntensityAnalyzer().polarity_scores(text)["compound"]


def sentiment(texts: int, text: str) -> float:
    """member_sentiment with no replies received: sum / (n + prior 3)."""
    return texts * compound(text) / (texts + 3)


def influence(base: float, s: float) -> float:
    return base * (1 + 0.2 * s) / 1.2


def act(member, kind, target=None, *, seconds=0, text=""):
    return ActionFactory(member=member, action_type_id=kind, target_member=target, text=text,
                         occurred_at=LOGGED + timedelta(seconds=seconds))


@pytest.fixture
def planted(db):
    paula, nick, newt, friend = (MemberFactory(display_name=name) for name in ("Paula", "Nick", "Newt", "Friend"))
    sam = MemberFactory(display_name="Sam Staff", is_excluded=True)
    fans = MemberFactory.create_batch(12)
    lurkers = MemberFactory.create_batch(3)
    for fan in fans:
        for hub in (paula, nick, sam):
            act(fan, "follow", hub)
            act(fan, "read", hub)
    act(friend, "follow", newt)
    act(friend, "read", newt)
    for i in range(4):
        act(paula, "blog_post", seconds=i, text=POSITIVE)
        act(sam, "blog_post", seconds=i, text=POSITIVE)
        act(nick, "blog_post", seconds=i, text=NEGATIVE)
    for i in range(6):
        act(newt, "blog_post", seconds=i, text=POSITIVE)
    return {"paula": paula, "nick": nick, "newt": newt, "sam": sam, "friend": friend, "fans": fans,
            "lurkers": lurkers}


@pytest.fixture
def cm(token_client):
    return token_client("community_manager")


def board(client, name):
    response = client.get(f"/api/v1/leaderboards/{name}/?page_size=100")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def audience(client, member, query="?period=all"):
    response = client.get(f"/api/v1/members/{member.pk}/{query}")
    assert response.status_code == 200, response.content
    return response.json()["influence"]


def test_a_well_followed_member_writing_negative_texts_is_a_detractor_with_a_reason(planted, cm):
    influence_recompute(ref_time=REF)
    nick = planted["nick"]
    s = sentiment(4, NEGATIVE)
    assert s < -0.05
    view = audience(cm, nick)
    assert view["base"] == pytest.approx(HUB_BASE)
    assert view["score"] == pytest.approx(influence(HUB_BASE, s))
    # The sentiment penalty takes his influence under 60: judged after it, as before, he was missed.
    assert view["score"] < 60 <= view["base"]
    assert view["is_detractor"] and not view["is_advocate"]
    assert view["reason"] == (f"influence before sentiment 74 (centrality 74th pct, reach 74th pct); "
                              f"sentiment {s:.2f} over 4 texts")
    rows = board(cm, "detractors")
    assert [r["member"]["id"] for r in rows] == [nick.pk]
    assert rows[0]["influence"]["reason"] == view["reason"]


def test_a_positive_hub_is_an_advocate_and_the_only_one_notified(planted, cm):
    webhook_subscription_create(name="crm", url="https://crm.example.com/hook", events=["became_advocate"],
                                secret="s3cret-s3cret-s3cret")
    influence_recompute(ref_time=REF)
    paula = planted["paula"]
    s = sentiment(4, POSITIVE)
    view = audience(cm, paula)
    assert view["is_advocate"] and view["score"] == pytest.approx(influence(HUB_BASE, s))
    assert view["reason"] == (f"influence before sentiment 74 (centrality 74th pct, reach 74th pct); "
                              f"sentiment {s:.2f} over 4 texts")
    assert view["evidence"] == {"followers": 12, "sources": 12, "reach": 12, "texts": 4, "replies_received": 0,
                                "prior": 10.0, "min_texts": 3, "share": pytest.approx(12 / 22), "label": "solid"}
    rows = board(cm, "advocates")
    assert [r["member"]["id"] for r in rows] == [paula.pk]
    assert rows[0]["influence"]["reason"] == view["reason"]
    # Sam (staff) has Paula's numbers but is never flagged, listed or sent.
    assert [d.payload["member_id"] for d in WebhookDelivery.objects.filter(event="became_advocate")] == [paula.pk]


def test_a_newcomer_with_one_follower_is_neither_and_a_typical_member_sits_at_50(planted, cm):
    influence_recompute(ref_time=REF)
    newt = planted["newt"]
    s = sentiment(6, POSITIVE)
    view = audience(cm, newt)
    assert view["centrality_percentile"] == pytest.approx(NEWT_BASE)
    assert view["reach_percentile"] == pytest.approx(NEWT_BASE)
    assert view["score"] == pytest.approx(influence(NEWT_BASE, s)) and view["score"] < 60
    assert view["base"] < 60 and not view["is_advocate"] and view["reason"] is None
    assert view["evidence"]["label"] == "little" and view["evidence"]["share"] == pytest.approx(1 / 11)
    assert view["formula"]["w_centrality"] == pytest.approx(1 / 11)
    # Members with no evidence are the typical member: exactly 50 on both percentiles.
    for member in (planted["fans"][0], planted["lurkers"][0], planted["friend"]):
        typical = audience(cm, member)
        assert (typical["centrality_percentile"], typical["reach_percentile"]) == (50.0, 50.0)
        assert typical["evidence"]["label"] == "little" and typical["evidence"]["share"] == 0.0


def test_ranks_follow_influence_and_ties_share_a_rank(planted, cm):
    influence_recompute(ref_time=REF)
    by_id = {r["member"]["id"]: r["influence"] for r in board(cm, "influence")}
    # Eligible influences, highest first: Paula (hub, positive), Nick (hub, negative), Newt, then the 16 members
    # with nothing, tied at 50 / 1.2. Sam (excluded) counts above nobody and is not on the board.
    assert by_id[planted["paula"].pk]["rank"] == 1
    assert by_id[planted["nick"].pk]["rank"] == 2
    assert by_id[planted["newt"].pk]["rank"] == 3
    nobodies = [planted["friend"], *planted["fans"], *planted["lurkers"]]
    assert {by_id[m.pk]["rank"] for m in nobodies} == {4}
    assert [by_id[m.pk]["score"] for m in nobodies] == pytest.approx([50 / 1.2] * 16)
    # Influence percentile among the 19 eligible: the 16 tied share the middle of ranks 1-16: 7.5 / 18.
    assert [by_id[m.pk]["percentile"] for m in nobodies] == pytest.approx([100 * 7.5 / 18] * 16)
    assert by_id[planted["paula"].pk]["percentile"] == 100.0
    assert planted["sam"].pk not in by_id
    # Sam's own row: the rank his influence would have among the eligible (tied with Paula: 1), never flagged.
    sam = audience(cm, planted["sam"])
    assert sam["rank"] == 1 and not sam["is_advocate"] and sam["reason"] is None


def test_excluded_members_are_on_no_list_and_in_no_selector(planted, cm):
    influence_recompute(ref_time=REF)
    sam = planted["sam"]
    for name in ("influence", "advocates", "detractors"):
        assert sam.pk not in [r["member"]["id"] for r in board(cm, name)]
    for rows in (selectors.leaderboard_influence(limit=None), selectors.advocates(limit=None),
                 selectors.detractors(limit=None)):
        assert sam.pk not in [s.member_id for s in rows]
    members = cm.get("/api/v1/members/?is_excluded=true").json()["results"]
    assert [m["id"] for m in members] == [sam.pk] and members[0]["influence"]["is_advocate"] is False


def test_a_member_excluded_after_the_run_is_shown_unflagged_and_off_the_lists(planted, cm):
    influence_recompute(ref_time=REF)
    paula = planted["paula"]
    paula.is_excluded = True
    paula.save()
    assert board(cm, "advocates") == []
    view = audience(cm, paula)
    assert view["is_advocate"] is False and view["reason"] is None
    listed = {m["id"]: m for m in cm.get("/api/v1/members/?page_size=100").json()["results"]}
    assert listed[paula.pk]["influence"]["is_advocate"] is False


@pytest.mark.parametrize("store", [PostgresInfluenceStore, OrmInfluenceStore], ids=["postgresql", "orm"])
def test_history_has_a_point_per_day_and_outlives_pruned_runs(planted, cm, store):
    from community_scoring.services.config import influence_config_update

    influence_config_update(changes={"keep_runs": 2})
    days = [REF - timedelta(days=3), REF - timedelta(days=2), REF - timedelta(days=2, hours=-3), REF]
    runs = [influence_recompute(ref_time=day, store=store()) for day in days]
    nick = planted["nick"]
    history = audience(cm, nick)["history"]
    # Four runs on three days: the second run of REF - 2 days replaced its day's point; the first run's scores
    # were pruned (keep_runs 2), its day's point stays.
    assert [(h["day"], h["run_id"]) for h in history] == [
        (str(days[0].date()), runs[0].pk), (str(days[1].date()), runs[2].pk), (str(REF.date()), runs[3].pk)]
    assert all(h["is_detractor"] and h["rank"] == 2 for h in history)
    assert history[-1]["influence"] == pytest.approx(influence(HUB_BASE, sentiment(4, NEGATIVE)))
    assert history[-1]["base"] == pytest.approx(HUB_BASE)
    assert InfluenceSnapshot.objects.filter(day=REF.date()).count() == 20
    # The audience view's period bounds the history too.
    assert [h["day"] for h in audience(cm, nick, "?period=7d")["history"]][-1] == str(REF.date())


def test_too_few_texts_flag_nobody_and_replies_received_alone_never_do(planted, cm):
    from community_scoring.services.config import influence_config_update

    # Nick's 4 texts are fewer than min_texts 5: his sentiment (shrunk by the prior of 3 pseudo-texts) stays
    # negative, he stays influential before sentiment, but he is not flagged; nor is Paula.
    influence_config_update(changes={"min_texts": 5})
    # A lurker who wrote nothing but received many hostile replies: negative sentiment, not flagged either.
    target = planted["lurkers"][0]
    for i, fan in enumerate(planted["fans"]):
        act(fan, "comment", target, seconds=i, text=NEGATIVE)
    influence_recompute(ref_time=REF)
    nick = audience(cm, planted["nick"])
    assert nick["sentiment"] == pytest.approx(sentiment(4, NEGATIVE)) and nick["base"] >= 60
    assert not nick["is_detractor"] and nick["reason"] is None
    assert board(cm, "detractors") == [] and board(cm, "advocates") == []
    hostile = audience(cm, target)
    # 12 replies received at weight 0.5, no texts written: s = 0.5 * 12 * c / (0.5 * 12 + 3).
    assert hostile["sentiment"] == pytest.approx(6 * compound(NEGATIVE) / 9)
    # The replies made him influential (12 sources, reach 12, above the 15 members with nothing of 19 others:
    # C and R >= 12/22 * M + 10/22 * 50 with M >= 100 * 15/19), yet with no texts of his own he is not flagged.
    assert hostile["base"] >= 12 / 22 * 1500 / 19 + 10 / 22 * 50 > 60
    assert not hostile["is_detractor"] and hostile["evidence"]["texts"] == 0
