"""Node perturbation (NP) and LOCO as rule values, and their math (Ma & Yu, "Efficient learning
in neural networks without gradient backpropagation", ../shared/papers/loco.txt; equation
numbers are the paper's).

Each training sample runs twice from rest, ``T`` steps each: clean, then perturbed, with
``sigma xi_l`` added to the membrane input of every perturbed layer, one ``xi`` per neuron held
for the whole run (eq. 8; in Lava's LIF, a bias). The output is rate-decoded and the loss is
eq. 27's, ``l = 1/(2N) sum_i (c_i / T - y_i)^2`` over the ``N`` output neurons' spike counts
``c``; the temporal difference is ``TD = l~ - l`` (eq. 28), and every perturbed layer learns

    ``Delta W_l = -(eta / sigma) TD xi_l x_{l-1}^T``                        (NP, eqs. 2, 12)
    ``Delta W_l = -(eta / sigma) TD xi_l (P_l x_{l-1})^T``                  (LOCO, eq. 2)

with ``x_{l-1}`` the presynaptic firing rate of the clean run (the input itself at the first
layer) and ``P_l`` the low-rank cluster-orthogonal projector of eqs. 4-6 (:func:`projector_basis`).

The choices where the paper contradicts itself (each documented where it is made):

* eq. 9 writes ``-(eta/sigma) (sigma xi) TD x^T``, one ``sigma`` more than eqs. 2 and 12, which
  are followed (eq. 9's form is ``lr * sigma`` here);
* A.8 says "a positive TD indicates that the perturbation has improved the network's
  performance", which contradicts eq. 28 (``TD = l~ - l`` of a loss) with eq. 2's minus sign;
  the equations are followed: a perturbation that lowers the loss gives ``TD < 0`` and the
  weights move toward it;
* eq. 8 perturbs every layer ``l = 1..L``, Fig. 1A and the text only the hidden layers:
  ``perturb_output=True`` (the default) follows eq. 8; ``False`` leaves the output layer
  unperturbed, and so, having no estimate of its gradient, fixed;
* eq. 12 sums per-step products ``xi s(t)^T`` where eq. 2 uses rates: with ``xi`` held over the
  run the two are the same update up to the factor ``T`` folded into the learning rate;
* A.15 pairs ``xi`` with the perturbed run's ``x~``; eqs. 2 and 12 expand around the clean run,
  whose rates are used;
* A.16 draws one perturbation per sample; eq. 8 one per network: one per sample (and layer).

Both precisions compute the same integers up to the third factor: the counts are integers, so
``TD`` is the exact integer ``sum_i (c~_i - T y_i)^2 - (c_i - T y_i)^2`` (``2 N T^2`` times eq.
28's), and ``xi`` is the keyed table value of :mod:`lava_plastic.noise` (an integer in units of
``2**-NOISE_BITS``; float takes its exact value). The third factor is ``delta = -TD xi
2**XI_BITS``: fixed point shifts ``TD xi_int`` toward zero to ``XI_BITS`` fraction bits of
``xi`` and saturates it to the signed ``DELTA_BITS``-bit register; float does neither. The
constant ``1 / (2 N T^2 sigma 2**XI_BITS)`` and the rate's ``1 / T`` join ``eta`` in each
layer's power-of-two learning rate (:func:`layer_lr_factor`).

On Loihi 2. Plain NP maps onto the learning engine (``Loihi3FLearningRule``,
:func:`lava_plastic.learning.loihi_form.perturbation_form`): the neuron holds ``-TD xi`` (its own
``xi`` times the broadcast scalar) and a synapse only multiplies it by its own input's count.
LOCO's projector cannot: ``(P x)_j = sum_i P_ji x_i`` mixes every presynaptic input of a
neuron, whereas a synapse's rule reads only its own pre trace, its neuron's traces and its own
tag; and ``P`` comes from a batch: an eigen-decomposition of the batch's Gram matrix, k-means
over past directions, a pseudo-inverse and Gram-Schmidt, none of which is a per-synapse
recurrence. On a chip the embedded CPU (or the host) would run :func:`projector_basis` at each
batch boundary, as the Lava graph's synapse model does here: read the batch's presynaptic
counts (``b x n``), compute ``Q`` (``n x k``; about ``b^2 n + p c n`` operations per k-means
round, 0.75 ms per layer and batch in numpy for MNIST's 784 and 500 inputs), then either write
the batch's projected update ``delta^T (x Q) Q^T`` into the weights itself (``O(b n k + n_out n)``
per batch: the update leaves the learning engine), or send each sample's projected input ``Q
(Q^T x)`` back as graded spikes for the learning engine to pair with ``-TD xi`` (the update
stays on the cores, but the samples must be replayed, or ``Q`` taken from the batch before,
which eq. 6 does not do).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from lava_plastic import fixed_point as fp
from lava_plastic.errors import LavaPlasticError
from lava_plastic.noise import DISTRIBUTIONS, NOISE_BITS, STREAM_PERTURBATION, row_perturbation
from lava_plastic.rules.base import (DELTA_BITS, DELTA_SHIFT, check_hyper_parameters,
                                     is_number)

XI_BITS = 3
"""Fraction bits of ``xi`` kept in the fixed-point third factor ``-TD xi``: with ``|TD|`` of a
few tens (a few output spikes moved by the perturbation, times up to ``2T``) the product stays
within the 13-bit register; a larger one saturates (a clipped step, as gradient clipping)."""
SIGMA_BITS = 8
"""Fixed point: ``sigma`` is the integer ``round(sigma * 2**SIGMA_BITS)``."""
Q_BITS = 15
"""Fixed point: the projector's orthonormal basis ``Q`` in signed 16 bits, ``round(Q *
2**Q_BITS)`` (an entry of 1.0, possible for a basis vector along one input, saturates to
``2**15 - 1``)."""
BIAS_LIMIT = 2**20
"""The largest perturbation (voltage-register units) Lava's LIF bias holds (``bias_mant`` is
signed 13 bits, ``bias_exp`` up to 7 more)."""
RELATIVE_TOLERANCE = 1e-9
"""A principal direction, or a direction after the cluster-orthogonal projection, whose share
of its vector's norm (squared norm, for eigenvalues) falls below this is dropped as zero (eq.
6's "removing zero vectors")."""


@dataclass(frozen=True)
class NP:
    """Node perturbation as a rule value (eqs. 2, 8, 12, 27, 28).

    ``lr``: ``eta`` of eq. 2 (rounded, with the constants of :func:`layer_lr_factor`, to a power
    of two per layer). ``sigma``: the perturbation's scale, in thresholds of membrane input per
    step (a real pre-activation of 1 moves the potential by the threshold). ``noise``: ``xi``'s
    distribution (:data:`lava_plastic.noise.DISTRIBUTIONS`; the paper's Gaussian by default).
    ``perturb_output``: eq. 8 (every layer; the default) or Fig. 1A (hidden layers only; the
    output layer then stays as initialised). ``class_batches``: every batch must hold samples
    of one class (LOCO's setting, table S2; training refuses a batch that mixes classes).
    ``hidden_lr``: ``eta`` of the hidden layers when it differs from the output layer's ``lr``
    (node perturbation's estimate of a hidden layer is far noisier than of the output layer,
    whose own perturbation moves the loss most). ``seed`` keys the weights and ``xi``.
    """

    lr: float = 2.0**-4
    n_classes: int = 10
    seed: int = 0
    sigma: float = 0.25
    noise: str = "gaussian"
    perturb_output: bool = True
    class_batches: bool = False
    hidden_lr: float | None = None

    name: ClassVar[str] = "np"
    perturbative: ClassVar[bool] = True
    projected: ClassVar[bool] = False
    feedback: ClassVar = None
    # the Rule protocol's local factor: perturbation learning uses none
    surrogate: ClassVar[str] = "triangle"
    psi_width: ClassVar[float] = 1.0

    def __post_init__(self):
        check_hyper_parameters(self)
        if not (is_number(self.sigma) and math.isfinite(self.sigma)
                and self.sigma > 0):
            raise LavaPlasticError(f"sigma must be a positive number, got {self.sigma!r}")
        if self.hidden_lr is not None and not (is_number(self.hidden_lr)
                                               and math.isfinite(self.hidden_lr)
                                               and self.hidden_lr > 0):
            raise LavaPlasticError(f"hidden_lr must be a positive number, got {self.hidden_lr!r}")
        if self.noise not in DISTRIBUTIONS:
            raise LavaPlasticError(f"unknown noise {self.noise!r}; choose from "
                                   f"{', '.join(DISTRIBUTIONS)}")
        for field in ("perturb_output", "class_batches"):
            if not isinstance(getattr(self, field), bool):
                raise LavaPlasticError(f"{field} must be True or False, got "
                                       f"{getattr(self, field)!r}")

    def layer_lr(self, k: int, n_layers: int) -> float:
        """``eta`` of layer ``k`` (eq. 2: ``lr``, the hidden layers ``hidden_lr`` if set); the
        plan multiplies :func:`layer_lr_factor` in."""
        if self.hidden_lr is not None and k < n_layers - 1:
            return self.hidden_lr
        return self.lr

    def learns(self, k: int, n_layers: int) -> bool:
        """Whether layer ``k`` is perturbed, and so learns."""
        return self.perturb_output or k < n_layers - 1


@dataclass(frozen=True)
class LOCO(NP):
    """LOCO (eqs. 1-6): node perturbation whose presynaptic term is projected, ``P_l x``.

    ``rank``: ``k``, the principal components of the batch's inputs kept (eq. 6; the paper uses
    3 in section 2.1, "k <= 20" in 3.4 and 8 in Fig. 3H; table S2 calls the k-means iterations
    ``k``). ``clusters``: ``c``, k-means centres over the buffer of past directions (table S2:
    10). ``buffer``: ``p``, past batches' principal directions kept (table S2: 50).
    ``kmeans_iters``: table S2's 10. ``class_batches``: True, as the paper trains (eq. 6's
    batch "belongs to the same category"); False allows ordinary mixed batches.
    """

    rank: int = 10
    clusters: int = 10
    buffer: int = 50
    kmeans_iters: int = 10
    class_batches: bool = True

    name: ClassVar[str] = "loco"
    projected: ClassVar[bool] = True

    def __post_init__(self):
        super().__post_init__()
        for field, low in (("rank", 1), ("clusters", 1), ("buffer", 1), ("kmeans_iters", 1)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise LavaPlasticError(f"{field} must be an integer >= {low}, got {value!r}")
        if self.clusters > self.buffer:
            raise LavaPlasticError(f"{self.clusters} clusters need a buffer of at least as many "
                                   f"directions, got buffer {self.buffer}")


def is_perturbative(rule) -> bool:
    """Whether ``rule`` learns by node perturbation (NP, LOCO)."""
    return getattr(rule, "perturbative", False)


# ---------------------------------------------------------------------------------------------
# Perturbation, loss, temporal difference, third factor
# ---------------------------------------------------------------------------------------------
def layer_lr_factor(n_classes: int, n_steps: int, sigma: float, k: int) -> float:
    """What multiplies ``eta`` in layer ``k``'s learning rate so that the update of the
    synapse's units (third factor ``delta`` in units of ``2**DELTA_SHIFT``, presynaptic counts)
    is eq. 2's: ``TD`` is ``2 N T^2`` times eq. 28's, ``delta`` carries ``2**XI_BITS``, and a
    hidden layer's input is its count, ``T`` times its rate (the first layer's is the input
    itself)."""
    count = n_steps if k else 1
    return 2**DELTA_SHIFT / (sigma * 2 * n_classes * n_steps**2 * 2**XI_BITS * count)


def xi(rule, k: int, rows, n: int, fixed: bool, xp, dtype=None, dev=None):
    """``xi_k`` of the samples of ordinals ``rows``, ``(batch, n)``: keyed by ``(seed,
    perturbation stream, k)`` and the ordinal (:func:`lava_plastic.noise.row_perturbation`),
    int32 in units of ``2**-NOISE_BITS`` in fixed point, their exact values in float."""
    values = row_perturbation((rule.seed, STREAM_PERTURBATION, k), rows, n, rule.noise, xp, dev)
    return values if fixed else xp.astype(values, dtype) * 2.0**-NOISE_BITS


def sigma_scale(fixed: bool, sigma: float):
    """``sigma`` as :func:`bias` takes it: itself, or ``round(sigma * 2**SIGMA_BITS)``."""
    if not fixed:
        return sigma
    scaled = int(round(sigma * 2**SIGMA_BITS))
    if scaled < 1:
        raise LavaPlasticError(f"sigma {sigma} is below the fixed-point resolution "
                               f"2**-{SIGMA_BITS}")
    return scaled


def bias(xi_k, sigma, vth_bits: int, fixed: bool, xp):
    """The perturbation ``sigma xi`` as the neuron's bias, in its voltage's units (the threshold
    is ``2**vth_bits``, fixed point ``2**(vth_bits + 6)``): float ``sigma xi 2**vth_bits``; fixed
    point ``sigma_int xi_int`` shifted toward zero to the register's units (symmetric noise
    stays symmetric)."""
    if not fixed:
        return xi_k * (sigma * 2.0**vth_bits)
    exponent = vth_bits + fp.VTH_SHIFT - SIGMA_BITS - NOISE_BITS
    scaled = xp.astype(xi_k, xp.int64) * sigma
    return scaled << exponent if exponent >= 0 else fp.shift_right_toward_zero(scaled, -exponent, xp)


def check_sigma(sigma: float, vth_bits: int) -> None:
    """Refuse a ``sigma`` whose largest perturbation exceeds the bias register
    (:data:`BIAS_LIMIT`) in either precision (the float model is the fixed one's limit)."""
    largest = sigma * 4.5 * 2 ** (vth_bits + fp.VTH_SHIFT)  # |xi| <= 4.32 (the Gaussian table)
    if largest >= BIAS_LIMIT:
        raise LavaPlasticError(f"sigma {sigma} perturbs the membrane by up to {largest:.0f} "
                               f"register units, beyond the LIF bias's {BIAS_LIMIT}; use sigma "
                               f"below {BIAS_LIMIT / (4.5 * 2 ** (vth_bits + fp.VTH_SHIFT)):.3g}")


def squared_count_error(counts, targets, n_steps: int, xp):
    """Each sample's ``sum_i (c_i - T y_i)^2``, ``2 N T^2`` times eq. 27's loss, from output
    spike counts ``c`` and 0/1 targets ``y`` ``(batch, N)``: an exact integer in both precisions
    (int64, or the float dtype of ``counts``)."""
    error = counts - n_steps * xp.astype(targets, counts.dtype)
    return xp.sum(error * error, axis=1)


def temporal_difference(clean, perturbed, targets, n_steps: int, xp):
    """Eq. 28's ``TD = l~ - l`` of each sample in :func:`squared_count_error`'s units: exact."""
    return (squared_count_error(perturbed, targets, n_steps, xp)
            - squared_count_error(clean, targets, n_steps, xp))


def third_factor(td, xi_k, fixed: bool, xp):
    """The third factor of layer ``k``'s synapses, ``-TD xi_k 2**XI_BITS`` ``(batch, n_k)``
    (eq. 2 without its constants): fixed point ``-TD xi_int`` shifted toward zero to
    ``XI_BITS`` fraction bits of ``xi`` and saturated to signed ``DELTA_BITS`` bits (int32);
    float exact."""
    if not fixed:
        return (-(2.0**XI_BITS) * td)[:, None] * xi_k
    product = -xp.astype(td, xp.int64)[:, None] * xp.astype(xi_k, xp.int64)
    delta = fp.clip_signed(fp.shift_right_toward_zero(product, NOISE_BITS - XI_BITS, xp),
                           DELTA_BITS, xp)
    return xp.astype(delta, xp.int32)


# ---------------------------------------------------------------------------------------------
# The low-rank cluster-orthogonal projector (eqs. 4-6), host-side float64 numpy
# ---------------------------------------------------------------------------------------------
def principal_directions(x: np.ndarray, k: int) -> np.ndarray:
    """``PCA_k`` of eq. 6: the top ``k`` principal directions of the rows of ``x`` ``(b, n)``,
    as orthonormal columns ``(n, r)``, ``r <= k`` (directions of eigenvalue below
    :data:`RELATIVE_TOLERANCE` of the largest dropped).

    Uncentred: the update ``xi x^T`` lies in the span of the inputs themselves, whose mean
    (firing rates are non-negative) is their main direction; centring would project it away.
    From the ``b x b`` Gram matrix (exact for integer counts), each direction's sign chosen so
    that its entries sum to a non-negative number (the first direction of non-negative data is
    then non-negative)."""
    gram = x @ x.T
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:k]
    top = values[order[0]] if len(order) else 0.0
    keep = [i for i in order if values[i] > max(top, 0.0) * RELATIVE_TOLERANCE and values[i] > 0]
    if not keep:
        return np.zeros((x.shape[1], 0))
    z = x.T @ (vectors[:, keep] / np.sqrt(values[keep]))
    signs = np.where(z.sum(axis=0) < 0, -1.0, 1.0)
    return z * signs


def spherical_kmeans(directions: np.ndarray, n_clusters: int, iterations: int) -> np.ndarray:
    """Eq. 5's ``kmeans``: ``min(n_clusters, p)`` unit centres ``(c, n)`` of the unit rows of
    ``directions`` ``(p, n)`` by angular distance (assign to the centre of largest cosine, the
    centre is the normalised sum of its members), ``iterations`` rounds at most (fewer once
    the assignment repeats). Deterministic: the centres start at rows spread evenly over the
    buffer (oldest to newest); a centre left without members keeps its place."""
    p = len(directions)
    c = min(n_clusters, p)
    centres = directions[np.round(np.linspace(0, p - 1, c)).astype(int)].copy()
    members = None
    for _ in range(iterations):
        assigned = np.argmax(directions @ centres.T, axis=1)
        if members is not None and np.array_equal(assigned, members):
            break  # converged: further rounds would repeat this one
        members = assigned
        totals = (members[None, :] == np.arange(c)[:, None]).astype(np.float64) @ directions
        norms = np.linalg.norm(totals, axis=1)
        filled = norms > 0
        centres[filled] = totals[filled] / norms[filled, None]
    return centres


def orthonormal_span(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis ``(n, s)`` of the columns of ``a`` ``(n, m)``, so that ``I - U U^T``
    is eq. 4's ``I - A (A^T A)^-1 A^T`` (directions of ``A^T A`` with eigenvalue below
    :data:`RELATIVE_TOLERANCE` of the largest dropped: a pseudo-inverse where centres are
    nearly parallel)."""
    if a.shape[1] == 0:
        return a
    values, vectors = np.linalg.eigh(a.T @ a)
    keep = values > values.max() * RELATIVE_TOLERANCE
    return a @ (vectors[:, keep] / np.sqrt(values[keep]))


def gram_schmidt(z: np.ndarray) -> np.ndarray:
    """Eq. 6's ``Schmidt``: the columns of ``z`` orthonormalised in order (classical
    Gram-Schmidt, twice for accuracy), dropping each that is (numerically) zero or in the span
    of those before it: ``Q_r`` ``(n, r)``."""
    q = np.zeros((z.shape[0], 0))
    for j in range(z.shape[1]):
        v = z[:, j].copy()
        scale = np.linalg.norm(v)
        for _ in range(2):
            v -= q @ (q.T @ v)
        norm = np.linalg.norm(v)
        if scale > 0 and norm > scale * math.sqrt(RELATIVE_TOLERANCE):
            q = np.concatenate([q, (v / norm)[:, None]], axis=1)
    return q


def projector_basis(rule: LOCO, x_batch: np.ndarray, directions: np.ndarray):
    """Eqs. 4-6 for one layer and batch: ``Q_r`` ``(n, r)`` with ``P_l = Q_r Q_r^T`` (``Q_r`` is
    orthonormal, so eq. 6's ``Q (Q^T Q)^-1 Q^T`` is ``Q Q^T``), and the direction buffer after
    this batch.

    In table S2's order: the batch's first principal direction joins the buffer ``directions``
    ``(m, n)`` (oldest first; at most ``rule.buffer`` kept); k-means clusters the buffer; the
    centre nearest the batch's direction (angular distance) is removed and the others are
    ``A_l`` (eq. 5); the top ``rule.rank`` principal directions ``Z`` are projected by ``P_CO =
    I - A (A^T A)^-1 A^T`` (eq. 4) and orthonormalised (eq. 6). A batch of silent inputs has no
    direction: ``Q`` is empty (its update is zero anyway) and the buffer is unchanged."""
    x_batch = np.asarray(x_batch, dtype=np.float64)
    z = principal_directions(x_batch, rule.rank)
    if z.shape[1] == 0:
        return z, directions
    current = z[:, 0]
    directions = np.concatenate([directions, current[None]])[-rule.buffer:]
    centres = spherical_kmeans(directions, rule.clusters, rule.kmeans_iters)
    nearest = int(np.argmax(centres @ current))
    others = orthonormal_span(np.delete(centres, nearest, axis=0).T)
    z_co = z - others @ (others.T @ z)
    return gram_schmidt(z_co), directions


def empty_directions(n_in: int) -> np.ndarray:
    """A layer's direction buffer before its first batch: no directions."""
    return np.zeros((0, n_in))


def quantize_basis(q: np.ndarray) -> np.ndarray:
    """Fixed point's ``Q``: ``round(Q * 2**Q_BITS)`` (half to even), saturated to signed 16 bits
    (int64)."""
    return np.clip(np.rint(q * 2**Q_BITS), -(2**Q_BITS) + 1, 2**Q_BITS - 1).astype(np.int64)


def project(x: np.ndarray, q: np.ndarray, fixed: bool) -> np.ndarray:
    """``P x = Q (Q^T x)`` of each row of ``x`` ``(b, n)``, the low-rank product (``O(b n r)``,
    never the dense ``n x n`` projector). Fixed point, with ``q`` from :func:`quantize_basis`:
    the coefficients ``x Q`` and then the projection ``c Q^T`` each rounded to the nearest
    integer of their units (``>> Q_BITS`` after adding half), int64; every product is an exact
    integer in float64 (below ``2**53``: counts and payloads under ``2**16``, 16-bit ``Q``,
    ``n < 2**16``)."""
    if not fixed:
        return (x @ q) @ q.T
    half = 1 << (Q_BITS - 1)
    coefficients = (fp.exact_int_matmul(x, q, "float64") + half) >> Q_BITS
    return (fp.exact_int_matmul(coefficients, q.T, "float64") + half) >> Q_BITS
