"""Counter-based random bits (lava_plastic.noise): the hash against a plain-Python reference,
uniformity, keys, and numpy/torch equality."""
import numpy as np
import pytest

from lava_plastic.noise import hash32, key_hash, uniform_bits
from lava_plastic.xp import namespace

NP = namespace()


def lowbias32_reference(x: int) -> int:
    """Wellons' lowbias32 written with Python's unbounded integers."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def test_hash_equals_reference():
    values = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 123456789, 0xDEADBEEF, 0x12345678]
    as_int32 = np.array([v - 2**32 if v >= 2**31 else v for v in values], dtype=np.int32)
    got = hash32(as_int32).astype(np.int64) & 0xFFFFFFFF
    assert got.tolist() == [lowbias32_reference(v) for v in values]
    h = lowbias32_reference(lowbias32_reference(0 ^ 7) ^ 9)
    assert key_hash(7, 9) == h


def test_bits_are_uniform_and_keyed():
    bits = uniform_bits((0, 1, 2, 3), (400, 500), 10, NP)
    assert bits.shape == (400, 500) and bits.dtype == np.int32
    assert bits.min() == 0 and bits.max() == 1023
    counts = np.bincount(bits.ravel(), minlength=1024)
    expected = bits.size / 1024
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 1200  # 1023 degrees of freedom: mean 1023, sd 45
    assert abs(bits.mean() - 511.5) < 1.5
    np.testing.assert_array_equal(bits, uniform_bits((0, 1, 2, 3), (400, 500), 10, NP))
    other = uniform_bits((0, 1, 2, 4), (400, 500), 10, NP)
    assert np.mean(bits == other) < 0.01
    # neighbouring elements are uncorrelated
    assert abs(np.corrcoef(bits.ravel()[:-1], bits.ravel()[1:])[0, 1]) < 0.01


@pytest.mark.parametrize("n_bits", [0, 1, 31, 32, 33, 40, 62])
def test_widths(n_bits):
    bits = uniform_bits((5,), (20000,), n_bits, NP)
    assert bits.min() >= 0 and bits.max() < 2**n_bits
    if n_bits >= 8:
        assert bits.max() > 2 ** (n_bits - 1)  # the top bit is drawn
        assert np.mean(bits & 1) == pytest.approx(0.5, abs=0.02)  # so is the bottom one


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_bits"):
        uniform_bits((0,), (3,), 63, NP)
    with pytest.raises(ValueError, match="non-negative"):
        key_hash(0, -1)
    assert key_hash(2**40) != key_hash(2**40 + 1) != key_hash(0)
    assert key_hash(2**40) == lowbias32_reference(lowbias32_reference(0) ^ 2**8)


def test_torch_draws_the_same_bits():
    torch = pytest.importorskip("torch")
    import array_api_compat

    xp = array_api_compat.array_namespace(torch.zeros(1))
    for n_bits in (12, 40):
        np.testing.assert_array_equal(uniform_bits((1, 2), (30, 40), n_bits, xp).numpy(),
                                      uniform_bits((1, 2), (30, 40), n_bits, NP))


def test_a_draw_block_by_block_equals_one_draw():
    whole = uniform_bits((3, 1), (1000,), 12, NP)
    parts = [uniform_bits((3, 1), (n,), 12, NP, start=s) for s, n in ((0, 300), (300, 699), (999, 1))]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    wide = uniform_bits((3, 1), (50,), 40, NP)
    np.testing.assert_array_equal(uniform_bits((3, 1), (20,), 40, NP, start=30), wide[30:])
    with pytest.raises(ValueError, match="positions must lie in"):
        uniform_bits((0,), (10,), 8, NP, start=2**31 - 5)


def test_gaussian_table_is_a_symmetric_standard_normal():
    from statistics import NormalDist

    from lava_plastic.noise import GAUSSIAN_TABLE, NOISE_BITS

    table = GAUSSIAN_TABLE.astype(np.float64) / 2**NOISE_BITS
    assert GAUSSIAN_TABLE.dtype == np.int32 and len(table) == 2**16
    np.testing.assert_array_equal(GAUSSIAN_TABLE, -GAUSSIAN_TABLE[::-1])
    assert np.all(np.diff(table) >= 0) and GAUSSIAN_TABLE.sum() == 0
    assert abs(table.var() - 1) < 5e-5
    assert table.max() == pytest.approx(NormalDist().inv_cdf(1 - 0.5 / 2**16), abs=2**-NOISE_BITS)


@pytest.mark.parametrize("distribution", ["gaussian", "rademacher"])
def test_perturbations_are_keyed_zero_mean_unit_variance(distribution):
    from statistics import NormalDist

    from lava_plastic.noise import NOISE_BITS, perturbation

    z = perturbation((4, 2, 0, 7), (500, 400), distribution, NP)
    assert z.dtype == np.int32 and z.shape == (500, 400)
    values = z.astype(np.float64) / 2**NOISE_BITS
    assert abs(values.mean()) < 5 / np.sqrt(z.size)  # 5 standard errors
    assert abs(values.var() - 1) < 0.01
    assert abs(np.corrcoef(values.ravel()[:-1], values.ravel()[1:])[0, 1]) < 0.01
    other = perturbation((4, 2, 0, 8), (500, 400), distribution, NP).astype(np.float64)
    assert abs(np.corrcoef(values.ravel(), other.ravel())[0, 1]) < 0.01
    if distribution == "rademacher":
        assert set(np.unique(z)) == {-(2**NOISE_BITS), 2**NOISE_BITS}
    else:  # Kolmogorov-Smirnov distance to the normal CDF (1% critical value at 200,000: 0.0036)
        ordered = np.sort(values.ravel())
        cdf = np.array([NormalDist().cdf(v) for v in ordered[::97]])
        empirical = (np.arange(len(ordered))[::97] + 1) / len(ordered)
        assert np.max(np.abs(cdf - empirical)) < 0.004
    parts = [perturbation((4, 2, 0, 7), (n,), distribution, NP, start=s)
             for s, n in ((0, 70_000), (70_000, 130_000))]
    np.testing.assert_array_equal(np.concatenate(parts), z.ravel())
    with pytest.raises(ValueError, match="unknown perturbation distribution"):
        perturbation((0,), (3,), "cauchy", NP)


def test_torch_draws_the_same_perturbations():
    torch = pytest.importorskip("torch")
    import array_api_compat

    from lava_plastic.noise import perturbation

    xp = array_api_compat.array_namespace(torch.zeros(1))
    for distribution in ("gaussian", "rademacher", "sphere"):
        np.testing.assert_array_equal(perturbation((3, 9), (40, 50), distribution, xp).numpy(),
                                      perturbation((3, 9), (40, 50), distribution, NP))


def test_sphere_rows_have_radius_sqrt_n_and_are_uniform():
    """Each row lies on the sphere of radius sqrt(n) (to the rounding of its integers), is the
    normalised Gaussian row of the same key, and rows drawn in blocks equal one draw."""
    from lava_plastic.noise import NOISE_BITS, perturbation

    z = perturbation((6, 1), (2000, 300), "sphere", NP)
    assert z.dtype == np.int32
    values = z.astype(np.float64) / 2**NOISE_BITS
    norms = np.linalg.norm(values, axis=1)
    np.testing.assert_allclose(norms, np.sqrt(300), rtol=0, atol=300**0.5 * 2.0**-NOISE_BITS)
    gaussian = perturbation((6, 1), (2000, 300), "gaussian", NP).astype(np.float64)
    direction = gaussian / np.linalg.norm(gaussian, axis=1, keepdims=True)
    np.testing.assert_allclose(values / norms[:, None], direction, atol=2.0**-NOISE_BITS)
    assert abs(values.mean()) < 5 / np.sqrt(values.size) and abs(values.var() - 1) < 0.01
    # uniform directions: the first coordinate's square averages 1 (= n / n), any row alike
    assert abs(np.mean(values[:, 0] ** 2) - 1) < 0.1
    parts = [perturbation((6, 1), (rows, 300), "sphere", NP, start=first * 300)
             for first, rows in ((0, 700), (700, 1300))]
    np.testing.assert_array_equal(np.concatenate(parts), z)
    with pytest.raises(ValueError, match="starts at a row"):
        perturbation((6, 1), (2, 300), "sphere", NP, start=150)
