"""Integer helpers with Loihi 2's (and Lava's bit-accurate models') exact semantics.

Every function works elementwise on int64 arrays of any shape and any array namespace (numpy or
torch, see :mod:`lava_plastic.xp`), so a leading batch axis costs nothing and the same integers
come out on every backend. Each names the rounding or overflow behaviour it implements; the callers say which
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

from lava_plastic.errors import LavaPlasticError
from lava_plastic.xp import clamp, int64, integer, like, namespace

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
        raise LavaPlasticError("fixed-point value is NaN or infinite")
    as_int64 = arr.astype(np.int64)
    if not np.array_equal(as_int64, arr):
        raise LavaPlasticError("fixed-point value is not a whole number")
    return as_int64


def wrap(x, bits: int, xp=None):
    """Two's-complement wrap of ``x`` into ``[-2**(bits-1), 2**(bits-1) - 1]`` (modular
    arithmetic, what an integer register of ``bits`` bits does on overflow)."""
    half = 1 << (bits - 1)
    return ((int64(x, xp) + half) & ((1 << bits) - 1)) - half


def wrap_once(x, bits: int = UV_BITS, xp=None, bound: int | None = None):
    """Lava's wrap of the LIF current: subtract ``2**bits`` once if ``x > 2**(bits-1)``,
    add it once if ``x <= -2**(bits-1)``.

    This is not a modular wrap: the range is ``(-2**(bits-1), 2**(bits-1)]`` and a value
    more than one period out of range stays out of range, exactly as
    ``AbstractPyLifModelFixed.subthr_dynamics`` does. Within one period of the range it equals
    the modular wrap into that range: with a static ``bound`` on ``|x|`` below
    ``3 * 2**(bits-1)`` that cheaper form is used.
    """
    x = int64(x, xp)
    half = 1 << (bits - 1)
    period = 1 << bits
    if bound is not None and bound < half + period:
        return ((x + (half - 1)) & (period - 1)) - (half - 1)
    # Masks times the period rather than nested ``where``s: the same integers, faster.
    return x - (x > half) * period + (x <= -half) * period


def saturate(x, bits: int, xp=None):
    """Clamp ``x`` to the symmetric range ``[-(2**(bits-1) - 1), 2**(bits-1) - 1]`` (the LIF
    voltage register saturates instead of wrapping). int32 input stays int32."""
    x = integer(x, xp)
    xp = xp or namespace(x)
    limit = (1 << (bits - 1)) - 1
    return clamp(x, -limit, limit, xp)


def clip_signed(x, bits: int, xp=None):
    """Clamp ``x`` to the two's-complement range ``[-2**(bits-1), 2**(bits-1) - 1]`` of a
    saturating signed register (plastic weights, modulatory inputs). int32 input stays int32
    (for ``bits <= 32``)."""
    x = integer(x, xp)
    xp = xp or namespace(x)
    half = 1 << (bits - 1)
    return clamp(x, -half, half - 1, xp)


def shift_right_toward_zero(x, n: int, xp=None):
    """Sign-magnitude right shift: ``sign(x) * (|x| >> n)``, rounding toward zero.

    Loihi decays state this way; an arithmetic shift would floor negative values toward
    ``-1`` and make negative state drift instead of decaying to 0.
    """
    x = int64(x, xp)
    xp = xp or namespace(x)
    return xp.sign(x) * (xp.abs(x) >> n)


def shift_by_exponent(x, exponent, xp=None):
    """``x * 2**exponent`` as a shift: left for ``exponent >= 0``, else an arithmetic right
    shift that floors (``-3 >> 1 == -2``), as Lava applies ``weight_exp`` and ``bias_exp``.
    ``exponent`` is a Python int or an integer array broadcasting against ``x``."""
    x = int64(x, xp)
    if isinstance(exponent, (int, np.integer)):
        exponent = int(exponent)
        return x << exponent if exponent >= 0 else x >> -exponent
    xp = xp or namespace(x)
    exponent = like(x, int64(exponent))
    return xp.where(exponent >= 0, x << xp.maximum(exponent, 0), x >> xp.maximum(-exponent, 0))


def decay(x, d, offset: int = 0, xp=None):
    """One leak step of a 24-bit state: ``x * (4096 - (d + offset))``, shifted right by 12
    toward zero. ``offset`` is 1 for the current (``du = 4095`` empties it) and 0 for the
    voltage, Loihi's ds/dm offset registers. ``d`` is a Python int or an integer array. At the
    two ends an int32 register stays int32; otherwise the product is formed in int64."""
    if isinstance(d, (int, np.integer)):
        factor = DECAY_UNITY - (int(d) + offset)
        # The two ends, exactly and without arithmetic: no memory (du = 4095) and no leak (dv = 0).
        if factor == 0:
            return integer(x, xp) * 0
        if factor == DECAY_UNITY:
            return integer(x, xp)
    x = int64(x, xp)
    if not isinstance(d, (int, np.integer)):
        factor = DECAY_UNITY - (int64(d, xp) + offset)
    return shift_right_toward_zero(x * factor, DECAY_BITS, xp)


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


def matmul_dtype(bound: float) -> str:
    """The cheapest dtype whose matrix product is exact when every partial sum is an integer
    of magnitude below ``bound``: float32 below ``2**24``, float64 below ``2**53``, else
    int64."""
    if bound < 2**24:
        return "float32"
    if bound < 2**53:
        return "float64"
    return "int64"


MAX_FLOAT32_CHUNKS = 4
"""Up to this many float32 products beat one float64 product (float32 runs at twice the rate)."""


def exact_product(term_bound: int, inner: int) -> tuple[str, int]:
    """The cheapest exact product of integer matrices whose terms ``|a_ij b_jk|`` stay below
    ``term_bound``, with ``inner`` terms per sum: ``(dtype, chunks)``, the product split into
    ``chunks`` slices of the inner axis, each of whose sums float32 holds exactly, when at most
    :data:`MAX_FLOAT32_CHUNKS` suffice; else one product of :func:`matmul_dtype`."""
    for chunks in range(1, MAX_FLOAT32_CHUNKS + 1):
        if -(-inner // chunks) * term_bound < 2**24:
            return "float32", chunks
    return matmul_dtype(term_bound * inner), 1


def exact_int_matmul(a, b, dtype: str | None = None, xp=None, result: str = "int64",
                     chunks: int = 1):
    """``a @ b`` for integer-valued arrays, exactly, as int64 (or the integer type ``result``
    when the caller knows the products fit it).

    Uses a BLAS float product when every partial sum is an integer that the float type holds
    exactly (:func:`matmul_dtype`), else an int64 product. ``dtype`` names the product type
    when the caller knows a static bound (no data-dependent look at ``a`` and ``b``, which on a
    GPU would be a device sync); by default it is chosen from the data. ``chunks``: the number
    of equal slices of the inner axis multiplied separately and summed in int64
    (:func:`exact_product`).
    """
    xp = xp or namespace(a, b)
    if dtype is None:
        inner = a.shape[-1]
        amax = float(xp.max(xp.abs(a))) if a.size else 0.0
        bmax = float(xp.max(xp.abs(b))) if b.size else 0.0
        dtype = matmul_dtype(amax * bmax * inner)
    kind = getattr(xp, dtype)
    a, b = xp.astype(a, kind, copy=False), xp.astype(b, kind, copy=False)
    if chunks == 1:
        return xp.astype(a @ b, getattr(xp, result))
    width = -(-a.shape[-1] // chunks)
    total = xp.astype(a[..., :width] @ b[:width], xp.int64)
    for start in range(width, a.shape[-1], width):
        total += xp.astype(a[..., start : start + width] @ b[start : start + width], xp.int64)
    return xp.astype(total, getattr(xp, result), copy=False)
