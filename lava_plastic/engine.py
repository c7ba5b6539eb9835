"""Batched simulator of feed-forward LIF networks: the Lava graph, batched.

The engine reproduces, sample by sample, the Lava process graph

    source -> Dense(W1) -> LIF1 -> Dense(W2) -> LIF2 -> ...

run with ``Loihi2SimCfg`` and Lava's stock models: ``PyDenseModelFloat`` / ``PyLifModelFloat``
for ``precision="float"`` and ``PyDenseModelBitAcc`` / ``PyLifModelBitAcc`` for ``"fixed"``.
It keeps the graph's step order and delays:

* At each time step every Dense first sends what it accumulated at the previous step, then
  accumulates its current input; so layer ``k`` (1-based) first sees input ``x[:, t]`` at
  step ``t + k + 1`` (one step of Dense delay per layer). Buffers start empty.
* Each LIF receives its input, updates ``u`` then ``v`` (the order and arithmetic of
  :func:`lif_float_step` / :func:`lif_fixed_step`), compares with the threshold, resets
  spiking voltages to 0 and emits its spikes in the same step.

Float arithmetic is float64 in Lava's order of operations; results equal Lava's to rounding of
the Dense sums (Lava sums selected weight columns, the engine uses a matrix product).
Fixed-point arithmetic is bit-exact, including Lava's int32 message overflow, the 24-bit
current wrap and the voltage saturation; the parity tests (``tests/test_parity_lava.py``)
check spikes and integer ``u``, ``v`` at every step against Lava.

Each sample starts from rest (``u = v = 0``, nothing in flight). A Lava graph of stock LIFs
does the same for a single sample; :class:`lava_plastic.processes.sample_lif.process.SampleLIF`
does it for a stream of samples in one ``run()``, by calling :func:`lif_float_step` and
:func:`lif_fixed_step` themselves.

Everything here is a pure function over arrays with a leading batch axis; the Dense and LIF
functions take any array namespace (:mod:`lava_plastic.xp`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lava_plastic import fixed_point as fp
from lava_plastic.errors import LavaPlasticError
from lava_plastic.network import LIFLayer, LIFNetwork
from lava_plastic.xp import int64, namespace


# ---------------------------------------------------------------------------------------------
# Dense
# ---------------------------------------------------------------------------------------------
def dense_float(weights, s_in, graded: bool, xp=None):
    """``PyDenseModelFloat``: ``W @ s`` for graded input, else the sum of the weight columns
    of the inputs that spiked. ``s_in`` is ``(batch, n_in)``; returns ``(batch, n_out)`` in
    the weights' dtype."""
    xp = xp or namespace(weights, s_in)
    s = s_in if graded or s_in.dtype == xp.bool else (s_in != 0)
    return xp.astype(s, weights.dtype, copy=False) @ weights.T


def dense_fixed(weights_q, s_in, weight_exp: int, graded: bool, matmul: str | None = None, xp=None,
                bound: int | None = None, chunks: int = 1):
    """``PyDenseModelBitAcc`` with already quantized weights (:func:`fixed_point.quantize_weights`).

    The int32 accumulator wraps modulo ``2**32``; the result is shifted by ``weight_exp``
    (left, or an arithmetic right shift that floors) in int32, as Lava does. ``matmul``: the
    exact product's dtype when a static bound is known (:func:`fixed_point.exact_int_matmul`);
    ``bound``: a static bound on ``|W s|``, below which the wraps provably change nothing and
    are skipped; ``chunks``: the product's slices (:func:`fixed_point.exact_product`).
    """
    xp = xp or namespace(weights_q, s_in)
    s = s_in if graded or s_in.dtype == xp.bool else (s_in != 0)
    acc = fp.exact_int_matmul(s, weights_q.T, matmul, xp, chunks=chunks)
    if bound is not None and bound << max(weight_exp, 0) < 2 ** (fp.MESSAGE_BITS - 1):
        return fp.shift_by_exponent(acc, weight_exp, xp)
    acc = fp.wrap(acc, fp.MESSAGE_BITS, xp)
    return fp.wrap(fp.shift_by_exponent(acc, weight_exp, xp), fp.MESSAGE_BITS, xp)


# ---------------------------------------------------------------------------------------------
# LIF
# ---------------------------------------------------------------------------------------------
def _equals(x, value) -> bool:
    """Whether ``x`` is the Python number ``value`` (a static parameter, not an array)."""
    return isinstance(x, (int, float)) and x == value


def lif_float_current(u, a_in, du):
    """``PyLifModelFloat``'s current update ``u = u(1-du) + a``; at the end ``du = 1`` (no
    current memory) ``a`` itself, without the product and sum that change nothing."""
    return a_in if _equals(du, 1) else u * (1 - du) + a_in


def lif_float_voltage(v, u, dv, bias):
    """``PyLifModelFloat``'s voltage update ``v = v(1-dv) + u + bias``, before the threshold
    test; ``dv = 0`` (no leak) and a zero bias skip the operations that change nothing
    (``v * 1 == v``, ``x + 0 == x``, up to the sign of a zero)."""
    v = v + u if _equals(dv, 0) else v * (1 - dv) + u
    if not _equals(bias, 0):
        v = v + bias
    return v


def lif_float_integrate(u, v, a_in, du, dv, bias):
    """``PyLifModelFloat`` sub-threshold update (:func:`lif_float_current`, then
    :func:`lif_float_voltage`). Returns ``(u, v)`` with ``v`` before the threshold test."""
    u = lif_float_current(u, a_in, du)
    return u, lif_float_voltage(v, u, dv, bias)


MESSAGE_LIMIT = 2 ** (fp.MESSAGE_BITS - 1)


def _act_bound(a_bound: int | None) -> int | None:
    """A static bound on ``|a << 6|`` that needs no int32 wrap, where ``a_bound`` gives one."""
    if a_bound is None or (a_bound << fp.ACT_SHIFT) >= MESSAGE_LIMIT:
        return None
    return a_bound << fp.ACT_SHIFT


def fixed_current_bound(du, a_bound: int | None) -> int | None:
    """A static bound on ``|u|`` after :func:`lif_fixed_current`, where one is known: with no
    current memory (``du = 4095``) and an input bound that needs no int32 wrap, ``a_bound << 6``."""
    return _act_bound(a_bound) if _equals(du, fp.DECAY_UNITY - 1) else None


def lif_fixed_current(u, a_in, du, xp=None, a_bound: int | None = None):
    """``PyLifModelBitAcc``'s current update, bit-exact: ``u = decay(u, du + 1) + wrap32(a << 6)``,
    summed in int32, then Lava's single 24-bit wrap (:func:`fixed_point.wrap_once`).

    ``a_bound``, a static bound on ``|a_in|``, skips the int32 wraps that provably change
    nothing: the input's when ``a_bound << 6 < 2**31``, and with ``du = 4095`` (no current
    memory, ``u = wrap24(a << 6)``) the sum's."""
    act = int64(a_in, xp) << fp.ACT_SHIFT
    bound = fixed_current_bound(du, a_bound)
    if bound is not None:
        return fp.wrap_once(act, fp.UV_BITS, xp, bound)
    if _act_bound(a_bound) is None:
        act = fp.wrap(act, fp.MESSAGE_BITS, xp)
    return fp.wrap_once(fp.wrap(fp.decay(u, du, 1, xp) + act, fp.MESSAGE_BITS, xp), fp.UV_BITS, xp)


def lif_fixed_voltage(v, u, dv, bias_scaled, xp=None, u_bound: int | None = None):
    """``PyLifModelBitAcc``'s voltage update, bit-exact: ``v = decay(v, dv) + u + bias`` in
    int32, saturated to +-(2**23 - 1). ``u_bound``, a static bound on ``|u|``
    (:func:`fixed_current_bound`), skips the int32 wrap when it, the 24-bit voltage and the
    20-bit bias stay below ``2**31``."""
    v = fp.decay(v, dv, 0, xp) + u
    if not _equals(bias_scaled, 0):
        v = v + bias_scaled
    if u_bound is None or u_bound + 2**fp.UV_BITS + 2**20 >= MESSAGE_LIMIT:
        v = fp.wrap(v, fp.MESSAGE_BITS, xp)
    return fp.saturate(v, fp.UV_BITS, xp)


def lif_fixed_integrate(u, v, a_in, du, dv, bias_scaled, xp=None, a_bound: int | None = None):
    """``PyLifModelBitAcc`` sub-threshold update, bit-exact (:func:`lif_fixed_current`, then
    :func:`lif_fixed_voltage`). All arguments int64 arrays (or Python ints); ``bias_scaled`` is
    ``bias_mant`` shifted by ``bias_exp`` (:func:`fixed_bias`); ``a_bound`` a static bound on
    ``|a_in|``. Returns ``(u, v)`` with ``v`` before the threshold test."""
    u = lif_fixed_current(u, a_in, du, xp, a_bound)
    return u, lif_fixed_voltage(v, u, dv, bias_scaled, xp, fixed_current_bound(du, a_bound))


def fire(v, vth, subtract: bool = False):
    """Spike where ``v > vth`` (``vth << 6`` in fixed point); a spiking ``v`` is reset, in
    place (``v`` is the fresh array the integration returned): to 0 (Lava's LIF), or with
    ``subtract`` by subtracting the threshold (OPZO eq. 1: ``v - vth > 0``, so the 24-bit
    register cannot overflow). ``u`` keeps its value. Returns ``(v, spikes)``. (Products with
    the mask rather than a ``where``, which is several times slower on an unpredictable mask; a
    spiking float ``v`` above a negative threshold becomes -0.0 on a reset to 0, equal to 0 in
    every later sum.)"""
    spikes = v > vth
    if subtract:
        v -= vth * namespace(v).astype(spikes, v.dtype)
    else:
        v *= ~spikes
    return v, spikes


def lif_float_step(u, v, a_in, du, dv, vth, bias):
    """One ``PyLifModelFloat`` step. Returns ``(u, v, spikes)``."""
    u, v = lif_float_integrate(u, v, a_in, du, dv, bias)
    v, spikes = fire(v, vth)
    return u, v, spikes


def lif_fixed_step(u, v, a_in, du, dv, vth_scaled, bias_scaled):
    """One ``PyLifModelBitAcc`` step (``vth_scaled`` is ``vth << 6``). Returns ``(u, v, spikes)``."""
    u, v = lif_fixed_integrate(u, v, a_in, du, dv, bias_scaled)
    v, spikes = fire(v, vth_scaled)
    return u, v, spikes


def step_in_sample(time_step: int, sample_steps: int) -> int:
    """Position (0-based) of Lava time step ``time_step`` (1-based) within its sample, for a
    stream of samples of ``sample_steps`` steps each."""
    return (time_step - 1) % sample_steps


def fixed_bias(bias_mant, bias_exp) -> np.ndarray:
    """Effective fixed-point bias: the 13-bit mantissa shifted by the 3-bit exponent."""
    return fp.shift_by_exponent(fp.as_int(bias_mant), fp.as_int(bias_exp))


def fixed_threshold(vth) -> np.ndarray:
    """Effective fixed-point threshold: the 17-bit ``vth`` MSB-aligned to the 24-bit voltage."""
    return fp.as_int(vth) << fp.VTH_SHIFT


# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LayerConstants:
    """What a layer's models compute once before the first step: effective weights (quantized
    in fixed point), effective bias and threshold, in the arithmetic's own dtype."""

    weights: np.ndarray
    du: float | int
    dv: float | int
    vth: float | int
    bias: np.ndarray
    weight_exp: int
    graded: bool


def layer_constants(layer: LIFLayer, precision: str) -> LayerConstants:
    if precision == "fixed":
        return LayerConstants(
            weights=fp.quantize_weights(layer.weights, layer.num_weight_bits),
            du=int(layer.du),
            dv=int(layer.dv),
            vth=fixed_threshold(layer.vth),
            bias=fixed_bias(layer.bias_mant_vector(), layer.bias_exp_vector()),
            weight_exp=int(layer.weight_exp),
            graded=layer.graded_input,
        )
    return LayerConstants(
        weights=np.asarray(layer.weights, dtype=np.float64),
        du=float(layer.du),
        dv=float(layer.dv),
        vth=float(layer.vth),
        bias=np.asarray(layer.bias_mant_vector(), dtype=np.float64),
        weight_exp=0,
        graded=layer.graded_input,
    )


@dataclass(frozen=True, eq=False)
class NetworkState:
    """Per-layer ``u``, ``v`` and Dense buffer ``a`` (what the Dense sends next step), each
    ``(batch, n_out)``."""

    u: tuple[np.ndarray, ...]
    v: tuple[np.ndarray, ...]
    a: tuple[np.ndarray, ...]


def rest_state(net: LIFNetwork, batch: int) -> NetworkState:
    """All neurons at rest and no input in flight."""
    dtype = np.int64 if net.precision == "fixed" else np.float64
    zeros = tuple(np.zeros((batch, layer.n_out), dtype=dtype) for layer in net.layers)
    return NetworkState(zeros, zeros, zeros)


def network_step(
    precision: str, consts: tuple[LayerConstants, ...], state: NetworkState, x_t: np.ndarray
) -> tuple[NetworkState, tuple[np.ndarray, ...]]:
    """One time step of the whole graph. Returns the new state and each layer's spikes."""
    fixed = precision == "fixed"
    us, vs, bufs, spikes = [], [], [], []
    layer_in = x_t
    for c, u, v, a_in in zip(consts, state.u, state.v, state.a):
        if fixed:
            bufs.append(dense_fixed(c.weights, layer_in, c.weight_exp, c.graded))
            u, v, s = lif_fixed_step(u, v, a_in, c.du, c.dv, c.vth, c.bias)
        else:
            bufs.append(dense_float(c.weights, layer_in, c.graded))
            u, v, s = lif_float_step(u, v, a_in, c.du, c.dv, c.vth, c.bias)
        us.append(u)
        vs.append(v)
        spikes.append(s)
        layer_in = s
    return NetworkState(tuple(us), tuple(vs), tuple(bufs)), tuple(spikes)


@dataclass(frozen=True, eq=False)
class Trace:
    """Per layer: ``spikes`` (bool), and if recorded ``u``, ``v``, each ``(batch, time, n)``."""

    spikes: tuple[np.ndarray, ...]
    u: tuple[np.ndarray, ...] | None
    v: tuple[np.ndarray, ...] | None
    final_state: NetworkState


def check_input(net: LIFNetwork, x: np.ndarray) -> np.ndarray:
    """Validate engine input ``(batch, time, features)`` for ``net``; returns it as an array
    of the arithmetic's dtype."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise LavaPlasticError(f"input must have shape (batch, time, features), got {x.shape}")
    if x.shape[2] != net.n_inputs:
        raise LavaPlasticError(f"input has {x.shape[2]} features but the network expects "
                               f"{net.n_inputs}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise LavaPlasticError(f"input has no samples or no time steps: shape {x.shape}")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise LavaPlasticError("input holds NaN or infinite values")
    if not net.layers[0].graded_input:
        if not np.all((x == 0) | (x == 1)):
            raise LavaPlasticError(
                "input to a binary (spike) layer must be 0/1; set graded_input=True on the "
                "first layer for graded values"
            )
    if net.precision == "fixed":
        x = fp.as_int(x)
        limit = 2 ** (fp.GRADED_PAYLOAD_BITS - 1)
        if x.size and (x.min() < -limit or x.max() >= limit):
            raise LavaPlasticError(
                f"graded fixed-point input must fit {fp.GRADED_PAYLOAD_BITS} signed bits, "
                f"got [{x.min()}, {x.max()}]"
            )
        return x
    return x.astype(np.float64)


def simulate(
    net: LIFNetwork, x: np.ndarray, record_state: bool = True, state: NetworkState | None = None
) -> Trace:
    """Run ``net`` on input ``x`` of shape ``(batch, time, features)`` (spikes, or graded
    values for a graded first layer; integers in fixed point), starting from ``state`` (rest
    by default). Returns spikes (and ``u``, ``v`` if ``record_state``) for every step."""
    x = check_input(net, x)
    consts = tuple(layer_constants(layer, net.precision) for layer in net.layers)
    if state is None:
        state = rest_state(net, x.shape[0])
    n_steps = x.shape[1]
    spikes = [np.zeros((x.shape[0], n_steps, layer.n_out), dtype=bool) for layer in net.layers]
    u_rec = [np.zeros_like(s, dtype=state.u[0].dtype) for s in spikes] if record_state else None
    v_rec = [np.zeros_like(s, dtype=state.v[0].dtype) for s in spikes] if record_state else None
    for t in range(n_steps):
        state, s_t = network_step(net.precision, consts, state, x[:, t])
        for k, s in enumerate(s_t):
            spikes[k][:, t] = s
            if record_state:
                u_rec[k][:, t] = state.u[k]
                v_rec[k][:, t] = state.v[k]
    return Trace(
        tuple(spikes),
        tuple(u_rec) if record_state else None,
        tuple(v_rec) if record_state else None,
        state,
    )
