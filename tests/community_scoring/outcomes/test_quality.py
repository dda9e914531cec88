"""The quality report, figure by figure, on a community worked out by hand (quality_community.py), and its AUC
against scikit-learn on a random community scored independently (a direct decayed sum over the log)."""
import random
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from sklearn.metrics import roc_auc_score

from community_scoring.models import Action
from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.services.quality import (
    quality_period_parse, quality_population, quality_query_parse, quality_report,
)
from tests.community_scoring.outcomes.quality_community import (
    DAY, END, FULL_FIT, START, T, outcome, quality_community_build,
)
from tests.community_scoring.services.interest_helpers import install_test_config
from tests.factories import ActionFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def community():
    return quality_community_build()


def report(**kwargs):
    return quality_report(**{"period_days": 90, "within_days": 30, "end": END, **kwargs})


def test_population_is_the_members_who_acted_by_t_and_had_not_converted(community):
    expected = {community[n].pk for n in "ABCDEFL"}
    assert set(quality_population(at=T)) == expected
    assert report()["members"] == 7


def test_the_headline_figures_are_the_hand_worked_ones(community):
    r = report()
    assert r["T"] == T and r["start"] == START and r["end"] == END
    assert r["converted"] == 4  # A, B, D (sql exactly at the end counts), E (a trial); not F (a second late)
    assert r["conversion_rate"] == pytest.approx(4 / 7)
    # Scores at T: B 85+, C 80-, A 75+, D 15+, L 5-, F 3-, E 0.625+. Pairs a positive wins: B 3, A 2, D 2, E 0.
    assert r["auc"] == pytest.approx(7 / 12)
    # Deciles of 7: ceil(10 * rank / 7) -> E 2, F 3, L 5, D 6, A 8, C 9, B 10; the top decile (B) converts at 1.
    assert r["top_decile_lift"] == pytest.approx(1 / (4 / 7))
    assert r["mql_members"] == 3 and r["mql_converted"] == 2 and r["mql_precision"] == pytest.approx(2 / 3)


def test_conversion_rate_per_stage_and_per_decile(community):
    r = report()
    assert r["by_stage"] == [
        {"stage": "visitor", "members": 4, "converted": 2, "rate": 0.5},
        {"stage": "engaged", "members": 0, "converted": 0, "rate": None},
        {"stage": "MQL", "members": 3, "converted": 2, "rate": pytest.approx(2 / 3)},
    ]
    by_decile = {row["decile"]: row for row in r["by_decile"]}
    assert list(by_decile) == list(range(1, 11))
    expected = {2: (1, 0.625), 3: (0, 3.0), 5: (0, 5.0), 6: (1, 15.0), 8: (1, 75.0), 9: (0, 80.0), 10: (1, 85.0)}
    for decile, row in by_decile.items():
        if decile in expected:
            converted, score = expected[decile]
            assert (row["members"], row["converted"], row["rate"]) == (1, converted, float(converted))
            assert row["min_score"] == pytest.approx(score) and row["max_score"] == pytest.approx(score)
        else:
            assert row == {"decile": decile, "members": 0, "converted": 0, "rate": None, "min_score": None,
                           "max_score": None}


def test_mql_funnel_figures(community):
    r = report(capacity_per_week=1)
    # Cohort: entries A, C (T-10), B (T), G (T+1); A and G then B got sql/sales_accepted after entering; C rejected.
    assert (r["mql_cohort"], r["mql_cohort_sql"], r["mql_to_sql_rate"]) == (4, 3, 0.75)
    # Days from entry to the first conversion after it: A 14 (accepted), B 8 (accepted), G 1 (sql) -> median 8.
    assert r["mql_conversions"] == 3 and r["median_days_mql_to_conversion"] == pytest.approx(8)
    # Outcomes in [START, END]: accepted A, B; rejected C at T+3 (not C's before START, not the staff member's).
    assert (r["sales_accepted"], r["sales_rejected"]) == (2, 1)
    assert r["sales_acceptance_rate"] == pytest.approx(2 / 3)
    weeks = r["mql_per_week"]
    assert len(weeks) == 13 and weeks[0]["week_start"] == START and weeks[-1]["days"] == 6
    assert [w["mql"] for w in weeks] == [0] * 7 + [2, 2] + [0] * 4
    assert r["capacity_per_week"] == 1 and r["weeks_over_capacity"] == 2
    assert r["outcomes_recorded"] == 11


@override_settings(OUTCOME_SALES_CAPACITY_PER_WEEK=2)
def test_capacity_defaults_to_the_setting(community):
    r = report()
    assert r["capacity_per_week"] == 2 and r["weeks_over_capacity"] == 0


def test_persona_filter_ignores_case(community):
    r = report(persona="DEVELOPER")
    assert (r["members"], r["converted"]) == (2, 2)  # A and D
    assert r["auc"] is None  # no negatives: AUC undefined, not a division by zero
    assert (r["mql_cohort"], r["mql_to_sql_rate"]) == (1, 1.0)  # A
    assert (r["sales_accepted"], r["sales_rejected"]) == (1, 0)


def test_source_filter_counts_members_who_came_through_it_by_any_identity(community):
    crm = report(source="crm")
    assert (crm["members"], crm["converted"]) == (1, 0)  # L, through its merged identity K
    assert crm["by_stage"][0] == {"stage": "visitor", "members": 1, "converted": 0, "rate": 0.0}
    assert report(source="test")["members"] == 7


def test_an_unknown_source_gives_nulls_not_errors(community):
    r = report(source="nowhere")
    assert (r["members"], r["converted"], r["outcomes_recorded"]) == (0, 0, 0)
    for figure in ("auc", "top_decile_lift", "conversion_rate", "mql_precision", "mql_to_sql_rate",
                   "sales_acceptance_rate", "median_days_mql_to_conversion"):
        assert r[figure] is None, figure
    assert all(row["rate"] is None for row in r["by_stage"] + r["by_decile"])


def test_the_conversion_set_decides_both_the_exclusions_and_the_labels(community):
    r = report(conversion_types=["won", "sql"])
    # H's "converted" at T is no longer a conversion: H joins (score 5 * 2^-0.5); positives B (won) and D (sql).
    assert r["members"] == 8 and r["converted"] == 2
    assert r["conversion_types"] == ["won", "sql"]
    trial = report(conversion_types=["converted:trial"])
    assert trial["members"] == 8 and trial["converted"] == 1  # E only


def test_within_days_moves_t(community):
    r = quality_report(period_days=90, within_days=10, end=END)
    # T' = END - 10 days = T + 20: A, B, E, G (converted by T'), H, N and the staff member are out: C, D, F, L.
    assert r["T"] == END - 10 * DAY
    assert r["members"] == 4 and r["converted"] == 1  # D's sql at END
    # Scores at T': C 110/8 + 25 = 38.75, D 20/16 + 10 = 11.25, L 10/8 = 1.25, F 6/8 = 0.75; D beats L and F.
    assert r["auc"] == pytest.approx(2 / 3)
    assert r["by_stage"][0]["members"] == 4  # C's engagement decayed to 13.75: a visitor at T'


def test_an_empty_community_answers_with_nulls(db):
    install_test_config()
    r = report()
    assert r["members"] == 0 and r["auc"] is None and r["outcomes_recorded"] == 0
    assert [w["mql"] for w in r["mql_per_week"]] == [0] * 13


def _decayed(points: float, day_start_days: float, at_days: float) -> float:
    return points * 2 ** (-(at_days - day_start_days) / 10)


def test_auc_matches_scikit_learn_on_an_independently_scored_random_community(db):
    """40 members with random questions and comments around T, random fit and random conversions: the population,
    the scores (a direct decayed sum over the log, from each action's UTC day) and the labels are rebuilt here from
    the rows, without the engine; the report's AUC must be scikit-learn's on them."""
    install_test_config()
    rng = random.Random(14)
    members = []
    for i in range(40):
        attributes = rng.choice([{}, {"job_title": "engineer"}, FULL_FIT])
        member = MemberFactory(attributes=attributes, is_excluded=(i == 0))
        members.append(member)
        for _ in range(rng.randint(0, 8)):
            kind = rng.choice(["question", "comment"])
            ActionFactory(member=member, action_type_id=kind,
                          occurred_at=T - timedelta(seconds=rng.randint(-10 * 86400, 60 * 86400)))
        if rng.random() < 0.5:
            outcome(member, rng.choice(["converted", "won", "sql", "sales_rejected", "lost"]),
                    T + timedelta(seconds=rng.randint(-20 * 86400, 35 * 86400)))
    epoch = T.replace(hour=0, minute=0, second=0)
    at_days = (T - epoch).total_seconds() / 86400
    conversions = {"converted", "won", "sql", "sales_accepted"}
    scores, labels = [], []
    for member in members:
        actions = [a for a in Action.objects.filter(member=member) if a.occurred_at <= T]
        outcomes = [o for o in Outcome.objects.filter(member=member) if o.type in conversions]
        if member.is_excluded or not actions or any(o.occurred_at <= T for o in outcomes):
            continue
        engagement = 0.0
        for a in actions:
            day = a.occurred_at.replace(hour=0, minute=0, second=0, microsecond=0)
            engagement += _decayed({"question": 5, "comment": 3}[a.action_type_id],
                                   (day - epoch).total_seconds() / 86400, at_days)
        fit = (10 if "engineer" in member.attributes.get("job_title", "") else 0) + \
            (15 if member.attributes.get("company_size", 0) >= 200 else 0)
        scores.append(engagement + fit)
        labels.append(any(T < o.occurred_at <= END for o in outcomes))
    assert 10 < len(scores) < 40 and 0 < sum(labels) < len(labels)  # the draw exercises every rule
    r = report()
    assert r["members"] == len(scores) and r["converted"] == sum(labels)
    assert r["auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert r["by_decile"][9]["max_score"] == pytest.approx(max(scores))


@pytest.mark.parametrize("text, days", [("90d", 90), ("12w", 84), ("1D", 1), (" 30d ", 30)])
def test_period_parse(text, days):
    assert quality_period_parse(text) == days


@pytest.mark.parametrize("text", ["", "90", "0d", "3651d", "-5d", "1.5w", "d", "90 days", "9999w"])
def test_period_parse_refuses(text):
    with pytest.raises(ValueError):
        quality_period_parse(text)


def test_query_parse_defaults_and_values():
    assert quality_query_parse(params={}) == {
        "period_days": 90, "within_days": 30, "persona": None, "source": None, "conversion_types": None,
        "capacity_per_week": None, "end": None}
    parsed = quality_query_parse(params={"period": "12w", "within_days": "14", "persona": " dev ", "source": "crm",
                                         "conversions": "won, converted:trial", "capacity": "12.5",
                                         "end": "2026-06-01T00:00:00Z"})
    assert parsed == {"period_days": 84, "within_days": 14, "persona": "dev", "source": "crm",
                      "conversion_types": ["won", "converted:trial"], "capacity_per_week": 12.5, "end": END}
    assert quality_query_parse(params={"end": "2026-05-31"})["end"] == END  # a date: the end of that day
    assert quality_query_parse(params={"end": "2026-06-01T00:00:00"})["end"] == END  # no zone: UTC


@pytest.mark.parametrize("params, field", [
    ({"period": "ninety"}, "period"), ({"within_days": "0"}, "within_days"), ({"within_days": "x"}, "within_days"),
    ({"within_days": "-3"}, "within_days"), ({"persona": "a" * 65}, "persona"), ({"source": "a\x00"}, "source"),
    ({"conversions": "won,bogus"}, "conversions"), ({"conversions": " , "}, "conversions"),
    ({"capacity": "-1"}, "capacity"), ({"capacity": "nan"}, "capacity"), ({"capacity": "lots"}, "capacity"),
    ({"end": "yesterday"}, "end"), ({"end": "2026-13-01"}, "end"), ({"end": "2026-06-01T00:00:00Z\x00junk"}, "end"),
])
def test_query_parse_names_the_bad_field(params, field):
    with pytest.raises(ValidationError) as caught:
        quality_query_parse(params=params)
    assert list(caught.value.message_dict) == [field]
