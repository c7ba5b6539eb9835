"""Properties of the fixed-point helpers, checked against Lava's own code where it has one."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from lava.utils.weightutils import SignMode, clip_weights, determine_sign_mode, truncate_weights

from lava_plastic import fixed_point as fp

ints = st.integers(min_value=-(2**40), max_value=2**40)
int_arrays = arrays(np.int64, st.integers(1, 20), elements=ints)


@given(int_arrays, st.integers(2, 33))
def test_wrap_is_modular_and_in_range(x, bits):
    w = fp.wrap(x, bits)
    assert np.all(w >= -(2 ** (bits - 1))) and np.all(w < 2 ** (bits - 1))
    assert np.all((w - x) % (2**bits) == 0)


def test_wrap_edges_24_bits():
    x = np.array([2**23 - 1, 2**23, -(2**23), -(2**23) - 1, 2**24 + 5])
    assert fp.wrap(x, 24).tolist() == [2**23 - 1, -(2**23), -(2**23), 2**23 - 1, 5]


def test_wrap_once_matches_lava_edges():
    # Lava: u -= 2^24 if u > 2^23; u += 2^24 if u <= -2^23 (once, not modular).
    x = np.array([2**23, 2**23 + 1, -(2**23) + 1, -(2**23), 3 * 2**23 + 7, -(3 * 2**23)])
    assert fp.wrap_once(x).tolist() == [
        2**23, -(2**23) + 1, -(2**23) + 1, 2**23, 2**23 + 7, -(2**23)
    ]


@given(int_arrays)
def test_wrap_once_equals_lava_expression(x):
    half = 2**23
    first = np.where(x > half, x - 2 * half, x)
    expected = np.where(first <= -half, x + 2 * half, first)
    np.testing.assert_array_equal(fp.wrap_once(x), expected)


@given(arrays(np.int64, st.integers(1, 20),
              elements=st.integers(-(3 * 2**23) + 1, 3 * 2**23 - 1)))
def test_wrap_once_with_a_bound_uses_the_modular_form_with_the_same_integers(x):
    expected = fp.wrap_once(x)
    np.testing.assert_array_equal(fp.wrap_once(x, bound=3 * 2**23 - 1), expected)
    edges = np.array([3 * 2**23 - 1, -(3 * 2**23) + 1, 2**23, 2**23 + 1, -(2**23), 1 - 2**23])
    np.testing.assert_array_equal(fp.wrap_once(edges, bound=3 * 2**23 - 1), fp.wrap_once(edges))


@given(int_arrays, st.integers(2, 33))
def test_saturate_clamps_symmetrically(x, bits):
    s = fp.saturate(x, bits)
    limit = 2 ** (bits - 1) - 1
    np.testing.assert_array_equal(s, np.minimum(np.maximum(x, -limit), limit))


def test_saturate_edges():
    assert fp.saturate(np.array([2**23, 2**23 - 1, -(2**23), -(2**23) + 1]), 24).tolist() == [
        2**23 - 1, 2**23 - 1, -(2**23) + 1, -(2**23) + 1
    ]


@given(int_arrays, st.integers(0, 20))
def test_shift_toward_zero_is_symmetric(x, n):
    r = fp.shift_right_toward_zero(x, n)
    np.testing.assert_array_equal(r, -fp.shift_right_toward_zero(-x, n))
    np.testing.assert_array_equal(r, np.trunc(x / 2.0**n).astype(np.int64))


def test_shifts_of_negative_numbers():
    x = np.array([-1, -3, -4096, -4097, 5])
    assert fp.shift_right_toward_zero(x, 1).tolist() == [0, -1, -2048, -2048, 2]
    # the arithmetic (floor) shift used for exponents: -1 >> 1 stays -1
    assert fp.shift_by_exponent(x, -1).tolist() == [-1, -2, -2048, -2049, 2]
    assert fp.shift_by_exponent(x, 2).tolist() == [-4, -12, -16384, -16388, 20]


@given(int_arrays, st.integers(-10, 10))
def test_shift_by_exponent_is_floor_of_scaling(x, e):
    expected = x * 2**e if e >= 0 else np.floor_divide(x, 2**-e)
    np.testing.assert_array_equal(fp.shift_by_exponent(x, e), expected)


@given(arrays(np.int64, st.integers(1, 20), elements=st.integers(-(2**24), 2**24)),
       st.integers(0, 4095))
def test_decay_matches_lava_formula(x, d):
    product = x * (4096 - (d + 1))
    expected = np.sign(product) * (np.abs(product) >> 12)
    np.testing.assert_array_equal(fp.decay(x, d, offset=1), expected)


weights = arrays(np.int64, st.tuples(st.integers(1, 6), st.integers(1, 6)),
                 elements=st.integers(-400, 400))

_LAVA_MODE = {fp.SIGN_MIXED: SignMode.MIXED, fp.SIGN_EXCITATORY: SignMode.EXCITATORY,
              fp.SIGN_INHIBITORY: SignMode.INHIBITORY}


@settings(max_examples=300)
@given(weights, st.integers(1, 8))
def test_weight_quantization_equals_lava(w, num_weight_bits):
    mode = fp.sign_mode(w)
    lava_mode = determine_sign_mode(w)
    assert _LAVA_MODE[mode] == lava_mode
    expected = truncate_weights(clip_weights(w, lava_mode, num_bits=8), lava_mode, num_weight_bits)
    np.testing.assert_array_equal(fp.quantize_weights(w, num_weight_bits), expected)


def test_weight_truncation_examples():
    # mixed sign: 7 bits + sign at num_weight_bits=8, so odd weights become even (floor)
    assert fp.quantize_weights(np.array([-3, 5, 255, -256]), 8).tolist() == [-4, 4, 254, -256]
    # excitatory, 6 bits: multiples of 4
    assert fp.quantize_weights(np.array([0, 7, 255]), 6).tolist() == [0, 4, 252]
    # inhibitory truncates the magnitude
    assert fp.quantize_weights(np.array([0, -7, -255]), 6).tolist() == [0, -4, -252]
    # clipping to the 8-bit range
    assert fp.quantize_weights(np.array([0, 300]), 8).tolist() == [0, 255]


def test_as_int_refuses_fractions_and_nan():
    assert fp.as_int(np.array([1.0, -2.0])).tolist() == [1, -2]
    with pytest.raises(ValueError, match="whole number"):
        fp.as_int(np.array([0.5]))
    with pytest.raises(ValueError, match="NaN"):
        fp.as_int(np.array([np.nan]))
