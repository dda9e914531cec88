"""Offline A/B replay of two MQL thresholds on the ground-truth history, against a direct count from the log."""
from collections import defaultdict
from datetime import timedelta, timezone

import pytest
from django.core.exceptions import ValidationError

from community_scoring.models import Action
from community_scoring.outcomes.services.replay import config_replay, replay_variant_document
from tests.community_scoring.outcomes import ground_truth as gt

pytestmark = pytest.mark.django_db

START = gt.BASE + timedelta(days=100, hours=5)
END = gt.BASE + timedelta(days=159, hours=20)  # days 100..159: 60 days, weeks of 7 (the last one 4 days)
# The default rules (migration 0002): points and daily caps of the generated types; every member's fit is 25.
DEFAULT = {"read": (0.5, 5), "question": (5, 25), "comment": (3, 15), "vote_up": (1, 10), "answer": (8, 40),
           "blog_post": (10, 30)}
HALF_LIFE = 90.0


def direct_count(generated, ids, threshold):
    """MQLs produced, converted and per week, from the raw actions in plain Python (no engine code)."""
    day0 = gt.BASE.date().toordinal()
    first, last = 100, 159
    per_day = defaultdict(lambda: defaultdict(int))  # member -> (type, day) -> count
    for member_id, action_type, occurred in Action.objects.filter(member_id__in=ids.values()).values_list(
            "member_id", "action_type_id", "occurred_at"):
        per_day[member_id][(action_type, occurred.astimezone(timezone.utc).date().toordinal() - day0)] += 1
    by_id = {v: k for k, v in ids.items()}
    reach = min(threshold, 150)  # MQL or the advocate-candidate stage above it (150), fit 25 >= 20 for both
    produced, converted, weeks = 0, 0, [0] * 9
    population = 0
    for member_id, buckets in per_day.items():
        external = by_id[member_id]
        conversion = generated.conversions.get(external)
        if conversion is not None and conversion < gt.BASE + timedelta(days=first):
            continue  # converted before the window
        if min(day for _, day in buckets) > last:
            continue  # first acted after the window
        population += 1

        def engagement(d):
            total = 0.0
            for (action_type, day), n in buckets.items():
                if day <= d:
                    points, cap = DEFAULT[action_type]
                    total += min(n * points, cap) * 2 ** (-(d - day) / HALF_LIFE)
            return total

        if engagement(first - 1) >= reach:
            continue
        mql_day = next((d for d in range(first, last + 1) if engagement(d) >= reach), None)
        if mql_day is None:
            continue
        produced += 1
        weeks[(mql_day - first) // 7] += 1
        became = gt.BASE + timedelta(days=mql_day)
        if conversion is not None and became <= conversion <= became + timedelta(days=30):
            converted += 1
    return {"mqls": produced, "converted": converted, "weeks": weeks, "population": population}


def test_replay_of_two_thresholds_matches_a_direct_count_from_the_log(ground_truth):
    generated, ids = ground_truth
    configs = {"A": replay_variant_document(spec={"mql_min_engagement": 50}),
               "B": replay_variant_document(spec={"mql_min_engagement": 30})}
    result = config_replay(configs=configs, start=START, end=END, within_days=30)
    assert result["days"] == 60 and result["start"] == (gt.BASE + timedelta(days=100)).isoformat()
    for name, threshold in (("A", 50), ("B", 30)):
        expected = direct_count(generated, ids, threshold)
        got = result["variants"][name]
        print(name, expected, {k: got[k] for k in ("mqls", "converted", "precision", "mqls_per_week")})
        assert result["members"] == expected["population"]
        assert (got["mqls"], got["converted"], got["mqls_per_week"]) == (
            expected["mqls"], expected["converted"], expected["weeks"])
        assert got["mql_min_engagement"] == threshold
        assert got["precision"] == pytest.approx(expected["converted"] / expected["mqls"])
        assert got["mean_per_week"] == pytest.approx(expected["mqls"] / (60 / 7))
    assert result["variants"]["B"]["mqls"] > result["variants"]["A"]["mqls"] > 0


def test_capacity_threshold_is_the_lowest_candidate_within_capacity(ground_truth):
    generated, ids = ground_truth
    configs = {"A": replay_variant_document(spec={"mql_min_engagement": 50})}
    result = config_replay(configs=configs, start=START, end=END, within_days=30, capacity_per_week=8.0)
    fitted = result["variants"]["A"]["capacity_threshold"]
    assert fitted["mean_per_week"] <= 8.0
    assert direct_count(generated, ids, 50)["mqls"] / (60 / 7) > 8.0  # so the threshold had to rise above 50
    assert fitted["mql_min_engagement"] > 50
    expected = direct_count(generated, ids, fitted["mql_min_engagement"])
    assert fitted["mqls"] == expected["mqls"] and fitted["converted"] == expected["converted"]
    # below the advocate-candidate stage's own volume no MQL threshold helps
    assert config_replay(configs=configs, start=START, end=END, within_days=30,
                         capacity_per_week=0.01)["variants"]["A"]["capacity_threshold"]["mql_min_engagement"] is None


def test_a_variant_is_a_document_or_mql_thresholds(db):
    with pytest.raises(ValidationError) as error:
        replay_variant_document(spec={"mql_min_engagment": 50})
    assert "mql_min_engagment" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        replay_variant_document(spec={"mql_min_engagement": "high"})
    assert "mql_min_engagement" in error.value.message_dict
    doc = replay_variant_document(spec={"mql_min_engagement": 70, "mql_min_fit": 0})
    mql = next(s for s in doc["stages"] if s["name"] == "MQL")
    assert (mql["min_engagement"], mql["min_fit"]) == (70, 0)
