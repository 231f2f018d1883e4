"""Command line: `python runner.py --params DIR/params.json [--task ...] [--compare BP]
[--load model.pkl] [--cont model.pkl]`. Bad input exits with code 2 and one clear message."""
import argparse
import os
import sys
import time

from .io import LoadError, load_models, save_models
from .params import ParamsError, load_params
from .protocol import TASKS

EXIT_BAD_INPUT = 2


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
    ap.add_argument("--quiet", action="store_true", help="no progress messages")
    return ap


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _progress_printer(quiet):
    if quiet:
        return None
    start = time.time()

    def report(phase, epoch, epochs):
        print(f"[{time.time() - start:7.1f}s] {phase}: epoch {epoch}/{epochs}", file=sys.stderr, flush=True)
    return report


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


def main(argv=None):
    args = parser().parse_args(argv)
    from .run import SetupError, compare_loaded, simulate  # noqa: WPS433 - keep `--help` fast

    out_dir = os.path.dirname(os.path.abspath(args.params))
    out_pkl = os.path.join(out_dir, "model.pkl")
    try:
        P = load_params(args.params, task=args.task,
                        warn=lambda msg: print(f"warning: {msg}", file=sys.stderr))
    except ParamsError as exc:
        return _fail(f"{args.params}: {exc}")
    task = "fw_only_no_teacher" if P["input_signal"] == "genMNIST" else args.task
    try:
        if args.load:
            models = load_models(args.load)
            if args.compare:
                compare_loaded(models, P)
        else:
            cont = load_models(args.cont) if args.cont else None
            models = simulate(P, task=task, cont_models=cont, compare=args.compare,
                              progress=_progress_printer(args.quiet))
    except (LoadError, SetupError) as exc:
        return _fail(str(exc))
    save_models(out_pkl, models)       # saved before plotting: a plotting failure loses nothing
    if not args.quiet:
        print(summary(models), file=sys.stderr)
        print(f"saved {len(models)} networks to {out_pkl}", file=sys.stderr)
    if not args.no_plots:
        from .plots import plot_run
        paths = plot_run(models, out_dir, log=lambda msg: print(msg, file=sys.stderr))
        if not args.quiet:
            print(f"wrote {len(paths)} figures to {out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
