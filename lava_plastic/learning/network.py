"""The one description of a plastic network, shared by every rule, the engine and the Lava graph."""
from __future__ import annotations

from dataclasses import dataclass, replace

from lava_plastic import fixed_point as fp
from lava_plastic.errors import LavaPlasticError
from lava_plastic.network import PRECISIONS

RESETS = ("zero", "subtract")
"""What a spike does to the voltage (:class:`PlasticNetwork`)."""
OUTPUTS = ("spiking", "readout")
"""What the output layer is (:class:`PlasticNetwork`)."""
ACTIVITY_BITS = 6
"""Fraction bits of the hidden activity a readout network's layers send (the online rules: a
spike plus noise, graded): 1.0 is ``2**6``. With OTTT's leak 0.5 a spike train's trace stays
below 2 spikes, 7 bits unsigned (a Loihi trace's width)."""
ACTIVITY_REGISTER_BITS = 10
"""Fixed point: the graded activity saturates to signed 10 bits (|out| < 8 spikes: a spike plus
its noise, times the dropout's rescaling)."""


@dataclass(frozen=True, eq=False)
class PlasticNetwork:
    """A feed-forward network of ``n_in -> hidden ... -> n_classes`` LIF layers (Lava's LIF,
    no bias), fed by direct coding, whose Dense weights learn.

    ``sizes``: ``(n_in, hidden..., n_classes)``. ``n_steps``: time steps per sample.
    ``du``, ``dv``: Loihi 12-bit decays (``du=4095``: no current memory). ``vth_bits``: the
    17-bit threshold is ``2**vth_bits``. ``weight_bits``: fractional bits of the 8-bit signed
    weights (a real weight is ``w / 2**weight_bits``). ``input_bits``: fractional bits of the
    graded input payload (0: the input is binary spikes). ``reset``: what a spike does to the
    voltage: ``"zero"`` sets it to 0 (Lava's LIF, Loihi's), ``"subtract"`` subtracts the
    threshold (the OTTT/OPZO neuron, OPZO paper eq. 1: with ``du = 4095`` and ``dv = 2048``,
    ``v[t+1] = (v[t] - V_th s[t]) / 2 + W s_in``, leak 0.5). ``output``: ``"spiking"``, LIF
    neurons whose spike counts classify, or ``"readout"``, non-spiking neurons whose output at a
    step is their synaptic input, ``o[t] = W s[t-1]`` (one step of Dense delay), and whose sum
    over the sample classifies (OPZO App. C.3.2).

    Units: the fixed LIF state is Lava's (24-bit ``u``, ``v``; threshold ``vth << 6``); float
    ``u``, ``v`` are the fixed values divided by 64, so the float threshold is ``vth``. The Dense
    exponent of each layer is chosen so that a real pre-activation of 1 per step moves ``v`` by
    exactly the threshold.
    """

    sizes: tuple[int, ...]
    n_steps: int = 16
    precision: str = "float"
    du: int = 4095
    dv: int = 0
    vth_bits: int = 10
    weight_bits: int = 8
    input_bits: int = 8
    reset: str = "zero"
    output: str = "spiking"

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(int(n) for n in self.sizes))
        if self.precision not in PRECISIONS:
            raise LavaPlasticError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise LavaPlasticError("sizes must list at least input and output sizes >= 1, got "
                                   f"{self.sizes}")
        if self.reset not in RESETS:
            raise LavaPlasticError(f"reset must be one of {RESETS}, got {self.reset!r}")
        if self.output not in OUTPUTS:
            raise LavaPlasticError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.sizes[-1] < 2:
            raise LavaPlasticError("the output layer needs at least 2 classes")
        checks = [("n_steps", self.n_steps, 2, 10_000), ("du", self.du, 0, 4095),
                  ("dv", self.dv, 0, 4095), ("vth_bits", self.vth_bits, 0, 16),
                  ("weight_bits", self.weight_bits, 0, 12), ("input_bits", self.input_bits, 0, 16)]
        for name, value, lo, hi in checks:
            if int(value) != value or not lo <= value <= hi:
                raise LavaPlasticError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")

    @property
    def fixed(self) -> bool:
        return self.precision == "fixed"

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_classes(self) -> int:
        return self.sizes[-1]

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        return self.sizes[1:-1]

    def in_bits(self, k: int) -> int:
        """Fractional bits of layer ``k``'s input: the graded payload at the first layer; then
        0 for spikes, or :data:`ACTIVITY_BITS` for a readout network's graded activity."""
        if k == 0:
            return self.input_bits
        return ACTIVITY_BITS if self.output == "readout" else 0

    def weight_exp(self, k: int) -> int:
        """Dense exponent making ``a = W x`` equal ``a_real * 2**vth_bits``."""
        return self.vth_bits - self.weight_bits - self.in_bits(k)

    @property
    def vth(self) -> int:
        return 2**self.vth_bits

    @property
    def vth_scaled(self) -> int:
        """The threshold in voltage-register units, ``vth << 6``."""
        return self.vth << fp.VTH_SHIFT

    def with_precision(self, precision: str) -> "PlasticNetwork":
        return replace(self, precision=precision)
