"""outcomes.weights alone (no database): features counted like the rules count points, the fit, the scaling."""
import numpy as np
import pytest

from community_scoring.outcomes.weights import (
    CalibrationDataError, Feature, feature_matrix, points_scale, weights_fit,
)
from community_scoring.scoring.ledger import BucketTally


def test_features_are_decayed_capped_once_only_counts():
    tallies = {7: [BucketTally("answer", False, 100.0, count=7), BucketTally("answer", False, 110.0, count=2),
                   BucketTally("signup", False, 90.0, count=1), BucketTally("signup", False, 95.0, count=1),
                   BucketTally("vote_up", True, 110.0, count=4), BucketTally("answer", False, 121.0, count=3)]}
    features = [Feature("answer", False, count_cap=5.0), Feature("signup", False, once_only=True),
                Feature("vote_up", True), Feature("read", False)]
    x = feature_matrix(tallies=tallies, member_ids=[7, 8], features=features, as_of=120.0, half_life_days=10.0)
    # answer: min(7, 5) * 2^-2 + 2 * 2^-1 (day 121 is after as_of) = 1.25 + 1; signup: first day only, 2^-3;
    # vote_up received: 4 * 2^-1; read: none; member 8: nothing
    assert x.tolist() == [[2.25, 0.125, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    no_decay = feature_matrix(tallies=tallies, member_ids=[7], features=features[:1], as_of=120.0, half_life_days=None)
    assert no_decay.tolist() == [[7.0]]


def test_points_scale_keeps_the_total_of_absolute_points():
    # k = (8 + 5 + 10) / (2 + 1 + 1) = 5.75
    assert points_scale([2.0, -1.0, 1.0], [8, 5, -10]) == [11.5, -5.8, 5.8]  # -5.75 rounds half to even: -5.8
    assert points_scale([0.5, 0.25], [0, 0]) == [10.0, 5.0]  # no current points: the largest becomes 10
    assert points_scale([0.0, 0.0], [3, 4]) == [0.0, 0.0]


def test_the_fit_recovers_signs_and_ordering_on_a_known_model():
    rng = np.random.default_rng(3)
    x = rng.exponential(2.0, size=(800, 3))
    truth = np.array([1.0, 0.3, -0.6])
    y = rng.random(800) < 1 / (1 + np.exp(-(x @ truth - 0.5)))
    fit = weights_fit(x, y)
    w = np.array(fit.coefficients)
    assert w[0] > w[1] > 0 > w[2]
    assert np.allclose(w, truth, atol=0.25)


def test_too_few_conversions_cannot_be_fitted():
    x = np.arange(40, dtype=float).reshape(20, 2)
    with pytest.raises(CalibrationDataError, match="conversions"):
        weights_fit(x, [True] * 3 + [False] * 17)
    with pytest.raises(CalibrationDataError, match="varies"):
        weights_fit(np.ones((20, 2)), [True] * 10 + [False] * 10)


def test_calibration_cautions_say_when_not_to_apply_a_suggestion():
    from community_scoring.outcomes.weights import calibration_cautions

    assert calibration_cautions(training_converted=200, weights=12, current_auc=0.62, suggested_auc=0.87) == []
    few = calibration_cautions(training_converted=15, weights=20, current_auc=0.62, suggested_auc=0.87)
    assert len(few) == 1 and "Only 15 conversions to learn 20 weights" in few[0]
    worse = calibration_cautions(training_converted=500, weights=20, current_auc=0.683, suggested_auc=0.653)
    assert len(worse) == 1 and "AUC 0.653 against 0.683" in worse[0]
    assert len(calibration_cautions(training_converted=0, weights=3, current_auc=None, suggested_auc=None)) == 2
