"""Gaming resistance end to end: a planted vote ring, ingested through the one door with young joined_at, is
flagged by the scan and stops lifting its members' interest and influence; clearing the flag restores them.

The oracle is a mirror community (another source) ingested with the same events minus the ring's actions among
its members: what the flagged members must score. Hand-worked figures from the default rules (migration 0002):
question 5 points, vote_up 1 to the voter and 2 to the author, follow 2 / 1 received.
"""
from datetime import timedelta

import pytest
from django.utils import timezone

from community_scoring.gaming.models import FlaggedAction, GamingFlag
from community_scoring.gaming.selectors import account_births
from community_scoring.gaming.services import ReviewError, gaming_flag_review, gaming_scan
from community_scoring.influence.models import InfluenceRun, InfluenceScore
from community_scoring.influence.recompute import influence_recompute
from community_scoring.models import Action, ActionExclusion, InterestScore, Member
from community_scoring.scoring.decay import to_epoch_days, value_at
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.events import ContentIn, EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.recompute import interest_recompute
from tests.forum_integration.helpers import bucket_points

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
DAY_BEFORE = (NOW - timedelta(days=1)).replace(hour=10)  # a burst inside one UTC day (one cap)
RING = ["r1", "r2", "r3", "r4"]
OLD = ["o1", "o2", "o3", "o4", "o5", "o6"]


def community_events(source: str, *, with_ring: bool = True) -> list[EventIn]:
    """Six old members (joined two years ago) who ask and vote on each other (an old tight-knit group), and four
    young accounts (joined 5 days ago) who each ask 3 questions, then vote on every question of the others and
    follow each other (the ring), and each vote once for an old member's question."""
    events: list[EventIn] = []

    def add(kind, actor, at, joined, **extra):
        events.append(EventIn(source=source, event_id=f"{source}-{len(events)}", type=kind, occurred_at=at,
                              member=MemberIn(external_id=actor, joined_at=joined), **extra))

    old_joined, young_joined = NOW - timedelta(days=700), NOW - timedelta(days=5)
    for i, m in enumerate(OLD):
        add("question", m, NOW - timedelta(days=10, minutes=i), old_joined, content=ContentIn(f"q-{m}"))
    for d in range(3):  # the old friends vote on each other's questions on three days
        for i, voter in enumerate(OLD[:4]):
            for author in OLD[:4]:
                if author != voter:
                    add("vote_up", voter, NOW - timedelta(days=9 - d, minutes=i), old_joined,
                        target_content=ContentIn(f"q-{author}"))
    for i, m in enumerate(RING):
        for k in range(3):
            add("question", m, NOW - timedelta(days=4, minutes=10 * i + k), young_joined,
                content=ContentIn(f"q-{m}-{k}"))
    ring_actions = []
    for i, voter in enumerate(RING):
        for j, author in enumerate(a for a in RING if a != voter):
            for k in range(3):  # one question a day: 3 votes a day per voter, under the caps
                ring_actions.append(("vote_up", voter, NOW - timedelta(days=3 - k, minutes=10 * i + j), young_joined,
                                     {"target_content": ContentIn(f"q-{author}-{k}")}))
            ring_actions.append(("follow", voter, NOW - timedelta(days=3, hours=1, minutes=10 * i + j), young_joined,
                                 {"target_member": MemberIn(author)}))
        add("vote_up", voter, NOW - timedelta(days=2, hours=3, minutes=i), young_joined,
            target_content=ContentIn(f"q-{OLD[5]}"))
    if with_ring:
        for kind, actor, at, joined, extra in ring_actions:
            add(kind, actor, at, joined, **extra)
    return events


def ingest(events):
    results = actions_ingest(events=events, now=NOW)
    assert {r.status for r in results} == {"created"}, [r.errors for r in results if r.errors][:3]


def ids(source, names):
    return [Member.objects.get(source=source, external_id=n).pk for n in names]


def valued(member_ids):
    """Each member's stored engagement valued at one moment (decay applied), the way every reader values it."""
    config = scoring_config_current()
    when = to_epoch_days(NOW)
    out = {}
    for score in InterestScore.objects.filter(member_id__in=member_ids):
        ref = to_epoch_days(score.ref_time) if score.ref_time else None
        out[score.member_id] = value_at(score.engagement, ref, when, config.default.half_life_days)
    return [out.get(m, 0.0) for m in member_ids]


def influence_of(member_ids):
    run = influence_recompute(trigger="command", ref_time=NOW)
    assert run.status == InfluenceRun.Status.DONE, run.error
    scores = dict(InfluenceScore.objects.filter(run=run, member_id__in=member_ids).values_list("member_id",
                                                                                             "centrality"))
    return [scores.get(m, 0.0) for m in member_ids]


@pytest.fixture
def community():
    ingest(community_events("forum"))
    ingest(community_events("mirror", with_ring=False))
    return {"ring": ids("forum", RING), "old": ids("forum", OLD), "mirror_ring": ids("mirror", RING),
            "mirror_old": ids("mirror", OLD)}


def test_joined_at_given_by_the_events_is_the_members_age(community):
    ring, old = community["ring"], community["old"]
    births = account_births(ring + old)
    # the source's joined_at is earlier than each member's first action: it is the birth
    assert {births[m] for m in ring} == {NOW - timedelta(days=5)}
    assert {births[m] for m in old} == {NOW - timedelta(days=700)}
    assert Member.objects.get(pk=ring[0]).joined_at == NOW - timedelta(days=5)


def test_a_planted_ring_is_flagged_and_stops_lifting_interest_and_influence_until_cleared(community):
    ring, old, mirror_ring = community["ring"], community["old"], community["mirror_ring"]
    before_interest = valued(ring + old)
    before_influence = influence_of(ring + old)
    # with the ring: each member earns 9 votes given (9 points) and 9 received (18), 3 follows given (6) and 3
    # received (3), plus 3 questions (15) and one vote for an old member (1)
    assert sum(bucket_points(Member.objects.get(pk=ring[0])).values()) == pytest.approx(15 + 1 + 9 + 18 + 6 + 3)

    result = gaming_scan(now=NOW)
    assert (result.rings, result.bursts) == (1, 0)  # the old friends (as dense, but old) are not flagged
    flag = GamingFlag.objects.get()
    assert (flag.kind, flag.status) == ("ring", "flagged")
    assert sorted(flag.members.values_list("pk", flat=True)) == sorted(ring)
    ring_actions = Action.objects.filter(member_id__in=ring, target_member_id__in=ring)
    assert ring_actions.count() == 4 * 3 * 4  # 9 votes and 3 follows each
    assert set(FlaggedAction.objects.values_list("action_id", flat=True)) == set(ring_actions.values_list("pk", flat=True))
    assert ActionExclusion.objects.count() == 48
    assert flag.evidence["density"] == 1.0 and flag.evidence["inside_share"] == round(12 / 13, 4)
    assert InfluenceRun.objects.filter(trigger="gaming", status="pending").count() == 1

    # interest: what the mirror (the same community without the ring's actions) gives, 16 points each by hand
    assert sum(bucket_points(Member.objects.get(pk=ring[0])).values()) == pytest.approx(15 + 1)
    interest_recompute(member_ids=mirror_ring, now=NOW)
    interest_recompute(member_ids=ring, now=NOW)  # a later recompute agrees with the live state
    assert valued(ring) == pytest.approx(valued(mirror_ring), rel=1e-9)
    assert all(after < before for after, before in zip(valued(ring), before_interest[:4]))
    assert valued(old) == pytest.approx(before_interest[4:], rel=1e-9)  # the old members' votes still count

    # influence: the ring's edges are gone, so its members' centrality drops
    flagged_influence = influence_of(ring + old)
    assert all(after < before for after, before in zip(flagged_influence[:4], before_influence[:4]))

    # scanning again finds the same ring: no new flag, nothing flagged twice
    again = gaming_scan(now=NOW)
    assert (again.flags_created, again.actions_flagged) == ([], 0)
    assert GamingFlag.objects.count() == 1

    # clearing restores both scores as they were before the flag
    gaming_flag_review(flag_id=flag.pk, status="cleared", by="admin")
    assert ActionExclusion.objects.count() == 0
    assert valued(ring + old) == pytest.approx(before_interest, rel=1e-9)
    assert influence_of(ring + old) == pytest.approx(before_influence, rel=1e-6)  # PageRank to its tolerance
    # and a cleared flag is not raised again for the same evidence
    assert gaming_scan(now=NOW).flags_created == []
    assert GamingFlag.objects.get().status == "cleared"
    # confirming it excludes the actions again
    gaming_flag_review(flag_id=flag.pk, status="confirmed", by="admin")
    assert ActionExclusion.objects.count() == 48
    assert valued(ring) == pytest.approx(valued(mirror_ring), rel=1e-9)


def test_live_scoring_after_a_flag_counts_new_actions_only(community):
    """New actions of flagged members are scored live (the flag names existing actions); excluded ones are
    never re-added: a recompute from the log afterwards gives the live state."""
    ring = community["ring"]
    gaming_scan(now=NOW)
    flagged = list(FlaggedAction.objects.values_list("action_id", flat=True))
    later = NOW + timedelta(minutes=30)
    events = [EventIn(source="forum", event_id=f"late-{i}", type="comment", occurred_at=later,
                      member=MemberIn(external_id=name), target_content=ContentIn(f"q-{OLD[0]}"))
              for i, name in enumerate(RING)]
    assert {r.status for r in actions_ingest(events=events, now=later)} == {"created"}
    live = valued(ring)
    interest_recompute(member_ids=ring, now=NOW)
    assert valued(ring) == pytest.approx(live, rel=1e-9)
    # 3 questions, one vote, one comment (3 points) each
    assert sum(bucket_points(Member.objects.get(pk=ring[0])).values()) == pytest.approx(15 + 1 + 3)
    assert ActionExclusion.objects.filter(action_id__in=flagged).count() == len(flagged)


def test_a_replayed_history_without_joined_at_is_as_old_as_its_actions():
    """Accounts stored today whose first actions were 200 days ago, voting on each other now: old friends."""
    events = []
    for i, m in enumerate(["a", "b", "c"]):
        events.append(EventIn(source="replay", event_id=f"q-{m}", type="question",
                              occurred_at=NOW - timedelta(days=200, minutes=i), member=MemberIn(m),
                              content=ContentIn(f"q-{m}")))
    for d in range(3):
        for voter in "abc":
            for author in "abc":
                if voter != author:
                    events.append(EventIn(source="replay", event_id=f"v-{d}-{voter}-{author}", type="vote_up",
                                          occurred_at=NOW - timedelta(days=d + 1), member=MemberIn(voter),
                                          target_content=ContentIn(f"q-{author}")))
    ingest(events)
    members = ids("replay", "abc")
    assert {Member.objects.get(pk=m).joined_at for m in members} == {NOW}  # stored today...
    births = account_births(members)
    assert [births[m] for m in members] == [NOW - timedelta(days=200, minutes=i) for i in range(3)]  # ...born then
    assert gaming_scan(now=NOW).rings == 0
    # the same history where the accounts are new is a ring
    assert gaming_scan(now=NOW, young_days=365).rings == 1


def test_a_burst_of_votes_is_flagged_and_explained_in_the_audience_view(token_client):
    voter_events = [EventIn(source="forum", event_id="q", type="question", occurred_at=NOW - timedelta(days=1),
                            member=MemberIn("author", joined_at=NOW - timedelta(days=900)), content=ContentIn("q"))]
    voter_events += [EventIn(source="forum", event_id=f"v{k}", type="vote_up",
                             occurred_at=DAY_BEFORE + timedelta(minutes=4 * k),
                             member=MemberIn("fan", joined_at=NOW - timedelta(days=900)), target_content=ContentIn("q"))
                     for k in range(12)]
    ingest(voter_events)
    result = gaming_scan(now=NOW)
    assert (result.rings, result.bursts, result.actions_flagged) == (0, 1, 12)
    fan, author = ids("forum", ["fan", "author"])
    # vote_up: 10 points a day at most to the voter and 10 received (caps): all excluded now
    assert bucket_points(Member.objects.get(pk=fan)) == {}
    assert bucket_points(Member.objects.get(pk=author)) == {("question", False): 5}
    flag = GamingFlag.objects.get()
    body = token_client("marketing").get(f"/api/v1/members/{fan}/").json()
    assert body["exclusions"] == [{
        "flag": flag.pk, "kind": "burst", "status": "flagged", "excluding": True, "reason": flag.reason,
        "detected_at": body["exclusions"][0]["detected_at"], "actions_excluded": 12, "received_excluded": 0}]
    assert "12 vote_up actions from one member to one member within 60 minutes" in flag.reason
    author_view = token_client("community_manager").get(f"/api/v1/members/{author}/").json()["exclusions"]
    assert [(e["actions_excluded"], e["received_excluded"]) for e in author_view] == [(0, 12)]
    gaming_flag_review(flag_id=flag.pk, status="cleared", by="admin")
    body = token_client("admin").get(f"/api/v1/members/{fan}/").json()
    assert [(e["status"], e["excluding"], e["actions_excluded"]) for e in body["exclusions"]] == [
        ("cleared", False, 0)]
    assert sum(bucket_points(Member.objects.get(pk=fan)).values()) == 10  # counted again, under the daily cap


def test_a_review_names_the_field_at_fault():
    with pytest.raises(ReviewError) as error:
        gaming_flag_review(flag_id=1, status="flagged")
    assert error.value.field == "status"
    with pytest.raises(ReviewError) as error:
        gaming_flag_review(flag_id=999, status="cleared")
    assert error.value.field == "flag"


@pytest.mark.parametrize("backend", ["postgresql", "python"])
def test_flagged_actions_still_waiting_for_their_scorer_are_never_scored(backend, settings, monkeypatch):
    """The scan may flag actions stored but not yet scored (INTEREST_SCORING=worker): the scorer's pass leaves
    them out (the PostgreSQL ``act`` CTEs, the Python backend's counted_actions), so the live state is the mirror's."""
    from community_scoring.services.interest_queue import interest_pending_score
    from community_scoring.store import BACKENDS, PythonInterestStore

    if backend == "python":
        monkeypatch.setitem(BACKENDS, "postgresql", PythonInterestStore())
    ingest(community_events("mirror", with_ring=False))
    settings.INTEREST_SCORING = "worker"  # stored and queued; no worker runs inside the test's transaction
    ingest(community_events("forum"))
    ring = ids("forum", RING)
    assert not InterestScore.objects.filter(member_id__in=ring).exists()
    assert gaming_scan(now=NOW).rings == 1
    assert interest_pending_score() > 0
    assert sum(bucket_points(Member.objects.get(pk=ring[0])).values()) == pytest.approx(15 + 1)
    live = valued(ring)
    interest_recompute(member_ids=ids("mirror", RING), now=NOW)
    assert live == pytest.approx(valued(ids("mirror", RING)), rel=1e-9)
