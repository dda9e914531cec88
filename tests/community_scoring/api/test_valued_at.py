"""Issue 15, item 7: every read shows interest at one instant, its `valued_at`, equal to a recompute made then.

Before the fix the member list, the leaderboards and the export showed each member's engagement valued at the UTC
day start of their last action: with events spread over 20 days every score differed from a recompute at now, and
so did stages. Reads here are valued at NOW (the API conftest pins the read instant); the reference is
interest_recompute(now=NOW), the full rebuild from the log.
"""
import csv
import io
import random
from datetime import timedelta

import pytest

from community_scoring.models import InterestScore
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.recompute import interest_recompute
from community_scoring.services.revalue import interest_rank_rekey
from tests.community_scoring.api.conftest import NOW
from tests.community_scoring.services.interest_helpers import install_persona_half_lives_config
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread_community(db):
    """40 members of three personas (half-lives 10, 30 and 3 days), acting over the 20 days before NOW."""
    install_persona_half_lives_config(note="spread")
    rng = random.Random(15)
    members = [MemberFactory(source="spread", external_id=f"s{i}", persona=["", "developer", "marketer"][i % 3],
                             attributes={"job_title": "engineer", "company_size": 500} if i % 4 == 0 else {})
               for i in range(40)]
    events = []
    for n in range(400):
        actor, target = rng.sample(members, 2)
        kind = rng.choice(["answer", "answer", "comment", "vote_up", "vote_down", "question", "unsubscribe"])
        events.append(EventIn(
            source="spread", event_id=f"e{n}", type=kind,
            occurred_at=NOW - timedelta(days=rng.uniform(0, 20)), member=MemberIn(external_id=actor.external_id),
            target_member=MemberIn(external_id=target.external_id) if kind.startswith("vote") else None))
    for start in range(0, len(events), 100):
        actions_ingest(events=events[start:start + 100])
    return members


def recomputed_at_now() -> dict[int, InterestScore]:
    interest_recompute(now=NOW)
    return {s.member_id: s for s in InterestScore.objects.all()}


def test_list_leaderboard_and_export_equal_a_recompute_at_their_valued_at(token_client, spread_community):
    client = token_client("marketing")
    listed = client.get("/api/v1/members/", {"page_size": 500}).json()
    board = client.get("/api/v1/leaderboards/interest/", {"page_size": 500}).json()
    export = client.get("/api/v1/members/export/")
    exported = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    stored_before = {s.member_id: (s.score, s.stage) for s in InterestScore.objects.all()}

    expected = recomputed_at_now()
    valued_at = NOW.isoformat().replace("+00:00", "Z")
    assert listed["valued_at"] == valued_at and board["valued_at"] == valued_at
    assert export["X-Valued-At"] == NOW.isoformat()
    # The failure reproduced: the stored scores (valued at each member's last action day) are not the recompute's.
    assert sum(abs(stored_before[m][0] - e.score) > 1e-3 for m, e in expected.items() if m in stored_before) > 20

    assert len(listed["results"]) == len(expected) == 40
    for row in listed["results"]:
        e = expected[row["id"]]
        assert (row["interest"]["score"], row["interest"]["engagement"]) == (
            pytest.approx(e.score, rel=1e-9, abs=1e-9), pytest.approx(e.engagement, rel=1e-9, abs=1e-9))
        assert (row["interest"]["fit"], row["interest"]["stage"]) == (e.fit, e.stage)
    assert {row["member"]["id"] for row in board["results"]} == set(expected)
    for row in board["results"]:
        e = expected[row["member"]["id"]]
        assert row["value"] == pytest.approx(e.score, rel=1e-9, abs=1e-9)
        assert row["interest"]["score"] == pytest.approx(e.score, rel=1e-9, abs=1e-9)
        assert row["interest"]["stage"] == e.stage
    for row in exported:
        e = expected[int(row["id"])]
        assert float(row["interest_score"]) == pytest.approx(e.score, rel=1e-9, abs=1e-9)
        assert float(row["engagement"]) == pytest.approx(e.engagement, rel=1e-9, abs=1e-9)
        assert row["stage"] == e.stage and row["valued_at"] == NOW.isoformat()
    # Stages follow the instant too: some members' stage at NOW is not the one stored at their last action.
    assert any(stored_before[m][1] != e.stage for m, e in expected.items() if m in stored_before)


def test_audience_view_says_its_instant_and_matches_a_recompute(token_client, spread_community):
    client = token_client("community_manager")
    member = spread_community[0]
    view = client.get(f"/api/v1/members/{member.pk}/").json()
    expected = recomputed_at_now()[member.pk]
    assert view["valued_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert view["interest"]["score"] == pytest.approx(expected.score, rel=1e-9, abs=1e-9)
    assert view["interest"]["stage"] == expected.stage
    assert sum(r["decayed_points"] for r in view["interest"]["breakdown"]) == pytest.approx(expected.engagement)


def test_board_order_comes_from_the_key_and_the_re_key_makes_it_the_order_at_its_instant(token_client,
                                                                                          spread_community):
    expected = recomputed_at_now()
    assert interest_rank_rekey(now=NOW) == 40
    client = token_client("marketing")
    board = client.get("/api/v1/leaderboards/interest/", {"page_size": 15}).json()
    second = client.get(board["next"]).json()
    shown = [row["member"]["id"] for row in board["results"] + second["results"]]
    by_score = sorted(expected, key=lambda m: (-expected[m].score, -m))
    assert shown == by_score[:30]
    assert [row["position"] for row in second["results"]] == list(range(16, 31))
    # The member list's interest ordering pages the same key.
    listed = client.get("/api/v1/members/", {"ordering": "-interest", "page_size": 10}).json()
    assert [row["id"] for row in listed["results"]] == by_score[:10]
