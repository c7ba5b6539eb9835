"""Array namespaces: the core runs on numpy (1.26 or 2) and on torch tensors alike.

Every array function of the core (fixed-point helpers, LIF and Dense arithmetic, rules, the
learning engine, optimisers) finds the namespace of its arguments here, or takes it from its
caller, and uses only Python array API standard functions and operators on it
(``array-api-compat`` supplies the standard for numpy 1.26 and torch). Hot loops look the
namespace up once per batch and pass it down, since a look-up costs a few microseconds.

Two rules keep numpy and torch results identical:

* integer arrays are never mixed with Python floats (torch promotes ``int64 * 0.5`` to float32,
  numpy to float64): code casts to ``float64`` first;
* integer ``>>`` floors and ``&`` masks the same way in both (two's complement int64).
"""
from __future__ import annotations

import array_api_compat
import numpy as np


def namespace(*arrays):
    """The array namespace shared by ``arrays`` (Python scalars and ``None`` are ignored;
    numpy's when no array is given)."""
    arrays = [a for a in arrays if a is not None and not isinstance(a, (bool, int, float))]
    if not arrays:
        return array_api_compat.array_namespace(np.zeros(0))
    return array_api_compat.array_namespace(*arrays)


def int64(x, xp=None):
    """``x`` as an int64 array of its namespace (numpy for Python scalars and lists); no copy
    when it already is one."""
    if not hasattr(x, "dtype"):
        x = np.asarray(x, dtype=np.int64)
    xp = xp or namespace(x)
    return xp.astype(x, xp.int64, copy=False)


def integer(x, xp=None):
    """``x`` as an integer array of its namespace: int32 and int64 arrays as they are (no
    copy), anything else as int64 (:func:`int64`). For arithmetic that cannot leave the range
    of its input's type (clamps), so that int32 registers stay int32."""
    if hasattr(x, "dtype") and x.dtype == (xp or namespace(x)).int32:
        return x
    return int64(x, xp)


def clamp(x, low=None, high=None, xp=None):
    """``x`` limited to ``[low, high]`` (Python numbers; ``None``: no limit), in its dtype:
    torch's clip, one kernel with scalar bounds; elsewhere ``maximum`` and ``minimum`` (the
    compat layer's clip for numpy 1.26 first broadcasts its bounds to arrays of ``x``'s shape,
    which costs more than the passes it saves)."""
    xp = xp or namespace(x)
    if array_api_compat.is_torch_array(x):
        return xp.clip(x, low, high)
    if low is not None:
        x = xp.maximum(x, low)
    return x if high is None else xp.minimum(x, high)


def to_numpy(x) -> np.ndarray:
    """A numpy copy of ``x`` (from any namespace and device), for validation, files and plots."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def device(x):
    """The device ``x`` lives on (``"cpu"`` for numpy)."""
    return array_api_compat.device(x)


def like(template, value):
    """``value`` (a numpy array) moved to the namespace and device of ``template``."""
    xp = namespace(template)
    if xp is namespace(value):
        return value
    return xp.asarray(value, device=array_api_compat.device(template))


CPU_BLOCK = 1 << 15
"""Elements per block of a chain of elementwise passes over a large array on a CPU
(:func:`blocks`): each block's temporaries stay in the core's cache and come from the
allocator's free lists, where whole-array temporaries stream from memory once per pass and are
mapped afresh (page faults) every time."""


def blocks(n: int, on) -> list[slice]:
    """Slices covering ``range(n)``: :data:`CPU_BLOCK` elements each when the array ``on``
    lives on a CPU, one slice elsewhere (a GPU wants whole arrays, one launch per pass). Results
    are identical either way: the callers' passes are elementwise."""
    if n == 0:
        return []
    where = device(on)
    block = CPU_BLOCK if getattr(where, "type", where) == "cpu" else n  # torch.device or "cpu"
    return [slice(start, min(start + block, n)) for start in range(0, n, block)]


NUMPY = namespace()
"""numpy's namespace: the Lava models compute on numpy arrays, one sample at a time."""
