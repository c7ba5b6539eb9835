"""Counter-based random bits: a pure function of a key and an element's position.

Stochastic rounding (and, later, the perturbations of OPZO and LOCO) must draw the same bits in
a Lava ProcessModel, in the numpy engine and in a torch engine on a CPU or a GPU. A stream
generator (numpy's PCG64) cannot be reproduced by torch; a hash of ``(key, index)`` can: every
element's bits are ``hash32(index ^ k)`` with ``k`` the hash of the key.

``hash32`` is Chris Wellons' "lowbias32" integer hash (two xor-shift-multiply rounds, a
bijection of 32-bit integers with low bias), computed in int32, whose multiplication numpy and
torch both wrap modulo ``2**32`` (two's complement); the right shifts are made logical by
masking off the sign bits they copy in. int32 halves the memory traffic of int64, which is what
this costs: one draw per weight and write.

Perturbations (OPZO's ``z``, node perturbation's ``xi``) are integers in units of
``2**-NOISE_BITS``, and their float value is exactly that integer times ``2**-NOISE_BITS``: a
fixed-point model and a float model draw the same numbers, with no libm call on any backend.
Gaussian values come from an inverse-CDF table indexed by 16 bits of the hash.
"""
from __future__ import annotations

import statistics

import numpy as np

from lava_plastic.errors import LavaPlasticError
from lava_plastic.xp import like

MASK32 = 0xFFFFFFFF
STREAM_ROUNDING = 1
"""Key stream of the fixed-point stochastic rounding of weight updates."""
STREAM_PERTURBATION = 2
"""Key stream of the perturbations injected into neurons (OPZO, node perturbation)."""
STREAM_DROPOUT = 3
"""Key stream of the dropout masks of hidden layers."""
NOISE_BITS = 12
"""Fraction bits of a perturbation value: 1.0 is ``2**12``."""
TABLE_BITS = 16
"""Hash bits indexing the Gaussian inverse-CDF table."""


def _int32(value: int) -> int:
    """An unsigned 32-bit value as the int32 with the same bits."""
    return value - 2**32 if value >= 2**31 else value


M1 = _int32(0x7FEB352D)
M2 = _int32(0x846CA68B)


def hash32(x):
    """lowbias32 of int32 arrays (the bits of unsigned 32-bit values), in place of ``x``."""
    for multiplier, shift in ((M1, 16), (M2, 15), (None, 16)):
        logical = x >> shift
        logical &= (1 << (32 - shift)) - 1
        x ^= logical
        if multiplier is not None:
            x *= multiplier
    return x


def _fold(h: int, part: int) -> int:
    """``hash32(h ^ part)`` of two unsigned 32-bit values, as an unsigned value."""
    x = np.array([_int32(h ^ part)], dtype=np.int32)
    return int(hash32(x)[0]) & MASK32


def key_hash(*key: int) -> int:
    """The stream of a key: one unsigned 32-bit value from a tuple of non-negative integers,
    each folded in by hashing (parts wider than 32 bits 32 bits at a time)."""
    h = 0
    for part in key:
        if part < 0:
            raise LavaPlasticError(f"noise key parts must be non-negative, got {key}")
        while True:
            h = _fold(h, part & MASK32)
            part >>= 32
            if not part:
                break
    return h


def _bits32(stream: int, start: int, size: int, xp, device):
    """The hashes ``hash32(index ^ stream)`` of ``size`` indices from ``start`` (int32 bit
    patterns)."""
    index = xp.arange(start, start + size, dtype=xp.int32, device=device)
    return hash32(index ^ _int32(stream))


def uniform_bits(key: tuple[int, ...], shape, n_bits: int, xp, device=None, start: int = 0):
    """An array of ``shape`` holding independent uniform integers in ``[0, 2**n_bits)``, a
    pure function of ``key`` and each element's flat (C-order) position plus ``start`` (so a
    large draw can be made block by block, identically): int32 for up to 31 bits (one hash
    each, and int32 passes are the cheap ones), int64 for up to 62 (two)."""
    return stream_bits(key_hash(*key), shape, n_bits, xp, device, start)


def stream_bits(stream: int, shape, n_bits: int, xp, device=None, start: int = 0):
    """:func:`uniform_bits` of the key whose :func:`key_hash` is ``stream``: a caller drawing
    block by block hashes its key once."""
    if not 0 <= n_bits <= 62:
        raise LavaPlasticError(f"n_bits must be in [0, 62], got {n_bits}")
    size = 1
    for n in shape:
        size *= int(n)
    if start < 0 or start + size >= 2**31:
        raise LavaPlasticError(f"positions must lie in [0, 2**31 - 1), got [{start}, "
                               f"{start + size})")
    low = _bits32(stream, start, size, xp, device)
    if n_bits <= 31:  # the top n_bits, shifted logically in int32
        low >>= 32 - n_bits
        low &= (1 << n_bits) - 1
        bits = low
    else:  # the second hash is the key's with the part 1 appended
        low = xp.astype(low, xp.int64) & MASK32
        high = xp.astype(_bits32(_fold(stream, 1), start, size, xp, device), xp.int64) & MASK32
        bits = (high << (n_bits - 32)) | (low >> (64 - n_bits)) if n_bits > 32 else low
    return xp.reshape(bits, tuple(shape))


def _gaussian_table() -> np.ndarray:
    """The standard normal's quantiles at the ``2**TABLE_BITS`` cell midpoints
    ``(i + 1/2) / 2**TABLE_BITS``, rounded to ``NOISE_BITS`` fraction bits (int32). The lower
    half mirrors the upper, so the table is exactly symmetric and its mean exactly 0; its
    extremes are +-4.32, its variance 0.99998 (the cells' midpoints stand for their quantile
    ranges)."""
    half = 1 << (TABLE_BITS - 1)
    normal = statistics.NormalDist()
    upper = np.array([round(normal.inv_cdf((half + i + 0.5) / (2 * half)) * 2**NOISE_BITS)
                      for i in range(half)], dtype=np.int32)
    return np.concatenate([-upper[::-1], upper])


GAUSSIAN_TABLE = _gaussian_table()
"""Standard normal samples in units of ``2**-NOISE_BITS`` by table index
(:func:`_gaussian_table`); a constant."""

DISTRIBUTIONS = ("gaussian", "rademacher", "sphere")
"""The perturbation distributions :func:`perturbation` draws."""


def perturbation(key: tuple[int, ...], shape, distribution: str, xp, device=None,
                 start: int = 0):
    """int32 perturbation values of ``shape`` in units of ``2**-NOISE_BITS`` (their float
    value is exactly the integer times ``2**-NOISE_BITS``), zero-mean and of unit variance per
    element, a pure function of ``key`` and each element's flat position plus ``start``, like
    :func:`uniform_bits`:

    * ``gaussian``: ``GAUSSIAN_TABLE`` at the hash's top ``TABLE_BITS`` bits (independent,
      variance 0.99998);
    * ``rademacher``: ``+-2**NOISE_BITS`` by the hash's top bit (independent);
    * ``sphere``: each row (the last axis, ``n`` elements) uniform on the sphere of radius
      ``sqrt(n)``, so that an element's variance is 1 as in the others (OPZO section 3.2 uses
      the unit sphere; the radius only rescales ``alpha``): the row's Gaussian values times
      ``sqrt(n) / |row|``, rounded half to even (an all-zero row, possible only for tiny ``n``,
      stays zero). The squared norm is an exact integer sum and
      the scaling correctly rounded IEEE arithmetic, so every backend draws the same integers;
      ``start`` must be a multiple of ``n``.
    """
    if distribution not in DISTRIBUTIONS:
        raise LavaPlasticError(f"unknown perturbation distribution {distribution!r}; choose from "
                               f"{', '.join(DISTRIBUTIONS)}")
    n = int(shape[-1]) if len(shape) else 1
    if distribution == "sphere" and start % n:
        raise LavaPlasticError(f"a sphere draw starts at a row: start {start} is not a multiple of "
                               f"{n}")
    n_bits = 1 if distribution == "rademacher" else TABLE_BITS
    return _values(uniform_bits(key, shape, n_bits, xp, device, start), distribution, xp)


def row_perturbation(key: tuple[int, ...], rows, n: int, distribution: str, xp, device=None):
    """:func:`perturbation` values ``(len(rows), n)`` whose row ``i`` is keyed by ``key`` and
    ``rows[i]`` (an integer array of non-negative values below ``2**32``; a sample's ordinal,
    say): row ``i``'s bits are ``hash32(j ^ hash32(key_hash(key) ^ rows[i]))`` for positions
    ``j < n``, so a row is the same whichever rows are drawn beside it (a batch in the engine, a
    batch of one in a Lava model) and ordinals never run out of positions."""
    if distribution not in DISTRIBUTIONS:
        raise LavaPlasticError(f"unknown perturbation distribution {distribution!r}; choose from "
                               f"{', '.join(DISTRIBUTIONS)}")
    n_bits = 1 if distribution == "rademacher" else TABLE_BITS
    return _values(row_bits(key, rows, n, n_bits, xp, device), distribution, xp)


def row_bits(key: tuple[int, ...], rows, n: int, n_bits: int, xp, device=None):
    """Uniform integers in ``[0, 2**n_bits)`` (int32, ``n_bits <= 31``) of shape
    ``(len(rows), n)``, row ``i`` keyed by ``key`` and ``rows[i]``
    (:func:`row_perturbation`). Up to 16 bits, each hash gives two values: the first
    ``h = ceil(n / 2)`` positions take its top ``n_bits``, the others (position ``h + j``)
    the top ``n_bits`` of its low half (half the hashing, which is most of the cost)."""
    if not 1 <= n < 2**31:
        raise LavaPlasticError(f"a row holds 1 to 2**31 - 1 values, got {n}")
    if not 1 <= n_bits <= 31:
        raise LavaPlasticError(f"n_bits must be in [1, 31], got {n_bits}")
    row_streams = xp.astype(rows, xp.int64) & MASK32
    row_streams = xp.astype(xp.where(row_streams >= 2**31, row_streams - 2**32, row_streams),
                            xp.int32)
    row_streams ^= _int32(key_hash(*key))
    row_streams = hash32(row_streams)
    two = n_bits <= 16
    index = xp.arange((n + 1) // 2 if two else n, dtype=xp.int32, device=device)
    bits = hash32(index[None, :] ^ row_streams[:, None])
    if two:
        low = bits[:, : n - index.shape[0]] >> (16 - n_bits)
        bits >>= 32 - n_bits  # the top n_bits, shifted logically
        bits &= (1 << n_bits) - 1
        low &= (1 << n_bits) - 1
        return xp.concat([bits, low], axis=1)
    bits >>= 32 - n_bits
    bits &= (1 << n_bits) - 1
    return bits


def _values(bits, distribution: str, xp):
    """Perturbation values from uniform bits (one per value, 1 bit for Rademacher values,
    ``TABLE_BITS`` otherwise), rows along the last axis (:func:`perturbation`)."""
    shape = tuple(bits.shape)
    if distribution == "rademacher":
        bits *= -(2 << NOISE_BITS)
        bits += 1 << NOISE_BITS  # 0 -> +1, 1 -> -1
        return bits
    table = like(bits, GAUSSIAN_TABLE)
    values = xp.reshape(xp.take(table, xp.reshape(bits, (-1,))), shape)
    if distribution == "gaussian":
        return values
    n = shape[-1] if shape else 1
    wide = xp.astype(values, xp.int64)
    norm = xp.sqrt(xp.astype(xp.sum(wide * wide, axis=-1, keepdims=True), xp.float64))
    scaled = xp.astype(values, xp.float64) * (n**0.5 * 2**NOISE_BITS / xp.maximum(norm, 1.0))
    return xp.astype(xp.round(scaled), xp.int32)
