"""The engine against Lava's simulator: the same network description, the same inputs.

Fixed point: identical spikes and identical integer u, v at every step.
Float: identical spikes; u, v equal within rtol 1e-12, atol 1e-9 (Lava sums the weight columns
of spiking inputs, the engine uses a matrix product: the sums differ only by float64 rounding).
"""
import numpy as np
import pytest

from lava_plastic.engine import simulate
from lava_plastic.lava_graph import run_lava
from lava_plastic.network import LIFLayer, LIFNetwork, random_network

pytestmark = [pytest.mark.lava, pytest.mark.usefixtures("lava_clean")]

FLOAT_TOL = dict(rtol=1e-12, atol=1e-9)


def random_case(seed: int, precision: str, batch: int):
    """A random network and input; redrawn (deterministically) until every layer spikes in
    the engine, so that no case is vacuous."""
    for attempt in range(100):
        net, x = draw_case(np.random.default_rng([seed, attempt]), precision, batch,
                          graded=bool(seed % 2))
        if all(s.any() for s in simulate(net, x, record_state=False).spikes):
            return net, x
    raise AssertionError(f"no active network drawn for seed {seed}")


def draw_case(rng, precision: str, batch: int, graded: bool):
    n_layers = int(rng.integers(2, 5))
    sizes = tuple(int(n) for n in rng.integers(2, 12, size=n_layers + 1))
    net = random_network(rng, sizes, precision, graded_input=graded)
    n_steps = int(rng.integers(8, 20))
    if graded:
        x = rng.integers(0, 64, size=(batch, n_steps, sizes[0])).astype(float)
    else:
        x = (rng.random((batch, n_steps, sizes[0])) < 0.4).astype(float)
    return net, x


def assert_parity(net, x):
    lava_spikes, lava_u, lava_v = run_lava(net, x)
    trace = simulate(net, x)
    for k in range(len(net.layers)):
        np.testing.assert_array_equal(lava_spikes[k], trace.spikes[k], err_msg=f"spikes, layer {k}")
        if net.precision == "fixed":
            np.testing.assert_array_equal(lava_u[k], trace.u[k], err_msg=f"u, layer {k}")
            np.testing.assert_array_equal(lava_v[k], trace.v[k], err_msg=f"v, layer {k}")
        else:
            np.testing.assert_allclose(lava_u[k], trace.u[k], **FLOAT_TOL, err_msg=f"u, layer {k}")
            np.testing.assert_allclose(lava_v[k], trace.v[k], **FLOAT_TOL, err_msg=f"v, layer {k}")
    return trace


@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("seed", range(6))
def test_random_network_single_sample_stock_lif(seed, precision):
    net, x = random_case(seed, precision, batch=1)
    assert_parity(net, x)


@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("seed", [10, 11, 12])
def test_random_network_sample_stream(seed, precision):
    """Several samples in one Lava run (SampleLIF neurons) equal one engine batch."""
    net, x = random_case(seed, precision, batch=3)
    assert_parity(net, x)


def test_fixed_current_wraps_at_24_and_32_bits():
    """Excitatory weights and positive graded input: any negative current is a wrap-around."""
    n_in, n_steps = 8, 12
    layer0 = LIFLayer(np.full((4, n_in), 255), du=0, dv=4095, vth=2**17 - 1,
                      bias_mant=0, bias_exp=0, weight_exp=7, graded_input=True)
    layer1 = LIFLayer(np.full((3, 4), 255), du=0, dv=2000, vth=100)
    net = LIFNetwork((layer0, layer1), "fixed")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2**10, size=(1, n_steps, n_in))
    trace = assert_parity(net, x)
    u0 = trace.u[0]
    assert (u0 < 0).any(), "the case must hit a current wrap-around"
    # the message itself overflows int32 here (255 * 2^10 * 8 * 2^7 << 6 > 2^31)
    assert 255 * int(x.max()) * n_in * 2**7 * 2**6 > 2**31


def test_fixed_voltage_saturates():
    """Inhibitory input drives v to the negative saturation limit -(2^23 - 1)."""
    layer0 = LIFLayer(np.full((3, 5), -255), du=4095, dv=0, vth=10, graded_input=True)
    layer1 = LIFLayer(np.full((2, 3), 100), du=100, dv=100, vth=5)
    net = LIFNetwork((layer0, layer1), "fixed")
    x = np.full((1, 10, 5), 2**6)
    trace = assert_parity(net, x)
    assert trace.v[0].min() == -(2**23 - 1)
    assert (trace.v[0] == -(2**23 - 1)).sum() > 3


def test_fixed_weight_truncation_and_negative_exponent():
    """Odd mixed-sign weights, 5 weight bits and weight_exp=-3 (floor shift of negative sums)."""
    rng = np.random.default_rng(5)
    w = rng.integers(-255, 256, size=(6, 7)) | 1
    layer0 = LIFLayer(w, du=300, dv=500, vth=20, bias_mant=-37, bias_exp=2,
                      weight_exp=-3, num_weight_bits=5)
    layer1 = LIFLayer(rng.integers(0, 256, size=(4, 6)), du=4095, dv=0, vth=3)
    net = LIFNetwork((layer0, layer1), "fixed")
    x = (rng.random((1, 15, 7)) < 0.5).astype(int)
    trace = assert_parity(net, x)
    assert trace.spikes[0].sum() > 0 and trace.spikes[1].sum() > 0
