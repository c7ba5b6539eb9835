"""The ``lava-plastic`` command line.

``lava-plastic train``: trains a rule (DRTP, DFA, sDFA; OPZO, ZO_sp, OPZO-DFA, OTTT-BP; NP, LOCO) on a data set (engine or Lava graph, float or fixed point),
prints the test accuracy after each epoch and writes ``results.json`` and ``accuracy.png``.

``lava-plastic continual``: class-incremental learning, the classes one after another (the LOCO
paper's Fig. 2H), the accuracy over the classes seen after each; ``results.json`` and a plot.

``lava-plastic export RUN_DIR --format netx|nir``: a finished run's network as a lava-dl netx
HDF5 file or a NIR graph (:mod:`lava_plastic.deploy`). ``lava-plastic infer --model FILE``: a
run folder's or an export's test accuracy, in the engine or in Lava, fixed point or float.
``lava-plastic cost RUN_DIR``: a fixed-point run's estimated Loihi 2 cost per sample
(:mod:`lava_plastic.cost`).

``lava-plastic selfcheck``: runs the same LIF network on bundled digits in Lava's simulator and
in the batched engine, in float and fixed point, and prints whether they agree (fixed point
must be bit-exact). Exit status 0 only if both agree.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from lava_plastic.errors import LavaPlasticError


def selfcheck(args) -> int:
    from lava_plastic.datasets import load_digits, rate_spikes
    from lava_plastic.engine import simulate
    from lava_plastic.lava_graph import run_lava
    from lava_plastic.network import random_network

    data = load_digits(seed=args.seed)
    x = rate_spikes(data.test_x[: args.samples], args.steps, seed=args.seed)
    sizes = (data.n_features, args.hidden, 10)
    print(f"parity self-check: LIF {'-'.join(map(str, sizes))}, {args.samples} digits, "
          f"T={args.steps}, seed {args.seed}")
    ok = True
    for precision in ("float", "fixed"):
        net = random_network(np.random.default_rng(args.seed), sizes, precision, max_vth=2**8)
        start = time.perf_counter()
        lava_spikes, lava_u, lava_v = run_lava(net, x)
        lava_s = time.perf_counter() - start
        start = time.perf_counter()
        trace = simulate(net, x)
        engine_s = time.perf_counter() - start
        same_spikes = all(np.array_equal(a, b) for a, b in zip(lava_spikes, trace.spikes))
        max_du = max(float(np.max(np.abs(a - b))) for a, b in zip(lava_u, trace.u))
        max_dv = max(float(np.max(np.abs(a - b))) for a, b in zip(lava_v, trace.v))
        agree = same_spikes and (max_du == max_dv == 0 if precision == "fixed"
                                 else max(max_du, max_dv) <= 1e-9)
        ok &= agree
        n_spikes = sum(int(s.sum()) for s in trace.spikes)
        print(f"  {precision:5s}: {'PASS' if agree else 'FAIL'}  spikes identical={same_spikes} "
              f"({n_spikes} spikes)  max|du|={max_du:.3g}  max|dv|={max_dv:.3g}  "
              f"Lava {lava_s:.2f} s, engine {engine_s * 1e3:.1f} ms")
    print("self-check " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


def _one_line(command):
    """Run ``command(args)``; a refusal (the library's error) is one line and status 2."""
    def run(args) -> int:
        try:
            return command(args)
        except ValueError as err:  # LavaPlasticError and its kinds
            print(f"lava-plastic: {err}", file=sys.stderr)
            return 2
    run.__doc__ = command.__doc__
    return run


def _check_max_test(value) -> None:
    if value is not None and value < 1:
        raise LavaPlasticError(f"--max-test must be a positive integer, got {value}")


@_one_line
def export(args) -> int:
    """``lava-plastic export RUN_DIR --format netx|nir``: the finished run's network as a file."""
    from lava_plastic.deploy import export as write

    out, deployed = write(args.run_dir, args.format, args.out, args.overwrite)
    reads = (f"input with {deployed.input_bits} fraction bits" if args.format == "netx"
             else "reads x in [0, 1]")
    print(f"wrote {out} ({args.format}, {deployed.network.sizes}, {deployed.n_steps} steps a "
          f"sample, {reads})")
    for k, layer in enumerate(deployed.meta["layers"]):
        print(f"  layer {k}: {'exact' if layer['exact'] else 'approximate'}: {layer['note']}")
    return 0


@_one_line
def cost(args) -> int:
    """``lava-plastic cost RUN_DIR``: the Loihi 2 cost per sample of a fixed-point run."""
    from lava_plastic import cost as loihi_cost

    _check_max_test(args.max_test)
    out = args.out or os.path.join(args.run_dir, "cost.json")
    if os.path.isdir(out):
        raise LavaPlasticError(f"{out} is a folder; name the file to write")
    table = loihi_cost.estimate(args.run_dir, args.max_test, args.data_dir)
    print(loihi_cost.table(table))
    print(f"wrote {loihi_cost.write(table, out)}")
    return 0


def inference_counts(deployed, x, backend: str, model_path: str):
    """Output spike counts of ``deployed`` for inputs ``x`` on ``backend``: the engine, or in
    Lava a netx file through lava-dl's netx, any other model as the stock LIF graph."""
    from lava_plastic import deploy

    if backend == "engine":
        return deploy.predict(deployed, x)
    if deployed.meta.get("format") == "netx" and deployed.precision == "fixed":
        from lava_plastic.lava_graph.netx import NetxMissing, run_netx

        try:
            return run_netx(model_path, deployed, x)
        except NetxMissing:
            print("lava-plastic: lava-dl is not installed: the file's network runs as Lava's "
                  "stock Dense -> LIF graph instead (the same integers; pip install -e "
                  "'.[netx]' for netx itself)", file=sys.stderr)
    from lava_plastic.lava_graph import run_lava

    spikes, _, _ = run_lava(deployed.network, deployed.stream(x), record_state=False)
    return spikes[-1].sum(axis=1).astype(np.int64)


@_one_line
def infer(args) -> int:
    """``lava-plastic infer --model FILE``: a saved or exported network's test accuracy."""
    from lava_plastic import datasets, deploy

    if args.backend not in ("engine", "lava"):
        raise LavaPlasticError(f"--backend must be engine or lava, got {args.backend!r}")
    if args.precision not in ("float", "fixed"):
        raise LavaPlasticError(f"--precision must be float or fixed, got {args.precision!r}")
    _check_max_test(args.max_test)
    if args.dataset == "nmnist":
        raise LavaPlasticError("infer reads image and NETtalk data sets (digits, mnist, "
                               "nettalk); N-MNIST networks are the online rules', not exported")
    deployed = deploy.read(args.model)
    if args.precision == "fixed" and deployed.precision == "float":
        if not os.path.isdir(args.model):
            raise LavaPlasticError(f"{args.model} is a real-valued network: run it in float, "
                                   "or its run folder or netx export in fixed point")
        deployed = deploy.deploy_run(args.model)
    elif args.precision == "float":
        deployed = deploy.as_float(deployed)
    data = datasets.load(args.dataset, args.data_dir, seed=args.seed)
    x, y = data.test_x[: args.max_test], data.test_y[: args.max_test]
    if x.shape[1] != deployed.network.n_inputs or data.n_classes != deployed.network.sizes[-1]:
        raise LavaPlasticError(f"{args.model} has {deployed.network.n_inputs} inputs and "
                               f"{deployed.network.sizes[-1]} outputs; {args.dataset} has "
                               f"{x.shape[1]} features and {data.n_classes} classes")
    start = time.perf_counter()
    counts = inference_counts(deployed, x, args.backend, args.model)
    seconds = time.perf_counter() - start
    print(f"{args.model}: {args.backend}, {args.precision}: test accuracy "
          f"{datasets.accuracy(data, counts, y):.4f} on {len(x)} {args.dataset} samples "
          f"({seconds:.1f} s)")
    return 0


def train(args) -> int:
    """``lava-plastic train``: one training run."""
    from lava_plastic.train import run

    return _training_command(args, run, "training")


def continual(args) -> int:
    """``lava-plastic continual``: class-incremental learning."""
    from lava_plastic.train import run_continual

    return _training_command(args, run_continual, "class-incremental learning of",
                             "continual-")


def default_out(config, kind: str = "") -> str:
    """The folder a run writes to unless ``--out`` says: what ran, so that different runs do
    not collide (``runs/loco-mnist-h500-engine-float-e20-seed0``, say; ``kind`` first)."""
    hidden = "x".join(str(h) for h in config.hidden)
    return (f"runs/{kind}{config.rule}-{config.dataset}-h{hidden}-{config.backend}-"
            f"{config.precision}-e{config.epochs}-seed{config.seed}")


def _resumed_config(args):
    """``train --resume DIR``: the configuration of the run in ``DIR`` (its checkpoint's),
    with the settings a resumed run may change taken from the command line."""
    from dataclasses import replace

    from lava_plastic import checkpoint
    from lava_plastic.train import TrainConfig

    point = checkpoint.load(os.path.join(args.resume, checkpoint.FILE))
    try:
        config = TrainConfig(**point.config)
    except (TypeError, ValueError) as err:
        raise checkpoint.CheckpointError(f"the checkpoint in {args.resume} holds a "
                                         f"configuration this lava-plastic cannot run "
                                         f"({err})") from None
    every, unit = _checkpoint_every(args.checkpoint_every)
    return replace(config, out=args.resume, data_dir=args.data_dir or config.data_dir,
                   progress=not args.no_progress, checkpoint_every=every,
                   checkpoint_unit=unit)


def _checkpoint_every(value: str | None) -> tuple[int, str]:
    """``--checkpoint-every``: ``N`` or ``Ne`` epochs, ``Nb`` batches (``None``: never)."""
    if value is None:
        return 0, "epoch"
    text = value.strip().lower()
    unit = "batch" if text.endswith("b") else "epoch"
    digits = text[:-1] if text[-1:] in ("b", "e") else text
    if not digits.isdigit() or int(digits) < 1:
        raise LavaPlasticError(f"--checkpoint-every takes a positive number of epochs (N or Ne) or "
                               f"batches (Nb), got {value!r}")
    return int(digits), unit


def _training_command(args, runner, verb, kind="") -> int:
    """Build the configuration from ``args``, run ``runner`` on it and report, with one line
    on a bad setting or an interruption. ``kind`` prefixes the default folder's name."""
    from dataclasses import replace
    from pathlib import Path

    from lava_plastic.checkpoint import FILE
    from lava_plastic.interrupt import Terminated
    from lava_plastic.train import TrainConfig, rule_defaults

    # In a torchrun launch every rank runs this; rank 0 speaks for the run, the others name
    # themselves when they fail.
    rank = int(os.environ.get("RANK", "0")) if args.distributed else 0
    say = print if rank == 0 else (lambda *_, **__: None)
    who = f"lava-plastic (rank {rank})" if args.distributed else "lava-plastic"
    # options left out take the rule's defaults (the OPZO paper's setting for the online
    # rules), else TrainConfig's
    defaults = rule_defaults(args.rule, args.backend, args.dataset, args.precision)
    chosen = {name: getattr(args, name) if getattr(args, name) is not None
              else defaults.get(name, TrainConfig.__dataclass_fields__[name].default)
              for name in RULE_DEPENDENT}
    resume = getattr(args, "resume", None) is not None
    out = args.resume if resume else args.out
    try:
        if resume:
            if args.given:
                raise LavaPlasticError(f"--resume continues the run in {args.resume} with its own "
                                       f"settings: leave out {', '.join(sorted(args.given))}")
            config = _resumed_config(args)
            return _report(config, runner(config, log=say, resume=True), say)
        every, unit = _checkpoint_every(getattr(args, "checkpoint_every", None))
        config = TrainConfig(
            rule=args.rule, dataset=args.dataset, data_dir=args.data_dir, backend=args.backend,
            precision=args.precision, model=args.model, epochs=args.epochs,
            hidden=tuple(chosen.pop("hidden")), seed=args.seed, lr_halving=args.lr_halving,
            augment_shift=args.augment_shift, max_train=args.max_train, max_test=args.max_test,
            out=out, dtype=args.dtype, device=args.device, distributed=args.distributed,
            progress=not args.no_progress, noise=args.noise, noise_site=args.noise_site,
            alpha=args.alpha, alpha_end=args.alpha_end,
            antithetic=args.antithetic, two_point=args.two_point,
            aligned=not args.unaligned, sigma=args.sigma, rank=args.rank,
            clusters=args.clusters, buffer=args.buffer, output_init=args.output_init,
            checkpoint_every=every, checkpoint_unit=unit, overwrite=args.overwrite, **chosen)
        if out is None:
            config = replace(config, out=default_out(config, kind))
        out = config.out
        say(f"{verb} {config.rule.upper()} on {config.dataset}: {config.model} "
              f"{config.hidden}, {config.backend}, {config.precision}, {config.epochs} epochs, "
              f"lr {config.lr:g}, {config.optimizer}, batch {config.batch_size}, seed {config.seed}")
        return _report(config, runner(config, log=say), say)
    except ValueError as err:  # LavaPlasticError and its kinds: one line
        print(f"{who}: {err}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as stop:
        name, code = (("Ctrl-C", 130) if isinstance(stop, KeyboardInterrupt)
                      else ("SIGTERM", 128 + stop.signum))
        kept = (f"; the checkpoint and the results so far are in {out} (--resume {out} "
                f"continues)" if out and (Path(out) / FILE).exists()
                else f"; the results finished so far are in {out}")
        print(f"{who}: stopped by {name}{kept}", file=sys.stderr)
        return code


def _report(config, results, say) -> int:
    """The closing lines of a finished run."""
    if "final_accuracy" in results:
        say(f"accuracy over all {len(results['accuracy_after_class'])} classes after learning "
            f"them one after another: {results['final_accuracy']:.4f}")
        say(f"wrote {config.out}/results.json and {config.out}/continual.png")
        return 0
    say(f"test accuracy {results['test_accuracy']:.4f} (train {results['train_accuracy']:.4f}) "
        f"after {results['epochs']} epochs, {results['train_seconds']:.1f} s of training")
    say(f"wrote {config.out}/results.json and {config.out}/accuracy.png")
    return 0


RULE_DEPENDENT = ("lr", "optimizer", "batch_size", "steps", "hidden", "weight_decay",
                  "schedule", "dropout", "loss", "momentum", "feedback_gain", "class_batches",
                  "hidden_lr", "init_gain", "weight_bits")
"""Options whose default depends on the rule (:func:`lava_plastic.train.rule_defaults`)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a bad command line told in one line (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (--help lists the options)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="lava-plastic", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a learning rule and report test accuracy")
    add_training_arguments(tr)
    add_checkpoint_arguments(tr)
    tr.set_defaults(func=train)
    cont = sub.add_parser("continual", help="class-incremental learning: the classes one after "
                                            "another, the accuracy over those seen after each")
    add_training_arguments(cont)
    cont.set_defaults(func=continual)
    check = sub.add_parser("selfcheck", help="engine vs Lava parity on bundled digits")
    check.add_argument("--samples", type=int, default=5)
    check.add_argument("--steps", type=int, default=16)
    check.add_argument("--hidden", type=int, default=32)
    check.add_argument("--seed", type=int, default=0)
    check.set_defaults(func=selfcheck)
    exp = sub.add_parser("export", help="write a finished run's network as a lava-dl netx HDF5 "
                                        "file or a NIR graph")
    exp.add_argument("run_dir", metavar="RUN_DIR")
    exp.add_argument("--format", required=True, help="netx (fixed point, for Lava and Loihi 2) "
                                                     "or nir (real-valued)")
    exp.add_argument("--out", default=None, help="file to write (default RUN_DIR/model.net or "
                                                 "model.nir)")
    exp.add_argument("--overwrite", action="store_true", help="replace an existing file")
    exp.set_defaults(func=export)
    inf = sub.add_parser("infer", help="a saved run or an exported network's test accuracy")
    inf.add_argument("--model", required=True, help="a run folder, a netx file or a NIR file")
    inf.add_argument("--dataset", default="digits", help="digits, mnist or nettalk")
    inf.add_argument("--data-dir", default=None, help="data directory (else $LAVA_PLASTIC_DATA)")
    inf.add_argument("--backend", default="engine", help="engine, or lava (a netx file through "
                                                         "lava-dl's netx, else the stock LIF graph)")
    inf.add_argument("--precision", default="fixed", help="fixed or float")
    inf.add_argument("--max-test", type=int, default=None, help="the first N test samples")
    inf.add_argument("--seed", type=int, default=0, help="the digits split's seed")
    inf.set_defaults(func=infer)
    co = sub.add_parser("cost", help="a fixed-point run's estimated Loihi 2 cost per sample "
                                     "(operations, cores, energy, latency)")
    co.add_argument("run_dir", metavar="RUN_DIR")
    co.add_argument("--max-test", type=int, default=None, help="count on the first N test "
                                                               "samples")
    co.add_argument("--data-dir", default=None, help="data directory (else the run's)")
    co.add_argument("--out", default=None, help="JSON file to write (default RUN_DIR/cost.json)")
    co.set_defaults(func=cost)
    return parser


def add_training_arguments(tr: argparse.ArgumentParser) -> None:
    """The options of ``train`` and ``continual`` (``--epochs``: per class for ``continual``)."""
    tr.add_argument("--rule", default="drtp",
                    help="learning rule: drtp, dfa (direct feedback alignment), sdfa (its error "
                         "sign); online: opzo, zo (ZO_sp), opzo-dfa, ottt-bp (spatial BP); "
                         "perturbation: np (node perturbation), loco")
    tr.add_argument("--dataset", default="digits",
                    help="digits (bundled), mnist, nmnist (the N-MNIST subset, online rules) or "
                         "nettalk (multi-hot targets: drtp, dfa, sdfa, np, loco)")
    tr.add_argument("--data-dir", default=None, help="data directory (else $LAVA_PLASTIC_DATA)")
    tr.add_argument("--backend", default="engine", help="engine (batched) or lava (process graph)")
    tr.add_argument("--precision", default="float", help="float or fixed")
    tr.add_argument("--model", default="lif", help="lif (spiking) or tanh (the paper's ANN)")
    tr.add_argument("--epochs", type=int, default=10)
    tr.add_argument("--hidden", type=int, action="append",
                    help="hidden layer size; repeat for more layers (default 100; online "
                         "rules 800 800)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--lr", type=float, default=None,
                    help="learning rate (default 2**-7, online rules 2e-4, zo 2e-5, online rules "
                         "in fixed point or the Lava graph 2**-12; np and loco by data set, "
                         "e.g. loco 2**-4 on digits, 2**-7 on mnist; lif + sgd: rounded to a power "
                         "of two per layer)")
    tr.add_argument("--batch-size", type=int, default=None,
                    help="samples per update (default 1; online rules 128, in fixed point 32, in "
                         "the Lava graph 1; np and loco 32)")
    tr.add_argument("--optimizer", default=None,
                    help="sgd (the on-chip rule), adam or adamw (float) (default sgd; online "
                         "rules adamw, in fixed point or the Lava graph sgd)")
    tr.add_argument("--weight-decay", type=float, default=None,
                    help="adamw's decoupled weight decay (default 0; online rules 2e-4)")
    tr.add_argument("--schedule", default=None,
                    help="learning rate over the epochs: constant or cosine (to 0; adam, "
                         "adamw) (default constant; online rules cosine)")
    tr.add_argument("--steps", type=int, default=None,
                    help="time steps per sample (lif; default 16); online rules: the readout's "
                         "outputs per sample, the paper's T (default 6; the sample is presented "
                         "for T plus one step per layer)")
    tr.add_argument("--dropout", type=float, default=None,
                    help="online rules: dropout rate of the hidden layers (default 0.2, zo 0)")
    tr.add_argument("--noise", default="gaussian",
                    help="online rules: noise distribution, gaussian, rademacher or sphere")
    tr.add_argument("--noise-site", default="activity",
                    help="online rules: where the noise enters, activity or membrane")
    tr.add_argument("--alpha", type=float, default=0.2,
                    help="online rules: noise scale at the first epoch")
    tr.add_argument("--alpha-end", type=float, default=0.01,
                    help="online rules: noise scale at the last epoch (linear in between)")
    tr.add_argument("--momentum", type=float, default=None,
                    help="opzo: momentum of the feedback connections M (eq. 6; default 0.99999, "
                         "the on-chip rule 1 - 2**-10)")
    tr.add_argument("--feedback-gain", type=float, default=None,
                    help="opzo: the hidden layers receive -gain M e (a power of two): their "
                         "rate relative to the readout's under SGD, and the modulation "
                         "register's resolution in fixed point (default 1, the on-chip rule 64)")
    tr.add_argument("--antithetic", action="store_true",
                    help="online rules: noise z, -z on consecutive steps (even windows)")
    tr.add_argument("--two-point", action="store_true",
                    help="opzo: M learns from the noise's change of the output against a clean "
                         "pass (eq. 5) instead of the perturbed output (eq. 6)")
    tr.add_argument("--unaligned", action="store_true",
                    help="online rules: pair the error with the surrogate and trace of the step "
                         "it arrives at, not of the wavefront that caused it (section 4.3)")
    tr.add_argument("--loss", default=None,
                    help="online rules: instantaneous loss, mix (0.95 CE + 0.05 MSE; the "
                         "default), mse, ce or sse (half the summed squared error; fixed point's)")
    tr.add_argument("--sigma", type=float, default=0.25,
                    help="np, loco: perturbation scale, in thresholds of membrane input per step")
    tr.add_argument("--rank", type=int, default=10,
                    help="loco: principal components of a batch's inputs kept (eq. 6's k)")
    tr.add_argument("--clusters", type=int, default=10,
                    help="loco: k-means centres over the buffer of past directions (eq. 5's c)")
    tr.add_argument("--buffer", type=int, default=50,
                    help="loco: past batches' principal directions kept (table S2's p)")
    tr.add_argument("--class-batches", dest="class_batches", action="store_const", const=True,
                    default=None, help="np, loco: batches of one class (loco's default)")
    tr.add_argument("--mixed-batches", dest="class_batches", action="store_const", const=False,
                    help="np, loco: ordinary shuffled batches (np's default)")
    tr.add_argument("--hidden-lr", type=float, default=None,
                    help="np, loco: the hidden layers' learning rate, when it differs from --lr "
                         "(default: --lr; np on mnist 2**-11, loco on nettalk 2**-5)")
    tr.add_argument("--output-init", type=float, default=None,
                    help="start every output weight at this real value (default: He-uniform; "
                         "np and loco 0.3 / sqrt(the last hidden layer's width))")
    tr.add_argument("--init-gain", type=float, default=None,
                    help="multiply the He-uniform initial weights (default 1; np and loco on "
                         "nettalk 3, whose sparse one-hot input barely drives a He-initialised "
                         "layer)")
    tr.add_argument("--weight-bits", type=int, default=None,
                    help="fractional bits of the 8-bit weights (lif): real weight = w / 2**bits "
                         "(default 8; np and loco 10 on mnist, 7 on nettalk)")
    tr.add_argument("--lr-halving", type=int, default=None,
                    help="halve the learning rate every N epochs (engine)")
    tr.add_argument("--augment-shift", type=int, default=0,
                    help="translate each training image by up to N pixels, redrawn every epoch (engine)")
    tr.add_argument("--max-train", type=int, default=None, help="use the first N training samples")
    tr.add_argument("--max-test", type=int, default=None, help="use the first N test samples")
    tr.add_argument("--dtype", default="float64",
                    help="float engine arithmetic: float64 (as the Lava graph) or float32 (faster)")
    tr.add_argument("--device", default="cpu",
                    help="engine arrays: cpu (numpy), torch-cpu, cuda or cuda:N (torch)")
    tr.add_argument("--distributed", action="store_true",
                    help="data-parallel across the ranks of a torchrun launch (engine, lif)")
    tr.add_argument("--out", default=None,
                    help="output folder (default runs/<rule>-<dataset>-h<hidden>-<backend>-"
                         "<precision>-e<epochs>-seed<seed>); a folder holding a run is refused "
                         "unless --overwrite")
    tr.add_argument("--overwrite", action="store_true",
                    help="replace the run already in the output folder (its files are removed "
                         "before training starts)")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_checkpoint_arguments(tr) -> None:
    """``train``'s checkpoint options (engine backend)."""
    tr.add_argument("--checkpoint-every", default=None, metavar="N[e|b]",
                    help="write a checkpoint every N epochs (N or Ne) or N batches (Nb) "
                         "(engine); one is always written after the last epoch and on Ctrl-C "
                         "or SIGTERM")
    tr.add_argument("--resume", default=None, metavar="DIR",
                    help="continue the run in DIR from its checkpoint, with its settings "
                         "(only --data-dir, --no-progress and --checkpoint-every may be given)")


RESUME_OPTIONS = {"resume", "data_dir", "no_progress", "checkpoint_every"}
"""The options ``train --resume`` accepts: where the data is and how the run is kept."""


def given_options(argv: list[str]) -> set[str]:
    """The ``train`` options written on the command line ``argv`` (after ``train``), whatever
    their values: argparse's defaults say nothing of what was typed."""
    probe = argparse.ArgumentParser(add_help=False)
    add_training_arguments(probe)
    add_checkpoint_arguments(probe)
    for action in probe._actions:
        action.default = argparse.SUPPRESS
    return set(vars(probe.parse_known_args(argv)[0]))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a command line argparse refused (one line)
        return stop.code
    if args.command == "train":
        args.given = {"--" + name.replace("_", "-")
                      for name in given_options(argv[argv.index("train") + 1:]) - RESUME_OPTIONS}
    if args.command == "selfcheck":
        for name in ("samples", "steps", "hidden"):
            if getattr(args, name) < 1:
                print(f"lava-plastic: --{name} must be a positive integer", file=sys.stderr)
                return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
