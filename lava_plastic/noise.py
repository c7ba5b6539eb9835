"""Counter-based random bits: a pure function of a key and an element's position.

Stochastic rounding (and, later, the perturbations of OPZO and LOCO) must draw the same bits in
a Lava ProcessModel, in the numpy engine and in a torch engine on a CPU or a GPU. A stream
generator (numpy's PCG64) cannot be reproduced by torch; a hash of ``(key, index)`` can: every
element's bits are ``hash32(index ^ k)`` with ``k`` the hash of the key, computed with int64
operations that numpy and torch define alike.

``hash32`` is Chris Wellons' "lowbias32" integer hash (two xor-shift-multiply rounds, a
bijection of 32-bit integers with low bias). Each 32x32-bit product is split into 16-bit halves
so that nothing overflows a signed 64-bit integer (torch has no unsigned 64-bit arithmetic):
``(x * m) mod 2**32 = (((x * m_hi) mod 2**16) << 16) + x * m_lo  (mod 2**32)``.
"""
from __future__ import annotations

MASK32 = 0xFFFFFFFF
STREAM_ROUNDING = 1
"""Key stream of the fixed-point stochastic rounding of weight updates."""


def _mul32(x, m: int):
    """``(x * m) mod 2**32`` for ``0 <= x < 2**32`` without leaving signed 64 bits."""
    return ((((x * (m >> 16)) & 0xFFFF) << 16) + x * (m & 0xFFFF)) & MASK32


def hash32(x):
    """lowbias32 of 32-bit unsigned values held in int64 (Python ints or arrays alike)."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def key_hash(*key: int) -> int:
    """One 32-bit value from a tuple of non-negative integers, each folded in by hashing."""
    h = 0
    for part in key:
        if part < 0:
            raise ValueError(f"noise key parts must be non-negative, got {key}")
        while True:  # fold parts wider than 32 bits 32 bits at a time
            h = hash32(h ^ (part & MASK32))
            part >>= 32
            if not part:
                break
    return h


def uniform_bits(key: tuple[int, ...], shape, n_bits: int, xp, device=None):
    """int64 array of ``shape`` holding independent uniform integers in ``[0, 2**n_bits)``,
    a pure function of ``key`` and each element's flat (C-order) position. Up to 32 bits come
    from one hash, up to 62 from two."""
    if not 0 <= n_bits <= 62:
        raise ValueError(f"n_bits must be in [0, 62], got {n_bits}")
    size = 1
    for n in shape:
        size *= int(n)
    index = xp.reshape(xp.arange(size, dtype=xp.int64, device=device), tuple(shape))
    low = hash32(index ^ key_hash(*key))
    if n_bits <= 32:
        return low >> (32 - n_bits)
    high = hash32(index ^ key_hash(*key, 1))
    return (high << (n_bits - 32)) | (low >> (64 - n_bits))
