"""Spiking DRTP networks: the description, the per-step layer arithmetic and the batched engine.

A :class:`DRTPNetwork` describes ``n_in -> hidden ... -> n_classes`` LIF layers trained by DRTP.
The same description builds the Lava graph (:mod:`lava_plastic.drtp_lava`) and runs in the
engine here. The per-step functions :func:`neuron_step`, :func:`synapse_forward` and
:func:`apply_update` are what the Lava ProcessModels call; :func:`run_batch` calls them for a
batch, so the engine is the Lava graph, batched, with the graph's step order and delays:

* a sample is presented for ``n_steps`` steps by direct coding: the payload
  ``round(x * 2**input_bits)`` (fixed) or ``x * 2**input_bits`` (float) at every step;
* each synapse sends the input it weighted in the previous step (one step of delay), every
  neuron starts each sample at rest and drops the input that arrives in the sample's first step;
* the modulatory signal (``B^T y*`` for hidden layers, ``y*`` for the output layer) arrives
  through a Dense, one step late, so it is valid from a sample's second step; the synapse pairs
  the neuron's third factor at step ``t`` with its own input at step ``t - 1`` (the input that
  caused the potential), which is zero at a sample's first step;
* updates accumulate over the steps of the sample and are written when the sample ends.

Fixed point is the canonical arithmetic and float its limit: the float network computes the
same quantities in the same units without rounding. Units: the fixed LIF state is Lava's
(24-bit ``u``, ``v``; threshold ``vth << 6``); float ``u``, ``v`` are the fixed values divided
by 64, so the float threshold is ``vth``. Weights are in units of ``2**-weight_bits`` of a real
weight (``w_real = w / 2**weight_bits``); the Dense exponent of each layer is chosen so that a
real pre-activation of 1 per step moves ``v`` by exactly the threshold. A real learning rate
``lr`` becomes, per layer, a right shift ``lr_shift`` of the integer accumulator (the float
update multiplies by ``2**-lr_shift``): learning rates are powers of two, as on chip.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lava_plastic import fixed_point as fp
from lava_plastic.engine import dense_fixed, dense_float, fire, lif_fixed_integrate, lif_float_integrate
from lava_plastic.network import PRECISIONS
from lava_plastic.optim import Adam
from lava_plastic.rules import drtp


@dataclass(frozen=True, eq=False)
class DRTPNetwork:
    """Feed-forward LIF network trained with DRTP.

    ``sizes``: ``(n_in, hidden..., n_classes)``. ``n_steps``: time steps per sample.
    ``du``, ``dv``: Loihi 12-bit decays (``du=4095``: no current memory). ``vth_bits``: the
    17-bit threshold is ``2**vth_bits``. ``weight_bits``: fractional bits of the 8-bit signed
    weights. ``input_bits``: fractional bits of the graded input payload.
    """

    sizes: tuple[int, ...]
    n_steps: int = 16
    precision: str = "float"
    du: int = 4095
    dv: int = 0
    vth_bits: int = 10
    weight_bits: int = 8
    input_bits: int = 8

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(int(n) for n in self.sizes))
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"sizes must list at least input and output sizes >= 1, got {self.sizes}")
        if self.sizes[-1] < 2:
            raise ValueError("the output layer needs at least 2 classes")
        checks = [("n_steps", self.n_steps, 2, 10_000), ("du", self.du, 0, 4095),
                  ("dv", self.dv, 0, 4095), ("vth_bits", self.vth_bits, 0, 16),
                  ("weight_bits", self.weight_bits, 0, 12), ("input_bits", self.input_bits, 0, 16)]
        for name, value, lo, hi in checks:
            if int(value) != value or not lo <= value <= hi:
                raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")

    @property
    def fixed(self) -> bool:
        return self.precision == "fixed"

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_classes(self) -> int:
        return self.sizes[-1]

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        return self.sizes[1:-1]

    def in_bits(self, k: int) -> int:
        """Fractional bits of layer ``k``'s input: the graded payload, or 0 for spikes."""
        return self.input_bits if k == 0 else 0

    def weight_exp(self, k: int) -> int:
        """Dense exponent making ``a = W x`` equal ``a_real * 2**vth_bits``."""
        return self.vth_bits - self.weight_bits - self.in_bits(k)

    @property
    def vth(self) -> int:
        return 2**self.vth_bits

    def lr_shift(self, rule: drtp.DRTP, k: int) -> int:
        """The accumulator shift giving layer ``k`` the real learning rate of ``rule`` (the
        output layer gets ``lr / C``, Algorithm 1), rounded to a power of two."""
        lr = rule.output_lr() if k == self.n_layers - 1 else rule.lr
        shift = int(round(drtp.DELTA_SHIFT + self.in_bits(k) - self.weight_bits - math.log2(lr)))
        if not 0 <= shift <= 40:
            raise ValueError(f"learning rate {lr} gives an accumulator shift {shift} outside [0, 40]")
        return shift

    def width_shift(self, rule: drtp.DRTP) -> int:
        """log2 of the surrogate half-width in voltage-register units."""
        return drtp.surrogate_width_shift(self.vth << fp.VTH_SHIFT, rule.psi_width)

    def with_precision(self, precision: str) -> "DRTPNetwork":
        return DRTPNetwork(self.sizes, self.n_steps, precision, self.du, self.dv,
                           self.vth_bits, self.weight_bits, self.input_bits)


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------
def init_weights(net: DRTPNetwork, seed: int) -> tuple[np.ndarray, ...]:
    """He-uniform initial weights (the paper's initialiser) in weight units; fixed point rounds
    them to the nearest integer."""
    rng = np.random.default_rng([seed, 0x57])
    weights = []
    for n_in, n_out in zip(net.sizes[:-1], net.sizes[1:]):
        w = drtp.he_uniform(rng, (n_out, n_in), fan_in=n_in) * 2**net.weight_bits
        if net.fixed:
            w = np.rint(w).astype(np.int64)
            if w.min() < drtp.PLASTIC_WEIGHT_MIN or w.max() > drtp.PLASTIC_WEIGHT_MAX:
                raise ValueError("initial weights do not fit 8 bits: lower weight_bits")
        weights.append(w)
    return tuple(weights)


def check_weights(net: DRTPNetwork, weights) -> None:
    """Refuse weights that do not fit the description: one ``(n_out, n_in)`` matrix per layer,
    finite, and in fixed point integers within the signed 8-bit range (nothing is rounded or
    clipped silently)."""
    if len(weights) != net.n_layers:
        raise ValueError(f"need {net.n_layers} weight matrices, got {len(weights)}")
    for k, w in enumerate(weights):
        expected = (net.sizes[k + 1], net.sizes[k])
        if np.shape(w) != expected:
            raise ValueError(f"layer {k}: weights must have shape {expected}, got {np.shape(w)}")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"layer {k}: weights hold NaN or infinite values")
        if net.fixed and (not np.array_equal(w, np.round(w)) or np.min(w) < drtp.PLASTIC_WEIGHT_MIN
                          or np.max(w) > drtp.PLASTIC_WEIGHT_MAX):
            raise ValueError(f"layer {k}: fixed-point weights must be integers in "
                             f"[{drtp.PLASTIC_WEIGHT_MIN}, {drtp.PLASTIC_WEIGHT_MAX}]")


def modulation_weights(net: DRTPNetwork, bs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The projection matrices in third-factor units: ``B * 2**B_SHIFT``, rounded to signed
    8 bits in fixed point. Checks each ``B_k`` has shape ``(n_classes, n_k)``."""
    if len(bs) != len(net.hidden_sizes):
        raise ValueError(f"need {len(net.hidden_sizes)} B matrices, got {len(bs)}")
    for b, n in zip(bs, net.hidden_sizes):
        drtp.check_projection(b, net.n_classes, n)
    if net.fixed:
        return tuple(drtp.quantize_projection(b) for b in bs)
    return tuple(np.asarray(b, dtype=np.float64) * 2**drtp.B_SHIFT for b in bs)


def encode_input(net: DRTPNetwork, x: np.ndarray) -> np.ndarray:
    """Direct coding payload of ``x`` in [0, 1], ``(batch, n_in)``: ``x * 2**input_bits``,
    rounded half to even in fixed point."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != net.sizes[0]:
        raise ValueError(f"input must have shape (batch, {net.sizes[0]}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("input holds NaN or infinite values")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"input values must lie in [0, 1], got [{x.min()}, {x.max()}]")
    payload = x.astype(np.float64) * 2**net.input_bits
    return np.rint(payload).astype(np.int64) if net.fixed else payload


# ---------------------------------------------------------------------------------------------
# Per-step arithmetic shared by the Lava models and the engine
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NeuronParams:
    """Constants of one DRTP LIF layer in its precision's units."""

    fixed: bool
    output: bool
    du: float | int
    dv: float | int
    vth: float | int
    psi_width: float | int  # float: half-width in v units; fixed: log2 of it (a shift)


def neuron_params(fixed: bool, output: bool, du: int, dv: int, vth_bits: int,
                  width_shift: int) -> NeuronParams:
    """A layer's constants from its fixed-point description (Loihi decays, threshold
    ``2**vth_bits``, surrogate half-width ``2**width_shift`` in voltage-register units), in
    fixed-point units or, for float, their limit: decays as fractions, ``v`` divided by 64."""
    vth_scaled = 2**vth_bits << fp.VTH_SHIFT
    if fixed:
        return NeuronParams(True, output, du, dv, vth_scaled, width_shift)
    unit = 2**fp.VTH_SHIFT
    return NeuronParams(False, output, (du + 1) / fp.DECAY_UNITY, dv / fp.DECAY_UNITY,
                        float(2**vth_bits), 2.0**width_shift / unit)


def neuron_params_of(fixed: bool, proc_params) -> NeuronParams:
    """:func:`neuron_params` from a DRTP neuron Process's parameters."""
    return neuron_params(fixed, proc_params["output"], proc_params["du"], proc_params["dv"],
                         proc_params["vth_bits"], proc_params["width_shift"])


def layer_neuron_params(net: DRTPNetwork, rule: drtp.DRTP, k: int) -> NeuronParams:
    return neuron_params(net.fixed, k == net.n_layers - 1, net.du, net.dv, net.vth_bits,
                         net.width_shift(rule))


def neuron_step(p: NeuronParams, u, v, a_in, m):
    """One step of a DRTP LIF layer: integrate (Lava's LIF arithmetic, no bias), take the
    surrogate of the pre-reset potential, fire, and form the third factor from the modulatory
    input ``m`` (``B^T y*`` for hidden layers, ``y*`` for the output layer).
    Returns ``(u, v, spikes, delta)``."""
    if p.fixed:
        u, v = lif_fixed_integrate(u, v, a_in, p.du, p.dv, 0)
        psi = drtp.surrogate_fixed(v, p.vth, p.psi_width)
    else:
        u, v = lif_float_integrate(u, v, a_in, p.du, p.dv, 0.0)
        psi = drtp.surrogate_float(v, p.vth, p.psi_width)
    v, spikes = fire(v, p.vth)
    if p.output:
        delta = drtp.output_delta(m, spikes.astype(v.dtype), 2**drtp.DELTA_SHIFT)
    else:
        delta = drtp.hidden_delta(m, psi)
    return u, v, spikes, delta


def sample_neuron_step(p: NeuronParams, u, v, a_in, m, sample_start: bool):
    """:func:`neuron_step` in a stream of samples: at a sample's first step the neurons start
    from rest (``u = v = 0``) and drop the synaptic input, which was sent during the previous
    sample."""
    if sample_start:
        u, v, a_in = np.zeros_like(u), np.zeros_like(v), np.zeros_like(a_in)
    return neuron_step(p, u, v, a_in, m)


@dataclass(frozen=True)
class SynapseParams:
    fixed: bool
    graded: bool
    weight_exp: int
    lr_shift: int
    seed: int
    layer: int


def synapse_params(net: DRTPNetwork, rule: drtp.DRTP, k: int) -> SynapseParams:
    return SynapseParams(net.fixed, k == 0, net.weight_exp(k), net.lr_shift(rule, k), rule.seed, k)


def synapse_forward(p: SynapseParams, weights, s_in):
    """The synaptic input a layer sends: ``W x`` shifted by the layer's exponent (in int32
    with Lava's Dense arithmetic in fixed point; exactly in float)."""
    if p.fixed:
        return dense_fixed(weights, s_in, p.weight_exp, p.graded)
    return dense_float(weights, s_in, p.graded) * 2.0**p.weight_exp


def apply_update(p: SynapseParams, weights, acc, update_index: int):
    """Write an accumulated update: float ``W + acc * 2**-lr_shift``; fixed point with seeded
    stochastic rounding and 8-bit saturation (:func:`rules.drtp.update_fixed`)."""
    if p.fixed:
        noise = drtp.rounding_noise(p.seed, p.layer, update_index, weights.shape, p.lr_shift)
        return drtp.update_fixed(weights, acc, p.lr_shift, noise)
    return drtp.update_float(weights, acc, 2.0**-p.lr_shift)


# ---------------------------------------------------------------------------------------------
# Engine
# ---------------------------------------------------------------------------------------------
def run_batch(net: DRTPNetwork, rule: drtp.DRTP, weights, ms, x_payload, y_star, learn: bool):
    """Present a batch for ``n_steps`` steps from rest. Returns the output spike counts
    ``(batch, C)`` and, if ``learn``, each layer's update accumulator summed over the batch
    (the synapses' ``acc``), else ``None``."""
    batch = x_payload.shape[0]
    dtype = np.int64 if net.fixed else np.float64
    nps = [layer_neuron_params(net, rule, k) for k in range(net.n_layers)]
    sps = [synapse_params(net, rule, k) for k in range(net.n_layers)]
    mods = [drtp.modulation(y_star, m) for m in ms] + [y_star]
    u = [np.zeros((batch, n), dtype) for n in net.sizes[1:]]
    v = [np.zeros((batch, n), dtype) for n in net.sizes[1:]]
    counts = np.zeros((batch, net.n_classes), dtype=np.int64)
    deltas = [[] for _ in range(net.n_layers)]
    pres = [[] for _ in range(net.n_layers)]
    layer_in = [None] * net.n_layers
    # Direct coding sends the same payload every step, so the first layer's synaptic input is
    # the same every step too: computed once (the same numbers the Dense computes each step).
    a_first = synapse_forward(sps[0], weights[0], x_payload)
    for t in range(net.n_steps):
        s = x_payload
        for k in range(net.n_layers):
            # The Dense delay: this step's synaptic input is last step's weighted input (none
            # yet in the sample's first step, where the neuron drops its input anyway).
            if not t:
                a_in = np.zeros_like(u[k])
            else:
                a_in = a_first if k == 0 else synapse_forward(sps[k], weights[k], layer_in[k])
            u[k], v[k], spikes, delta = sample_neuron_step(nps[k], u[k], v[k], a_in, mods[k], t == 0)
            if learn and t:
                deltas[k].append(delta)
                if k:
                    pres[k].append(layer_in[k])
            layer_in[k] = s
            s = spikes
        counts += s
    accs = None
    if learn:
        # The first layer's input is the same every step, so sum_t delta_t x^T = (sum_t delta_t)
        # x^T: one product instead of n_steps - 1 (exact integers in fixed point).
        first = (np.sum(deltas[0], axis=0), x_payload)
        rest = [(np.concatenate(d), np.concatenate(p)) for d, p in zip(deltas[1:], pres[1:])]
        accs = tuple(drtp.accumulate(np.zeros(w.shape, dtype), d, p, net.fixed)
                     for w, (d, p) in zip(weights, [first] + rest))
    return counts, accs


def predict(net: DRTPNetwork, rule: drtp.DRTP, weights, x, batch_size: int = 500):
    """Output spike counts ``(n, C)`` for inputs ``x`` in [0, 1], learning off."""
    check_weights(net, weights)
    no_modulation = tuple(np.zeros((net.n_classes, n), dtype=np.int64) for n in net.hidden_sizes)
    out = []
    for i in range(0, len(x), batch_size):
        xb = encode_input(net, x[i : i + batch_size])
        no_label = np.zeros((len(xb), net.n_classes), dtype=np.int64)
        out.append(run_batch(net, rule, weights, no_modulation, xb, no_label, learn=False)[0])
    return np.concatenate(out)


def accuracy(counts: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose most active output neuron (lowest index on ties) is the label."""
    return float(np.mean(counts.argmax(axis=1) == labels))


@dataclass(frozen=True, eq=False)
class TrainState:
    """Weights, optimiser state and the number of updates written so far (which seeds the
    fixed-point stochastic rounding)."""

    weights: tuple[np.ndarray, ...]
    opt_state: object
    n_updates: int


def train_epoch(net, rule, state: TrainState, ms, x, labels, batch_size: int, optimizer, order):
    """One pass over ``(x, labels)`` in the sample ``order`` given. ``optimizer``: ``None``
    for the on-chip rule (:func:`apply_update` per batch, the summed update of the batch's
    samples), or an :mod:`lava_plastic.optim` value (float only) fed with ``acc * 2**-lr_shift``.
    Returns the new state and the output spike counts of every sample, seen while learning, in
    the rows of ``x``."""
    check_weights(net, state.weights)
    order = np.asarray(order)
    sps = [synapse_params(net, rule, k) for k in range(net.n_layers)]
    weights, opt_state, n_updates = list(state.weights), state.opt_state, state.n_updates
    seen = np.zeros((len(x), net.n_classes), dtype=np.int64)
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        y_star = drtp.one_hot(labels[idx], net.n_classes)
        seen[idx], accs = run_batch(net, rule, weights, ms, encode_input(net, x[idx]), y_star, learn=True)
        if optimizer is None:
            weights = [apply_update(p, w, a, n_updates) for p, w, a in zip(sps, weights, accs)]
        else:
            directions = tuple(a * 2.0**-p.lr_shift for p, a in zip(sps, accs))
            steps, opt_state = optimizer.step(directions, opt_state)
            weights = [w + s for w, s in zip(weights, steps)]
        n_updates += 1
    return TrainState(tuple(weights), opt_state, n_updates), seen


def make_optimizer_for(net: DRTPNetwork, name: str, lr: float):
    """``None`` (the on-chip rule) for ``sgd``; Adam (float only) with ``lr`` in real weight
    units, converted to weight units."""
    if name == "sgd":
        return None
    if name == "adam":
        if net.fixed:
            raise ValueError("Adam runs in float only; fixed point trains with the on-chip SGD rule")
        return Adam(lr * 2**net.weight_bits)
    raise ValueError(f"unknown optimizer {name!r}; choose sgd or adam")
