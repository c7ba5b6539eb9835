"""DRTP's math (rules/drtp.py) against Algorithm 1 written out by hand, and its fixed-point
forms."""
import math
import pickle

import numpy as np
import pytest

from lava_plastic import ann
from lava_plastic.rules import drtp


def test_rule_is_a_small_picklable_value():
    rule = drtp.DRTP(lr=0.01, n_classes=3, seed=4)
    assert pickle.loads(pickle.dumps(rule)) == rule
    with pytest.raises(Exception):
        rule.lr = 1.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), "learning rate must be a positive"),
    (dict(lr=-1e-3), "learning rate must be a positive"),
    (dict(lr=float("nan")), "learning rate must be a positive"),
    (dict(n_classes=1), "n_classes"),
    (dict(psi_width=0.0), "psi_width"),
])
def test_rule_rejects_impossible_hyper_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        drtp.DRTP(**kwargs)


def test_projection_is_seeded_he_uniform():
    rule = drtp.DRTP(n_classes=10, seed=3)
    (b1, b2) = drtp.projection_matrices(rule, (500, 40))
    assert b1.shape == (10, 500) and b2.shape == (10, 40)
    bound = math.sqrt(6 / 500)
    assert np.abs(b1).max() <= bound and np.abs(b1).max() > 0.95 * bound
    assert abs(b1.std() - bound / math.sqrt(3)) < 0.01 * bound
    np.testing.assert_array_equal(b1, drtp.projection_matrices(rule, (500, 40))[0])
    assert not np.array_equal(b1, drtp.projection_matrices(drtp.DRTP(seed=4), (500,))[0])


def test_quantized_projection_is_signed_8_bit():
    b = np.array([[0.5, -0.25, 0.99, -0.999]])
    assert drtp.quantize_projection(b).tolist() == [[64, -32, 127, -128]]
    with pytest.raises(ValueError, match="signed 8 bits"):
        drtp.quantize_projection(np.array([[1.2]]))


def test_one_hot_and_bad_labels():
    assert drtp.one_hot(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match="label 3 is outside the classes 0..2"):
        drtp.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="label -1"):
        drtp.one_hot(np.array([-1]), 3)
    with pytest.raises(ValueError, match="integers"):
        drtp.one_hot(np.array([0.5]), 3)


def test_surrogates_fixed_is_floor_of_float_limit():
    vth, width_shift = 1 << 16, 16
    v = np.arange(-10, 2**18, 997)
    fixed = drtp.surrogate_fixed(v, vth, width_shift)
    flt = drtp.surrogate_float(v.astype(float), float(vth), float(2**width_shift))
    assert fixed.max() == 2**drtp.PSI_BITS and fixed.min() == 0
    assert np.all(fixed <= np.ceil(flt)) and np.all(fixed >= np.floor(flt) - 1)
    assert drtp.surrogate_fixed(np.array([vth]), vth, width_shift).tolist() == [16]
    assert drtp.surrogate_fixed(np.array([0, 2 * vth]), vth, width_shift).tolist() == [0, 0]


def test_update_fixed_stochastic_rounding_is_unbiased_and_saturates():
    acc = np.full((200, 200), 3 * 2**10 + 2**9)  # 3.5 LSB at lr_shift=10
    noise = drtp.rounding_noise(seed=0, layer=0, update=0, shape=acc.shape, lr_shift=10)
    step = drtp.update_fixed(np.zeros(acc.shape, np.int64), acc, 10, noise)
    assert set(np.unique(step)) == {3, 4}
    assert abs(step.mean() - 3.5) < 0.02
    np.testing.assert_array_equal(noise, drtp.rounding_noise(0, 0, 0, acc.shape, 10))
    assert drtp.update_fixed(np.array([120, -120]), np.array([50 << 10, -(50 << 10)]), 10,
                             np.zeros(2, np.int64)).tolist() == [127, -128]


def test_accumulate_equals_sum_of_outer_products():
    rng = np.random.default_rng(0)
    delta = rng.integers(-2000, 2000, size=(5, 4))
    pre = rng.integers(0, 256, size=(5, 6))
    expected = sum(np.outer(delta[b], pre[b]) for b in range(5))
    np.testing.assert_array_equal(drtp.accumulate(np.zeros((4, 6), np.int64), delta, pre, True), expected)
    np.testing.assert_allclose(drtp.accumulate(np.zeros((4, 6)), delta * 0.5, pre, False),
                               expected * 0.5, rtol=1e-12)


def test_ann_directions_match_algorithm_1_by_hand():
    """tanh hidden, sigmoid output: W1 += eta (B^T y* ⊙ (1 - y1^2)) x^T; W2 += eta/C (y* - y2) y1^T."""
    rng = np.random.default_rng(1)
    rule = drtp.DRTP(n_classes=3, seed=0)
    params = ann.init_ann((5, 4, 3), seed=0)
    (b,) = drtp.projection_matrices(rule, (4,))
    x = rng.random((1, 5))
    y_star = drtp.one_hot(np.array([1]), 3)
    dirs, _ = ann.drtp_directions(rule, (b,), params, x, y_star)
    w1, w2 = params.weights
    y1 = np.tanh(x[0] @ w1.T)
    y2 = 1 / (1 + np.exp(-(y1 @ w2.T)))
    np.testing.assert_allclose(dirs[0], np.outer((b.T @ y_star[0]) * (1 - y1**2), x[0]), rtol=1e-12)
    np.testing.assert_allclose(dirs[1], np.outer((y_star[0] - y2) / 3, y1), rtol=1e-12)
    np.testing.assert_allclose(dirs[3], (y_star[0] - y2) / 3, rtol=1e-12)
