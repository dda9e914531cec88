"""The influence formula and its parts, checked against numbers worked out by hand."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from community_scoring.influence import formula


def test_percentiles_are_mid_rank():
    # Values 1, 5, 5, 9 over n-1 = 3 others: 1 has 0 below; each 5 has 1 below and 1 equal other: (1 + 0.5)/3;
    # 9 has 3 below.
    np.testing.assert_allclose(formula.percentiles(np.array([5, 1, 9, 5])), [50, 0, 100, 50])
    np.testing.assert_allclose(formula.percentiles(np.array([0, 0, 0])), [50, 50, 50])
    np.testing.assert_allclose(formula.percentiles(np.array([7.0])), [50])
    assert formula.percentiles(np.array([])).shape == (0,)


def test_percentiles_against_a_reference():
    # Reference: 1, 5, 9 (the 100 is outside it). 5 (inside): 1 below of 2 others -> 50; 100 (outside): 3 below
    # of 3 -> 100; a 5 outside would be 1 below + 0.5 equal of 3.
    got = formula.percentiles(np.array([1, 5, 9, 100, 5]), reference=np.array([True, True, True, False, False]))
    np.testing.assert_allclose(got, [0, 50, 100, 100, 100 * 1.5 / 3])


@given(st.lists(st.integers(0, 5), min_size=2, max_size=30))
def test_mid_rank_percentiles_average_exactly_50(values):
    assert formula.percentiles(np.array(values, dtype=float)).mean() == pytest.approx(50.0)


def test_centrality_percentiles_treat_rounding_noise_as_ties():
    values = np.array([0.25 + 1e-17, 0.25, 0.25 - 1e-17, 0.25])
    np.testing.assert_allclose(formula.centrality_percentiles(values), [50, 50, 50, 50])


def test_evidence_percentiles_by_hand():
    # Reach 0, 0, 0, 1, 6 with k = 10: mid-rank M = 25, 25, 25, 75, 100 (the three zeros: 0 below, 2 equal of 4).
    # w = 0, 0, 0, 1/11, 6/16: P = 50, 50, 50, 1/11 * 75 + 10/11 * 50, 6/16 * 100 + 10/16 * 50.
    reach = np.array([0, 0, 0, 1, 6])
    got = formula.evidence_percentiles(reach, reach, prior=10)
    np.testing.assert_allclose(got, [50, 50, 50, (75 + 500) / 11, (600 + 500) / 16])
    # k = 0: plain mid-rank percentiles.
    np.testing.assert_allclose(formula.evidence_percentiles(reach, reach, prior=0), [25, 25, 25, 75, 100])


def test_one_follower_cannot_lift_anyone_past_50_plus_50_over_1_plus_k():
    # A community of 99 lurkers and a newcomer with one source: mid-rank M = 100 for the newcomer, yet
    # P = 100/11 + 500/11 = 54.5 with k = 10; the lurkers sit at exactly 50.
    values = np.r_[np.zeros(99), 1.0]
    evidence = np.r_[np.zeros(99), 1.0]
    got = formula.evidence_percentiles(values, evidence, prior=10)
    assert got[-1] == pytest.approx(600 / 11) and (got[:-1] == 50).all()


def test_evidence_share_and_label():
    # Sources 1, reach 1, k = 10: w_C = w_R = 1/11; a = 0.7, b = 0.3: W = 1/11 -> little.
    # Sources 30, reach 10: w_C = 0.75, w_R = 0.5: W = 0.7 * 0.75 + 0.3 * 0.5 = 0.675 -> solid.
    share = formula.evidence_share(np.array([1, 30, 4]), np.array([1, 10, 4]), prior=10, centrality_weight=0.7,
                                   reach_weight=0.3)
    np.testing.assert_allclose(share, [1 / 11, 0.675, 4 / 14])
    assert [formula.evidence_label(w) for w in share] == ["little", "solid", "some"]


def test_ranks_are_competition_ranks_with_ties_sharing():
    # 0.5 first; the two 0.2 share 2; 0.1 is 4th ("1224"); members tied at 0 share the last rank.
    np.testing.assert_array_equal(formula.ranks(np.array([0.2, 0.5, 0.2, 0.1, 0.0, 0.0])), [2, 1, 2, 4, 5, 5])


def test_ranks_count_only_eligible_members_above():
    # The ineligible 0.9 counts above nobody: the eligible keep 1, 2, 2; it gets the rank its value would have (1).
    got = formula.ranks(np.array([0.9, 0.5, 0.2, 0.2]), eligible=np.array([False, True, True, True]))
    np.testing.assert_array_equal(got, [1, 1, 2, 2])


def test_member_sentiment_blends_and_shrinks():
    # Wrote 2 texts summing 1.2, received 4 summing -0.8 at weight 0.5, prior 3:
    # (1.2 + 0.5 * -0.8) / (2 + 0.5 * 4 + 3) = 0.8 / 7.
    s = formula.member_sentiment(np.array([1.2, 0.0]), np.array([2, 0]), np.array([-0.8, 0.0]), np.array([4, 0]),
                                 received_weight=0.5, prior=3)
    np.testing.assert_allclose(s, [0.8 / 7, 0.0])


def test_influence_by_hand():
    # C = 90, R = 50, a = 0.7, b = 0.3: base = 78. s = 0.5, g = 0.2: factor = 1.1 / 1.2.
    terms = formula.influence_scores(np.array([90.0]), np.array([50.0]), np.array([0.5]),
                                     centrality_weight=0.7, reach_weight=0.3, sentiment_weight=0.2)
    assert terms.base[0] == pytest.approx(78.0)
    assert terms.influence[0] == pytest.approx(78.0 * 1.1 / 1.2)


@given(st.floats(0, 100), st.floats(0, 100), st.floats(-1, 1), st.floats(-1, 1), st.floats(0, 5), st.floats(0, 5))
def test_influence_bounded_and_moves_with_sentiment_in_the_configured_direction(c, r, s, g, a, b):
    if a + b == 0:
        a = 1
    terms = formula.influence_scores(np.array([c, c]), np.array([r, r]), np.array([s, min(s + 0.5, 1.0)]),
                                     centrality_weight=a, reach_weight=b, sentiment_weight=g)
    assert (0 <= terms.influence).all() and (terms.influence <= 100 + 1e-9).all()
    low, high = terms.influence
    if g > 0:
        assert high >= low - 1e-12
    elif g < 0:
        assert high <= low + 1e-12


def test_advocates_and_detractors_are_judged_on_the_base_with_enough_texts():
    # Base 80 with sentiment -0.6 over 12 texts: a detractor even though influence after the penalty is lower.
    # Base 80, 0.3, only 2 texts: neither. Base 55: too little influence. Ineligible (staff): never flagged.
    base = np.array([80, 80, 80, 80, 55, 80])
    sentiment = np.array([0.3, -0.6, 0.0, 0.3, 0.9, 0.9])
    texts = np.array([5, 12, 9, 2, 9, 9])
    eligible = np.array([True, True, True, True, True, False])
    adv, det = formula.advocates_and_detractors(
        base, sentiment, texts, eligible=eligible, advocate_min_influence=60, advocate_min_sentiment=0.05,
        detractor_min_influence=60, detractor_max_sentiment=-0.05, min_texts=3,
    )
    np.testing.assert_array_equal(adv, [True, False, False, False, False, False])
    np.testing.assert_array_equal(det, [False, True, False, False, False, False])


def test_flag_reason_in_words():
    reason = formula.flag_reason(is_advocate=False, is_detractor=True, base=73.6, centrality_pct=81.2,
                                 reach_pct=66.0, sentiment=-0.4213, texts=12, received=0)
    assert reason == ("influence before sentiment 74 (centrality 81st pct, reach 66th pct); "
                      "sentiment -0.42 over 12 texts")
    reason = formula.flag_reason(is_advocate=True, is_detractor=False, base=61.0, centrality_pct=72.0,
                                 reach_pct=13.0, sentiment=0.2, texts=1, received=1)
    assert reason == ("influence before sentiment 61 (centrality 72nd pct, reach 13th pct); sentiment 0.20 over 1 "
                      "text and 1 reply received")
    assert formula.flag_reason(is_advocate=False, is_detractor=False, base=90, centrality_pct=90, reach_pct=90,
                               sentiment=0, texts=0, received=0) is None


def test_edge_decay_halves_every_half_life():
    day = 86400.0
    ages = np.array([0.0, 10.0, 20.0, 35.0]) * day
    np.testing.assert_allclose(formula.edge_decay(1000 * day - ages, ref_epoch=1000 * day, half_life_days=10),
                               [1.0, 0.5, 0.25, 2 ** -3.5])


def test_edge_weights_net_reversals_per_type_and_clamp_at_zero():
    types = ["follow", "read", "unfollow", "unvote", "vote_up"]
    weights = {"follow": 3.0, "vote_up": 1.0, "read": 0.2}
    reversals = {"unfollow": "follow", "unvote": "vote_up"}
    # Group 0: follow (decay 1) then unfollow (0.5): 3 * 0.5 = 1.5, plus a read at 0.25: 0.2 * 0.25 = 0.05.
    # Group 1: an unvote (1) with no vote, and a vote (0.5): max(0, 0.5 - 1) = 0; its follow (0.25) stays: 0.75.
    # Group 2: unfollow only: 0 (not negative).
    group = np.array([0, 0, 0, 1, 1, 1, 2])
    kind = np.array([0, 2, 1, 3, 4, 0, 2])
    decay = np.array([1.0, 0.5, 0.25, 1.0, 0.5, 0.25, 1.0])
    got = formula.edge_weights(group, kind, decay, groups=4, types=types, weights=weights, reversals=reversals)
    np.testing.assert_allclose(got, [1.5 + 0.05, 0.75, 0.0, 0.0])
    # A type with weight 0 (or no weight) adds nothing, and a reversing type never carries a weight of its own.
    got = formula.edge_weights(group, kind, decay, groups=4, types=types,
                               weights={"follow": 0.0, "read": 0.2, "unvote": 5.0}, reversals=reversals)
    np.testing.assert_allclose(got, [0.05, 0.0, 0.0, 0.0])


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 30)), min_size=2, max_size=40), st.floats(0, 50))
def test_evidence_percentiles_and_ranks_agree_with_scipy(rows, prior):
    from scipy.stats import rankdata

    values = np.array([v for v, _ in rows], dtype=float)
    evidence = np.array([e for _, e in rows], dtype=float)
    n = len(values)
    midrank = 100 * (rankdata(values, method="average") - 1) / (n - 1)  # average rank - 1 = below + ties / 2
    w = evidence / (evidence + prior) if prior > 0 else np.ones(n)
    got = formula.evidence_percentiles(values, evidence, prior=prior)
    np.testing.assert_allclose(got, w * midrank + (1 - w) * 50, atol=1e-9)
    assert ((0 <= got) & (got <= 100)).all()
    np.testing.assert_array_equal(formula.ranks(values), rankdata(-values, method="min"))
