"""The core on other array namespaces and without Lava.

* The engine on torch CPU tensors against numpy: identical fixed-point integers (weights after
  training, every output count), float weights within rtol 1e-12 / atol 1e-9 weight units
  (BLAS sums in another order) and identical counts.
* Every module outside the Lava layer (``lava_graph``, ``processes``) imports with ``lava``
  blocked, and ``lava-plastic train`` trains with the engine there; the Lava backend says Lava
  is needed, in one line; a CUDA device that is not here is refused in one line.

run-tests runs this module in ``.venv-torch`` (Python 3.11, torch's CPU build, numpy 2, no Lava).
"""
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lava_plastic
from lava_plastic import cli
from lava_plastic import fixed_point as fp
from lava_plastic.datasets import load_digits
from lava_plastic.learning import PlasticNetwork, compile_plan, engine
from lava_plastic.rules import make_rule
from lava_plastic.xp import to_numpy

torch = pytest.importorskip("torch")


def train_on(namespace_template, rule_name, precision, optimizer=None, batch_size=4,
             dtype="float64"):
    data = load_digits(seed=0)
    x, y = data.train_x[:48], data.train_y[:48]
    net = PlasticNetwork((64, 32, 24, 10), n_steps=8, precision=precision, weight_bits=7)
    plan = compile_plan(net, make_rule(rule_name, lr=2**-7, seed=3), batch_size)
    state = engine.init_state(plan, optimizer=None, template=namespace_template, dtype=dtype)
    if optimizer is not None:
        state = engine.TrainState(state.weights, state.feedback, optimizer.init(state.weights), 0)
    seen = []
    for epoch in range(2):
        order = np.random.default_rng(epoch).permutation(len(x))
        state, s = engine.train_epoch(plan, state, x, y, batch_size, optimizer, order)
        seen.append(s)
    test = engine.predict(plan, state, data.test_x[:40])
    return [to_numpy(w) for w in state.weights], np.stack(seen), to_numpy(test)


@pytest.mark.parametrize("rule_name", ["drtp", "dfa", "sdfa"])
@pytest.mark.parametrize("precision", ["fixed", "float"])
def test_engine_on_torch_equals_numpy(rule_name, precision):
    w_np, seen_np, test_np = train_on(None, rule_name, precision)
    w_t, seen_t, test_t = train_on(torch.zeros(1), rule_name, precision)
    np.testing.assert_array_equal(seen_t, seen_np)
    np.testing.assert_array_equal(test_t, test_np)
    assert seen_np.sum() > 0
    for k, (a, b) in enumerate(zip(w_t, w_np)):
        if precision == "fixed":
            assert a.dtype == np.int32
            np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9, err_msg=f"layer {k}")


def train_perturbation_on(template, rule_name, precision):
    """NP or LOCO (mixed batches) for two epochs, with the projector's host computation."""
    data = load_digits(seed=0)
    x, y = data.train_x[:48], data.train_y[:48]
    net = PlasticNetwork((64, 32, 10), n_steps=8, precision=precision, dv=2048, weight_bits=7)
    options = dict(rank=4, class_batches=False) if rule_name == "loco" else {}
    plan = compile_plan(net, make_rule(rule_name, lr=2**-5, sigma=0.5, seed=3, **options), 8)
    state = engine.init_state(plan, template=template)
    seen = []
    for epoch in range(2):
        order = np.random.default_rng(epoch).permutation(len(x))
        state, s = engine.train_epoch(plan, state, x, y, 8, None, order)
        seen.append(s)
    test = engine.predict(plan, state, data.test_x[:40])
    return [to_numpy(w) for w in state.weights], np.stack(seen), to_numpy(test), state.rule_state


@pytest.mark.parametrize("rule_name", ["np", "loco"])
@pytest.mark.parametrize("precision", ["fixed", "float"])
def test_perturbation_rules_on_torch_equal_numpy(rule_name, precision):
    """NP and LOCO on torch CPU tensors: fixed point the same integers and direction buffers,
    float within rtol 1e-12 / atol 1e-9 weight units; identical counts."""
    w_np, seen_np, test_np, dirs_np = train_perturbation_on(None, rule_name, precision)
    w_t, seen_t, test_t, dirs_t = train_perturbation_on(torch.zeros(1), rule_name, precision)
    np.testing.assert_array_equal(seen_t, seen_np)
    np.testing.assert_array_equal(test_t, test_np)
    for a, b, w0 in zip(w_t, w_np, engine.init_weights(
            PlasticNetwork((64, 32, 10), precision=precision, weight_bits=7), 3)):
        assert not np.array_equal(b, w0)
        if precision == "fixed":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)
    for a, b in zip(dirs_t, dirs_np):
        np.testing.assert_allclose(a, b, rtol=0, atol=0 if precision == "fixed" else 1e-9)


CUDA = torch.cuda.is_available()


@pytest.mark.skipif(not CUDA, reason="no CUDA device")
@pytest.mark.parametrize("rule_name", ["drtp", "dfa", "sdfa"])
@pytest.mark.parametrize("precision", ["fixed", "float"])
def test_engine_on_cuda_equals_numpy(rule_name, precision):
    """The same engine on a GPU: fixed point the same integers, float64 within rtol 1e-9 /
    atol 1e-9 weight units (cuBLAS sums in another order), identical counts."""
    w_np, seen_np, test_np = train_on(None, rule_name, precision)
    w_c, seen_c, test_c = train_on(torch.zeros(1, device="cuda"), rule_name, precision)
    np.testing.assert_array_equal(seen_c, seen_np)
    np.testing.assert_array_equal(test_c, test_np)
    for a, b in zip(w_c, w_np):
        if precision == "fixed":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("template", [None, "torch"])
def test_float32_engine_option(template):
    """float32 training keeps float32 arrays end to end and stays within float32 rounding of
    the float64 run over two epochs (weights within 1e-3 weight units; the largest weights
    are ~0.3 * 2**7)."""
    w64, seen64, _ = train_on(None, "dfa", "float")
    w32, seen32, test32 = train_on(None if template is None else torch.zeros(1), "dfa", "float",
                                   dtype="float32")
    assert all(w.dtype == np.float32 for w in w32)
    for a, b in zip(w32, w64):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-3)
    assert np.mean(seen32 != seen64) < 0.02


def test_float32_refused_in_fixed_point():
    plan = compile_plan(PlasticNetwork((8, 4), precision="fixed"), make_rule("drtp", n_classes=4))
    with pytest.raises(ValueError, match="fixed point computes in integers"):
        engine.init_state(plan, dtype="float32")
    with pytest.raises(ValueError, match="dtype must be one of"):
        engine.init_state(plan, dtype="int8")


def test_adam_on_torch_equals_numpy():
    adam = engine.make_optimizer_for(PlasticNetwork((64, 10)), "adam", 1e-3)
    w_np, seen_np, _ = train_on(None, "dfa", "float", adam)
    w_t, seen_t, _ = train_on(torch.zeros(1), "dfa", "float", adam)
    np.testing.assert_array_equal(seen_t, seen_np)
    for a, b in zip(w_t, w_np):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype, rtol, atol", [("float64", 1e-12, 1e-18), ("float32", 2e-6, 1e-9)])
def test_adam_blocks_equal_whole_arrays_and_the_textbook_formula(monkeypatch, lib, dtype, rtol,
                                                                 atol):
    """Adam's block-by-block passes give the same bits as whole-array passes (odd block size,
    partial last block), and the textbook update ``lr m^ / (sqrt(v^) + eps)`` within ``rtol``
    (and ``atol`` where the moment nearly cancels; lr is 1e-3)."""
    from lava_plastic import optim, xp

    rng = np.random.default_rng(0)
    params = [rng.standard_normal((50, 78)).astype(dtype), rng.standard_normal(37).astype(dtype)]
    grads = [[rng.standard_normal(p.shape).astype(dtype) for p in params] for _ in range(4)]
    convert = torch.from_numpy if lib == "torch" else (lambda a: a)
    results = []
    for block in (7, 10**9):
        monkeypatch.setattr(xp, "CPU_BLOCK", block)
        adam = optim.Adam(1e-3)
        state = adam.init([convert(p.copy()) for p in params])
        for g in grads:
            steps = [convert(np.zeros_like(p)) for p in params]
            state = adam.step_into(steps, [convert(d) for d in g], state)
        results.append([to_numpy(a) for a in list(steps) + list(state[1]) + list(state[2])])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    m = [np.zeros_like(p, dtype=np.float64) for p in params]
    v = [np.zeros_like(p, dtype=np.float64) for p in params]
    for t, g in enumerate(grads, start=1):
        for i, d in enumerate(g):
            m[i] = 0.9 * m[i] + 0.1 * d
            v[i] = 0.999 * v[i] + 0.001 * d.astype(np.float64) ** 2
    for i, step in enumerate(results[0][:2]):
        expected = 1e-3 * (m[i] / (1 - 0.9**4)) / (np.sqrt(v[i] / (1 - 0.999**4)) + 1e-8)
        np.testing.assert_allclose(step, expected, rtol=rtol, atol=atol)


def test_clamp_keeps_dtype_and_takes_open_bounds():
    from lava_plastic.xp import clamp

    for dtype in (np.int32, np.int64, np.float32):
        values = np.array([-300, -5, 0, 7, 300], dtype=dtype)
        for array in (values, torch.from_numpy(values.copy())):
            for low, high, expected in ((-128, 127, [-128, -5, 0, 7, 127]),
                                        (0, None, [0, 0, 0, 7, 300]),
                                        (None, 6, [-300, -5, 0, 6, 6])):
                got = clamp(array, low, high)
                assert to_numpy(got).dtype == dtype and to_numpy(got).tolist() == expected


def test_blocks_on_cpu_arrays_of_both_namespaces(monkeypatch):
    from lava_plastic import xp

    monkeypatch.setattr(xp, "CPU_BLOCK", 40)
    for array in (np.zeros(100), torch.zeros(100)):
        assert xp.blocks(100, array) == [slice(0, 40), slice(40, 80), slice(80, 100)]
    assert xp.blocks(0, np.zeros(0)) == []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adam_flushes_moments_before_they_turn_subnormal(monkeypatch, dtype):
    """Directions that are non-zero for a few steps and then zero let the moments decay; the
    flush keeps them out of the subnormal range (where they land without it), and the weights
    stay within 1e-9 lr of the unflushed ones."""
    from lava_plastic import optim

    tiny = np.finfo(dtype).tiny
    steps = 1500 if dtype == "float32" else 7000
    rng = np.random.default_rng(0)
    first = [rng.standard_normal(300).astype(dtype) * 1e-3 for _ in range(3)]
    results = []
    for flush_every in (optim.FLUSH_EVERY, 10**9):
        monkeypatch.setattr(optim, "FLUSH_EVERY", flush_every)
        adam = optim.Adam(1e-3)
        params = [np.zeros(300, dtype)]
        state = adam.init(params)
        subnormal = 0
        for t in range(steps):
            d = first[t] if t < 3 else np.zeros(300, dtype)
            state = adam.step_into(params, [d], state)
            subnormal += sum(int(np.sum((a != 0) & (np.abs(a) < tiny))) for a in state[1] + state[2])
        results.append((params[0], subnormal))
    (flushed, none), (plain, some) = results
    assert none == 0 and some > 0
    np.testing.assert_allclose(flushed, plain, rtol=0, atol=1e-9 * 1e-3)


def test_fixed_point_helpers_on_torch_equal_numpy():
    rng = np.random.default_rng(0)
    x = rng.integers(-2**40, 2**40, size=1000)
    small = rng.integers(-2**20, 2**20, size=1000)
    t, ts = torch.from_numpy(x), torch.from_numpy(small)
    cases = [
        (fp.wrap, (32,)), (fp.wrap_once, (24,)), (fp.saturate, (24,)), (fp.clip_signed, (8,)),
        (fp.shift_right_toward_zero, (5,)), (fp.shift_by_exponent, (-3,)),
        (fp.shift_by_exponent, (2,)),
    ]
    for f, args in cases:
        np.testing.assert_array_equal(f(t, *args).numpy(), f(x, *args), err_msg=f.__name__)
    np.testing.assert_array_equal(fp.decay(ts, 1000).numpy(), fp.decay(small, 1000))
    a, b = rng.integers(-128, 128, (30, 50)), rng.integers(0, 256, (50, 20))
    np.testing.assert_array_equal(
        fp.exact_int_matmul(torch.from_numpy(a), torch.from_numpy(b), "float32").numpy(), a @ b)


ROOT = Path(lava_plastic.__file__).parent
LAVA_LAYER = ("lava_plastic.lava_graph", "lava_plastic.processes")


def core_modules():
    names = []
    for info in pkgutil.walk_packages([str(ROOT)], prefix="lava_plastic."):
        if not info.name.startswith(LAVA_LAYER):
            names.append(info.name)
    return names


def test_core_modules_import_and_train_without_lava(tmp_path):
    modules = core_modules()
    assert "lava_plastic.learning.engine" in modules and "lava_plastic.train" in modules
    script = f"""
import importlib, sys
sys.modules["lava"] = None          # any import of lava now raises ImportError
for name in {modules!r}:
    importlib.import_module(name)
assert not any(m == "lava" or m.startswith("lava.") for m in sys.modules if sys.modules[m]), "lava loaded"
from lava_plastic import cli
assert cli.main(["train", "--rule", "dfa", "--epochs", "1", "--max-train", "100", "--hidden", "20",
                 "--max-test", "50", "--no-progress", "--out", {str(tmp_path / "run")!r}]) == 0
code = cli.main(["train", "--backend", "lava", "--epochs", "1", "--no-progress",
                 "--out", {str(tmp_path / "lava")!r}])
sys.exit(10 + code)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 12, result.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "results.json").read_text())["rule"] == "dfa"
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("lava-plastic: the lava backend needs Lava")
    assert not (tmp_path / "lava").exists()


def test_cli_refuses_a_cuda_device_that_is_not_here(capsys):
    if CUDA:
        pytest.skip("this machine has CUDA")
    assert cli.main(["train", "--no-progress", "--device", "cuda:0"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert errors == ["lava-plastic: device 'cuda:0': torch finds no CUDA device here"]


@pytest.mark.parametrize("rule_name", ["opzo", "zo", "opzo-dfa", "ottt-bp"])
def test_online_rules_on_torch_equal_numpy(rule_name):
    """The online rules' engine on torch CPU tensors: the same keyed noise and dropout, weights
    and M within rtol 1e-9 (BLAS sums in another order) after an epoch with AdamW."""
    data = load_digits(seed=0)
    x, y = data.train_x[:64], data.train_y[:64]
    net = PlasticNetwork((64, 24, 16, 10), n_steps=8, reset="subtract", dv=2048, output="readout")
    plan = compile_plan(net, make_rule(rule_name, seed=3, momentum=0.9), 16)
    results = []
    for template in (None, torch.zeros(1)):
        optimizer = engine.make_optimizer_for(net, "adamw", 1e-3, 1e-3)
        state = engine.init_state(plan, optimizer=optimizer, template=template)
        state, seen = engine.train_epoch(plan, state, x, y, 16, optimizer, np.arange(64),
                                         alpha=0.2, dropout=0.2)
        results.append(([to_numpy(w) for w in state.weights],
                        [to_numpy(f) for f in state.feedback], seen))
    (w_np, f_np, seen_np), (w_t, f_t, seen_t) = results
    for a, b in zip(w_np + f_np, w_t + f_t):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(seen_t, seen_np, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("rule_name", ["opzo", "zo", "opzo-dfa"])
def test_online_rules_fixed_point_on_torch_equals_numpy(rule_name):
    """Fixed point (the on-chip SGD rule, the sse loss): identical integers on torch, weights,
    M and readout sums, with noise, dropout and the two-point estimate where it applies."""
    data = load_digits(seed=0)
    x, y = data.train_x[:48], data.train_y[:48]
    net = PlasticNetwork((64, 24, 16, 10), n_steps=8, reset="subtract", dv=2048, output="readout",
                         precision="fixed", weight_bits=7)
    extra = dict(two_point=True) if rule_name == "opzo" else {}
    plan = compile_plan(net, make_rule(rule_name, lr=2**-10, seed=3, momentum=0.99, loss="sse",
                                       **extra), 16)
    results = []
    for template in (None, torch.zeros(1)):
        state = engine.init_state(plan, template=template)
        state, seen = engine.train_epoch(plan, state, x, y, 16, None, np.arange(48), alpha=0.2,
                                         dropout=0.2)
        results.append(([to_numpy(w) for w in state.weights + state.feedback], seen,
                        to_numpy(engine.predict(plan, state, data.test_x[:30]))))
    (a, seen_a, test_a), (b, seen_b, test_b) = results
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wb, wa)
    np.testing.assert_array_equal(seen_b, seen_a)
    np.testing.assert_array_equal(test_b, test_a)


@pytest.mark.parametrize("changes", [dict(precision="fixed"),
                                     dict(rule="opzo", batch_size=16, optimizer="adamw",
                                          lr=2e-4, hidden=(32, 32), steps=4)])
def test_a_torch_run_resumed_from_a_checkpoint_ends_as_the_run_never_stopped(tmp_path, changes):
    """Checkpoints of the engine on torch tensors hold numpy arrays; resumed on torch, the run
    ends with the same weights and optimiser state (exactly, on one thread count)."""
    from dataclasses import replace

    from lava_plastic import checkpoint
    from lava_plastic.train import TrainConfig, run

    base = TrainConfig(**dict(dict(epochs=2, max_train=96, max_test=20, progress=False,
                                   device="torch-cpu"), **changes))
    run(replace(base, out=str(tmp_path / "whole")), log=lambda *_: None)
    saved = []
    save = checkpoint.save

    def keep(path, point):
        save(path, point)
        saved.append(Path(path).read_bytes())

    checkpoint.save = keep
    try:
        run(replace(base, out=str(tmp_path / "kept"), checkpoint_every=2,
                    checkpoint_unit="batch"), log=lambda *_: None)
    finally:
        checkpoint.save = save
    (tmp_path / "resumed").mkdir()
    (tmp_path / "resumed" / checkpoint.FILE).write_bytes(saved[len(saved) // 3])
    run(replace(base, out=str(tmp_path / "resumed")), resume=True, log=lambda *_: None)
    resumed = checkpoint.load(tmp_path / "resumed" / checkpoint.FILE)
    whole = checkpoint.load(tmp_path / "whole" / checkpoint.FILE)
    for a, b in zip(resumed.state.weights + resumed.state.feedback,
                    whole.state.weights + whole.state.feedback):
        assert np.array_equal(a, b)
    if whole.state.opt_state:
        assert resumed.state.opt_state[0] == whole.state.opt_state[0]
        for a, b in zip(resumed.state.opt_state[1] + resumed.state.opt_state[2],
                        whole.state.opt_state[1] + whole.state.opt_state[2]):
            assert np.array_equal(a, b)
