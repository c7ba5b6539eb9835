"""Engine semantics that follow from the Lava graph, and its refusal of bad input."""
import multiprocessing

import numpy as np
import pytest
from lava.magma.core.run_conditions import RunSteps

from lava_plastic import engine
from lava_plastic import fixed_point as fp
from lava_plastic.lava_graph import build_graph, run_config, stopping
from lava_plastic.network import LIFLayer, LIFNetwork, random_network


def chain(precision="fixed", depth=3):
    """A chain of single neurons that each spike on any input spike."""
    w = 200 if precision == "fixed" else 1.0
    vth = 10 if precision == "fixed" else 0.5
    return LIFNetwork(tuple(LIFLayer(np.array([[w]]), du=4095 if precision == "fixed" else 1.0,
                                     dv=4095 if precision == "fixed" else 1.0, vth=vth)
                            for _ in range(depth)), precision)


@pytest.mark.parametrize("precision", ["fixed", "float"])
def test_one_step_dense_delay_per_layer(precision):
    """An input spike at step index 0 reaches layer k (1-based) at step index k."""
    x = np.zeros((1, 6, 1))
    x[0, 0, 0] = 1
    trace = engine.simulate(chain(precision), x)
    for k, spikes in enumerate(trace.spikes, start=1):
        assert np.flatnonzero(spikes[0, :, 0]).tolist() == [k]


def test_fixed_lif_step_by_hand():
    # u = decay(100, du=1023 -> 1024) + (5 << 6) = 100*3072>>12 + 320 = 75 + 320 = 395
    # v = decay(-50, dv=2048) + 395 + (3 << 2) = -25 + 395 + 12 = 382 > 5 << 6 = 320: spike
    u, v, s = engine.lif_fixed_step(np.array([100]), np.array([-50]), np.array([5]), 1023, 2048,
                                    engine.fixed_threshold(5), engine.fixed_bias(3, 2))
    assert (u.tolist(), v.tolist(), s.tolist()) == ([395], [0], [True])


def test_float_lif_step_by_hand():
    u, v, s = engine.lif_float_step(np.array([1.0]), np.array([0.5]), np.array([0.25]),
                                    0.5, 0.25, 1.5, np.array([0.1]))
    np.testing.assert_allclose(u, [0.75], rtol=0, atol=1e-15)
    np.testing.assert_allclose(v, [0.5 * 0.75 + 0.75 + 0.1], rtol=0, atol=1e-15)
    assert not s[0]


def test_dense_fixed_wraps_int32_and_floors_negative_exponent():
    w = np.array([[255, 255]])
    big = np.array([[2**23 - 1, 2**23 - 1]])
    acc = 255 * (2**23 - 1) * 2
    expected = ((acc + 2**31) % 2**32) - 2**31
    assert engine.dense_fixed(w, big, 0, graded=True).tolist() == [[expected]]
    assert engine.dense_fixed(np.array([[-3]]), np.array([[1]]), -1, graded=False).tolist() == [[-2]]


def test_exact_int_matmul_all_paths():
    rng = np.random.default_rng(0)
    for hi in (2, 2**20, 2**40):
        a = rng.integers(-hi, hi, size=(3, 50))
        b = rng.integers(-256, 256, size=(50, 4))
        np.testing.assert_array_equal(fp.exact_int_matmul(a, b), a @ b)


def test_fire_resets_to_zero_or_by_subtraction():
    v = np.array([[900, 1025, 2500, -3000]], dtype=np.int32)
    zeroed, spikes = engine.fire(v.copy(), 1024)
    assert spikes.tolist() == [[False, True, True, False]]
    assert zeroed.tolist() == [[900, 0, 0, -3000]]
    subtracted, spikes_too = engine.fire(v.copy(), 1024, subtract=True)
    np.testing.assert_array_equal(spikes_too, spikes)
    assert subtracted.tolist() == [[900, 1, 1476, -3000]] and subtracted.dtype == np.int32
    float_v, float_spikes = engine.fire(np.array([0.5, 1.25, 3.0]), 1.0, subtract=True)
    assert float_spikes.tolist() == [False, True, True] and float_v.tolist() == [0.5, 0.25, 2.0]


def test_chunked_float32_product_is_exact_where_one_float32_product_is_not():
    """The first layer's forward product (8-bit weights, payload up to 256, 784 inputs) needs
    25 bits: two float32 products of 392 inputs each are exact, one is not."""
    assert fp.exact_product(128 * 256, 784) == ("float32", 2)
    assert fp.exact_product(128, 500) == ("float32", 1)
    assert fp.exact_product(2**20, 2**10) == ("float64", 1)
    a = np.full((2, 784), 255)
    b = np.full((784, 3), 127)
    b[5, 0] = 126  # an odd sum above 2**24: float32 cannot hold it
    b[:, 2] = -128
    rng = np.random.default_rng(3)
    a[1] = rng.integers(0, 257, size=784)
    exact = a @ b
    assert exact[0, 0] % 2 == 1 and exact[0, 0] > 2**24
    np.testing.assert_array_equal(fp.exact_int_matmul(a, b, "float32", chunks=2), exact)
    np.testing.assert_array_equal(fp.exact_int_matmul(a, b, "float32", chunks=3), exact)
    assert fp.exact_int_matmul(a, b, "float32")[0, 0] != exact[0, 0]


def test_batch_rows_are_independent():
    rng = np.random.default_rng(2)
    net = random_network(rng, (5, 6, 3), "fixed")
    x = (rng.random((4, 10, 5)) < 0.5).astype(int)
    whole = engine.simulate(net, x)
    for b in range(4):
        single = engine.simulate(net, x[b : b + 1])
        for k in range(2):
            np.testing.assert_array_equal(single.v[k][0], whole.v[k][b])


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("x, match", [
    (np.zeros((2, 5)), r"\(batch, time, features\)"),
    (np.zeros((1, 5, 4)), "4 features but the network expects 3"),
    (np.full((1, 5, 3), np.nan), "NaN"),
    (np.full((1, 5, 3), 0.5), "must be 0/1"),
    (np.zeros((0, 5, 3)), "no samples"),
])
def test_engine_rejects_bad_input(x, match):
    net = random_network(np.random.default_rng(0), (3, 2), "float")
    with pytest.raises(ValueError, match=match):
        engine.simulate(net, x)


def test_fixed_graded_input_must_be_integer_payloads():
    net = random_network(np.random.default_rng(0), (3, 2), "fixed", graded_input=True)
    with pytest.raises(ValueError, match="whole number"):
        engine.simulate(net, np.full((1, 2, 3), 0.5))
    with pytest.raises(ValueError, match="24 signed bits"):
        engine.simulate(net, np.full((1, 2, 3), 2**23))


@pytest.mark.parametrize("change, match", [
    (dict(weights=np.full((2, 3), 300)), r"weights must lie in \[-256, 255\]"),
    (dict(weights=np.full((2, 3), 1.5)), "weights must be integers"),
    (dict(du=5000), r"du must lie in \[0, 4095\]"),
    (dict(vth=2**17), "vth must lie"),
    (dict(bias_mant=np.zeros(5)), "bias_mant must be a scalar or have shape"),
    (dict(bias_exp=9), "bias_exp must lie"),
    (dict(num_weight_bits=9), "num_weight_bits must lie"),
])
def test_fixed_network_rejects_out_of_range_parameters(change, match):
    params = dict(weights=np.ones((2, 3), int), du=0, dv=0, vth=10)
    params.update(change)
    with pytest.raises(ValueError, match="layer 0: " + match):
        LIFNetwork((LIFLayer(**params),), "fixed")


def test_network_rejects_mismatched_layers_and_bad_precision():
    a = LIFLayer(np.ones((4, 3)), 0.1, 0.1, 1.0)
    b = LIFLayer(np.ones((2, 5)), 0.1, 0.1, 1.0)
    with pytest.raises(ValueError, match="layer 1: weights expect 5 inputs but layer 0 has 4"):
        LIFNetwork((a, b))
    with pytest.raises(ValueError, match="precision"):
        LIFNetwork((a,), "double")
    with pytest.raises(ValueError, match="du must lie in"):
        LIFNetwork((LIFLayer(np.ones((1, 1)), 1.5, 0.1, 1.0),))
    with pytest.raises(ValueError, match="NaN"):
        LIFNetwork((LIFLayer(np.full((1, 1), np.nan), 0.1, 0.1, 1.0),))


@pytest.mark.lava
@pytest.mark.usefixtures("lava_clean")
def test_runtime_stops_when_the_block_fails():
    net = chain("float", depth=2)
    graph = build_graph(net, np.ones((4, 1)))
    with pytest.raises(RuntimeError, match="deliberate"):
        with stopping(graph.source, run_config("float")):
            graph.source.run(condition=RunSteps(num_steps=4), run_cfg=run_config("float"))
            raise RuntimeError("deliberate failure after the run")
    assert not graph.source.runtime._is_started
    assert multiprocessing.active_children() == []
