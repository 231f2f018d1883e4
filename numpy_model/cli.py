"""Command line: `python runner.py --params DIR/params.json [--task ...] [--compare BP]
[--load model.pkl [--force]] [--cont model.pkl]`. Bad input exits with code 2 and one clear message."""
import argparse
import os
import sys
import time

from .io import LoadError, load_models, remove_stale_temps, save_models
from .params import ParamsError, load_params
from .protocol import TASKS

EXIT_BAD_INPUT = 2
EXIT_PREEMPTED = 3     # stopped by SIGTERM/SIGINT after writing a checkpoint
EXIT_DIVERGED = 4      # finished, but some seeds diverged (all seeds saved)


def parser():
    ap = argparse.ArgumentParser(
        prog="runner.py",
        description="Simulate dendritic error-neuron microcircuits (teacher + one student per seed).")
    ap.add_argument("--params", required=True, help="path to params.json; outputs go next to it")
    ap.add_argument("--task", default="fw_only", choices=sorted(TASKS),
                    help="which weights learn and whether a teacher makes targets (default fw_only)")
    ap.add_argument("--compare", choices=["BP"], default=None,
                    help="compare the learned updates with backprop after training")
    ap.add_argument("--load", metavar="MODEL_PKL", default=None,
                    help="load a saved model.pkl instead of simulating (pickles can run code: "
                         "only load files you trust)")
    ap.add_argument("--cont", metavar="MODEL_PKL", default=None,
                    help="initialise teacher and students with the weights of a saved model.pkl")
    ap.add_argument("--no-plots", action="store_true", help="do not write the PNG figures (e.g. in sweeps)")
    ap.add_argument("--resume", action="store_true",
                    help="continue from the checkpoint next to params.json (an error if there is "
                         "none; without this flag a matching checkpoint is resumed automatically)")
    ap.add_argument("--fresh", action="store_true",
                    help="ignore and delete existing checkpoints and start from the beginning")
    ap.add_argument("--force", action="store_true",
                    help="with --load: overwrite model.pkl / results.npz next to the params file even "
                         "if they belong to a different run")
    ap.add_argument("--backend", choices=["auto", "numpy", "numba"], default=None,
                    help="time loop: numpy, numba (compiled) or auto (numba when importable); "
                         "overrides the params key backend (default: the key, auto)")
    ap.add_argument("--specialize", choices=["auto", "always", "never"], default=None,
                    help="numba: train on a kernel compiled for this net's sizes (5-35 s compile once per "
                         "net, cached; faster steps); overrides the params key specialize (default auto)")
    ap.add_argument("--quiet", action="store_true", help="no progress messages")
    return ap


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _progress_printer(quiet, seeds=None):
    """Progress bar on a terminal, periodic log lines otherwise, nothing with --quiet."""
    from .progress import make_progress
    return make_progress(quiet=quiet, seeds=seeds)


def summary(models):
    """One line per student: validation MSE at the first and last validation, mean test MSE."""
    import numpy as np
    lines = []
    for m in models:
        if getattr(m, "is_teacher", False) or not getattr(m, "MSE_test_time_series", None):
            continue
        val = np.asarray(m.MSE_val_time_series, dtype=float)
        n = len(val) // max(1, len([e for e in range(m.epochs)
                                     if (m.epochs > 1 and (10 * e) % m.epochs == 0) or m.epochs == 1]))
        first = val[:n].mean() if n else float("nan")
        last = val[-n:].mean() if n else float("nan")
        lines.append(f"  {m.mc_model} seed {m.seed}: validation MSE {first:.3g} (first) -> {last:.3g} "
                     f"(last), test MSE {np.mean(m.MSE_test_time_series):.3g}")
    return "\n".join(lines)


class _BadInput(Exception):
    """A problem found by one of main's steps: exit code 2 with this message, nothing written."""


def main(argv=None):
    args = parser().parse_args(argv)
    from .checkpoint import Preempted  # noqa: WPS433
    from .run import Diverged, SetupError  # noqa: WPS433
    from .provenance import now
    start = now()
    out_dir = os.path.dirname(os.path.abspath(args.params))
    # run lock (numpy_model/runlock.py): one runner per run folder, held until main returns or the
    # process dies; --load simulates nothing and needs none
    from .runlock import for_runner
    run_lock, busy = (None, None) if args.load else for_runner(
        out_dir, warn=lambda msg: print(f"warning: {msg}", file=sys.stderr))
    if busy:
        return _fail(busy)
    try:
        P = load_params(args.params, task=args.task,
                        warn=lambda msg: print(f"warning: {msg}", file=sys.stderr))
    except ParamsError as exc:
        return _fail(f"{args.params}: {exc}")
    if args.backend is not None:
        P["backend"] = args.backend
    if args.specialize is not None:
        P["specialize"] = args.specialize
    task = "fw_only_no_teacher" if P["input_signal"] == "genMNIST" else args.task
    ckpt, diverged, info = None, [], {}
    try:
        if args.load:
            models = _load_run(args, P, out_dir)
        else:
            cont = load_models(args.cont) if args.cont else None
            ckpt, resume = _checkpoint(args, P, task, out_dir)
            models = _simulate(args, P, task, cont, ckpt, resume, info)
    except (LoadError, SetupError, _BadInput) as exc:
        return _fail(str(exc))
    except Preempted as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return EXIT_PREEMPTED
    except Diverged as exc:
        models, diverged = exc.models, exc.messages
    _stamp(models, P, start, loaded=bool(args.load), argv=argv, backend=info.get("backend"))
    _save(models, out_dir, ckpt, args.quiet)
    if not args.no_plots:
        _plot(models, out_dir, args.quiet)
    return _report_diverged(diverged, P)


def _load_run(args, P, out_dir):
    """--load: the saved networks (recompared with --compare BP); refuses to overwrite the outputs
    of a different run next to the params file unless --force."""
    from .loadguard import foreign_outputs, params_diff
    from .run import compare_loaded
    models = load_models(args.load)
    differ = params_diff(models, P)
    if differ:
        print(f"warning: --load {args.load}: its networks were run with other params than "
              f"{args.params} (differ: {', '.join(differ)}); the saved networks are used as saved",
              file=sys.stderr)
    foreign = foreign_outputs(args.load, models, os.path.join(out_dir, "model.pkl"),
                              os.path.join(out_dir, "results.npz"))
    if foreign and not args.force:
        raise _BadInput(f"--load {args.load} would overwrite {' and '.join(foreign)} of a different run "
                        f"(outputs go next to --params {args.params}); use a params file in another "
                        f"folder, or --force to overwrite")
    if args.compare:
        compare_loaded(models, P)
    return models


def _checkpoint(args, P, task, out_dir):
    """The run's Checkpointer and the checkpoint to resume from (None: start from the beginning)."""
    from .checkpoint import Checkpointer
    ckpt = Checkpointer(out_dir, P, task, args.compare)
    resume = None
    if args.fresh:
        ckpt.clear()
    elif args.resume or ckpt.exists():
        resume = ckpt.load()
        if resume is None and args.resume:
            raise _BadInput(f"--resume: no checkpoint of this run in {out_dir} (a checkpoint is only "
                            f"used with the same params, task and --compare)")
        if resume is not None and not args.quiet:
            print(f"resuming from {ckpt.path} (after epoch {resume['run'].next_epoch}); "
                  f"use --fresh to start over", file=sys.stderr)
    return ckpt, resume


def _simulate(args, P, task, cont, ckpt, resume, info):
    from .run import simulate
    restore = _install_stop_handlers(ckpt)

    def log(line):            # the backend line (not with --quiet) and its warnings (always)
        if line.startswith("warning: ") or not args.quiet:
            print(line, file=sys.stderr)
    try:
        return simulate(P, task=task, cont_models=cont, compare=args.compare,
                        progress=_progress_printer(args.quiet, seeds=len(P["random_seed"])),
                        checkpointer=ckpt, resume=resume, log=log, info=info)
    finally:
        restore()


def _stamp(models, P, start, loaded, argv=None, backend=None):
    """Attach the provenance (numpy_model/provenance.py) to every network. A reloaded run keeps
    the provenance of the run that made it; one saved without provenance gets this process's."""
    from . import provenance
    from .loadguard import saved_params
    if loaded and provenance.of_models(models):
        return
    params = (saved_params(models) or P) if loaded else P
    command = None if argv is None else [sys.executable, "runner.py", *argv]
    provenance.attach(models, provenance.record(params, command=command, start_time=start,
                                                end_time=provenance.now(), backend=backend))


def _save(models, out_dir, ckpt, quiet):
    """model.pkl (before plotting: a plotting failure loses nothing), then results.npz."""
    from .analysis.export import export_npz     # arrays only, loads with allow_pickle=False
    out_pkl, out_npz = os.path.join(out_dir, "model.pkl"), os.path.join(out_dir, "results.npz")
    begun = time.time()
    save_models(out_pkl, models)
    if ckpt is not None:
        ckpt.clear()                   # the run is complete: model.pkl replaces the checkpoints
    export_npz(models, out_npz)
    for path in (out_pkl, out_npz):    # what an earlier run killed while saving left behind
        remove_stale_temps(path, older_than=begun)
    if not quiet:
        print(summary(models), file=sys.stderr)
        print(f"saved {len(models)} networks to {out_pkl}", file=sys.stderr)


def _plot(models, out_dir, quiet):
    from .analysis.plots import plot_run
    paths = plot_run(models, out_dir, log=lambda msg: print(msg, file=sys.stderr))
    if not quiet:
        print(f"wrote {len(paths)} figures to {out_dir}", file=sys.stderr)


def _report_diverged(diverged, P):
    if not diverged:
        return 0
    for msg in diverged:
        print(f"error: {msg}", file=sys.stderr)
    print(f"error: {len(diverged)} of {len(P['random_seed'])} seeds diverged; every seed was "
          f"saved (the diverged ones carry the attribute `diverged`)", file=sys.stderr)
    return EXIT_DIVERGED


def _install_stop_handlers(ckpt):
    """SIGTERM (sent by Slurm before it kills a job) and SIGINT ask the run to write a checkpoint
    at the next epoch boundary and stop; returns a function restoring the previous handlers."""
    import signal

    def handler(signum, frame):
        if ckpt.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt       # a second Ctrl-C stops at once
        ckpt.stop_requested = True
        print(f"\n{signal.Signals(signum).name}: writing a checkpoint at the end of this epoch, "
              f"then stopping", file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    return lambda: [signal.signal(sig, h) for sig, h in previous.items()]


if __name__ == "__main__":
    sys.exit(main())
