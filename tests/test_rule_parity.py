"""Every rule in Lava's simulator against the engine: same description, same samples in the
same order, batch size 1, the on-chip SGD rule.

Fixed point: bit-identical weights after training and identical output spike counts for every
sample, while learning and at test time. Float: identical spike counts, weights equal within
atol 1e-9 weight units (the engine sums a sample's outer products in one matrix product, Lava
step by step).
"""
import numpy as np
import pytest

from lava_plastic.datasets import load_digits
from lava_plastic.lava_graph.plastic import PlasticGraph
from lava_plastic.learning import PlasticNetwork, compile_plan, engine
from lava_plastic.rules import make_rule

pytestmark = [pytest.mark.lava, pytest.mark.usefixtures("lava_clean")]


def learn_both(rule_name, precision, sizes, weight_bits, n_train=16, n_test=8, surrogate=None,
               **neuron):
    data = load_digits(seed=0)
    x, y = data.train_x[:n_train], data.train_y[:n_train]
    x_test, y_test = data.test_x[:n_test], data.test_y[:n_test]
    net = PlasticNetwork(sizes, n_steps=8, precision=precision, weight_bits=weight_bits, **neuron)
    local = {} if surrogate is None else dict(surrogate=surrogate, psi_width=0.25)
    plan = compile_plan(net, make_rule(rule_name, lr=2**-8, seed=1, **local))
    w0 = engine.init_weights(net, seed=2)

    lava_seen, lava_test = [], []
    with PlasticGraph(plan, w0, x, y, x_test, y_test) as graph:
        for _ in range(2):  # two epochs: counts and update indices carry on correctly
            lava_seen.append(graph.train_epoch())
            lava_test.append(graph.evaluate())
        lava_weights = graph.weights()

    state = engine.init_state(plan, w0)
    engine_seen, engine_test = [], []
    for _ in range(2):
        state, seen = engine.train_epoch(plan, state, x, y, 1, None, np.arange(n_train))
        engine_seen.append(seen)
        engine_test.append(engine.predict(plan, state, x_test))
    return (lava_seen, lava_test, lava_weights), (engine_seen, engine_test, state.weights), w0


OTTT_NEURON = dict(reset="subtract", dv=2048)
"""OPZO's neuron (eq. 1): reset by subtraction, leak 0.5."""


@pytest.mark.parametrize("rule_name", ["drtp", "dfa", "sdfa"])
@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("sizes, weight_bits, neuron", [
    ((64, 32, 10), 8, {}), ((64, 24, 16, 10), 7, {}), ((64, 32, 10), 8, OTTT_NEURON),
    ((64, 32, 10), 8, dict(OTTT_NEURON, surrogate="sigmoid"))],
    ids=["2-layer", "3-layer", "2-layer-ottt", "2-layer-ottt-sigmoid"])
def test_lava_graph_and_engine_learn_the_same(rule_name, precision, sizes, weight_bits, neuron):
    lava, eng, w0 = learn_both(rule_name, precision, sizes, weight_bits, **neuron)
    for epoch in range(2):
        np.testing.assert_array_equal(lava[0][epoch], eng[0][epoch], err_msg=f"epoch {epoch}")
        np.testing.assert_array_equal(lava[1][epoch], eng[1][epoch], err_msg=f"epoch {epoch}")
        assert eng[0][epoch].sum() > 0 and eng[1][epoch].sum() > 0
    for k, (wl, we, w_init) in enumerate(zip(lava[2], eng[2], w0)):
        assert not np.array_equal(we, w_init), f"layer {k} did not learn"
        if precision == "fixed":
            np.testing.assert_array_equal(wl, we, err_msg=f"weights, layer {k}")
        else:
            np.testing.assert_allclose(wl, we, rtol=0, atol=1e-9, err_msg=f"weights, layer {k}")
