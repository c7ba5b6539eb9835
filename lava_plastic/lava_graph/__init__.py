"""Build and run a :class:`~lava_plastic.network.LIFNetwork` as a Lava process graph.

The graph is ``RingBuffer -> Dense -> LIF -> Dense -> LIF ...`` with Lava's stock Dense and
RingBuffer and either Lava's stock ``LIF`` (one sample per graph) or
:class:`~lava_plastic.processes.sample_lif.process.SampleLIF` (a stream of samples in one
``run()``, each starting from rest). It runs under Lava's stock ``Loihi2SimCfg`` with
``select_tag`` ``"floating_pt"`` or ``"fixed_pt"``; models are found by Lava's standard
discovery. The runtime is always stopped: on errors, Ctrl-C and SIGTERM too.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.io.source import RingBuffer
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor

from lava_plastic.engine import check_input
from lava_plastic.lava_graph.signals import RuntimeGuard
from lava_plastic.network import LIFNetwork
from lava_plastic.processes.sample_lif.process import SampleLIF

SELECT_TAG = {"float": "floating_pt", "fixed": "fixed_pt"}


def run_config(precision: str) -> Loihi2SimCfg:
    """Lava's stock simulation run configuration for a precision."""
    return Loihi2SimCfg(select_tag=SELECT_TAG[precision])


@contextmanager
def stopping(process, run_cfg: Loihi2SimCfg):
    """Create the runtime of ``process``'s graph with ``run_cfg`` and stop it when the block
    ends, whatever happens in it: errors, Ctrl-C and SIGTERM included (no Lava process or
    shared-memory segment is left, see :class:`lava_plastic.lava_graph.signals.RuntimeGuard`)."""
    guard = RuntimeGuard(process)
    try:
        guard.create_runtime(run_cfg)
        yield process
    finally:
        guard.stop()


@dataclass
class LavaGraph:
    source: RingBuffer
    neurons: list
    n_steps: int


def build_graph(net: LIFNetwork, stream: np.ndarray, sample_steps: int | None = None) -> LavaGraph:
    """Processes for ``net`` fed by ``stream`` of shape ``(time, features)``.

    With ``sample_steps`` the neurons are :class:`SampleLIF` resetting every ``sample_steps``
    steps; without, stock ``LIF`` neurons.
    """
    source = RingBuffer(data=np.ascontiguousarray(stream.T))
    neurons = []
    port = source.s_out
    for k, layer in enumerate(net.layers):
        kwargs = dict(weights=np.asarray(layer.weights), num_message_bits=layer.num_message_bits,
                      name=f"dense{k}")
        if net.precision == "fixed":
            kwargs.update(weight_exp=int(layer.weight_exp), num_weight_bits=int(layer.num_weight_bits))
        conn = Dense(**kwargs)
        params = dict(shape=(layer.n_out,), du=layer.du, dv=layer.dv, vth=layer.vth,
                      bias_mant=np.array(layer.bias_mant_vector()),
                      bias_exp=np.array(layer.bias_exp_vector()), name=f"lif{k}")
        lif = SampleLIF(sample_steps=sample_steps, **params) if sample_steps else LIF(**params)
        port.connect(conn.s_in)
        conn.a_out.connect(lif.a_in)
        port = lif.s_out
        neurons.append(lif)
    return LavaGraph(source, neurons, stream.shape[0])


def probe(target, n_steps: int) -> Monitor:
    """A Monitor recording ``target`` (a Var or an OutPort) for ``n_steps`` steps."""
    monitor = Monitor()
    monitor.probe(target=target, num_steps=n_steps)
    return monitor


def monitor_data(monitor: Monitor) -> np.ndarray:
    """The ``(time, ...)`` recording of a Monitor made by :func:`probe`."""
    data = monitor.get_data()
    (by_var,) = data.values()
    (values,) = by_var.values()
    return np.asarray(values)


def run_lava(net: LIFNetwork, x: np.ndarray, record_state: bool = True):
    """Run ``net`` in Lava's simulator on ``x`` of shape ``(batch, time, features)``, the
    samples one after another in a single ``run()`` (SampleLIF neurons; with one sample, stock
    LIF neurons). Returns per layer spikes ``(batch, time, n)`` (bool) and, if
    ``record_state``, ``u`` and ``v`` of the same shape, as in :class:`engine.Trace`."""
    x = check_input(net, x)
    batch, n_steps, _ = x.shape
    stream = x.reshape(batch * n_steps, -1)
    graph = build_graph(net, stream, sample_steps=None if batch == 1 else n_steps)
    total = graph.n_steps
    spike_mons = [probe(lif.s_out, total) for lif in graph.neurons]
    state_mons = (
        [(probe(lif.u, total), probe(lif.v, total)) for lif in graph.neurons]
        if record_state else []
    )
    with stopping(graph.source, run_config(net.precision)):
        graph.source.run(condition=RunSteps(num_steps=total), run_cfg=run_config(net.precision))
        spikes = [monitor_data(m) for m in spike_mons]
        states = [(monitor_data(mu), monitor_data(mv)) for mu, mv in state_mons]

    def per_sample(values, dtype):
        return values.reshape(batch, n_steps, -1).astype(dtype)

    state_dtype = np.int64 if net.precision == "fixed" else np.float64
    return (
        tuple(per_sample(s, np.float64) != 0 for s in spikes),
        tuple(per_sample(u, state_dtype) for u, _ in states) if record_state else None,
        tuple(per_sample(v, state_dtype) for _, v in states) if record_state else None,
    )
