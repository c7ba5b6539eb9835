"""The rules' math (rules/, learning/synapse.py) against the DRTP paper's equations written out
by hand, and their fixed-point forms."""
import math
import pickle
from dataclasses import replace

import numpy as np
import pytest

from lava_plastic import ann
from lava_plastic.learning import PlasticNetwork, compile_plan, engine, synapse
from lava_plastic.noise import STREAM_ROUNDING, uniform_bits
from lava_plastic.rules import DFA, DRTP, RULES, SDFA, base, feedback, make_rule
from lava_plastic.xp import namespace

NP = namespace()


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_is_a_small_picklable_value(name):
    rule = make_rule(name, lr=0.01, n_classes=3, seed=4)
    copy = pickle.loads(pickle.dumps(rule))
    assert copy == rule and rule.name == name and type(copy) is type(rule)
    with pytest.raises(Exception):
        rule.lr = 1.0
    assert DRTP(lr=0.01) != DFA(lr=0.01) != SDFA(lr=0.01)


def test_unknown_rule_name():
    with pytest.raises(ValueError, match="unknown rule 'bp'; choose from drtp, dfa, sdfa, opzo, zo, opzo-dfa, ottt-bp"):
        make_rule("bp")


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), "learning rate must be a positive"),
    (dict(lr=-1e-3), "learning rate must be a positive"),
    (dict(lr=float("nan")), "learning rate must be a positive"),
    (dict(n_classes=1), "n_classes"),
    (dict(psi_width=0.0), "psi_width"),
    (dict(seed=-1), "seed must be a non-negative integer"),
])
@pytest.mark.parametrize("rule", [DRTP, DFA, SDFA])
def test_rule_rejects_impossible_hyper_parameters(rule, kwargs, match):
    with pytest.raises(ValueError, match=match):
        rule(**kwargs)


def test_projection_is_seeded_he_uniform():
    (b1, b2) = feedback.projection_matrices(3, 10, (500, 40))
    assert b1.shape == (10, 500) and b2.shape == (10, 40)
    bound = math.sqrt(6 / 500)
    assert np.abs(b1).max() <= bound and np.abs(b1).max() > 0.95 * bound
    assert abs(b1.std() - bound / math.sqrt(3)) < 0.01 * bound
    np.testing.assert_array_equal(b1, feedback.projection_matrices(3, 10, (500, 40))[0])
    assert not np.array_equal(b1, feedback.projection_matrices(4, 10, (500,))[0])


def test_quantized_projection_is_signed_8_bit():
    b = np.array([[0.5, -0.25, 0.99, -0.999]])
    assert feedback.quantize_projection(b).tolist() == [[64, -32, 127, -128]]
    with pytest.raises(ValueError, match="signed 8 bits"):
        feedback.quantize_projection(np.array([[1.2]]))


def test_one_hot_and_bad_labels():
    assert base.one_hot(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match="label 3 is outside the classes 0..2"):
        base.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="label -1"):
        base.one_hot(np.array([-1]), 3)
    with pytest.raises(ValueError, match="integers"):
        base.one_hot(np.array([0.5]), 3)


def test_surrogates_fixed_is_floor_of_float_limit():
    vth, width_shift = 1 << 16, 16
    v = np.arange(-10, 2**18, 997)
    fixed = base.surrogate_fixed(v, vth, width_shift, NP)
    flt = base.surrogate_float(v.astype(float), float(vth), float(2**width_shift), NP)
    assert fixed.max() == 2**base.PSI_BITS and fixed.min() == 0
    assert np.all(fixed <= np.ceil(flt)) and np.all(fixed >= np.floor(flt) - 1)
    assert base.surrogate_fixed(np.array([vth]), vth, width_shift, NP).tolist() == [16]
    assert base.surrogate_fixed(np.array([0, 2 * vth]), vth, width_shift, NP).tolist() == [0, 0]


def layer_plan(lr_shift, fixed=True, k=0, seed=0):
    net = PlasticNetwork((4, 3), precision="fixed" if fixed else "float")
    lp = compile_plan(net, DRTP(n_classes=3, seed=seed)).layers[0]
    return replace(lp, lr_shift=lr_shift, k=k)


def test_write_fixed_stochastic_rounding_is_unbiased_and_saturates():
    lp = layer_plan(10)
    acc = np.full((200, 200), 3 * 2**10 + 2**9)  # 3.5 LSB at lr_shift=10
    step = synapse.write(lp, np.zeros(acc.shape, np.int64), acc, 0, NP)
    assert set(np.unique(step)) == {3, 4}
    assert abs(step.mean() - 3.5) < 0.02
    np.testing.assert_array_equal(step, synapse.write(lp, np.zeros(acc.shape, np.int64), acc, 0, NP))
    assert not np.array_equal(step, synapse.write(lp, np.zeros(acc.shape, np.int64), acc, 1, NP))
    big = synapse.write(lp, np.array([120, -120]), np.array([50 << 10, -(50 << 10)]), 0, NP)
    assert big.tolist() == [127, -128]


def test_write_block_by_block_equals_one_block(monkeypatch):
    """The fixed-point write in blocks (odd size, partial last block) draws the same noise and
    writes the same integers as in one block, on int32 and int64 accumulators."""
    from lava_plastic import xp

    lp = layer_plan(7)
    rng = np.random.default_rng(1)
    weights = rng.integers(-128, 128, (37, 29))
    acc = rng.integers(-2**14, 2**14, (37, 29))
    written = []
    for block in (10**9, 100, 7):
        monkeypatch.setattr(xp, "CPU_BLOCK", block)
        for dtype in (np.int32, np.int64):
            written.append(synapse.write(lp, weights, acc.astype(dtype), 3, NP))
    for w in written[1:]:
        np.testing.assert_array_equal(w, written[0])
    noise = uniform_bits((lp.seed, STREAM_ROUNDING, lp.k, 3), acc.shape, 7, NP)
    np.testing.assert_array_equal(written[0],
                                  np.clip(weights + ((acc + noise) >> 7), -128, 127))


def test_write_float_is_the_scaled_accumulator():
    np.testing.assert_allclose(synapse.write(layer_plan(10, fixed=False), np.zeros(2),
                                             np.array([3.5 * 2**10, -1.0]), 0, NP),
                               [3.5, -2.0**-10], rtol=1e-15)


def test_accumulate_equals_sum_of_outer_products():
    rng = np.random.default_rng(0)
    delta = rng.integers(-2000, 2000, size=(5, 4))
    pre = rng.integers(0, 256, size=(5, 6))
    expected = sum(np.outer(delta[b], pre[b]) for b in range(5))
    np.testing.assert_array_equal(
        synapse.accumulate(layer_plan(10), delta, pre, NP), expected)
    np.testing.assert_allclose(
        synapse.accumulate(layer_plan(10, fixed=False), delta * 0.5, pre, NP),
        expected * 0.5, rtol=1e-12)


@pytest.mark.parametrize("rule, vector, label, seed", [
    (DRTP(n_classes=3, seed=0), lambda y_star, y2: y_star, 1, 1),
    (DFA(n_classes=3), lambda y_star, y2: y_star - y2, 2, 2),
    (SDFA(n_classes=3), lambda y_star, y2: np.sign(y_star - y2), 2, 2),
])
def test_ann_directions_by_hand(rule, vector, label, seed):
    """tanh hidden, sigmoid output (Algorithm 1): W1 += eta (B^T v ⊙ (1 - y1^2)) x^T with v the
    rule's vector, y* (DRTP), y* - y2 (DFA) or sign(y* - y2) (sDFA, DRTP paper Fig. 1C and
    section 2.1); the output layer alike for all: W2 += eta/C (y* - y2) y1^T, b2 += eta/C (y* - y2)."""
    rng = np.random.default_rng(seed)
    params = ann.init_ann((5, 4, 3), seed=0)
    (b,) = feedback.projection_matrices(0, 3, (4,))
    x = rng.random((1, 5))
    y_star = base.one_hot(np.array([label]), 3).astype(float)
    dirs, _ = ann.directions(rule, (b,), params, x, y_star)
    w1, w2 = params.weights
    y1 = np.tanh(x[0] @ w1.T)
    y2 = 1 / (1 + np.exp(-(y1 @ w2.T)))
    e = vector(y_star[0], y2)
    np.testing.assert_allclose(dirs[0], np.outer((b.T @ e) * (1 - y1**2), x[0]), rtol=1e-12)
    np.testing.assert_allclose(dirs[1], np.outer((y_star[0] - y2) / 3, y1), rtol=1e-12)
    np.testing.assert_allclose(dirs[3], (y_star[0] - y2) / 3, rtol=1e-12)
    assert np.all(np.abs(np.sign(y_star[0] - y2)) == 1)  # a graded output: sign(e) != e


def test_spiking_error_signals_by_hand():
    """DFA sends y* - s of the step; sDFA sign(t y* - c), the sign of the rate error so far;
    both send 0 at a sample's first step (the target has not arrived yet)."""
    y_star = np.array([[0, 1, 0, 0]])
    spikes = np.array([[1, 0, 0, 1]])
    count = np.array([[2, 3, 0, 1]])
    dfa, sdfa = DFA.feedback, SDFA.feedback
    assert dfa.signal(y_star, spikes, count, 3, NP).tolist() == [[-1, 1, 0, -1]]
    assert sdfa.signal(y_star, spikes, count, 3, NP).tolist() == [[-1, 0, 0, -1]]
    assert sdfa.signal(y_star, spikes, count, 4, NP).tolist() == [[-1, 1, 0, -1]]
    assert dfa.signal(y_star, spikes, count, 0, NP).tolist() == [[0, 0, 0, 0]]
    assert DRTP.feedback.signal(y_star, spikes, count, 3, NP) is None


def test_fixed_point_modulation_saturates_to_8_bits():
    """A hidden neuron's m = B^T e can exceed 8 bits for DFA; the neuron saturates it, so the
    third factor stays within 13 bits: |m psi| <= 128 * 16."""
    from lava_plastic.learning.neuron import modulation, neuron_step, rest

    net = PlasticNetwork((4, 3, 2), n_steps=4, precision="fixed", vth_bits=0)
    lp = compile_plan(net, DFA(n_classes=2)).layers[0]
    state = rest(lp, 1, NP)
    state = type(state)(state.u, np.full((1, 3), lp.vth), state.count)  # at threshold: psi max
    m = modulation(lp, np.array([[300, -300, 5]]), NP)
    _, _, delta, _ = neuron_step(lp, DFA.feedback, state, np.zeros((1, 3), np.int64), m, 1, NP)
    assert m.tolist() == [[127, -128, 5]] and delta.tolist() == [[127 * 16, -128 * 16, 5 * 16]]
    float_lp = compile_plan(net.with_precision("float"), DFA(n_classes=2)).layers[0]
    assert modulation(float_lp, np.array([[300.0]]), NP).tolist() == [[300.0]]


def test_rules_differ_only_in_the_hidden_layers_feedback():
    """One batch of digits through the engine: the output layer's update is the same for all
    three rules, the hidden layer's differs (and DFA's from sDFA's)."""
    from lava_plastic.datasets import load_digits

    data = load_digits(seed=0)
    net = PlasticNetwork((64, 32, 10), n_steps=8, precision="fixed")
    accs = {}
    for name in ("drtp", "dfa", "sdfa"):
        plan = compile_plan(net, make_rule(name, seed=1), batch_size=8)
        state = engine.init_state(plan)
        payload = engine.encode_input(net, data.train_x[:8])
        _, accs[name] = engine.run_batch(plan, state, payload,
                                         base.one_hot(data.train_y[:8], 10), learn=True)
    for a, b in (("drtp", "dfa"), ("drtp", "sdfa"), ("dfa", "sdfa")):
        np.testing.assert_array_equal(accs[a][1], accs[b][1])
        assert not np.array_equal(accs[a][0], accs[b][0]), (a, b)
        assert np.abs(accs[a][0]).max() > 0


def test_plan_refuses_a_rule_for_another_network_and_a_saturating_batch():
    net = PlasticNetwork((64, 20, 10), n_steps=16, precision="fixed")
    with pytest.raises(ValueError, match="rule has 3 classes, network 10"):
        compile_plan(net, DFA(n_classes=3))
    with pytest.raises(ValueError, match="saturate the 32-bit update accumulator"):
        compile_plan(net, DRTP(), batch_size=2**10)
    assert compile_plan(net, DRTP(), batch_size=256).batch_size == 256
    # the largest batch: its accumulator bound plus the rounding noise fits 31 bits
    per_sample = 15 * 2**base.DELTA_SHIFT * 2**net.input_bits
    noise = 2 ** compile_plan(net, DRTP()).layers[0].lr_shift
    largest = (2**31 - noise) // per_sample
    assert compile_plan(net, DRTP(), batch_size=largest).batch_size == largest
    with pytest.raises(ValueError, match="saturate the 32-bit update accumulator"):
        compile_plan(net, DRTP(), batch_size=largest + 1)
    with pytest.raises(ValueError, match="batch size must be a positive integer"):
        compile_plan(net, DRTP(), batch_size=0)


@pytest.mark.parametrize("du", [4095, 0, 1234])
@pytest.mark.parametrize("a_bound", [2**18, 401_409, 2**24])
def test_fixed_lif_skips_only_wraps_that_change_nothing(du, a_bound):
    """With a static input bound the integration skips int32 wraps (and with du = 4095 uses the
    modular 24-bit wrap): the same integers as the full Lava order, over 40 steps of inputs at
    the bound's extremes and random ones, with a bias."""
    from lava_plastic.engine import lif_fixed_integrate
    rng = np.random.default_rng(du + a_bound)
    u = v = u_ref = v_ref = np.zeros((3, 50), np.int64)
    bias = rng.integers(-4096, 4096, size=50) << 7
    for step in range(40):
        a = rng.integers(-a_bound, a_bound + 1, size=(3, 50))
        a[0] = a_bound if step % 2 else -a_bound
        u, v = lif_fixed_integrate(u, v, a, du, 100, bias, NP, a_bound)
        u_ref, v_ref = lif_fixed_integrate(u_ref, v_ref, a, du, 100, bias, NP)
        np.testing.assert_array_equal(u, u_ref)
        np.testing.assert_array_equal(v, v_ref)


def test_fixed_dense_skips_wraps_only_within_its_bound():
    from lava_plastic.engine import dense_fixed
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, size=(20, 784))
    x = rng.integers(0, 257, size=(5, 784))
    x[0] = 256
    w[0] = -128
    bound = 128 * 256 * 784
    for exp in (-6, 0, 2):
        np.testing.assert_array_equal(dense_fixed(w, x, exp, True, "float64", NP, bound),
                                      dense_fixed(w, x, exp, True, "float64", NP))


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_ottt_neuron_follows_opzo_equation_1(precision):
    """A hidden layer with ``reset="subtract"``, ``du = 4095``, ``dv = 2048`` against OPZO's
    eq. 1 written out, ``v[t] = 0.5 (v[t-1] - V_th s[t-1]) + I[t]``, ``s[t] = v[t] > V_th``
    (fixed point: the halving is Loihi's decay, toward zero, and the input is shifted into the
    24-bit register), over 30 steps of random input; the reset to zero spikes differently."""
    from lava_plastic.learning.neuron import neuron_step, rest

    fixed = precision == "fixed"
    net = PlasticNetwork((4, 50, 3), n_steps=30, precision=precision, dv=2048, reset="subtract")
    rng = np.random.default_rng(7)
    a = rng.uniform(-0.3, 1.5, (30, 2, 50)) * net.vth  # in threshold units, then Dense units
    a = np.rint(a).astype(np.int64) if fixed else a
    mod = np.ones((2, 50), np.int32 if fixed else np.float64)

    def run(network):
        lp = compile_plan(network, DRTP(n_classes=3)).layers[0]
        state, steps = rest(lp, 2, NP), []
        for t in range(30):
            state, spikes, _, _ = neuron_step(lp, DRTP.feedback, state, a[t], mod, t, NP)
            steps.append((spikes, state.v))
        return lp, steps

    lp, steps = run(net)
    v_ref = np.zeros((2, 50), np.int64 if fixed else np.float64)
    spikes_ref = np.zeros((2, 50), bool)
    for t, (spikes, v) in enumerate(steps):
        if t:  # a sample's first step drops its input and starts from rest
            after = v_ref - lp.vth * spikes_ref
            if fixed:
                v_ref = np.sign(after) * (np.abs(after) * 2048 >> 12) + (a[t] << 6)
            else:
                v_ref = 0.5 * after + a[t]
            spikes_ref = v_ref > lp.vth
        np.testing.assert_array_equal(spikes, spikes_ref, err_msg=f"step {t}")
        np.testing.assert_array_equal(v, np.where(spikes_ref, v_ref - lp.vth, v_ref))
    n_spikes = sum(int(spikes.sum()) for spikes, _ in steps)
    assert n_spikes > 50
    _, zero_steps = run(replace(net, reset="zero"))
    assert sum(int(spikes.sum()) for spikes, _ in zero_steps) != n_spikes


def test_sigmoid_surrogate_is_opzos_and_its_table_within_an_lsb():
    """Float: OPZO's App. C.3.2 formula in the surrogate's units (1 is 2**PSI_BITS). Fixed: the
    table's value within one LSB plus the change over a bucket of the float one at every distance,
    zero where the float value is below half an LSB, never above 2**PSI_BITS."""
    vth_scaled, vth = 1024 << 6, 1024.0
    v = np.linspace(-3 * vth, 5 * vth, 20001)
    for a1 in (0.25, 0.5):
        u, big_v = v / vth, 1.0
        paper = (1 / a1) * np.exp((big_v - u) / a1) / (1 + np.exp((big_v - u) / a1)) ** 2
        ours = base.sigmoid_surrogate_float(v, vth, a1 * vth, NP)
        np.testing.assert_allclose(ours, 2**base.PSI_BITS * paper, rtol=1e-12, atol=1e-300)
        shift, table = base.sigmoid_surrogate_table(vth_scaled, a1)
        assert len(table) == base.SIGMOID_TABLE_SIZE and table[-1] == 0
        assert max(table) <= 2**base.PSI_BITS and list(table) == sorted(table, reverse=True)
        v_fixed = np.rint(v * 64).astype(np.int32)
        fixed = base.sigmoid_surrogate_fixed(v_fixed, vth_scaled, shift, table, NP)
        assert fixed.dtype == np.int32
        slope = 2**base.PSI_BITS / a1 * 0.1 * 2**shift / (a1 * vth_scaled)  # |d psi| over a bucket
        assert np.max(np.abs(fixed - ours)) <= 1 + slope
        assert np.all(fixed[ours < 0.5] == 0)


def test_rules_refuse_an_unknown_or_too_narrow_surrogate():
    with pytest.raises(ValueError, match="surrogate must be one of"):
        DRTP(surrogate="relu")
    with pytest.raises(ValueError, match=r"psi_width of the sigmoid surrogate must be in \[0.25, 4\]"):
        DRTP(surrogate="sigmoid", psi_width=0.2)
    assert DRTP(surrogate="sigmoid", psi_width=0.25).psi_width == 0.25
