"""The influence formula and its parts, checked against numbers worked out by hand."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from community_scoring.influence import formula


def test_percentiles_share_strictly_below():
    # Values 1, 5, 5, 9: below counts 0, 1, 1, 3 over n-1 = 3 others.
    np.testing.assert_allclose(formula.percentiles(np.array([5, 1, 9, 5])), [100 / 3, 0, 100, 100 / 3])
    np.testing.assert_allclose(formula.percentiles(np.array([0, 0, 0])), [0, 0, 0])
    assert formula.percentiles(np.array([])).shape == (0,)


def test_centrality_percentiles_treat_rounding_noise_as_ties():
    values = np.array([0.25 + 1e-17, 0.25, 0.25 - 1e-17, 0.25])
    np.testing.assert_allclose(formula.centrality_percentiles(values), [0, 0, 0, 0])


def test_ranks_highest_first_ties_by_member_id():
    np.testing.assert_array_equal(formula.ranks(np.array([0.2, 0.5, 0.2, 0.1]), np.array([9, 3, 4, 1])), [3, 1, 2, 4])


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


def test_advocates_and_detractors():
    adv, det = formula.advocates_and_detractors(
        np.array([80, 80, 80, 30]), np.array([0.3, -0.3, 0.0, 0.9]), advocate_min_influence=60,
        advocate_min_sentiment=0.05, detractor_min_influence=60, detractor_max_sentiment=-0.05,
    )
    np.testing.assert_array_equal(adv, [True, False, False, False])
    np.testing.assert_array_equal(det, [False, True, False, False])


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
