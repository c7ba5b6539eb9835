"""DRTP in Lava's simulator against the engine: same description, same samples in the same
order, batch size 1, the on-chip SGD rule.

Fixed point: bit-identical weights after training and identical output spike counts for every
sample, while learning and at test time. Float: identical spike counts, weights equal within
atol 1e-9 weight units (the engine sums a sample's outer products in one matrix product, Lava
step by step).
"""
import numpy as np
import pytest

from lava_plastic import drtp_network as dn
from lava_plastic.datasets import load_digits
from lava_plastic.drtp_lava import LavaDRTP
from lava_plastic.rules import drtp

pytestmark = [pytest.mark.lava, pytest.mark.usefixtures("lava_clean")]


@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("sizes, weight_bits", [((64, 32, 10), 8), ((64, 24, 16, 10), 7)])
def test_lava_graph_and_engine_learn_the_same(precision, sizes, weight_bits):
    data = load_digits(seed=0)
    n_train, n_test = 16, 8
    x, y = data.train_x[:n_train], data.train_y[:n_train]
    x_test, y_test = data.test_x[:n_test], data.test_y[:n_test]
    net = dn.DRTPNetwork(sizes, n_steps=8, precision=precision, weight_bits=weight_bits)
    rule = drtp.DRTP(lr=2**-8, seed=1)
    bs = drtp.projection_matrices(rule, net.hidden_sizes)
    w0 = dn.init_weights(net, seed=2)

    lava_seen, lava_test = [], []
    with LavaDRTP(net, rule, w0, bs, x, y, x_test, y_test) as graph:
        for _ in range(2):  # two epochs: counts and update indices carry on correctly
            lava_seen.append(graph.train_epoch())
            lava_test.append(graph.evaluate())
        lava_weights = graph.weights()

    state = dn.TrainState(w0, None, 0)
    for epoch in range(2):
        state, seen = dn.train_epoch(net, rule, state, dn.modulation_weights(net, bs), x, y, 1,
                                     None, np.arange(n_train))
        test_counts = dn.predict(net, rule, state.weights, x_test)
        np.testing.assert_array_equal(lava_seen[epoch], seen, err_msg=f"epoch {epoch}")
        np.testing.assert_array_equal(lava_test[epoch], test_counts, err_msg=f"epoch {epoch}")
        assert seen.sum() > 0 and test_counts.sum() > 0
    for k, (wl, we, w_init) in enumerate(zip(lava_weights, state.weights, w0)):
        assert not np.array_equal(we, w_init), f"layer {k} did not learn"
        if precision == "fixed":
            np.testing.assert_array_equal(wl, we, err_msg=f"weights, layer {k}")
        else:
            np.testing.assert_allclose(wl, we, rtol=0, atol=1e-9, err_msg=f"weights, layer {k}")
