import pytest

from community_scoring.scoring.caps import bucket_points, cap_clamp
from community_scoring.scoring.fit import FitCondition, fit_matches, fit_score, parse_number
from community_scoring.scoring.ledger import BucketTally, bucket_values, engagement_at, primary_topic, topics_at
from community_scoring.scoring.ruleset import ScoringConfig
from community_scoring.scoring.stages import StageThreshold, floor_stage, stage_for


def test_cap_clamps_both_signs():
    assert cap_clamp(25, 10) == 10
    assert cap_clamp(-25, 10) == -10
    assert cap_clamp(7, 10) == 7
    assert cap_clamp(700, None) == 700


def test_bucket_points_repeatable_and_once_only():
    assert bucket_points(count=15, raw_points=15, unit=1, daily_cap=10, once_only=False, is_first=False) == 10
    assert bucket_points(count=3, raw_points=-6, unit=-2, daily_cap=10, once_only=False, is_first=False) == -6
    assert bucket_points(count=3, raw_points=15, unit=5, daily_cap=None, once_only=True, is_first=True) == 5
    assert bucket_points(count=3, raw_points=15, unit=5, daily_cap=None, once_only=True, is_first=False) == 0
    assert bucket_points(count=0, raw_points=0, unit=5, daily_cap=None, once_only=False, is_first=True) == 0


@pytest.mark.parametrize("actual,op,expected,match", [
    ("Senior Software Engineer", "contains", "engineer", True),
    ("Marketing Manager", "contains", "engineer", False),
    ("SaaS", "in", "software,saas,fintech", True),
    ("retail", "in", "software,saas,fintech", False),
    ("500", "gte", "200", True),
    ("1000+", "gte", "200", True),
    (150, "gte", "200", False),
    (150, "lte", "200", True),
    ("unknown", "gte", "200", False),
    (" Developer ", "eq", "developer", True),
    (["python", "go"], "contains", "go", True),
    (None, "eq", "x", False),
])
def test_fit_operators(actual, op, expected, match):
    assert fit_matches(actual, op, expected) is match


def test_fit_score_sums_matches():
    rules = [FitCondition("job_title", "contains", "engineer", 10), FitCondition("company_size", "gte", "200", 15),
             FitCondition("industry", "in", "software,saas", 5), FitCondition("persona", "eq", "marketer", 7)]
    assert fit_score({"job_title": "Staff Engineer", "company_size": 500, "industry": "SaaS"}, rules) == 30
    assert fit_score({"job_title": "Designer", "company_size": "50"}, rules) == 0
    assert parse_number("1,200 employees") == 1200


STAGES = [StageThreshold("visitor", 0), StageThreshold("engaged", 1, 20), StageThreshold("MQL", 2, 50, 20)]


def test_stage_is_highest_met_with_floor():
    assert stage_for(0, 0, STAGES) == "visitor"
    assert stage_for(-30, 0, STAGES) == "visitor"
    assert stage_for(20, 0, STAGES) == "engaged"
    assert stage_for(80, 10, STAGES) == "engaged"  # fit too low for MQL
    assert stage_for(80, 20, STAGES) == "MQL"
    assert floor_stage(list(reversed(STAGES))) == "visitor"
    assert stage_for(5, 5, []) == ""


SNAPSHOT = {
    "rule_sets": [
        {"name": "Default", "persona": "", "half_life_days": 10, "inactivity_days": 30,
         "rules": [{"action_type": "answer", "points": 8, "target_points": 0, "daily_cap": 20, "once_only": False},
                   {"action_type": "signup", "points": 5, "target_points": 0, "daily_cap": None, "once_only": True}],
         "fit_rules": [{"attribute": "job_title", "operator": "contains", "value": "engineer", "points": 10}]},
        {"name": "Developers", "persona": "Developer", "half_life_days": None, "inactivity_days": 7,
         "rules": [{"action_type": "answer", "points": 12, "target_points": 0, "daily_cap": None, "once_only": False}],
         "fit_rules": []},
    ],
    "stages": [{"name": "visitor", "position": 0, "min_engagement": 0, "min_fit": 0}],
}


def test_persona_rules_override_per_type_and_inherit():
    config = ScoringConfig.from_snapshot(SNAPSHOT)
    dev = config.for_persona("developer")
    assert dev.rule("answer").points == 12 and dev.rule("answer").daily_cap is None
    assert dev.rule("signup").points == 5  # falls back to the default set
    assert dev.half_life_days == 10 and dev.inactivity_days == 7
    assert dev.fit({"job_title": "engineer"}) == 10  # no fit rules of its own: the default ones
    assert dev.rule("nothing").points == 0
    assert config.for_persona("marketer") is config.default
    assert config.once_only_types == {"signup"}


def test_ledger_caps_once_only_topics_and_decay():
    rules = ScoringConfig.from_snapshot(SNAPSHOT).default
    tallies = [
        BucketTally("answer", False, 0.0, 3, {"python": 2, "go": 1}),  # 24 raw -> capped 20
        BucketTally("answer", False, 10.0, 1, {"go": 1}),              # 8
        BucketTally("signup", False, 5.0, 1, {}),                      # not the first signup: 0
        BucketTally("signup", False, 2.0, 1, {}),                      # the first: 5
    ]
    values = bucket_values(tallies, rules)
    assert [v.points for v in values] == [20, 8, 0, 5]
    # On day 10, half-life 10: 20 * 0.5 + 8 + 5 * 2 ** -0.8
    assert engagement_at(values, 10.0, 10) == pytest.approx(10 + 8 + 5 * 2 ** -0.8)
    topics = topics_at(values, 10.0, 10)
    assert topics == pytest.approx({"python": 20 * 2 / 3 * 0.5, "go": 20 / 3 * 0.5 + 8})
    assert primary_topic(topics) == "go"
    assert primary_topic({"a": -1.0}) == ""
