"""Training runs: one configuration value in, a results dictionary out (and files on disk).

``run(config)`` trains a rule (DRTP, DFA, sDFA; OPZO, ZO_sp, OPZO-DFA, OTTT-BP; NP, LOCO) on a
data set with the chosen backend (the batched ``engine`` or the ``lava`` process graph), precision
and model (spiking ``lif`` or the DRTP paper's ``tanh`` network), evaluates on the test split
after every epoch and writes ``results.json`` and ``accuracy.png`` into ``config.out``, which is
checked before any work (:func:`prepare_output`). The engine also writes checkpoints there
(:mod:`lava_plastic.checkpoint`) and ``run(config, resume=True)`` continues from one exactly. The
engine needs no Lava; the ``lava`` backend says so when Lava is not installed. ``run_continual``
learns the classes one after another.
"""
from __future__ import annotations

import functools
import json
import re
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lava_plastic import ann, checkpoint, datasets
from lava_plastic.errors import LavaPlasticError
from lava_plastic.interrupt import Terminated, sigterm_raises, stop_requests
from lava_plastic.learning import engine
from lava_plastic.learning.network import PlasticNetwork
from lava_plastic.learning.parallel import close_group, local_device, open_group
from lava_plastic.learning.plan import check_on_chip, compile_plan
from lava_plastic.optim import OPTIMIZERS, cosine_lr, make_optimizer
from lava_plastic.rules import RULES, make_rule
from lava_plastic.rules.feedback import projection_matrices
from lava_plastic.xp import to_numpy

# Lava's runtime sets the multiprocessing start method when it is first imported, which fails
# once anything (tqdm's lock, for one) has fixed it: import it before any training starts,
# where it is installed (the engine does not need it).
try:
    from lava_plastic.lava_graph import plastic as lava_plastic_graph
except ImportError as missing:
    lava_plastic_graph = None
    LAVA_MISSING = str(missing)
DATASETS = ("digits", "mnist", "nmnist", "nettalk")
BACKENDS = ("engine", "lava")
MODELS = ("lif", "tanh")
LAVA_CHUNK = 50
"""The Lava backend presents samples in runs of this many, to update the progress bar."""


@dataclass(frozen=True)
class TrainConfig:
    rule: str = "drtp"
    dataset: str = "digits"
    data_dir: str | None = None
    backend: str = "engine"
    precision: str = "float"
    model: str = "lif"
    epochs: int = 10
    hidden: tuple[int, ...] = (100,)
    seed: int = 0
    lr: float = 2.0**-7
    batch_size: int = 1
    optimizer: str = "sgd"
    steps: int = 16
    weight_bits: int = 8
    lr_halving: int | None = None
    augment_shift: int = 0
    max_train: int | None = None
    max_test: int | None = None
    out: str | None = None
    progress: bool = True
    dtype: str = "float64"
    device: str = "cpu"
    distributed: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    dropout: float = 0.0
    noise: str = "gaussian"
    noise_site: str = "activity"
    alpha: float = 0.2
    alpha_end: float = 0.01
    momentum: float = 0.99999
    antithetic: bool = False
    loss: str = "mix"
    two_point: bool = False
    aligned: bool = True
    feedback_gain: float = 1.0
    sigma: float = 0.25
    rank: int = 10
    clusters: int = 10
    buffer: int = 50
    class_batches: bool = False
    hidden_lr: float | None = None
    output_init: float | None = None
    init_gain: float = 1.0
    checkpoint_every: int = 0
    checkpoint_unit: str = "epoch"
    overwrite: bool = False

    @property
    def online(self) -> bool:
        """Whether the rule is one of the online rules (OPZO and its baselines)."""
        return getattr(RULES.get(self.rule), "online", False)

    @property
    def perturbative(self) -> bool:
        """Whether the rule learns by node perturbation (NP, LOCO)."""
        return getattr(RULES.get(self.rule), "perturbative", False)

    def rule_value(self, n_classes: int):
        """The rule this configuration trains with (its hyper-parameters checked)."""
        common = dict(lr=self.lr, n_classes=n_classes, seed=self.seed)
        if self.perturbative:
            projector = (dict(rank=self.rank, clusters=self.clusters, buffer=self.buffer)
                         if RULES[self.rule].projected else {})
            return make_rule(self.rule, **common, sigma=self.sigma, hidden_lr=self.hidden_lr,
                             class_batches=self.class_batches, **projector)
        if not self.online:
            return make_rule(self.rule, **common)
        return make_rule(self.rule, **common, alpha=self.alpha, alpha_end=self.alpha_end,
                         momentum=self.momentum, noise=self.noise, site=self.noise_site,
                         antithetic=self.antithetic, loss=self.loss,
                         aligned=self.aligned, two_point=self.two_point,
                         feedback_gain=self.feedback_gain)

    @property
    def initial_output_weight(self) -> float | None:
        """The real value every output weight starts at (``None``: He-uniform):
        ``output_init``, or for NP and LOCO :data:`OUTPUT_INIT` over the square root of the
        output layer's input width, so that each output neuron starts just below threshold with the same drive for
        every class (node perturbation cannot revive an output neuron He-uniform weights leave
        silent for its class)."""
        if self.output_init is not None or not self.perturbative:
            return self.output_init
        return OUTPUT_INIT / self.hidden[-1] ** 0.5

    def initial_weights(self, net: PlasticNetwork) -> tuple:
        """The initial weights of ``net`` for this run (the rule's seed). Refuses fixed-point
        weights too coarse for any of a layer's initial weights to differ from 0: such a
        network cannot learn (nothing reaches the layers above)."""
        weights = engine.init_weights(net, self.seed, self.initial_output_weight, self.init_gain)
        for k, w in enumerate(weights):
            if not np.any(to_numpy(w)):
                raise LavaPlasticError(f"with {net.weight_bits} fractional weight bits every "
                                       f"initial weight of layer {k + 1} rounds to 0, and nothing "
                                       "can be learned: use more --weight-bits")
        return weights

    def window(self, n_layers: int) -> int:
        """Steps per sample: ``steps``; for the online rules ``steps`` outputs of the readout,
        which first sees a sample ``n_layers`` steps after it starts (one Dense delay a layer),
        so ``steps + n_layers``."""
        return self.steps + n_layers if self.online else self.steps

    def network(self, n_features: int, n_classes: int) -> PlasticNetwork:
        """The spiking network this configuration trains: Lava's LIF with spike counts, or for
        the online rules OTTT's neuron (OPZO eq. 1: leak 0.5, reset by subtraction) and a
        readout."""
        sizes = (n_features,) + self.hidden + (n_classes,)
        neuron = dict(reset="subtract", dv=2048, output="readout") if self.online else {}
        if self.perturbative:  # spikingjelly's LIFNode (LOCO A.6): tau 2, hard reset
            neuron = dict(dv=2048)
        return PlasticNetwork(sizes, n_steps=self.window(len(sizes) - 1),
                              precision=self.precision, weight_bits=self.weight_bits, **neuron)

    def __post_init__(self):
        for name, value in asdict(self).items():  # numpy scalars as the Python values they are
            if isinstance(value, np.generic):
                object.__setattr__(self, name, value.item())
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name, value, allowed in (("rule", self.rule, tuple(RULES)),
                                     ("dataset", self.dataset, DATASETS),
                                     ("backend", self.backend, BACKENDS),
                                     ("precision", self.precision, ("float", "fixed")),
                                     ("model", self.model, MODELS),
                                     ("optimizer", self.optimizer, OPTIMIZERS),
                                     ("schedule", self.schedule, SCHEDULES)):
            if value not in allowed:
                raise LavaPlasticError(f"unknown {name} {value!r}; choose from "
                                       f"{', '.join(allowed)}")
        self._check_online_options()
        self._check_perturbation_options()
        for name in ("epochs", "batch_size", "steps"):
            if int(getattr(self, name)) != getattr(self, name) or getattr(self, name) < 1:
                raise LavaPlasticError(f"{name} must be a positive integer, got "
                                       f"{getattr(self, name)!r}")
        if not (isinstance(self.seed, (int, np.integer)) and 0 <= self.seed < 2**32):
            raise LavaPlasticError(f"seed must be an integer in [0, {2**32 - 1}], got "
                                   f"{self.seed!r}")
        for name in ("max_train", "max_test"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 1):
                raise LavaPlasticError(f"{name} must be a positive number of samples, got "
                                       f"{value!r}")
        if not self.hidden or min(self.hidden) < 1:
            raise LavaPlasticError(f"hidden layer sizes must be positive, got {self.hidden}")
        if not (np.isfinite(self.init_gain) and self.init_gain > 0):
            raise LavaPlasticError(f"init_gain must be a positive number, got {self.init_gain!r}")
        if self.output_init is not None and not np.isfinite(self.output_init):
            raise LavaPlasticError(f"output_init must be a finite number, got {self.output_init!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise LavaPlasticError(f"learning rate must be positive, got {self.lr}")
        if self.backend == "lava" and (self.optimizer != "sgd" or self.model != "lif"
                                       or (self.batch_size != 1 and not self.perturbative)):
            raise LavaPlasticError("the lava backend runs the on-chip rule: lif model, sgd, batch "
                                   "size 1 (np and loco: any batch size)")
        if self.model == "tanh" and (self.precision != "float" or self.backend != "engine"):
            raise LavaPlasticError("the tanh network (the paper's ANN setting) runs in the float "
                                   "engine")
        if self.lr_halving is not None:
            if int(self.lr_halving) != self.lr_halving or self.lr_halving < 1:
                raise LavaPlasticError("lr_halving must be a positive number of epochs, got "
                                       f"{self.lr_halving!r}")
            if self.backend == "lava":
                raise LavaPlasticError("the lava backend keeps one learning rate (a synapse "
                                       "parameter)")
        if self.dataset == "nettalk":
            if self.online or self.model != "lif":
                raise LavaPlasticError("nettalk's multi-hot targets train the spiking network's "
                                       "output spikes: drtp, dfa, sdfa, np or loco")
            if self.backend != "engine":
                raise LavaPlasticError("nettalk runs in the engine backend")
            if self.augment_shift:
                raise LavaPlasticError("augment_shift translates images: digits and mnist")
        elif self.dataset == "nmnist":
            if not self.online:
                raise LavaPlasticError(f"nmnist presents an input per step, which the online rules "
                                       f"({', '.join(ONLINE_RULES)}) train on, not {self.rule}")
            if self.backend != "engine":
                raise LavaPlasticError("nmnist runs in the engine backend (the Lava source "
                                       "presents one input per sample)")
            if self.augment_shift:
                raise LavaPlasticError("augment_shift translates images: digits and mnist")
        else:
            side = min(datasets.IMAGE_SHAPES[self.dataset])
            if int(self.augment_shift) != self.augment_shift or not 0 <= self.augment_shift < side:
                raise LavaPlasticError(f"augment_shift must be an integer in [0, {side - 1}] "
                                       f"pixels for {self.dataset}, got {self.augment_shift!r}")
        if self.augment_shift and self.backend == "lava":
            raise LavaPlasticError("the lava backend presents the stored training samples: "
                                   "augmentation runs in the engine")
        if self.optimizer != "sgd" and self.precision == "fixed":
            raise LavaPlasticError(f"{self.optimizer} runs in float only; fixed point trains with "
                                   "the on-chip SGD rule")
        if not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise LavaPlasticError("weight decay must be a non-negative number, got "
                                   f"{self.weight_decay!r}")
        if self.weight_decay and self.optimizer != "adamw":
            raise LavaPlasticError("weight decay is an option of adamw")
        if self.schedule == "cosine" and self.optimizer == "sgd":
            raise LavaPlasticError("the on-chip rule's learning rate is a power-of-two shift: the "
                                   "cosine schedule is for adam and adamw (sgd has --lr-halving)")
        if self.dtype not in engine.FLOAT_DTYPES:
            raise LavaPlasticError(f"unknown dtype {self.dtype!r}; choose from "
                                   f"{', '.join(engine.FLOAT_DTYPES)}")
        if self.dtype != "float64" and (self.precision != "float" or self.backend != "engine"):
            raise LavaPlasticError("float32 is a training option of the float engine")
        if self.device != "cpu" and (self.backend != "engine" or self.model != "lif"):
            raise LavaPlasticError("--device runs the engine backend (lif model) on a torch device")
        if self.distributed and (self.backend != "engine" or self.model != "lif"):
            raise LavaPlasticError("distributed training runs the engine backend (lif model)")
        if self.distributed and self.device.startswith("cuda:"):
            raise LavaPlasticError("distributed training takes --device cuda: each rank takes the "
                                   "GPU numbered LOCAL_RANK on its machine")
        if not re.fullmatch(r"cpu|torch-cpu|cuda(:\d+)?", self.device):
            raise LavaPlasticError(f"unknown device {self.device!r}; choose cpu (numpy), "
                                   "torch-cpu, cuda or cuda:N")
        if self.checkpoint_unit not in CHECKPOINT_UNITS:
            raise LavaPlasticError(f"unknown checkpoint unit {self.checkpoint_unit!r}; choose from "
                                   f"{', '.join(CHECKPOINT_UNITS)}")
        if int(self.checkpoint_every) != self.checkpoint_every or self.checkpoint_every < 0:
            raise LavaPlasticError(f"checkpoint_every must be a whole number of epochs or batches, "
                                   f"got {self.checkpoint_every!r}")
        if self.checkpoint_every and (self.backend != "engine" or self.model != "lif"
                                      or self.distributed):
            raise LavaPlasticError("checkpoints are taken by the engine backend (lif model, one "
                                   "process)")


    def _check_online_options(self):
        """The online rules' options: valid values, used only with those rules and where they
        run (one ``LavaPlasticError`` each; the rule value checks its own hyper-parameters)."""
        online_defaults = {f: TrainConfig.__dataclass_fields__[f].default for f in ONLINE_OPTIONS}
        if not self.online:
            changed = [f for f, d in online_defaults.items() if getattr(self, f) != d]
            if changed:
                flag = "unaligned" if changed[0] == "aligned" else changed[0].replace("_", "-")
                raise LavaPlasticError(f"--{flag} is an option of the online rules "
                                       f"({', '.join(ONLINE_RULES)}), not of {self.rule}")
            return
        if not (np.isfinite(self.dropout) and 0 <= self.dropout < 1):
            raise LavaPlasticError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.model != "lif":
            raise LavaPlasticError(f"{self.rule} trains the spiking (lif) network")
        if self.backend == "lava":
            check_on_chip(self.rule_value(2))
        window = self.window(len(self.hidden) + 1)
        if self.antithetic and window % 2:
            raise LavaPlasticError("antithetic noise pairs consecutive steps: the window of "
                                   f"{window} steps ({self.steps} outputs plus one per layer) must "
                                   "be even")
        self.rule_value(2)  # its hyper-parameters, before any data is read


    def _check_perturbation_options(self):
        """NP's and LOCO's options: used only with those rules, class batches in the engine
        (one ``LavaPlasticError`` each; the rule value checks its own hyper-parameters)."""
        allowed = (() if not self.perturbative else PERTURBATION_OPTIONS if self.rule == "loco"
                   else ("sigma", "class_batches", "hidden_lr"))
        fields = TrainConfig.__dataclass_fields__
        changed = [f for f in PERTURBATION_OPTIONS
                   if f not in allowed and getattr(self, f) != fields[f].default]
        if changed:
            owner = ("np and loco" if changed[0] in ("sigma", "class_batches", "hidden_lr")
                     else "loco")
            flag = changed[0].replace("_", "-")
            raise LavaPlasticError(f"--{flag} is an option of {owner}, not of {self.rule}")
        if not self.perturbative:
            return
        if self.model != "lif":
            raise LavaPlasticError(f"{self.rule} trains the spiking (lif) network")
        self.rule_value(2)  # its hyper-parameters, before any data is read


CHECKPOINT_UNITS = ("epoch", "batch")
RUN_INDEPENDENT = ("out", "progress", "data_dir", "checkpoint_every", "checkpoint_unit",
                   "overwrite")
"""Settings that say where and how a run is kept, not what it computes: a resumed run may
change them."""


def run_settings(config: TrainConfig) -> dict:
    """What a run computes: its configuration without :data:`RUN_INDEPENDENT` (JSON values)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()
            if k not in RUN_INDEPENDENT}


PERTURBATION_OPTIONS = ("sigma", "rank", "clusters", "buffer", "class_batches", "hidden_lr")
"""Options of the perturbation rules alone (``rank``, ``clusters``, ``buffer``: LOCO's)."""
ONLINE_OPTIONS = ("dropout", "noise", "noise_site", "alpha", "alpha_end", "momentum",
                  "antithetic", "loss", "two_point", "aligned", "feedback_gain")
"""Options of the online rules alone (:class:`TrainConfig`)."""
ONLINE_RULES = tuple(name for name, rule in RULES.items() if getattr(rule, "online", False))
SCHEDULES = ("constant", "cosine")
"""Learning-rate schedules over the epochs: constant, or annealed on a cosine to 0
(:func:`lava_plastic.optim.cosine_lr`, the OPZO paper's)."""
ONLINE_DEFAULTS = dict(lr=2e-4, optimizer="adamw", weight_decay=2e-4, schedule="cosine",
                       batch_size=128, steps=6, hidden=(800, 800), dropout=0.2)
"""The OPZO paper's MNIST setting (App. C.3.2): the command line's defaults for the online
rules (ZO_sp: lr 2e-5 and no dropout)."""
ZO_DEFAULTS = dict(ONLINE_DEFAULTS, lr=2e-5)


ONLINE_CHIP_DEFAULTS = dict(ONLINE_DEFAULTS, lr=2.0**-12, optimizer="sgd", weight_decay=0.0,
                            schedule="constant", batch_size=32)
"""The on-chip rule, the online rules' defaults in fixed point and in the Lava graph (there one
sample per update): SGD at 2**-12 per sample, summed over a batch of 32 in the engine."""
OPZO_CHIP_DEFAULTS = dict(feedback_gain=64.0, momentum=1 - 2.0**-10)
"""OPZO under the on-chip rule: SGD does not normalise the update's scale as AdamW does, and
``M e`` is of order 1e-3 (BENCHMARKS.md, "Fixed point against float"): the hidden layers
receive ``64 M e`` (their rate relative to the readout's; in fixed point the modulation
register then resolves it), and ``M`` averages over ``2**10`` steps instead of ``10**5``, so
that it has formed within the first few hundred updates."""
ONLINE_FIXED_DEFAULTS = dict(ONLINE_CHIP_DEFAULTS, loss="sse")
"""Fixed point: the on-chip rule with the sse loss (e = o - y needs neither a division nor an
exponential)."""


PERTURBATION_DEFAULTS = {
    ("loco", "digits"): dict(lr=2.0**-4), ("np", "digits"): dict(lr=2.0**-7),
    ("loco", "mnist"): dict(lr=2.0**-7), ("np", "mnist"): dict(lr=2.0**-6, hidden_lr=2.0**-11),
    ("loco", "nettalk"): dict(lr=2.0**-6, hidden_lr=2.0**-5),
    ("np", "nettalk"): dict(lr=2.0**-6)}
PERTURBATION_WEIGHT_BITS = {"digits": 8, "mnist": 10, "nettalk": 7}
"""NP's and LOCO's fractional weight bits by data set: as many as the initial weights leave room
for in 8 bits (He-uniform's bound sqrt(6 / fan-in), on NETtalk three times it). On MNIST 8
bits give the 784 inputs' weights about five bits of magnitude and fixed point fell 5 points
behind float after five epochs; 10 bits keep it within half a point (BENCHMARKS.md)."""
"""NP's and LOCO's learning rates by data set (the paper gives none; measured on digits and a
10,000-image MNIST subset, BENCHMARKS.md): the update of a layer grows with its input's
squared norm, so wider and denser inputs take smaller rates; NP's hidden layers, whose estimate
is far noisier than the output layer's, learn 32 times slower on MNIST; LOCO's hidden layer on
NETtalk learns twice as fast as its output layer (after 100 epochs, seed 0: 0.8219 against 0.8137
at the same rate, 0.8021 at half, 0.8187 at four times). Batches of 32 (table S2).
On NETtalk the initial weights are three times He-uniform's: seven active inputs of 189 leave a
He-initialised hidden layer nearly silent (a firing rate of 0.008 against 0.16)."""
OUTPUT_INIT = 0.3
"""NP and LOCO start every output weight at ``OUTPUT_INIT / sqrt(n)`` (``n`` the last hidden
layer's width), each output neuron just below threshold with the same drive for every class:
0.03 on digits' 100 hidden neurons (LOCO 0.912 over three seeds after 30 epochs, against 0.882
at 0.05), 0.0134 on MNIST's 500 (between 0.01 and 0.016, which gave LOCO 0.841 and 0.827 on a
10,000-image subset after 5 epochs, against 0.820 at 0.006)."""


def rule_defaults(rule: str, backend: str = "engine", dataset: str = "digits",
                  precision: str = "float") -> dict:
    """The command line's defaults for ``rule`` where they differ from :class:`TrainConfig`'s
    (DRTP's): the OPZO paper's setting for the online rules; the on-chip rule in fixed point
    (with the sse loss) and in the Lava graph (one sample per update); N-MNIST: 30 steps.
    NP and LOCO: :data:`PERTURBATION_DEFAULTS`, LOCO with batches of one class (table S2)."""
    if getattr(RULES.get(rule), "perturbative", False):
        rates = PERTURBATION_DEFAULTS.get((rule, dataset), PERTURBATION_DEFAULTS[rule, "mnist"])
        defaults = dict(rates, batch_size=32, class_batches=rule == "loco",
                        weight_bits=PERTURBATION_WEIGHT_BITS.get(dataset, 8))
        return dict(defaults, init_gain=3.0) if dataset == "nettalk" else defaults
    if rule not in ONLINE_RULES:
        return {}
    if precision == "fixed" or backend == "lava":
        defaults = ONLINE_FIXED_DEFAULTS if precision == "fixed" else ONLINE_CHIP_DEFAULTS
        if rule == "opzo":
            defaults = dict(defaults, **OPZO_CHIP_DEFAULTS)
        if backend == "lava":
            defaults = dict(defaults, batch_size=1)
    else:
        defaults = ZO_DEFAULTS if rule == "zo" else ONLINE_DEFAULTS
    if rule == "zo":
        defaults = dict(defaults, dropout=0.0)
    return dict(defaults, steps=30) if dataset == "nmnist" else defaults


def engine_template(device: str):
    """``None`` for numpy on the CPU, else an empty torch tensor on ``device`` (``torch-cpu``:
    torch on the CPU), which puts the engine's arrays there. Refuses a device that is not here."""
    if device == "cpu":
        return None
    try:
        import torch
    except ImportError:
        raise LavaPlasticError(f"device {device!r} needs torch, which is not installed") from None
    if device == "torch-cpu":
        return torch.zeros(0)
    if not torch.cuda.is_available():
        raise LavaPlasticError(f"device {device!r}: torch finds no CUDA device here")
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise LavaPlasticError(f"device {device!r}: there are {torch.cuda.device_count()} CUDA "
                               "devices")
    return torch.zeros(0, device=device)


def load_data(config: TrainConfig) -> datasets.Dataset:
    if config.dataset == "nmnist":  # the paper's bins, one per step the readout sees
        data = datasets.nmnist_sequences(config.data_dir, config.steps)
    else:
        data = datasets.load(config.dataset, config.data_dir, seed=config.seed)
    n_train = len(data.train_x) if config.max_train is None else min(config.max_train, len(data.train_x))
    n_test = len(data.test_x) if config.max_test is None else min(config.max_test, len(data.test_x))
    return datasets.Dataset(data.name, data.train_x[:n_train], data.train_y[:n_train],
                            data.test_x[:n_test], data.test_y[:n_test], data.n_classes,
                            data.sequence)


def epoch_train_x(config: TrainConfig, data: datasets.Dataset, epoch: int) -> np.ndarray:
    """The training inputs of ``epoch``: the stored images, or with ``augment_shift`` each image
    translated by its own random offset of up to that many pixels, redrawn every epoch from
    ``(seed, epoch)``."""
    if not config.augment_shift:
        return data.train_x
    rng = np.random.default_rng([config.seed, 0xA6, epoch])
    return datasets.random_shifts(data.train_x, datasets.IMAGE_SHAPES[config.dataset],
                                  config.augment_shift, rng)


def _progress(config: TrainConfig, total: int, epoch: int) -> tqdm:
    """The epoch's progress bar (shown on a terminal, unless ``progress`` is off)."""
    return tqdm(total=total, desc=f"epoch {epoch}/{config.epochs}", unit="sample",
                disable=None if config.progress else True, leave=False)


def class_batches(classes: np.ndarray, batch_size: int, rng: np.random.Generator) -> list:
    """An epoch's batches, each of samples of one class (LOCO, "the data within each batch
    belongs to the same category"; table S2's batches of 32): each class's samples shuffled and
    cut into batches of ``batch_size`` (its last batch holds the rest: nothing is dropped),
    then all batches shuffled. ``classes``: each sample's class id."""
    batches = []
    for c in np.unique(classes):
        members = rng.permutation(np.flatnonzero(classes == c))
        batches += [members[i : i + batch_size] for i in range(0, len(members), batch_size)]
    return [batches[j] for j in rng.permutation(len(batches))]


def epoch_rule(config: TrainConfig, rule, epoch: int):
    """The rule for ``epoch`` (1-based): the learning rate halves every ``lr_halving`` epochs
    (in fixed point, the accumulator shift grows by one)."""
    if config.lr_halving is None:
        return rule
    factor = 0.5 ** ((epoch - 1) // config.lr_halving)
    if getattr(rule, "hidden_lr", None) is not None:
        return replace(rule, lr=rule.lr * factor, hidden_lr=rule.hidden_lr * factor)
    return replace(rule, lr=rule.lr * factor)


def _engine_start(config, plan, parallel=None):
    """The engine's training state and optimiser for ``config`` (on its device)."""
    optimizer = engine.make_optimizer_for(plan.net, config.optimizer, config.lr,
                                          config.weight_decay)
    device = config.device if parallel is None else local_device(config.device)
    state = engine.init_state(plan, config.initial_weights(plan.net), optimizer=optimizer,
                              template=engine_template(device), dtype=config.dtype)
    return state, optimizer


def _engine_epoch(config, plan, state, base_optimizer, train_x, train_y, rng, epoch,
                  parallel=None, first_batch=0, seen=None, seconds=0.0, chunk_done=None):
    """One epoch (1-based ``epoch`` of ``config.epochs``) over ``(train_x, train_y)``: the
    epoch's learning rate, schedule and noise scale, shuffled batches (or batches of one
    class). Returns the state, the outputs seen while learning, the seconds it took, the
    epoch's plan and the online rules' options.

    A resumed epoch draws its batches again and starts at batch ``first_batch`` with the
    outputs ``seen`` and the ``seconds`` of its first part. The batches run in chunks
    (:func:`chunk_bounds`); ``chunk_done(batches_done, state, seen, seconds)`` is called after
    each."""
    net, rule = plan.net, plan.rule
    epoch_plan = compile_plan(net, epoch_rule(config, rule, epoch), config.batch_size)
    optimizer = base_optimizer
    if config.schedule == "cosine":
        optimizer = replace(base_optimizer, lr=cosine_lr(base_optimizer.lr, epoch,
                                                         config.epochs))
    online_options = {}
    if config.online:
        online_options = dict(alpha=rule.alpha_of(epoch, config.epochs), dropout=config.dropout)
    if config.class_batches:
        batches = class_batches(datasets.class_ids(train_y), config.batch_size, rng)
    else:
        order = rng.permutation(len(train_x))
        batches = [order[i : i + config.batch_size]
                   for i in range(0, len(order), config.batch_size)]
    if first_batch > len(batches):
        raise checkpoint.CheckpointError(f"epoch {epoch} has {len(batches)} batches; the "
                                         f"checkpoint resumes it at batch {first_batch}")
    bar = _progress(config, len(train_x), epoch)
    if seen is None:
        seen = np.zeros((len(train_x), net.n_classes))
    bar.update(sum(len(b) for b in batches[:first_batch]))
    every = config.checkpoint_every if config.checkpoint_unit == "batch" else 0
    for first, last in chunk_bounds(len(batches), first_batch, every):
        start = time.perf_counter()
        chunk = batches[first:last]
        state, chunk_seen = engine.train_epoch(epoch_plan, state, train_x, train_y,
                                               config.batch_size, optimizer, chunk, parallel,
                                               **online_options)
        rows = np.concatenate(chunk)
        seen[rows] = chunk_seen[rows]
        seconds += time.perf_counter() - start
        bar.update(len(rows))
        if chunk_done is not None:
            chunk_done(last, state, seen, seconds)
    bar.close()
    return state, seen, seconds, epoch_plan, online_options


CHUNK_BATCHES = 10
"""Batches per call of the engine between progress updates, checkpoints and stop checks."""


def chunk_bounds(n_batches: int, first: int, every: int = 0) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` of batches from ``first`` to ``n_batches``: at most
    :data:`CHUNK_BATCHES` each, ending at its multiples and at every multiple of ``every``
    (0: none). Where the runs end does not change the arithmetic: the engine presents the
    batches one after another whatever the runs."""
    bounds, a = [], first
    while a < n_batches:
        b = min(n_batches, (a // CHUNK_BATCHES + 1) * CHUNK_BATCHES)
        if every:
            b = min(b, (a // every + 1) * every)
        bounds.append((a, b))
        a = b
    return bounds


def _code_accuracies(data, seen, test) -> dict:
    """Multi-hot targets (NETtalk): the exact-code accuracies beside A.12's cosine accuracy."""
    if data.train_y.ndim == 1:
        return {}
    return dict(train_code_accuracy=datasets.code_accuracy(data, seen, data.train_y),
                test_code_accuracy=datasets.code_accuracy(data, test, data.test_y))


class _Keeper:
    """Where an engine run keeps its work: a checkpoint into ``config.out`` (if any) every
    ``config.checkpoint_every`` epochs or batches and after the last epoch; on a held SIGINT or
    SIGTERM (``stops``) a checkpoint of the last finished chunk of batches, then the signal's
    exception."""

    def __init__(self, config, fingerprint, history, stops):
        self.config, self.fingerprint, self.history = config, fingerprint, history
        self.stops = stops
        self.path = Path(config.out) / checkpoint.FILE if config.out else None

    def save(self, epoch, batch, state, rng_state, seconds=0.0, seen=None):
        if self.path is None:
            return
        point = checkpoint.Checkpoint(
            config=run_settings(self.config), data=self.fingerprint, epoch=epoch, batch=batch,
            rng_state=rng_state, history=self.history, seconds=seconds, state=state,
            seen=seen if batch else None)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            checkpoint.save(self.path, point)
        except OSError as err:
            raise RunFilesError(f"could not write the checkpoint {self.path}: "
                                f"{err.strerror or err}; the previous one is kept") from None

    def chunk_done(self, epoch, batches_done, state, seen, seconds, rng_state):
        every = self.config.checkpoint_every
        due = self.config.checkpoint_unit == "batch" and every and batches_done % every == 0
        if due or self.stops.requested is not None:
            self.save(epoch - 1, batches_done, state, rng_state, seconds, seen)
        self.stops.check()

    def epoch_done(self, epoch, state, rng_state):
        every = self.config.checkpoint_every
        due = self.config.checkpoint_unit == "epoch" and every and epoch % every == 0
        if due or epoch == self.config.epochs or self.stops.requested is not None:
            self.save(epoch, 0, state, rng_state)
        self.stops.check()


def _engine_lif(config, data, plan, epoch_done, parallel=None, inspect=None, keeper=None,
                resumed=None):
    state, optimizer = _engine_start(config, plan, parallel)
    rng = np.random.default_rng([config.seed, 0x5])
    first_epoch, first_batch, seen, seconds = 1, 0, None, 0.0
    if resumed is not None:
        state = resumed.state
        rng.bit_generator.state = resumed.rng_state
        first_epoch, first_batch = resumed.epoch + 1, resumed.batch
        seen, seconds = resumed.seen, resumed.seconds
    for epoch in range(first_epoch, config.epochs + 1):
        rng_state = rng.bit_generator.state  # a resumed epoch draws its batches from here
        chunk_done = (None if keeper is None
                      else functools.partial(keeper.chunk_done, epoch, rng_state=rng_state))
        train_x = epoch_train_x(config, data, epoch)
        state, seen, seconds, epoch_plan, online_options = _engine_epoch(
            config, plan, state, optimizer, train_x, data.train_y, rng, epoch, parallel,
            first_batch, seen, seconds, chunk_done)
        test = engine.predict(plan, state, data.test_x, parallel=parallel)
        extra = {} if inspect is None else inspect(epoch, epoch_plan, state, online_options)
        epoch_done(epoch, datasets.accuracy(data, seen, data.train_y),
                   datasets.accuracy(data, test, data.test_y), seconds,
                   **_code_accuracies(data, seen, test), **extra)
        if keeper is not None:
            keeper.epoch_done(epoch, state, rng.bit_generator.state)
        first_batch, seen, seconds = 0, None, 0.0


def _lava_lif(config, data, plan, epoch_done):
    if lava_plastic_graph is None:
        raise LavaPlasticError("the lava backend needs Lava (lava-nc 0.10.0, Python 3.10), which "
                               f"is not installed here ({LAVA_MISSING}); the engine backend runs "
                               "without it")
    weights = config.initial_weights(plan.net)
    # the graph presents its stored rows in order: batches of one class are laid out once
    order, sizes = np.arange(len(data.train_x)), None
    if config.class_batches:
        rng = np.random.default_rng([config.seed, 0x5])
        batches = class_batches(datasets.class_ids(data.train_y), config.batch_size, rng)
        order, sizes = np.concatenate(batches), [len(b) for b in batches]
    with lava_plastic_graph.PlasticGraph(plan, weights, data.train_x[order], data.train_y[order],
                                         data.test_x, data.test_y, dropout=config.dropout,
                                         batch_sizes=sizes) as graph:
        for epoch in range(1, config.epochs + 1):
            if config.online:
                graph.set_alpha(plan.rule.alpha_of(epoch, config.epochs))
            bar = _progress(config, graph.n_train, epoch)
            start = time.perf_counter()
            for first in range(0, graph.n_train, LAVA_CHUNK):
                n = min(LAVA_CHUNK, graph.n_train - first)
                graph.present(first, n, learning=True)
                bar.update(n)
            bar.close()
            seconds = time.perf_counter() - start
            seen = np.empty((graph.n_train, plan.net.n_classes))
            seen[order] = graph.counts(0, graph.n_train)
            test = graph.evaluate()
            epoch_done(epoch, datasets.accuracy(data, seen, data.train_y),
                       datasets.accuracy(data, test, data.test_y), seconds,
                       **_code_accuracies(data, seen, test))


def _engine_tanh(config, data, rule, epoch_done):
    sizes = (data.n_features,) + config.hidden + (data.n_classes,)
    params = ann.init_ann(sizes, config.seed, config.dtype)
    bs = projection_matrices(rule.seed, rule.n_classes, config.hidden)
    optimizer = make_optimizer(config.optimizer, config.lr)
    opt_state = optimizer.init(params.weights + params.biases)
    rng = np.random.default_rng([config.seed, 0x5])
    x_train = None
    for epoch in range(1, config.epochs + 1):
        if x_train is None or config.augment_shift:  # cast once unless the images change
            x_train = epoch_train_x(config, data, epoch).astype(config.dtype)
        order = rng.permutation(len(x_train))
        bar = _progress(config, len(order), epoch)
        start = time.perf_counter()
        correct = 0.0
        for i in range(0, len(order), 100 * config.batch_size):
            chunk = order[i : i + 100 * config.batch_size]
            params, opt_state, acc = ann.train_epoch(rule, bs, params, opt_state, optimizer,
                                                     x_train, data.train_y, config.batch_size, chunk)
            correct += acc * len(chunk)
            bar.update(len(chunk))
        bar.close()
        seconds = time.perf_counter() - start
        test_acc = float(np.mean(ann.predict(params, data.test_x.astype(config.dtype)) == data.test_y))
        epoch_done(epoch, correct / len(order), test_acc, seconds)
    return params.weights


def run(config: TrainConfig, log=print, inspect=None, resume: bool = False) -> dict:
    """Train as ``config`` says; returns the results (also written to ``config.out``). With
    ``config.distributed`` this process is one rank of a ``torchrun`` launch: it joins the
    process group, and only rank 0 logs and writes. ``inspect(epoch, plan, state, options)``
    (engine backend, lif model) is called after each epoch with the epoch's plan, the training
    state and the online rules' options; what it returns (a dict) joins the epoch's entry in
    the history (a benchmark's measurements, say).

    The output folder is checked first (:func:`prepare_output`). The engine (lif model, one
    process) writes a checkpoint there every ``config.checkpoint_every`` epochs or batches and
    after the last epoch, holds Ctrl-C and SIGTERM until the batches in hand are done, then
    writes a checkpoint and the results so far (``status`` ``interrupted``) and raises
    ``KeyboardInterrupt`` or :class:`~lava_plastic.interrupt.Terminated`. ``resume``: continue
    from the checkpoint in ``config.out``, which must be of this configuration and data."""
    engine_template(config.device)  # a device that is not here fails before any work
    if resume and (config.backend != "engine" or config.model != "lif" or config.distributed):
        raise LavaPlasticError("resuming continues an engine run (lif model, one process)")
    prepare_output(config.out, resume, config.overwrite)
    if not config.distributed:
        return _run(config, log, None, inspect, resume)
    parallel = open_group(config.device)
    if config.batch_size % parallel.world_size:
        raise LavaPlasticError(f"batch size {config.batch_size} does not divide across "
                               f"{parallel.world_size} ranks")
    results = _run(config, log if parallel.rank == 0 else (lambda _: None), parallel)
    close_group()
    return results


def data_fingerprint(data: datasets.Dataset) -> list[int]:
    """CRC-32s of the data's four arrays: the same data, or not."""
    return [zlib.crc32(np.ascontiguousarray(a)) for a in
            (data.train_x, data.train_y, data.test_x, data.test_y)]


def _fingerprint(config: TrainConfig, data: datasets.Dataset) -> dict:
    """What every rank of a distributed run must share: what it computes
    (:func:`run_settings`) and the data it loaded."""
    return dict(run_settings(config), data=data_fingerprint(data))


def _resumable(config: TrainConfig, data: datasets.Dataset) -> checkpoint.Checkpoint:
    """The checkpoint in ``config.out``, checked to be of this configuration and data."""
    path = Path(config.out) / checkpoint.FILE
    point = checkpoint.load(path, engine_template(config.device))
    mine = run_settings(config)
    for key in sorted(set(mine) | set(point.config)):
        if point.config.get(key, "(absent)") != mine.get(key, "(absent)"):
            raise checkpoint.CheckpointError(
                f"the checkpoint {path} is of another run: its {key} is "
                f"{point.config.get(key, '(absent)')!r}, this run's {mine.get(key, '(absent)')!r}")
    if point.data != data_fingerprint(data):
        raise checkpoint.CheckpointError(f"the checkpoint {path} was trained on other data than "
                                         f"{config.dataset} as loaded now")
    if point.epoch > config.epochs or len(point.history) != point.epoch:
        raise checkpoint.CheckpointError(f"the checkpoint {path} has {point.epoch} epochs and "
                                         f"{len(point.history)} history entries for a run of "
                                         f"{config.epochs}")
    if point.epoch == config.epochs:
        raise checkpoint.CheckpointError(f"the run in {config.out} has finished: nothing to "
                                         f"resume")
    n_train, n_classes = len(data.train_x), data.n_classes
    if point.seen is not None and point.seen.shape != (n_train, n_classes):
        raise checkpoint.CheckpointError(f"the checkpoint {path} holds outputs of shape "
                                         f"{point.seen.shape}, not ({n_train}, {n_classes})")
    return point


def _run(config: TrainConfig, log, parallel, inspect=None, resume: bool = False) -> dict:
    data = load_data(config)
    if parallel is not None:
        parallel.agree(_fingerprint(config, data))
        if parallel.rank:
            config = replace(config, out=None, progress=False)
    rule = config.rule_value(data.n_classes)
    resumed = _resumable(config, data) if resume else None
    history = [] if resumed is None else list(resumed.history)

    def epoch_done(epoch, train_acc, test_acc, seconds, **extra):
        history.append(dict(epoch=epoch, train_accuracy=train_acc, test_accuracy=test_acc,
                            seconds=seconds, **extra))
        codes = (f", exact code {extra['test_code_accuracy']:.4f}"
                 if "test_code_accuracy" in extra else "")
        log(f"epoch {epoch}/{config.epochs}: train accuracy {train_acc:.4f}, "
            f"test accuracy {test_acc:.4f}{codes} ({seconds:.1f} s)")

    if resumed is not None:
        log(f"resuming after epoch {resumed.epoch}"
            + (f" and {resumed.batch} batches of the next" if resumed.batch else ""))
    plan = None
    if config.model == "lif":
        net = config.network(data.n_features, data.n_classes)
        plan = compile_plan(net, rule, config.batch_size)  # bad settings fail before training
    world_size = 1 if parallel is None else parallel.world_size
    try:
        if config.model == "lif" and config.backend == "engine" and parallel is None:
            with stop_requests() as stops:
                keeper = _Keeper(config, data_fingerprint(data), history, stops)
                _engine_lif(config, data, plan, epoch_done, None, inspect, keeper, resumed)
        else:
            with sigterm_raises():
                if config.model == "tanh":
                    _engine_tanh(config, data, rule, epoch_done)
                elif config.backend == "engine":
                    _engine_lif(config, data, plan, epoch_done, parallel, inspect)
                else:
                    _lava_lif(config, data, plan, epoch_done)
    except (KeyboardInterrupt, Terminated) as stop:
        # Finished epochs are kept: the results so far are written before the process ends.
        if config.out:
            signal_name = "SIGINT" if isinstance(stop, KeyboardInterrupt) else "SIGTERM"
            write_results(summarise(config, data, plan, history, world_size,
                                    interrupted=signal_name), Path(config.out))
        raise
    results = summarise(config, data, plan, history, world_size)
    if config.out:
        write_results(results, Path(config.out))
    return results


CONTINUAL_DATASETS = ("digits", "mnist")


def run_continual(config: TrainConfig, log=print) -> dict:
    """Class-incremental learning (LOCO, Fig. 2H): the classes are learned one after another,
    ``config.epochs`` epochs on the training samples of each (ascending class order), and after
    each class the test accuracy over the classes seen so far (the argmax over every output).
    Returns (and writes to ``config.out``: ``results.json`` and ``continual.png``) the results
    with ``accuracy_after_class`` (one value per class learned) and ``final_accuracy``. Engine
    backend, one process. A run stopped by Ctrl-C or SIGTERM writes the classes it finished,
    marked ``interrupted``."""
    if config.dataset not in CONTINUAL_DATASETS:
        raise LavaPlasticError(f"continual learning takes the class-labelled images: "
                               f"{', '.join(CONTINUAL_DATASETS)}, not {config.dataset}")
    if config.backend != "engine" or config.model != "lif" or config.distributed:
        raise LavaPlasticError("continual learning runs in the engine backend (lif model, one "
                               "process)")
    if config.augment_shift:
        raise LavaPlasticError("augment_shift is an option of train")
    if config.checkpoint_every:
        raise LavaPlasticError("checkpoints are an option of train")
    prepare_output(config.out, False, config.overwrite)
    data = load_data(config)
    rule = config.rule_value(data.n_classes)
    plan = compile_plan(config.network(data.n_features, data.n_classes), rule, config.batch_size)
    missing = sorted(set(range(data.n_classes)) - set(np.unique(data.train_y).tolist()))
    if missing:
        raise LavaPlasticError(f"the training samples hold no example of classes {missing}")
    history = []
    try:
        with sigterm_raises():
            state, optimizer = _engine_start(config, plan)
            rng = np.random.default_rng([config.seed, 0x5])
            for c in range(data.n_classes):
                rows = np.flatnonzero(data.train_y == c)
                seconds = 0.0
                for epoch in range(1, config.epochs + 1):
                    state, seen, took, _, _ = _engine_epoch(
                        config, plan, state, optimizer, data.train_x[rows], data.train_y[rows],
                        rng, epoch)
                    seconds += took
                seen_classes = data.test_y <= c
                test = to_numpy(engine.predict(plan, state, data.test_x[seen_classes]))
                labels = data.test_y[seen_classes]
                accuracy = datasets.accuracy(data, test, labels)
                per_class = [datasets.accuracy(data, test[labels == j], labels[labels == j])
                             for j in range(c + 1)]
                history.append(dict(class_learned=c, accuracy=accuracy,
                                    per_class_accuracy=per_class,
                                    train_accuracy=datasets.accuracy(data, seen,
                                                                     data.train_y[rows]),
                                    seconds=seconds))
                log(f"after class {c}: accuracy over classes 0..{c} {accuracy:.4f} "
                    f"({seconds:.1f} s)")
    except (KeyboardInterrupt, Terminated) as stop:
        if history and config.out:
            signal_name = "SIGINT" if isinstance(stop, KeyboardInterrupt) else "SIGTERM"
            write_continual_results(continual_summary(config, data, plan, history, signal_name),
                                    Path(config.out))
        raise
    results = continual_summary(config, data, plan, history)
    if config.out:
        write_continual_results(results, Path(config.out))
    return results


def continual_summary(config: TrainConfig, data, plan, history, interrupted=None) -> dict:
    """The results of a continual run whose classes so far are ``history``."""
    results = {
        "rule": config.rule, "dataset": config.dataset, "precision": config.precision,
        "hidden": list(config.hidden), "epochs_per_class": config.epochs, "seed": config.seed,
        "lr": config.lr, "optimizer": config.optimizer, "batch_size": config.batch_size,
        "steps": config.steps, "window": plan.net.n_steps,
        "lr_shifts": [lp.lr_shift for lp in plan.layers],
        **({f: getattr(config, f) for f in PERTURBATION_OPTIONS} if config.perturbative else {}),
        "n_train": len(data.train_x), "n_test": len(data.test_x),
        "accuracy_after_class": [h["accuracy"] for h in history],
        "final_accuracy": history[-1]["accuracy"],
        "history": history,
    }
    results["status"] = "interrupted" if interrupted else "finished"
    if interrupted:
        results["interrupted"] = interrupted
    return checkpoint.finite_or_none(results)


def write_continual_results(results: dict, out: Path) -> None:
    """``results.json`` and ``continual.png`` (accuracy over the classes seen, per class
    learned)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    _write_file(out / checkpoint.RESULTS, lambda path: checkpoint.write_json(path, results))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(range(len(results["accuracy_after_class"])), results["accuracy_after_class"], "o-",
            label=results["rule"].upper())
    ax.set_xlabel("class learned")
    ax.set_ylabel("accuracy over the classes seen")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"class-incremental {results['dataset']} ({results['precision']})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _write_file(out / "continual.png", lambda path: checkpoint.write_atomically(
        path, lambda file: fig.savefig(file, dpi=120, format="png")))
    plt.close(fig)


def summarise(config: TrainConfig, data, plan, history, world_size: int = 1,
              interrupted: str | None = None) -> dict:
    """The results dictionary of a run whose epochs so far are ``history`` (an interrupted run
    may have none: its accuracies are then ``None``)."""
    train_seconds = sum(h["seconds"] for h in history)
    last = history[-1] if history else {}
    results = {
        "rule": config.rule, "dataset": config.dataset, "backend": config.backend,
        "precision": config.precision, "model": config.model, "hidden": list(config.hidden),
        "epochs": len(history), "seed": config.seed, "lr": config.lr,
        "optimizer": config.optimizer, "batch_size": config.batch_size,
        "lr_halving": config.lr_halving, "augment_shift": config.augment_shift,
        "steps": config.steps if config.model == "lif" else None,
        "weight_bits": config.weight_bits if config.model == "lif" else None,
        "lr_shifts": [lp.lr_shift for lp in plan.layers] if plan else None,
        "window": plan.net.n_steps if plan else None,
        "weight_decay": config.weight_decay, "schedule": config.schedule,
        "output_init": config.initial_output_weight, "init_gain": config.init_gain,
        **({f: getattr(config, f) for f in ONLINE_OPTIONS} if config.online else {}),
        **({f: getattr(config, f) for f in PERTURBATION_OPTIONS} if config.perturbative else {}),
        "dtype": config.dtype, "device": config.device, "world_size": world_size,
        "n_train": len(data.train_x), "n_test": len(data.test_x),
        "test_accuracy": last.get("test_accuracy"),
        "train_accuracy": last.get("train_accuracy"),
        "best_test_accuracy": max((h["test_accuracy"] for h in history), default=None),
        **{k: last[k] for k in ("test_code_accuracy",) if k in last},
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / len(history) if history else None,
        "train_samples_per_second": (len(data.train_x) * len(history) / train_seconds
                                     if train_seconds else None),
        "history": history,
        "status": "interrupted" if interrupted else "finished",
    }
    if interrupted:
        results["interrupted"] = interrupted
    return checkpoint.finite_or_none(results)


def write_results(results: dict, out: Path) -> None:
    """``results.json`` and ``accuracy.png`` (train and test accuracy per epoch)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    _write_file(out / checkpoint.RESULTS, lambda path: checkpoint.write_json(path, results))
    epochs = [h["epoch"] for h in results["history"]]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(epochs, [h["train_accuracy"] for h in results["history"]], "o-", label="train")
    ax.plot(epochs, [h["test_accuracy"] for h in results["history"]], "s-", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{results['rule'].upper()} on {results['dataset']} ({results['model']}, "
                 f"{results['backend']}, {results['precision']})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _write_file(out / "accuracy.png", lambda path: checkpoint.write_atomically(
        path, lambda file: fig.savefig(file, dpi=120, format="png")))
    plt.close(fig)



class RunFilesError(LavaPlasticError):
    """A run's folder or files cannot be used or written: the output folder is a file, not
    writable, already holds a run, or the disk refused a write."""


def _write_file(path: Path, write) -> None:
    """``write(path)`` (atomic), a refusal of the disk as a :class:`RunFilesError`."""
    try:
        write(path)
    except OSError as err:
        raise RunFilesError(f"could not write {path}: {err.strerror or err}") from None


RUN_FILES = (checkpoint.RESULTS, checkpoint.FILE, "accuracy.png", "continual.png")
"""What a run writes into its folder (``--overwrite`` removes them before it starts)."""


def prepare_output(out, resume: bool = False, overwrite: bool = False) -> None:
    """Check the output folder ``out`` before any work, writing nothing (it is made when the
    run writes its first file): not a file, creatable and writable, and holding no earlier run unless ``resume`` (then it must hold this run's checkpoint) or
    ``overwrite`` (then the earlier run's files are removed now, so that a stale result cannot
    pass for this run's). Raises :class:`RunFilesError` naming the problem."""
    if out is None:
        if resume:
            raise RunFilesError("resuming needs the run's folder")
        return
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFilesError(f"the output folder {out} is a file")
    results = out / checkpoint.RESULTS
    if resume:
        if not (out / checkpoint.FILE).is_file():
            raise RunFilesError(f"{out} holds no checkpoint to resume from")
        if run_status(results) == "finished":
            raise RunFilesError(f"the run in {out} has finished: nothing to resume")
    elif any((out / name).exists() for name in RUN_FILES):
        if not overwrite:
            status = run_status(results)
            what = ("a finished run" if status == "finished" else
                    "an interrupted run (--resume continues it)" if (out / checkpoint.FILE).exists()
                    else "an earlier run's files")
            raise RunFilesError(f"{out} already holds {what}: choose another --out or pass "
                                f"--overwrite")
    existing = out
    while not existing.exists():  # the folder is made when the first file is written
        existing = existing.parent
    if not existing.is_dir():
        raise RunFilesError(f"cannot write into the output folder {out}: {existing} is a file")
    try:  # a probe, removed at once: nothing is left if the run then fails
        probe = Path(tempfile.mkdtemp(prefix=".write-test.", dir=existing))
        probe.rmdir()
        if overwrite and not resume:
            for name in RUN_FILES:
                (out / name).unlink(missing_ok=True)
        for name in RUN_FILES:  # what a process killed while writing left
            for stale in checkpoint.leftovers(out / name):
                stale.unlink()
    except OSError as err:
        raise RunFilesError(f"cannot write into the output folder {out}: "
                            f"{err.strerror or err}") from None


def run_status(results: Path) -> str | None:
    """The ``status`` of a ``results.json`` (``finished`` for one written before runs
    recorded their status), or ``None`` if there is none or it cannot be read."""
    try:
        value = json.loads(results.read_text())
    except (OSError, ValueError):
        return None
    return value.get("status", "finished") if isinstance(value, dict) else None
