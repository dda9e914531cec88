"""The unified audience view: GET /api/v1/members/{id}/ and /api/v1/members/lookup/."""
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from community_scoring.models import Action, ActionType, StageTransition
from tests.community_scoring.services.interest_helpers import record
from community_scoring.selectors.config import scoring_config_cache_clear
from community_scoring.services.config import config_apply
from tests.community_scoring.api.conftest import NOW, TODAY
from tests.factories import ContentFactory, MemberFactory

HALF_LIFE = 10.0


def _decay(points: float, day_start: datetime, now: datetime) -> float:
    """points * 2 ** (-(days since the start of the action's UTC day) / half-life): the documented decay."""
    return points * 2 ** (-((now - day_start).total_seconds() / 86400) / HALF_LIFE)


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def scored(db, django_capture_on_commit_callbacks):
    for key in ("answer", "poll_response", "vote_up"):
        ActionType.objects.get_or_create(key=key, defaults={"label": key})
    rule = {"target_points": 0, "daily_cap": None, "once_only": False}
    with django_capture_on_commit_callbacks(execute=False):  # the recompute the change enqueues is not needed
        config_apply(snapshot={
            "rule_sets": [{
                "name": "Default", "persona": "", "half_life_days": HALF_LIFE, "inactivity_days": None,
                "rules": [
                    {"action_type": "answer", "points": 10, **rule},
                    {"action_type": "poll_response", "points": 1, **rule},
                    {"action_type": "vote_up", "points": 0, **{**rule, "target_points": 2}},
                ],
                "fit_rules": [],
            }],
            "stages": [{"name": "visitor", "position": 0, "min_engagement": 0, "min_fit": 0}],
        })
    scoring_config_cache_clear()
    alice, bob = MemberFactory(external_id="alice"), MemberFactory(external_id="bob")
    question = ContentFactory(author=bob, topic="api")  # acting on your own content earns nothing
    post = ContentFactory(author=alice, topic="api")
    now = timezone.now()
    answered = now - timedelta(days=10)
    record(alice, "answer", event_id="1", occurred_at=answered, target_content=question)
    for i, metadata in enumerate([{"rating": 5, "scale": 5}, {"nps": 0}, {"choice": "blue"}]):
        record(alice, "poll_response", event_id=f"p{i}", occurred_at=now - timedelta(minutes=1), metadata=metadata)
    record(bob, "vote_up", event_id="v", occurred_at=now, target_content=post)
    return alice, answered, now


def test_breakdown_and_explicit_sentiment_by_hand(token_client, scored):
    alice, answered, recorded = scored
    body = token_client("marketing").get(f"/api/v1/members/{alice.pk}/").json()
    now = timezone.now()
    # the polls' and the vote's UTC days (a run just after midnight puts the polls a minute earlier on the day before)
    polled, voted = _midnight(recorded - timedelta(minutes=1)), _midnight(recorded)
    rows = {(r["action_type"], r["received"]): r for r in body["interest"]["breakdown"]}
    assert set(rows) == {("answer", False), ("poll_response", False), ("vote_up", True)}
    answer, polls, votes = rows[("answer", False)], rows[("poll_response", False)], rows[("vote_up", True)]
    assert (answer["count"], answer["raw_points"], answer["points"]) == (1, 10.0, 10.0)
    assert answer["decayed_points"] == pytest.approx(_decay(10, _midnight(answered), now), rel=1e-4)
    assert (polls["count"], polls["points"]) == (3, 3.0)
    assert polls["decayed_points"] == pytest.approx(_decay(3, polled, now), rel=1e-4)
    assert (votes["count"], votes["points"]) == (1, 2.0)
    engagement = _decay(10, _midnight(answered), now) + _decay(3, polled, now) + _decay(2, voted, now)
    assert body["interest"]["engagement"] == pytest.approx(engagement, rel=1e-4)
    assert body["interest"]["score"] == pytest.approx(engagement, rel=1e-4)
    assert body["interest"]["topics"][0]["topic"] == "api"
    # Explicit sentiment: 5 of 5 stars -> +1, NPS 0 -> -1, a plain choice carries none: mean 0 over 2 rated.
    assert body["sentiment"]["explicit"] == {"poll_responses": 3, "rated_responses": 2, "mean": 0.0, "band": "neutral"}
    assert body["member"]["email"] == alice.email
    assert body["influence"] is None and body["sentiment"]["implicit"] is None


def test_fit_breakdown_lists_the_fit_rules_met(token_client, db, django_capture_on_commit_callbacks):
    ActionType.objects.get_or_create(key="answer", defaults={"label": "answer"})
    with django_capture_on_commit_callbacks(execute=False):
        config_apply(snapshot={
            "rule_sets": [{
                "name": "Default", "persona": "", "half_life_days": None, "inactivity_days": None,
                "rules": [{"action_type": "answer", "points": 1, "target_points": 0, "daily_cap": None,
                           "once_only": False}],
                "fit_rules": [
                    {"attribute": "job_title", "operator": "contains", "value": "engineer", "points": 10},
                    {"attribute": "industry", "operator": "eq", "value": "retail", "points": 5},
                    {"attribute": "company_size", "operator": "gte", "value": "500", "points": 15},
                    {"attribute": "persona", "operator": "in", "value": "developer, architect", "points": 7},
                ],
            }],
            "stages": [{"name": "visitor", "position": 0, "min_engagement": 0, "min_fit": 0}],
        })
    scoring_config_cache_clear()
    member = MemberFactory(persona="developer",
                           attributes={"job_title": "Senior Engineer", "company_size": "1,200", "industry": "finance"})
    record(member, "answer", event_id="fit-1", occurred_at=timezone.now())
    interest = token_client("marketing").get(f"/api/v1/members/{member.pk}/").json()["interest"]
    # "Senior Engineer" contains "engineer"; 1,200 >= 500; the persona is one of the listed; finance is not retail.
    assert interest["fit_breakdown"] == [
        {"attribute": "job_title", "operator": "contains", "value": "engineer", "points": 10.0,
         "actual": "Senior Engineer"},
        {"attribute": "company_size", "operator": "gte", "value": "500", "points": 15.0, "actual": "1,200"},
        {"attribute": "persona", "operator": "in", "value": "developer, architect", "points": 7.0,
         "actual": "developer"},
    ]
    assert interest["fit"] == 32.0


def test_influence_sentiment_and_history(token_client, community):
    alice = community.alice
    ActionType.objects.get_or_create(key="follow", defaults={"label": "follow"})
    # Logged directly (not through the interest engine): only the influence explanation reads it here.
    Action.objects.create(source="t", external_event_id="f1", action_type_id="follow", member=community.bob,
                          target_member=alice, occurred_at=NOW - timedelta(days=10))
    StageTransition.objects.create(member=alice, from_stage="visitor", to_stage="engaged", engagement=21, fit=0,
                                   occurred_at=NOW - timedelta(days=50))
    StageTransition.objects.create(member=alice, from_stage="engaged", to_stage="MQL", engagement=60, fit=20,
                                   occurred_at=NOW - timedelta(days=5), reason="action")
    body = token_client("admin").get(f"/api/v1/members/{alice.pk}/?period=7d").json()
    influence = body["influence"]
    assert influence["score"] == 90.0 and influence["rank"] == 1 and influence["run"]["id"] == community.run.pk
    assert influence["followers"] == 9 and influence["reach"] == 19 and influence["centrality"] == 0.09
    assert body["sentiment"]["implicit"]["mean"] == 0.6 and body["sentiment"]["implicit"]["band"] == "positive"
    # Formula terms: base = (0.7 * 90 + 0.3 * 50) / (0.7 + 0.3) = 78.
    assert influence["formula"]["base"] == pytest.approx(78.0)
    # bob followed alice 10 days before the run (half-life 10 days, follow weight 3): 3 * 0.5 = 1.5.
    assert [(e["member_id"], e["action_type"], e["actions"]) for e in influence["top_inbound"]] == [
        (community.bob.pk, "follow", 1)]
    assert influence["top_inbound"][0]["weight"] == pytest.approx(1.5)
    assert influence["top_inbound"][0]["source_rank"] == 2
    assert [(t["from_stage"], t["to_stage"]) for t in body["stage_history"]] == [("engaged", "MQL"), ("visitor", "engaged")]
    assert body["score_history"]["period"] == "7d"
    assert body["score_history"]["since"] == str(TODAY - timedelta(days=7))
    assert [p["date"] for p in body["score_history"]["points"]] == [str(TODAY - timedelta(days=1))]
    everything = token_client("admin").get(f"/api/v1/members/{alice.pk}/?period=all").json()
    assert len(everything["score_history"]["points"]) == 3 and everything["score_history"]["since"] is None
    default = token_client("admin").get(f"/api/v1/members/{alice.pk}/").json()
    assert default["score_history"]["period"] == "30d" and len(default["score_history"]["points"]) == 1


def test_email_hidden_without_pii(token_client, community):
    body = token_client("community_manager").get(f"/api/v1/members/{community.alice.pk}/").json()
    assert body["member"]["email"] is None and body["member"]["display_name"] == "Alice Anders"
    body = token_client("community_manager", can_export_pii=True).get(f"/api/v1/members/{community.alice.pk}/").json()
    assert body["member"]["email"] == "alice@acme.test"


def test_unknown_member_is_404(token_client, community):
    assert token_client("admin").get("/api/v1/members/999999/").status_code == 404
    assert token_client("admin").get("/api/v1/members/99999999999999999999999/").status_code == 404


def test_bad_period_is_400(token_client, community):
    response = token_client("admin").get(f"/api/v1/members/{community.alice.pk}/?period=1y")
    assert response.status_code == 400 and "period" in response.json()


class TestLookup:
    URL = "/api/v1/members/lookup/"

    def test_by_external_id(self, token_client, community):
        body = token_client("marketing").get(f"{self.URL}?external_id=b-2").json()
        assert body["member"]["id"] == community.bob.pk

    def test_ambiguous_external_id_needs_source(self, token_client, community):
        MemberFactory(source="discourse", external_id="b-2")
        client = token_client("marketing")
        response = client.get(f"{self.URL}?external_id=b-2")
        assert response.status_code == 400 and "external_id" in response.json()
        assert client.get(f"{self.URL}?external_id=b-2&source=test").json()["member"]["id"] == community.bob.pk

    def test_by_email_case_insensitive(self, token_client, community):
        body = token_client("marketing").get(f"{self.URL}?email=ALICE@acme.test").json()
        assert body["member"]["id"] == community.alice.pk

    def test_email_lookup_needs_pii(self, token_client, community):
        assert token_client("community_manager").get(f"{self.URL}?email=alice@acme.test").status_code == 403
        granted = token_client("community_manager", can_export_pii=True)
        assert granted.get(f"{self.URL}?email=alice@acme.test").status_code == 200

    @pytest.mark.parametrize("query", ["external_id=nobody", "email=nobody@x.test", "external_id=a-1&source=other"])
    def test_no_match_is_404(self, token_client, community, query):
        assert token_client("admin").get(f"{self.URL}?{query}").status_code == 404

    def test_missing_parameters_is_400(self, token_client, community):
        response = token_client("admin").get(self.URL)
        assert response.status_code == 400 and "external_id" in response.json()


def test_top_inbound_are_the_edges_the_current_run_stored(token_client, db):
    """The audience view lists the edges that explain the current run's score (stored by the run), with each
    source's name and rank in that run: a follow that arrives after the run is not among them."""
    from community_scoring.influence.models import InfluenceScore
    from community_scoring.influence.recompute import influence_recompute

    ActionType.objects.get_or_create(key="follow", defaults={"label": "follow"})
    star, fan, late = MemberFactory(), MemberFactory(display_name="Fan"), MemberFactory()
    ref = timezone.now()
    Action.objects.create(source="t", external_event_id="f1", action_type_id="follow", member=fan, target_member=star,
                          occurred_at=ref - timedelta(days=180))
    run = influence_recompute(ref_time=ref)
    Action.objects.create(source="t", external_event_id="f2", action_type_id="follow", member=late, target_member=star,
                          occurred_at=ref)
    body = token_client("marketing").get(f"/api/v1/members/{star.pk}/").json()
    # The default follow weight 3 and half-life 180 days: 3 * 1/2.
    fan_rank = InfluenceScore.objects.get(run=run, member=fan).rank
    assert body["influence"]["run"]["id"] == run.pk
    assert body["influence"]["top_inbound"] == [
        {"member_id": fan.pk, "display_name": "Fan", "source_rank": fan_rank, "action_type": "follow", "actions": 1,
         "weight": pytest.approx(1.5)}]
