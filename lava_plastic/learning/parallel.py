"""Data-parallel training across processes and machines with ``torch.distributed``.

Every rank holds the whole network and the same weights. A minibatch is split into one
contiguous share per rank; each rank runs :func:`~lava_plastic.learning.engine.run_batch` on its
share, and :func:`~lava_plastic.learning.engine.accumulators` combines the ranks' work: the
first layer, when its factors (one row per sample) are smaller than its accumulator, gathers
every rank's factor rows in batch order (:meth:`DataParallel.gather_rows`) and multiplies them;
the other accumulators are summed (:meth:`DataParallel.sum`, ``all_reduce``). Every rank then
writes the same update. The accumulators of the on-chip rule are exact integers in fixed point,
so the weights are bit-identical to one process training the same global batch; in float the
cross-rank sums add in another order (well within the float parity tolerance).

Launched with ``torchrun``, which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the
rendezvous address; the same code runs with gloo on CPUs and NCCL on GPUs. The module imports
torch only when a process group is opened, so the core runs without it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np

from lava_plastic.errors import LavaPlasticError

TIMEOUT = timedelta(minutes=10)
"""How long a rank waits for the others at a collective before it gives up (longer than any
evaluation or data loading between two collectives)."""


@dataclass(frozen=True)
class DataParallel:
    """This process's place among ``world_size`` ranks of an open process group, and the
    number of samples in the minibatch being shared (:meth:`for_batch`)."""

    rank: int
    world_size: int
    batch_rows: int = 0
    wire: str = "cpu"
    """Where the backend takes tensors from: ``cpu`` (gloo) or this rank's GPU (NCCL, which
    takes CUDA tensors only: host arrays such as spike counts travel through it)."""

    def for_batch(self, n_rows: int) -> DataParallel:
        """The same place, sharing a minibatch of ``n_rows`` samples."""
        return replace(self, batch_rows=n_rows)

    def share_sizes(self) -> list[int]:
        """How many of the minibatch's samples each rank runs: contiguous shares that differ by
        at most one (a rank may get none of a short final batch)."""
        base, extra = divmod(self.batch_rows, self.world_size)
        return [base + (r < extra) for r in range(self.world_size)]

    def share(self, rows):
        """This rank's contiguous share of the minibatch ``rows``."""
        sizes = self.share_sizes()
        start = sum(sizes[: self.rank])
        return np.asarray(rows)[start : start + sizes[self.rank]]

    def sum(self, arrays) -> None:
        """Sum the arrays (numpy or torch, one dtype) across ranks, in place: every rank ends
        with the same values. They travel packed in one buffer on the backend's device: one
        collective for all of them (each costs a round trip)."""
        import torch
        import torch.distributed as dist

        tensors = [_as_tensor(a) for a in arrays]
        if tensors:
            packed = torch.cat([t.reshape(-1).to(self.wire) for t in tensors])
            dist.all_reduce(packed)
            for t, part in zip(tensors, torch.split(packed, [t.numel() for t in tensors])):
                t.copy_(part.reshape(t.shape))

    def gather_rows(self, arrays, rows_per_sample: int) -> list:
        """Every rank's rows of each array (``rows_per_sample`` rows per sample of its share;
        the arrays side by side share their rows and dtype), concatenated in rank order: the
        minibatch's rows in batch order, on every rank. One collective for all of them."""
        import torch
        import torch.distributed as dist

        sizes = [rows_per_sample * n for n in self.share_sizes()]
        tensors = [_as_tensor(a) for a in arrays]
        widths = [t.shape[1] for t in tensors]
        padded = torch.zeros((max(sizes), sum(widths)), dtype=tensors[0].dtype,
                             device=self.wire)
        padded[: tensors[0].shape[0]] = torch.cat(tensors, dim=1)  # equal shapes to gather
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded)
        rows = torch.cat([p[:n] for p, n in zip(parts, sizes)]).to(tensors[0].device)
        if isinstance(arrays[0], np.ndarray):
            rows = rows.numpy()
        return [rows[:, sum(widths[:i]) : sum(widths[: i + 1])] for i in range(len(widths))]

    def agree(self, what: dict) -> None:
        """Refuse to start unless every rank has the same ``what`` (its configuration): one
        error, naming the settings that differ, raised on every rank after all of them have
        left the group (a rank that exits while another is still gathering aborts it)."""
        import torch.distributed as dist

        everyone = [None] * self.world_size
        dist.all_gather_object(everyone, what)
        first = everyone[0]
        for rank, other in enumerate(everyone):
            differ = sorted(k for k in set(first) | set(other) if first.get(k) != other.get(k))
            if differ:
                detail = ", ".join(f"{k}: rank 0 {first.get(k)!r}, rank {rank} {other.get(k)!r}"
                                   for k in differ)
                close_group()
                raise LavaPlasticError(f"distributed ranks disagree on the configuration "
                                       f"({detail})")


def _as_tensor(a):
    """A torch view of ``a`` (numpy arrays share their memory)."""
    import torch

    return torch.from_numpy(a) if isinstance(a, np.ndarray) else a


def open_group(device: str) -> DataParallel:
    """Join the process group ``torchrun`` describes in the environment: gloo for CPU arrays,
    NCCL for CUDA devices. Refuses a process not started by ``torchrun``."""
    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
               if k not in os.environ]
    if missing:
        raise LavaPlasticError(f"distributed training is launched with torchrun (the environment "
                               f"lacks {', '.join(missing)})")
    try:
        import torch.distributed as dist
    except ImportError:
        raise LavaPlasticError("distributed training needs torch, which is not installed") from None
    if not dist.is_available():
        raise LavaPlasticError("this torch build has no torch.distributed")
    wire = "cpu"
    if device.startswith("cuda"):
        import torch

        wire = local_device(device)
        torch.cuda.set_device(wire)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if wire != "cpu" else "gloo", init_method="env://",
                                timeout=TIMEOUT)
    return DataParallel(dist.get_rank(), dist.get_world_size(), wire=wire)


def close_group() -> None:
    """Leave the process group after a finished run. All ranks meet first: rank 0 hosts the
    group's store, and a rank still leaving after rank 0 has exited hangs (torch 2.3). A rank
    that fails does not call this: it exits, and its peers' next collective fails (torchrun
    stops them at once)."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def local_device(device: str) -> str:
    """The device of this rank: ``cuda`` means the GPU numbered ``LOCAL_RANK`` on its machine."""
    if device == "cuda":
        return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    return device
