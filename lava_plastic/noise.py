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
"""
from __future__ import annotations

import numpy as np

MASK32 = 0xFFFFFFFF
STREAM_ROUNDING = 1
"""Key stream of the fixed-point stochastic rounding of weight updates."""


def _int32(value: int) -> int:
    """An unsigned 32-bit value as the int32 with the same bits."""
    return value - 2**32 if value >= 2**31 else value


M1 = _int32(0x7FEB352D)
M2 = _int32(0x846CA68B)


def hash32(x):
    """lowbias32 of int32 arrays (the bits of unsigned 32-bit values), in place of ``x``."""
    x ^= (x >> 16) & 0xFFFF
    x *= M1
    x ^= (x >> 15) & 0x1FFFF
    x *= M2
    x ^= (x >> 16) & 0xFFFF
    return x


def key_hash(*key: int) -> int:
    """One unsigned 32-bit value from a tuple of non-negative integers, each folded in by
    hashing (parts wider than 32 bits 32 bits at a time)."""
    h = np.zeros(1, dtype=np.int32)
    for part in key:
        if part < 0:
            raise ValueError(f"noise key parts must be non-negative, got {key}")
        while True:
            h = hash32(h ^ _int32(part & MASK32))
            part >>= 32
            if not part:
                break
    return int(h[0]) & MASK32


def _bits32(key: tuple[int, ...], size: int, xp, device):
    """``size`` hashes ``hash32(index ^ k)`` (int32 bit patterns)."""
    index = xp.arange(size, dtype=xp.int32, device=device)
    return hash32(index ^ _int32(key_hash(*key)))


def uniform_bits(key: tuple[int, ...], shape, n_bits: int, xp, device=None):
    """int64 array of ``shape`` holding independent uniform integers in ``[0, 2**n_bits)``,
    a pure function of ``key`` and each element's flat (C-order) position. Up to 32 bits come
    from one hash, up to 62 from two."""
    if not 0 <= n_bits <= 62:
        raise ValueError(f"n_bits must be in [0, 62], got {n_bits}")
    size = 1
    for n in shape:
        size *= int(n)
    if size >= 2**31:
        raise ValueError(f"at most 2**31 - 1 elements per draw, got {size}")
    low = _bits32(key, size, xp, device)
    if n_bits <= 31:  # the top n_bits, shifted logically in int32
        bits = xp.astype((low >> (32 - n_bits)) & ((1 << n_bits) - 1), xp.int64)
    else:
        low = xp.astype(low, xp.int64) & MASK32
        high = xp.astype(_bits32(key + (1,), size, xp, device), xp.int64) & MASK32
        bits = (high << (n_bits - 32)) | (low >> (64 - n_bits)) if n_bits > 32 else low
    return xp.reshape(bits, tuple(shape))
