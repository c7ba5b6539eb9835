"""Integer helpers with Loihi 2's (and Lava's bit-accurate models') exact semantics.

Every function works elementwise on int64 arrays of any shape, so a leading batch axis costs
nothing. Each names the rounding or overflow behaviour it implements; the callers say which
bit width applies where. The formats come from ``lava.proc.lif.models.PyLifModelBitAcc``,
``lava.proc.dense.models.PyDenseModelBitAcc`` and ``lava.utils.weightutils`` (lava-nc 0.10.0):

=====================  =========================================================
quantity               format
=====================  =========================================================
synaptic weight        8-bit magnitude + sign: [-256, 255] mixed sign, [0, 255]
                       excitatory, [-255, 0] inhibitory; ``num_weight_bits`` keeps
                       the top bits, one fewer for mixed sign
weight exponent        signed: the Dense output is shifted by it
Dense output message   int32 (Lava's port type)
LIF current u          24 bits, wrapped once (see :func:`wrap_once`)
LIF voltage v          24 bits, saturated to +-(2^23 - 1)
du, dv                 12-bit unsigned decay, applied as ``x * (4096 - d) >> 12``
bias_mant / bias_exp   13-bit signed mantissa, 3-bit exponent
vth                    17-bit unsigned, compared as ``vth << 6``
=====================  =========================================================
"""
from __future__ import annotations

import numpy as np

UV_BITS = 24
"""Width of the LIF current ``u`` and voltage ``v`` registers."""
UV_LIMIT = 2 ** (UV_BITS - 1)
DECAY_BITS = 12
"""Decays are fractions of ``2**DECAY_BITS``."""
DECAY_UNITY = 2**DECAY_BITS
ACT_SHIFT = 6
"""Synaptic input is left-shifted by 6 bits to align it with the 24-bit current."""
VTH_SHIFT = 6
"""The 17-bit threshold is left-shifted by 6 bits to align it with the 24-bit voltage."""
MESSAGE_BITS = 32
"""Lava's fixed-point ports and Dense accumulator are int32; overflow wraps modulo 2**32."""
WEIGHT_BITS = 8
"""Magnitude bits of a synaptic weight; mixed-sign weights add a sign bit."""
GRADED_PAYLOAD_BITS = 24
"""Largest graded-spike payload on Loihi 2 (signed)."""

SIGN_MIXED = "mixed"
SIGN_EXCITATORY = "excitatory"
SIGN_INHIBITORY = "inhibitory"


def as_int(x) -> np.ndarray:
    """``x`` as int64, refusing values that are not whole numbers (nothing is rounded here)."""
    arr = np.asarray(x)
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("fixed-point value is NaN or infinite")
    as_int64 = arr.astype(np.int64)
    if not np.array_equal(as_int64, arr):
        raise ValueError("fixed-point value is not a whole number")
    return as_int64


def wrap(x: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of ``x`` into ``[-2**(bits-1), 2**(bits-1) - 1]`` (modular
    arithmetic, what an integer register of ``bits`` bits does on overflow)."""
    half = 1 << (bits - 1)
    return ((np.asarray(x, dtype=np.int64) + half) & ((1 << bits) - 1)) - half


def wrap_once(x: np.ndarray, bits: int = UV_BITS) -> np.ndarray:
    """Lava's wrap of the LIF current: subtract ``2**bits`` once if ``x > 2**(bits-1)``,
    add it once if ``x <= -2**(bits-1)``.

    This is not a modular wrap: the range is ``(-2**(bits-1), 2**(bits-1)]`` and a value
    more than one period out of range stays out of range, exactly as
    ``AbstractPyLifModelFixed.subthr_dynamics`` does.
    """
    x = np.asarray(x, dtype=np.int64)
    half = 1 << (bits - 1)
    period = 1 << bits
    return np.where(x > half, x - period, np.where(x <= -half, x + period, x))


def saturate(x: np.ndarray, bits: int) -> np.ndarray:
    """Clamp ``x`` to the symmetric range ``[-(2**(bits-1) - 1), 2**(bits-1) - 1]`` (the LIF
    voltage register saturates instead of wrapping)."""
    limit = (1 << (bits - 1)) - 1
    return np.clip(np.asarray(x, dtype=np.int64), -limit, limit)


def shift_right_toward_zero(x: np.ndarray, n: int) -> np.ndarray:
    """Sign-magnitude right shift: ``sign(x) * (|x| >> n)``, rounding toward zero.

    Loihi decays state this way; an arithmetic shift would floor negative values toward
    ``-1`` and make negative state drift instead of decaying to 0.
    """
    x = np.asarray(x, dtype=np.int64)
    return np.sign(x) * (np.abs(x) >> n)


def shift_by_exponent(x: np.ndarray, exponent) -> np.ndarray:
    """``x * 2**exponent`` as a shift: left for ``exponent >= 0``, else an arithmetic right
    shift that floors (``-3 >> 1 == -2``), as Lava applies ``weight_exp`` and ``bias_exp``."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    return np.where(exponent >= 0, x << np.maximum(exponent, 0), x >> np.maximum(-exponent, 0))


def decay(x: np.ndarray, d, offset: int = 0) -> np.ndarray:
    """One leak step of a 24-bit state: ``x * (4096 - (d + offset))``, shifted right by 12
    toward zero. ``offset`` is 1 for the current (``du = 4095`` empties it) and 0 for the
    voltage, Loihi's ds/dm offset registers."""
    product = np.asarray(x, dtype=np.int64) * (DECAY_UNITY - (np.asarray(d, dtype=np.int64) + offset))
    return shift_right_toward_zero(product, DECAY_BITS)


def sign_mode(weights: np.ndarray) -> str:
    """Lava's ``determine_sign_mode``: excitatory if all weights >= 0, inhibitory if all
    <= 0 (and some < 0), else mixed."""
    if np.min(weights) >= 0:
        return SIGN_EXCITATORY
    if np.max(weights) <= 0:
        return SIGN_INHIBITORY
    return SIGN_MIXED


def weight_range(mode: str) -> tuple[int, int]:
    """The representable integer weights for a sign mode."""
    full = (1 << WEIGHT_BITS) - 1
    return {
        SIGN_MIXED: (-(full + 1), full),
        SIGN_EXCITATORY: (0, full),
        SIGN_INHIBITORY: (-full, 0),
    }[mode]


def quantize_weights(weights: np.ndarray, num_weight_bits: int = WEIGHT_BITS) -> np.ndarray:
    """The weights a bit-accurate Dense really uses (Lava's ``clip_weights`` then
    ``truncate_weights``, applied once at the first time step).

    1. Clip to the sign mode's 8-bit range (:func:`weight_range`).
    2. Drop the ``8 - num_weight_bits (+1 if mixed)`` least significant bits of the magnitude
       (``(w >> t) << t`` on ``|w|`` for inhibitory weights, on ``w`` itself otherwise, so
       mixed-sign negative weights round toward minus infinity).
    """
    weights = as_int(weights)
    mode = sign_mode(weights)
    lo, hi = weight_range(mode)
    clipped = np.clip(weights, lo, hi)
    drop = WEIGHT_BITS - num_weight_bits + (1 if mode == SIGN_MIXED else 0)
    if mode == SIGN_INHIBITORY:
        return -((-clipped >> drop) << drop)
    return (clipped >> drop) << drop


def exact_int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for integer-valued arrays, exactly, as int64.

    Uses a BLAS float product when every partial sum is an integer that the float type holds
    exactly (below ``2**24`` for float32, ``2**53`` for float64), else numpy's int64 product.
    """
    inner = a.shape[-1]
    bound = float(np.max(np.abs(a), initial=0)) * float(np.max(np.abs(b), initial=0)) * inner
    if bound < 2**24:
        return (a.astype(np.float32) @ b.astype(np.float32)).astype(np.int64)
    if bound < 2**53:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)
