"""OPZO, ZO_sp and OPZO-DFA in Lava's simulator (float) against the engine: the same network,
samples in the same order, batch size 1, the on-chip SGD rule, the same keyed noise and dropout.
After two epochs: the weights within atol 1e-9 weight units and ``M`` within atol 1e-12 (the
engine sums a sample's pairs step by step in another order and takes the first layer's trace as
a multiple of its constant input), the readout's summed outputs within rtol 1e-9 while learning
and at test time."""
import json

import numpy as np
import pytest

from lava_plastic import cli
from lava_plastic.datasets import load_digits
from lava_plastic.lava_graph.plastic import PlasticGraph
from lava_plastic.learning import PlasticNetwork, compile_plan, engine
from lava_plastic.rules import make_rule

pytestmark = [pytest.mark.lava, pytest.mark.usefixtures("lava_clean")]


def learn_both(rule_name, sizes, n_train=10, n_test=6, dropout=0.0, alphas=(0.3, 0.2),
               precision="float", **rule_kw):
    data = load_digits(seed=0)
    x, y = data.train_x[:n_train], data.train_y[:n_train]
    x_test, y_test = data.test_x[:n_test], data.test_y[:n_test]
    net = PlasticNetwork(sizes, n_steps=8, reset="subtract", dv=2048, output="readout",
                         precision=precision, weight_bits=7 if precision == "fixed" else 8)
    lr = 2**-9 if precision == "fixed" else 2**-6
    plan = compile_plan(net, make_rule(rule_name, lr=lr, seed=1, momentum=0.9, **rule_kw))
    w0 = engine.init_weights(net, seed=2)
    lava = {"seen": [], "test": []}
    with PlasticGraph(plan, w0, x, y, x_test, y_test, dropout=dropout) as graph:
        for alpha in alphas:  # the noise scale changes between epochs, as its schedule does
            graph.set_alpha(alpha)
            lava["seen"].append(graph.train_epoch())
            lava["test"].append(graph.evaluate())
        lava["weights"], lava["m"] = graph.weights(), graph.feedback()
    state = engine.init_state(plan, w0)
    eng = {"seen": [], "test": []}
    for alpha in alphas:
        state, seen = engine.train_epoch(plan, state, x, y, 1, None, np.arange(n_train),
                                         alpha=alpha, dropout=dropout)
        eng["seen"].append(seen)
        eng["test"].append(engine.predict(plan, state, x_test))
    eng["weights"], eng["m"] = state.weights, state.feedback
    return lava, eng, w0


@pytest.mark.parametrize("rule_name, sizes, options", [
    ("opzo", (64, 12, 10, 10), dict(noise="gaussian", site="activity")),
    ("opzo", (64, 12, 10), dict(noise="rademacher", site="membrane", antithetic=True)),
    ("opzo", (64, 12, 10, 10), dict(noise="sphere", dropout=0.25, scale_by_alpha=True)),
    ("opzo", (64, 12, 10, 10), dict(two_point=True, dropout=0.25)),
    ("opzo", (64, 12, 10, 10), dict(aligned=False, site="membrane", feedback_gain=4)),
    ("zo", (64, 12, 10, 10), dict(noise="gaussian", site="membrane")),
    ("opzo-dfa", (64, 12, 10, 10), dict(dropout=0.25)),
], ids=["opzo-activity", "opzo-membrane-antithetic", "opzo-sphere-dropout", "opzo-two-point",
        "opzo-unaligned", "zo", "dfa"])
def test_lava_graph_and_engine_learn_the_same(rule_name, sizes, options):
    options = dict(options)
    dropout = options.pop("dropout", 0.0)
    lava, eng, w0 = learn_both(rule_name, sizes, dropout=dropout, **options)
    for epoch in range(2):
        np.testing.assert_allclose(lava["seen"][epoch], eng["seen"][epoch], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(lava["test"][epoch], eng["test"][epoch], rtol=1e-9, atol=1e-9)
    for k, (a, b, w) in enumerate(zip(lava["weights"], eng["weights"], w0)):
        assert np.abs(b - w).max() > 1e-3, f"layer {k} did not learn"
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, err_msg=f"layer {k}")
    assert len(lava["m"]) == (len(sizes) - 2 if rule_name == "opzo" else 0)
    for a, b in zip(lava["m"], eng["m"]):
        assert np.abs(b).max() > 1e-3
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rule_name, options", [
    ("opzo", dict(site="activity", dropout=0.25)),
    ("opzo", dict(site="membrane", antithetic=True, noise="rademacher")),
    ("opzo", dict(two_point=True, noise="sphere")),
    ("opzo", dict(aligned=False, site="membrane", feedback_gain=16)),
    ("zo", dict(site="membrane")),
    ("opzo-dfa", dict(dropout=0.25)),
], ids=["opzo-activity-dropout", "opzo-membrane-antithetic", "opzo-two-point", "opzo-unaligned",
        "zo", "dfa"])
def test_fixed_point_lava_graph_and_engine_learn_the_same_integers(rule_name, options):
    """Fixed point (the sse loss): after two epochs the same integer weights, M and readout
    sums, while learning and at test time."""
    options = dict(options)
    dropout = options.pop("dropout", 0.0)
    lava, eng, w0 = learn_both(rule_name, (64, 12, 10, 10), dropout=dropout, precision="fixed",
                               loss="sse", **options)
    for epoch in range(2):
        np.testing.assert_array_equal(lava["seen"][epoch], eng["seen"][epoch])
        np.testing.assert_array_equal(lava["test"][epoch], eng["test"][epoch])
    for k, (a, b, w) in enumerate(zip(lava["weights"], eng["weights"], w0)):
        assert np.abs(b - w).max() >= 1, f"layer {k} did not learn"
        np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")
    for a, b in zip(lava["m"], eng["m"]):
        assert a.dtype == np.int64 and np.abs(b).max() > 0
        np.testing.assert_array_equal(a, b)


def test_spatial_bp_is_refused_in_the_graph():
    net = PlasticNetwork((64, 12, 10), n_steps=8, reset="subtract", dv=2048, output="readout")
    plan = compile_plan(net, make_rule("ottt-bp"))
    with pytest.raises(ValueError, match="runs in the engine only"):
        PlasticGraph(plan, engine.init_weights(net, 0), np.zeros((1, 64)), np.zeros(1, int))


def test_cli_lava_backend_trains_opzo_with_the_on_chip_defaults(tmp_path):
    """``train --rule opzo --backend lava`` takes the on-chip defaults (SGD, batch 1, lr
    2**-12, no schedule, no weight decay, feedback gain 64, momentum 1 - 2**-10) and the paper's
    network; the engine shuffles its
    samples, the graph presents them in order, so their accuracies are not compared here (the
    parity tests above compare the two on the same order)."""
    out = tmp_path / "lava"
    assert cli.main(["train", "--rule", "opzo", "--hidden", "20", "--max-train", "40",
                     "--max-test", "20", "--epochs", "2", "--no-progress", "--backend", "lava",
                     "--out", str(out)]) == 0
    r = json.loads((out / "results.json").read_text())
    assert (r["backend"], r["optimizer"], r["batch_size"], r["lr"]) == ("lava", "sgd", 1, 2**-12)
    assert (r["feedback_gain"], r["momentum"]) == (64, 1 - 2**-10)
    assert (r["schedule"], r["weight_decay"], r["dropout"], r["window"]) == ("constant", 0.0, 0.2, 8)
    assert len(r["history"]) == 2 and all(0 <= h["test_accuracy"] <= 1 for h in r["history"])
