"""Shared set-up for the interest engine tests: a small configuration with round numbers, and a recorder."""
from datetime import datetime, timedelta, timezone
from itertools import count

from community_scoring.models import Action
from community_scoring.services.events import ContentIn, EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.config import config_apply

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)  # a UTC midnight: day 0 of the hand-computed examples


def rule(action_type, points, target_points=0, daily_cap=None, once_only=False):
    return {"action_type": action_type, "points": points, "target_points": target_points, "daily_cap": daily_cap,
            "once_only": once_only}


def test_config_snapshot(**overrides):
    snapshot = {
        "rule_sets": [
            {"name": "Default", "persona": "", "half_life_days": 10, "inactivity_days": 30,
             "rules": [rule("answer", 8, daily_cap=40), rule("question", 5), rule("vote_up", 1, 2, daily_cap=10),
                       rule("vote_down", 0, -2, daily_cap=10), rule("unsubscribe", -20), rule("comment", 3, daily_cap=15),
                       rule("signup", 5, once_only=True), rule("inactivity", -10), rule("follow", 2, 1)],
             "fit_rules": [{"attribute": "job_title", "operator": "contains", "value": "engineer", "points": 10},
                           {"attribute": "company_size", "operator": "gte", "value": "200", "points": 15}]},
            {"name": "Developers", "persona": "developer", "half_life_days": None, "inactivity_days": None,
             "rules": [rule("answer", 20)], "fit_rules": []},
        ],
        "stages": [{"name": "visitor", "position": 0, "min_engagement": 0, "min_fit": 0},
                   {"name": "engaged", "position": 1, "min_engagement": 20, "min_fit": 0},
                   {"name": "MQL", "position": 2, "min_engagement": 50, "min_fit": 20}],
    }
    snapshot.update(overrides)
    return snapshot


test_config_snapshot.__test__ = False  # a helper, not a test


def install_test_config():
    return config_apply(snapshot=test_config_snapshot(), note="tests")


def install_persona_half_lives_config(note: str):
    """The test configuration with three personas' half-lives: 10 days (default), 30 (developer), 3 (marketer)."""
    snapshot = test_config_snapshot()
    snapshot["rule_sets"][1]["half_life_days"] = 30
    snapshot["rule_sets"].append({"name": "Marketers", "persona": "marketer", "half_life_days": 3,
                                  "inactivity_days": None, "rules": [], "fit_rules": []})
    return config_apply(snapshot=snapshot, note=note)


_ids = count()


def record(member, action_type, *, day=0.0, target_member=None, target_content=None, topic=None, event_id=None,
           occurred_at=None, metadata=None):
    """Record one action `day` days (fractional allowed) after T0, or at ``occurred_at``, through the door (source:
    the member's); returns (action, created). ``topic`` without a target: the event creates a content of it."""
    n = next(_ids)
    event = EventIn(
        source=member.source, event_id=event_id or f"ev-{n}", type=action_type,
        occurred_at=occurred_at or T0 + timedelta(days=day), metadata=metadata,
        member=MemberIn(external_id=member.external_id),
        target_member=MemberIn(external_id=target_member.external_id) if target_member is not None else None,
        target_content=ContentIn(external_id=target_content.external_id) if target_content is not None else None,
        content=ContentIn(external_id=f"made-{n}", topic=topic) if topic else None,
    )
    (result,) = actions_ingest(events=[event])
    if result.status == "rejected":
        raise ValueError(result.errors)
    action = Action.objects.get(source=member.source, external_event_id=event.event_id)
    return action, result.status == "created"
