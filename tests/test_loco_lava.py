"""NP and LOCO in Lava's simulator against the engine: same description, same samples in the
same order, batches of 4 (the last one short, written when learning is switched off), two
epochs, the on-chip SGD rule.

Fixed point: bit-identical weights, output spike counts of every sample (learning and test) and
LOCO's direction buffers. Float: identical spike counts; weights within atol 1e-9 weight units
and direction buffers within 1e-9 (the engine sums a batch's outer products in one matrix
product, the Lava synapse the same rows in its own order).
"""
import numpy as np
import pytest

from lava_plastic.datasets import load_digits
from lava_plastic.lava_graph.plastic import PlasticGraph
from lava_plastic.learning import PlasticNetwork, compile_plan, engine
from lava_plastic.rules import make_rule

pytestmark = [pytest.mark.lava, pytest.mark.usefixtures("lava_clean")]


def learn_both(rule_name, precision, sizes, n_train=18, n_test=6, batch=4, **rule_options):
    data = load_digits(seed=0)
    x, y = data.train_x[:n_train], data.train_y[:n_train]
    x_test, y_test = data.test_x[:n_test], data.test_y[:n_test]
    net = PlasticNetwork(sizes, n_steps=8, precision=precision, dv=2048, weight_bits=6)
    plan = compile_plan(net, make_rule(rule_name, lr=2**-4, sigma=0.5, seed=1, **rule_options),
                        batch)
    w0 = tuple(np.clip(w * 2, -128, 127) for w in engine.init_weights(net, seed=2))  # lively
    lava_seen, lava_test = [], []
    with PlasticGraph(plan, w0, x, y, x_test, y_test) as graph:
        for _ in range(2):
            lava_seen.append(graph.train_epoch())
            lava_test.append(graph.evaluate())
        lava_weights = graph.weights()
        lava_directions = graph.directions()
    state = engine.init_state(plan, w0)
    engine_seen, engine_test = [], []
    for _ in range(2):
        state, seen = engine.train_epoch(plan, state, x, y, batch, None, np.arange(n_train))
        engine_seen.append(seen)
        engine_test.append(engine.predict(plan, state, x_test))
    return ((lava_seen, lava_test, lava_weights, lava_directions),
            (engine_seen, engine_test, state.weights, state.rule_state), w0)


@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("rule_name, sizes, options", [
    ("np", (64, 16, 10), {}), ("np", (64, 12, 10, 10), dict(perturb_output=False)),
    ("loco", (64, 16, 10), dict(rank=3, clusters=2, buffer=3, class_batches=False))],
    ids=["np", "np-3-layer-hidden-only", "loco"])
def test_lava_graph_and_engine_learn_the_same(rule_name, precision, sizes, options):
    lava, eng, w0 = learn_both(rule_name, precision, sizes, **options)
    for epoch in range(2):
        np.testing.assert_array_equal(lava[0][epoch], eng[0][epoch], err_msg=f"epoch {epoch}")
        np.testing.assert_array_equal(lava[1][epoch], eng[1][epoch], err_msg=f"epoch {epoch}")
        assert eng[0][epoch].sum() > 0
    learnt = 0
    for k, (wl, we, w_init) in enumerate(zip(lava[2], eng[2], w0)):
        learnt += not np.array_equal(we, w_init)
        if precision == "fixed":
            np.testing.assert_array_equal(wl, we, err_msg=f"weights, layer {k}")
        else:
            np.testing.assert_allclose(wl, we, rtol=0, atol=1e-9, err_msg=f"weights, layer {k}")
    assert learnt == len(w0) - (0 if options.get("perturb_output", True) else 1)
    for dl, de in zip(lava[3], eng[3]):
        assert dl.shape == de.shape == (3, 64 if dl is lava[3][0] else 16)
        np.testing.assert_allclose(dl, de, rtol=0, atol=0 if precision == "fixed" else 1e-9)


def test_cli_trains_loco_in_the_lava_graph(tmp_path):
    """The command line's Lava backend: batches of one class laid out once, fixed point."""
    import json

    from lava_plastic import cli

    out = tmp_path / "run"
    code = cli.main(["train", "--rule", "loco", "--backend", "lava", "--precision", "fixed",
                     "--max-train", "40", "--max-test", "10", "--epochs", "1", "--steps", "6",
                     "--hidden", "24", "--batch-size", "8", "--weight-bits", "7", "--out",
                     str(out), "--no-progress"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert (results["backend"], results["class_batches"], results["batch_size"]) == ("lava", True, 8)
    assert results["window"] == 6 and len(results["history"]) == 1


@pytest.mark.parametrize("precision", ["fixed", "float"])
def test_loco_with_batches_of_one_class(precision):
    """Batches of one class laid out in the training rows, the last of each class short (sizes
    taken in turn by the synapses): the same weights, counts and direction buffers."""
    from lava_plastic.train import class_batches

    data = load_digits(seed=0)
    x, y = data.train_x[:30], data.train_y[:30]
    batches = class_batches(y, 4, np.random.default_rng(0))
    assert len({len(b) for b in batches}) > 1  # some short batches
    order = np.concatenate(batches)
    net = PlasticNetwork((64, 16, 10), n_steps=6, precision=precision, dv=2048, weight_bits=6)
    plan = compile_plan(net, make_rule("loco", lr=2**-4, sigma=0.5, seed=1, rank=3, clusters=3,
                                       buffer=4), 4)
    w0 = tuple(np.clip(w * 2, -128, 127) for w in engine.init_weights(net, seed=2))
    with PlasticGraph(plan, w0, x[order], y[order], data.test_x[:4], data.test_y[:4],
                      batch_sizes=[len(b) for b in batches]) as graph:
        lava_seen = graph.train_epoch()
        graph.evaluate()
        lava_weights, lava_directions = graph.weights(), graph.directions()
    state = engine.init_state(plan, w0)
    state, seen = engine.train_epoch(plan, state, x, y, 4, None, batches)
    np.testing.assert_array_equal(lava_seen, seen[order])
    atol = 0 if precision == "fixed" else 1e-9
    for wl, we, w_init in zip(lava_weights, state.weights, w0):
        assert not np.array_equal(we, w_init)
        np.testing.assert_allclose(wl, we, rtol=0, atol=atol)
    for dl, de in zip(lava_directions, state.rule_state):
        assert len(de) == 4
        np.testing.assert_allclose(dl, de, rtol=0, atol=atol)
