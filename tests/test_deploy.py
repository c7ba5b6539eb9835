"""Deployment (issue 12): the exported netx and NIR networks against the trained ones, netx in
Lava against the engine (bit-exact), ``export`` and ``infer`` on the command line, and every
bad export a one-line refusal with nothing written."""
import json
import os

import h5py
import numpy as np
import pytest

from lava_plastic import cli, datasets, deploy
from lava_plastic.learning import PlasticNetwork, compile_plan, engine
from lava_plastic.train import TrainConfig, rule_defaults, run


def _train(folder, **settings):
    settings = dict({"epochs": 2}, **settings)
    config = TrainConfig(dataset="digits", out=str(folder), progress=False, **settings)
    run(config, log=lambda *_: None)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {
        "drtp-fixed": _train(root / "drtp-fixed", rule="drtp", precision="fixed"),
        "drtp-float": _train(root / "drtp-float", rule="drtp"),
        "loco-fixed": _train(root / "loco-fixed", rule="loco", precision="fixed",
                             **rule_defaults("loco", precision="fixed")),
    }


@pytest.fixture(scope="module")
def digits():
    return datasets.load_digits(seed=0)


def _trained_counts(run_dir, x):
    (net, weights), config = deploy.trained_network(run_dir)
    plan = compile_plan(net, config.rule_value(net.n_classes))
    return np.asarray(engine.predict(plan, engine.init_state(plan, weights=weights), x))


def _grid(x, bits):
    return np.rint(x * 2**bits) / 2**bits


@pytest.mark.parametrize("name", ["drtp-fixed", "loco-fixed"])
def test_a_fixed_point_export_is_the_trained_network_on_its_input_grid(runs, digits, name):
    deployed = deploy.deploy_run(runs[name])
    assert deployed.input_bits == 2  # the first layer's 2**-6 moved into the input
    x = _grid(digits.test_x, deployed.input_bits)
    counts = deploy.predict(deployed, x)
    assert counts.sum() > 0
    np.testing.assert_array_equal(counts, _trained_counts(runs[name], x))  # exact integers
    if name == "drtp-fixed":  # no leak: every layer's change is exact by construction
        assert deployed.exact


def test_the_deployed_accuracy_stays_within_two_points_of_the_trained(runs, digits):
    """The stated margins: fixed point loses only the input's finer grid, float also its
    rounding to 8-bit weights (measured: 0 to 1.1 points on digits)."""
    for name in ("drtp-fixed", "drtp-float", "loco-fixed"):
        trained = engine.accuracy(_trained_counts(runs[name], digits.test_x), digits.test_y)
        deployed = engine.accuracy(deploy.predict(deploy.deploy_run(runs[name]), digits.test_x),
                                   digits.test_y)
        assert abs(deployed - trained) <= 0.02, (name, trained, deployed)


def test_netx_file_round_trip(runs, digits, tmp_path):
    (tmp_path / "m.net").write_bytes(b"an earlier export")
    out, deployed = deploy.export(runs["drtp-fixed"], "netx", tmp_path / "m.net", overwrite=True)
    back = deploy.read(out)
    assert back.n_steps == deployed.n_steps == 16 and back.input_bits == deployed.input_bits
    for a, b in zip(back.network.layers, deployed.network.layers):
        np.testing.assert_array_equal(a.weights, b.weights)
        assert (a.du, a.dv, a.vth, a.weight_exp, a.num_weight_bits) == (
            b.du, b.dv, b.vth, b.weight_exp, b.num_weight_bits)
    with h5py.File(out) as h5:  # what netx reads: 8-bit weights, CUBA neurons in 4096 units
        w = h5["layer/0/weight"][()]
        assert w.min() >= -256 and w.max() <= 254 and np.array_equal(w, np.rint(w))
        assert h5["layer/1/neuron/iDecay"][()] == 4096 and h5["layer/1/neuron/vDecay"][()] == 0
        assert h5["layer/0/neuron/vThMant"][()] == 1024 and h5["layer/1/neuron/vThMant"][()] == 512
    np.testing.assert_array_equal(deploy.predict(back, digits.test_x),
                                  deploy.predict(deployed, digits.test_x))


@pytest.mark.parametrize("name", ["drtp-fixed", "loco-fixed", "drtp-float"])
def test_nir_round_trip_runs_in_the_engine_as_the_original(runs, digits, tmp_path, name):
    """``nir.read`` gives the graph back; run by the engine in float it gives the original's
    spike counts exactly: a fixed-point run's deployed counts on its input grid (the scales
    folded into reals are powers of two), a float run's trained counts."""
    import nir

    out, deployed = deploy.export(runs[name], "nir", tmp_path / "m.nir")
    graph = nir.read(out)
    assert [type(graph.nodes[f"lif{k}"]).__name__ for k in range(2)] == (
        ["LIF", "LIF"] if name.startswith("loco") else ["IF", "IF"])
    back = deploy.from_nir(graph)
    assert back.precision == "float"
    if name.endswith("fixed"):
        x = _grid(digits.test_x, deployed.input_bits)
        expected = deploy.predict(deployed, x)
    else:
        x = digits.test_x
        expected = _trained_counts(runs[name], x)
    np.testing.assert_array_equal(deploy.predict(back, x), expected)


def test_netx_weight_form_matches_what_lava_dl_would_build():
    """The engine runs netx's ``optimize_weight_bits`` form (written again here): the Dense's
    effective weights equal the file's, whatever their range or parity."""
    from lava_plastic import fixed_point as fp

    rng = np.random.default_rng(3)
    for lo, hi in [(-256, 254), (-40, 90), (0, 200), (-100, -2), (-3, 3)]:
        w = rng.integers(lo, hi + 1, size=(7, 5))
        shifted, bits, exponent = deploy.netx_weights(w)
        effective = fp.quantize_weights(shifted, bits)
        assert exponent <= 0
        np.testing.assert_array_equal(effective >> -exponent, w)
        np.testing.assert_array_equal(effective, shifted)


@pytest.mark.netx
@pytest.mark.lava
def test_netx_in_lava_is_bit_exact_with_the_engine(runs, digits, tmp_path, lava_clean):
    """lava-dl's ``netx.hdf5.Network`` loads each export; run in Lava (fixed_pt) its output
    spike counts equal the engine's, sample by sample."""
    if not os.environ.get("LAVA_PLASTIC_REQUIRE_NETX"):  # run-tests requires it in .venv-netx
        pytest.importorskip("lava.lib.dl.netx")
    from lava.lib.dl.netx.utils import optimize_weight_bits

    from lava_plastic.lava_graph.netx import run_netx

    rng = np.random.default_rng(0)
    for lo, hi in [(-256, 254), (-40, 90), (0, 200), (-100, -2)]:
        w = rng.integers(lo, hi + 1, size=(7, 5)) * rng.integers(1, 3)
        w = np.clip(w, -256, 254)
        theirs = optimize_weight_bits(w.astype(np.float64))
        ours = deploy.netx_weights(w)
        np.testing.assert_array_equal(theirs[0], ours[0])
        assert (theirs[1], theirs[2]) == (ours[1], ours[2])
    x = digits.test_x[:40]
    for name in ("drtp-fixed", "loco-fixed", "drtp-float"):
        out, _ = deploy.export(runs[name], "netx", tmp_path / f"{name}.net")
        back = deploy.read(out)
        expected = deploy.predict(back, x)
        assert expected.sum() > 100
        np.testing.assert_array_equal(run_netx(out, back, x), expected)


def test_infer_on_the_command_line(runs, tmp_path, capsys):
    out, deployed = deploy.export(runs["drtp-fixed"], "netx", tmp_path / "m.net")
    digits = datasets.load_digits(seed=0)
    for precision, model in (("fixed", deployed), ("float", deploy.as_float(deployed))):
        expected = engine.accuracy(deploy.predict(model, digits.test_x[:50]), digits.test_y[:50])
        assert cli.main(["infer", "--model", str(out), "--precision", precision,
                         "--max-test", "50"]) == 0
        assert f"test accuracy {expected:.4f} on 50 digits samples" in capsys.readouterr().out


@pytest.mark.lava
def test_infer_in_lava_runs_the_stock_lif_graph(runs, capsys, lava_clean):
    digits = datasets.load_digits(seed=0)
    deployed = deploy.deploy_run(runs["drtp-fixed"])
    assert cli.main(["infer", "--model", str(runs["drtp-fixed"]), "--backend", "lava",
                     "--max-test", "5"]) == 0  # no netx file: Lava's stock Dense -> LIF graph
    expected = engine.accuracy(deploy.predict(deployed, digits.test_x[:5]), digits.test_y[:5])
    assert f"lava, fixed: test accuracy {expected:.4f} on 5" in capsys.readouterr().out


@pytest.mark.lava
def test_infer_of_a_netx_file_without_lava_dl_runs_the_stock_graph(runs, tmp_path, capsys,
                                                                   lava_clean, monkeypatch):
    """Without lava-dl the netx file's network runs as Lava's stock graph, and says so."""
    from lava_plastic.lava_graph import netx

    def missing():
        raise netx.NetxMissing("running a netx file in Lava needs lava-dl")

    monkeypatch.setattr(netx, "_netx", missing)
    out, deployed = deploy.export(runs["drtp-fixed"], "netx", tmp_path / "m.net")
    digits = datasets.load_digits(seed=0)
    assert cli.main(["infer", "--model", str(out), "--backend", "lava", "--max-test", "5"]) == 0
    captured = capsys.readouterr()
    expected = engine.accuracy(deploy.predict(deployed, digits.test_x[:5]), digits.test_y[:5])
    assert f"lava, fixed: test accuracy {expected:.4f} on 5" in captured.out
    assert "lava-dl is not installed: the file's network runs as Lava's stock" in captured.err


def _corrupt_checkpoint(run_dir):
    path = run_dir / "checkpoint.npz"
    path.write_bytes(path.read_bytes()[:200])


def _interrupted(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    (run_dir / "results.json").write_text(json.dumps(dict(results, status="interrupted")))


def _copy(run_dir, tmp_path):
    import shutil

    return shutil.copytree(run_dir, tmp_path / "run")


EXPORT_CASES = [
    ("unknown format", lambda run, tmp: ["export", str(run), "--format", "onnx"],
     "unknown export format 'onnx'"),
    ("missing run", lambda run, tmp: ["export", str(tmp / "nowhere"), "--format", "netx"],
     "is not a run folder"),
    ("interrupted run", lambda run, tmp: (_interrupted(run), ["export", str(run), "--format",
                                                              "netx"])[1],
     "is interrupted, not finished: continue it with train --resume"),
    ("corrupt checkpoint", lambda run, tmp: (_corrupt_checkpoint(run),
                                             ["export", str(run), "--format", "nir"])[1],
     "is corrupt or truncated"),
    ("no results", lambda run, tmp: ((run / "results.json").unlink(),
                                     ["export", str(run), "--format", "netx"])[1],
     "holds no results.json: not a finished run"),
    ("out is a folder", lambda run, tmp: ["export", str(run), "--format", "netx", "--out",
                                          str(tmp)], "is a folder; name the file to write"),
    ("unwritable out", lambda run, tmp: ["export", str(run), "--format", "netx", "--out",
                                         str(tmp / "missing" / "m.net")], "cannot write"),
    ("existing export", lambda run, tmp: ((tmp / "m.net").write_bytes(b"kept"),
                                          ["export", str(run), "--format", "netx", "--out",
                                           str(tmp / "m.net")])[1],
     "m.net exists: export with --overwrite to replace it"),
    ("not an export", lambda run, tmp: ["infer", "--model", str(run / "checkpoint.npz")],
     "is not an export (neither a netx nor a NIR file)"),
    ("HDF5 without metadata", lambda run, tmp: (h5py.File(tmp / "x.h5", "w").close(),
                                                ["infer", "--model", str(tmp / "x.h5")])[1],
     "is not a lava-plastic export"),
    ("missing model", lambda run, tmp: ["infer", "--model", str(tmp / "none.net")],
     "no model at"),
    ("wrong data set", lambda run, tmp: ["infer", "--model", str(run), "--dataset", "nettalk",
                                         "--data-dir", str(tmp)], "nettalk_small.npz not found"),
    ("bad backend", lambda run, tmp: ["infer", "--model", str(run), "--backend", "gpu"],
     "--backend must be engine or lava, got 'gpu'"),
    ("bad max-test", lambda run, tmp: ["infer", "--model", str(run), "--max-test", "0"],
     "--max-test must be a positive integer, got 0"),
]


@pytest.mark.parametrize("case", EXPORT_CASES, ids=[c[0] for c in EXPORT_CASES])
def test_bad_exports_are_one_line_refusals_and_write_nothing(runs, tmp_path, capsys, case):
    _, argv, message = case
    run_dir = _copy(runs["drtp-fixed"], tmp_path)
    before = sorted(os.listdir(run_dir))
    assert cli.main(argv(run_dir, tmp_path)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not {"model.net", "model.nir"} & set(os.listdir(run_dir))
    assert [p for p in os.listdir(run_dir) if p.startswith(".")] == []
    assert set(os.listdir(run_dir)) <= set(before)


def test_online_rules_are_refused_with_the_reason():
    for net, reason in [(PlasticNetwork((4, 3, 2), reset="subtract"), "reset by subtracting"),
                        (PlasticNetwork((4, 3, 2), output="readout"), "non-spiking readout")]:
        with pytest.raises(deploy.ExportError, match=reason):
            deploy.deployed_from(net, (np.zeros((3, 4)), np.zeros((2, 3))))


@pytest.fixture(scope="module")
def cost_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cost")
    return {
        "np": _train(root / "np", rule="np", precision="fixed", max_train=200,
                     **dict(rule_defaults("np", precision="fixed"), epochs=1)),
        "opzo": _train(root / "opzo", rule="opzo", precision="fixed", max_train=64,
                       **dict(rule_defaults("opzo", precision="fixed"), hidden=(32, 32),
                              epochs=1)),
    }


def test_cost_counts_what_the_run_does(runs, cost_runs, digits, tmp_path, capsys):
    """The counts against their definitions: the input's messages from the data, synaptic
    operations as messages times fan-out, one learning-engine write per synapse per sample,
    NP's two runs, OPZO's host work for M; energy and latency from the cited figures."""
    from lava_plastic import cost

    drtp = cost.estimate(runs["drtp-fixed"])
    payload = np.rint(digits.test_x * 4)  # the deployed input grid: 2 fraction bits
    assert drtp["layers"][0]["messages_in"] == pytest.approx(
        np.count_nonzero(payload, axis=1).mean() * 16, rel=1e-12)
    for layer in drtp["layers"]:
        assert layer["synaptic_ops"] == pytest.approx(layer["messages_in"] * layer["n_out"])
        assert layer["learning_engine_updates"] == layer["n_in"] * layer["n_out"]
        assert layer["neuron_updates"] == layer["n_out"] * 16
    hidden_spikes = drtp["layers"][0]["spikes"]
    assert drtp["layers"][1]["messages_in"] == pytest.approx(hidden_spikes) and hidden_spikes > 0
    t = drtp["totals"]
    assert t["feedback_synaptic_ops"] == 16 * 100  # the target's one row of B, every step
    f = {name: fig["value"] for name, fig in drtp["figures"].items()}
    assert t["energy_per_sample_nJ"] == pytest.approx(
        (t["synaptic_ops"] * 23.6 + t["learning_engine_updates"] * 120) / 1e3)
    assert f["synop_energy"] == 23.6 and f["update_energy"] == 120.0
    assert t["cores"] == 2 and cost.cores(100, 10_000) == 2 and cost.cores(784, 10_000) == 9

    np_cost = cost.estimate(cost_runs["np"])
    assert np_cost["runs_per_sample"] == 2
    assert np_cost["layers"][0]["neuron_updates"] == 2 * 100 * 16
    opzo = cost.estimate(cost_runs["opzo"])
    steps = opzo["steps"]
    assert [layer["host_macs"] for layer in opzo["layers"]] == [2 * steps * 10 * 32] * 2 + [0]
    assert opzo["opzo_table_5"] == "O(N m n)"

    assert cli.main(["cost", str(runs["drtp-fixed"]), "--max-test", "20",
                     "--out", str(tmp_path / "c.json")]) == 0
    assert "energy per training sample" in capsys.readouterr().out
    written = json.loads((tmp_path / "c.json").read_text())
    assert written["samples_measured"] == 20 and written["published"][0]["energy_per_sample_nJ"] == 313
    assert cli.main(["cost", str(runs["drtp-float"])]) == 2
    assert "is a float run" in capsys.readouterr().err
