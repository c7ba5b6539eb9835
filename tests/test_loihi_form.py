"""The rules in Lava's own learning engine (Loihi3FLearningRule on LearningDense)."""
import numpy as np
import pytest

from lava_plastic.datasets import load_digits
from lava_plastic.lava_graph.loihi import Y3_FLOAT_DECAY, LoihiGraph
from lava_plastic.learning import PlasticNetwork, compile_plan, engine, synapse
from lava_plastic.rules import DRTP, make_rule
from lava_plastic.rules.base import one_hot
from lava_plastic.xp import namespace

pytestmark = [pytest.mark.lava, pytest.mark.usefixtures("lava_clean")]


def binary_digits(n_classes):
    data = load_digits(seed=0)
    train, test = data.train_y < n_classes, data.test_y < n_classes
    return ((data.train_x[train] > 0.5).astype(float), data.train_y[train],
            (data.test_x[test] > 0.5).astype(float), data.test_y[test])


@pytest.mark.parametrize("rule_name", ["drtp", "dfa", "sdfa"])
def test_float_learning_engine_gives_our_float_update(rule_name):
    """Frozen forward pass, same samples: the LearningDense weights move by exactly the
    engine's summed update, times Lava's in-step decay of the y traces (exp(-1/65535)).
    Tolerance: atol 1e-9 weight units."""
    x, y, _, _ = binary_digits(10)
    x, y = x[:6], y[:6]
    net = PlasticNetwork((64, 32, 10), n_steps=8, precision="float", input_bits=0, vth_bits=8)
    plan = compile_plan(net, make_rule(rule_name, lr=2**-8, seed=1))
    w0 = engine.init_weights(net, seed=2)
    with LoihiGraph(plan, w0, x, y, frozen_forward=True) as graph:
        lava_seen = graph.train_epoch()
        lava_weights = graph.weights()

    state = engine.init_state(plan, w0)
    counts, accs = engine.run_batch(plan, state, engine.encode_input(net, x), one_hot(y, 10),
                                    learn=True)
    np.testing.assert_array_equal(lava_seen, counts)
    for k, (wl, w_init, acc) in enumerate(zip(lava_weights, w0, accs)):
        ours = synapse.write(plan.layers[k], w_init, acc, 0, namespace()) - w_init
        assert np.abs(ours).max() > 0.5, f"layer {k}: the update is not vacuous"
        np.testing.assert_allclose(wl - w_init, ours * Y3_FLOAT_DECAY, rtol=0, atol=1e-9,
                                   err_msg=f"layer {k}")


def test_bit_approximate_learning_engine_learns_three_digits():
    """Fixed point, closed loop (weights learnt on the LearningDense drive the neurons):
    two epochs over the 430 training digits 0-2 lift test accuracy far above chance (1/3)."""
    x, y, x_test, y_test = binary_digits(3)
    net = PlasticNetwork((64, 32, 3), n_steps=8, precision="fixed", input_bits=0, vth_bits=8)
    plan = compile_plan(net, DRTP(lr=2**-8, n_classes=3, seed=1))
    w0 = engine.init_weights(net, seed=2)
    with LoihiGraph(plan, w0, x, y, x_test, y_test) as graph:
        before = engine.accuracy(graph.evaluate(), y_test)
        graph.train_epoch()
        graph.train_epoch()
        after = engine.accuracy(graph.evaluate(), y_test)
        weights = graph.weights()
    assert after >= 0.7, (before, after)
    assert after > before + 0.2
    for w in weights:  # the LearningDense holds 2w as 8-bit magnitude + sign integers
        stored = 2 * w
        assert np.all(stored == np.round(stored)) and np.abs(stored).max() <= 256
