"""Run an exported netx network (:func:`lava_plastic.deploy.write_netx`) in Lava with
``lava.lib.dl.netx.hdf5.Network``, the samples one after another in one ``run()`` per chunk.

Every sample must start from rest, as in training and in :func:`lava_plastic.deploy.predict`.
netx's ``reset_interval`` makes its neurons ``LIFReset``, which zero ``u`` and ``v`` every
``reset_interval`` steps and then integrate the step's input; netx staggers the layers' resets by
one step each, for a pipeline in which a layer's window sees the previous layer's window
without delay. The engine's (and Lava's) one step of Dense delay per layer is kept instead:
every layer resets at the same step, and each sample's window is ``n_steps + n_layers + 1``
steps, the input silent after its ``n_steps``. With a memoryless current (``du = 4095``, every
exported network) a layer falls silent one step after its input does, so when the next window
opens nothing is in flight, and the input that arrives with the reset is 0: each window is a
sample from rest. Only the first ``n_steps`` steps' output spikes are counted.

Needs lava-dl (``pip install -e '.[netx]'``; it brings torch), imported only here.
"""
from __future__ import annotations

import numpy as np

from lava_plastic import fixed_point as fp
from lava_plastic.deploy import Deployed, ExportError

CHUNK = 200
"""Samples per Lava run (a graph per chunk keeps the source's buffer small)."""


class NetxMissing(ExportError):
    """lava-dl, which holds netx, is not installed."""


def _netx():
    try:
        from lava.lib.dl import netx
    except ImportError as err:
        raise NetxMissing("running a netx file in Lava needs lava-dl (pip install -e "
                          f"'.[netx]' in a Python 3.10 environment; {err})") from None
    return netx


def window(deployed: Deployed) -> int:
    """Steps per sample in the Lava run: the counted steps, then the pipeline's drain."""
    return deployed.n_steps + len(deployed.network.layers) + 1


def run_netx(path, deployed: Deployed, x) -> np.ndarray:
    """Output spike counts ``(n, classes)`` of the netx file ``path`` (whose reading is
    ``deployed``, :func:`lava_plastic.deploy.read_netx`) for inputs ``x`` in [0, 1], run in
    Lava's ``fixed_pt`` simulation."""
    _netx()  # before any work
    if any(layer.du != fp.DECAY_UNITY - 1 for layer in deployed.network.layers):
        raise ExportError("this Lava run needs memoryless currents (iDecay 4096) to start each "
                          "sample from rest")
    payload = deployed.encode(x)
    counts = [np.zeros((0, deployed.network.layers[-1].n_out), dtype=np.int64)]
    for i in range(0, len(payload), CHUNK):
        counts.append(_run_chunk(path, deployed, payload[i : i + CHUNK]))
    return np.concatenate(counts)


def _run_chunk(path, deployed: Deployed, payload: np.ndarray) -> np.ndarray:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    from lava_plastic.lava_graph import stopping

    netx = _netx()
    steps = window(deployed)
    batch, n_in = payload.shape
    stream = np.zeros((batch, steps, n_in), dtype=np.int64)
    stream[:, : deployed.n_steps] = payload[:, None, :]
    total = batch * steps
    net = netx.hdf5.Network(net_config=str(path), input_message_bits=fp.GRADED_PAYLOAD_BITS,
                            reset_interval=steps)
    for layer in net.layers:  # every layer resets as its window opens (Lava counts from 1)
        layer.neuron.proc_params.overwrite("reset_offset", 1)
    source = Source(data=np.ascontiguousarray(stream.reshape(total, n_in).T))
    sink = Sink(shape=net.out.shape, buffer=total)
    source.s_out.connect(net.inp)
    net.out.connect(sink.a_in)
    run_cfg = Loihi2SimCfg(select_tag="fixed_pt")
    with stopping(net, run_cfg):
        net.run(condition=RunSteps(num_steps=total), run_cfg=run_cfg)
        spikes = np.asarray(sink.data.get()).T  # (time, classes)
    spikes = spikes.reshape(batch, steps, -1)[:, : deployed.n_steps]
    return (spikes != 0).sum(axis=1).astype(np.int64)
