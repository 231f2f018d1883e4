"""The command line of `python -m numpy_model.sweep` (see numpy_model/sweep.py for the usage)."""
import argparse
import json
import os
import shlex
import sys
import time

from .. import experiments as ex
from .collect import collect
from .common import DEFAULT_ROOT, DONE, FAILED, PENDING, RUNNING, SweepError, fmt_duration
from .execute import execute
from .expand import expand
from .folders import Liveness
from .local import run_local
from .slurm import submit_slurm, wait_for
from .status import select, status_table
from .targets import Group, figure_name, resolve


def _root_opt(p):
    p.add_argument("--root", default=DEFAULT_ROOT, help="experiments folder (default: ./experiments)")


def _targets(p):
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="figure (" + ", ".join(ex.FIGURES) + ", all), run folder, or folder of run folders")
    _root_opt(p)


def _slurm_opts(p):
    s = p.add_argument_group("Slurm (--slurm: one job array per figure, one task per run)")
    s.add_argument("--slurm", action="store_true", help="submit to Slurm instead of running locally")
    s.add_argument("--array-limit", type=int, default=20, metavar="K",
                   help="at most K tasks of the array at a time (sbatch --array=0-(n-1)%%K; 0: no limit; "
                        "default 20)")
    s.add_argument("--time", help="sbatch --time (default: slurm_script.sh's #SBATCH line)")
    s.add_argument("--cpus-per-task", type=int, help="sbatch --cpus-per-task (default 1)")
    s.add_argument("--partition", help="sbatch --partition")
    s.add_argument("--mem", help="sbatch --mem")
    s.add_argument("--account", help="sbatch --account")
    s.add_argument("--job-name", help="sbatch --job-name (default sweep-<figure>)")
    s.add_argument("--sbatch-arg", action="append", metavar="ARG", help="extra sbatch argument(s), repeatable")
    s.add_argument("--activate", metavar="FILE",
                   help="file sourced by each task before running (e.g. a venv's bin/activate)")
    s.add_argument("--python", help="interpreter of the tasks (default: this one)")
    s.add_argument("--slurm-script", help="sbatch script (default: slurm_script.sh in the repo)")
    s.add_argument("--sbatch", default="sbatch", help=argparse.SUPPRESS)
    s.add_argument("--wait", action="store_true", help="wait until every submitted run has ended")
    s.add_argument("--poll", type=float, default=2.0, help=argparse.SUPPRESS)
    s.add_argument("--timeout", type=float, default=None, help="--wait: give up after this many seconds")


def _run_opts(p):
    p.add_argument("-j", "--jobs", type=int, default=None,
                   help="local: at most N runs at a time (default: number of cores)")
    p.add_argument("--force", action="store_true", help="also rerun runs that are done")
    p.add_argument("--plots", action="store_true", help="write the per-run PNG figures (default: none)")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/OpenMP threads per local run unless set in the environment (default 1)")
    _slurm_opts(p)


def parser():
    ap = argparse.ArgumentParser(prog="python -m numpy_model.sweep",
                                 description="Every figure's runs: expand, run (locally or on Slurm), "
                                             "status, rerun, collect.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the figures, their run counts and scripts")
    p = sub.add_parser("show", help="a figure's description: base params, swept values, notes")
    p.add_argument("figure")
    p = sub.add_parser("expand", help="write the figure's run folders (params + run.json)")
    p.add_argument("figures", nargs="+", metavar="FIGURE")
    _root_opt(p)
    p = sub.add_parser("run", help="run (or submit) the runs that are not done")
    _targets(p)
    _run_opts(p)
    p = sub.add_parser("rerun", help="rerun only the failed runs")
    p.add_argument("--failed", action="store_true", required=True, help="select the failed runs")
    _targets(p)
    _run_opts(p)
    p = sub.add_parser("status", help="table of the runs: state, time, where, test MSE, note")
    _targets(p)
    p.add_argument("--state", action="append", choices=[PENDING, RUNNING, DONE, FAILED],
                   help="only list runs in this state (repeatable)")
    p = sub.add_parser("collect", help="one CSV of per-seed metrics per figure (atomic)")
    _targets(p)
    p.add_argument("--out", help="CSV path (default: ROOT/sweeps/<figure>/metrics.csv, or metrics.csv next "
                                 "to the run folders); one target only")
    p = sub.add_parser("exec", help="run one folder now (used by run and slurm_script.sh)")
    p.add_argument("run_dir")
    p.add_argument("--plots", action="store_true")
    return ap


def _targets_text(args):
    return " ".join(shlex.quote(t) for t in args.targets)


def _run_on_slurm(plan, args, out):
    for g, todo in plan:
        if todo:
            submit_slurm(g, todo, args, out=out)
    if not args.wait:
        print("follow with: python -m numpy_model.sweep status " + _targets_text(args), file=out)
        return 0
    subset = [Group(g.name, todo, g.home, g.figure) for g, todo in plan if todo]
    counts = wait_for(subset, poll=args.poll, timeout=args.timeout, out=out)
    for g in subset:
        status_table(g, Liveness(), out=out)
    return 1 if counts.get(FAILED) else 0


def cmd_run(args, failed_only=False, out=None):
    """run / rerun --failed: select the runs of every target, then run them here or submit them."""
    out = sys.stdout if out is None else out
    live = Liveness()
    plan = []
    for g in resolve(args.targets, args.root):
        todo = select(g, live, force=args.force, failed_only=failed_only, out=out)
        plan.append((g, todo))
        what = "failed runs to rerun" if failed_only else "runs to run"
        print(f"{g.name}: {len(todo)} of {len(g.runs)} {what}", file=out, flush=True)
    runs = [r for _, todo in plan for r in todo]
    if not runs:
        return 0
    if args.slurm:
        return _run_on_slurm(plan, args, out)
    jobs = args.jobs or os.cpu_count() or 1
    print(f"running {len(runs)} runs, at most {jobs} at a time", file=out, flush=True)
    t0 = time.time()
    done, failed = run_local(runs, jobs, plots=args.plots, threads=args.threads, out=out)
    print(f"{len(done)} done, {len(failed)} failed in {fmt_duration(time.time() - t0)}"
          + (f": rerun them with `python -m numpy_model.sweep rerun --failed {_targets_text(args)}`"
             if failed else ""), file=out)
    return 1 if failed else 0


def _cmd_list(args):
    for name, fig in ex.FIGURES.items():
        extra = f" (= the {fig.alias_of} runs)" if fig.alias_of else ""
        print(f"{name:6s} {len(fig.runs()):4d} runs{extra}  {fig.title}  [{fig.script}]")
    return 0


def _cmd_show(args):
    name = figure_name(args.figure)
    if not name:
        raise SweepError(f"{args.figure}: unknown figure ({', '.join(ex.FIGURES)})")
    print(json.dumps(dict(ex.FIGURES[name].describe(), runs=[s.path for s in ex.FIGURES[name].runs()]),
                     indent=1))
    return 0


def _cmd_expand(args):
    names = []
    for f in args.figures:
        if f.lower() == "all":
            names += [k for k, v in ex.FIGURES.items() if not v.alias_of]
        elif figure_name(f):
            names.append(figure_name(f))
        else:
            raise SweepError(f"{f}: unknown figure ({', '.join(ex.FIGURES)}, all)")
    for name in dict.fromkeys(names):
        expand(name, args.root)
    return 0


def _cmd_status(args):
    live = Liveness()
    for g in resolve(args.targets, args.root):
        status_table(g, live, only=args.state)
    return 0


def _cmd_collect(args):
    groups = resolve(args.targets, args.root)
    if args.out and len(groups) > 1:
        raise SweepError("--out needs a single figure or set of run folders")
    for g in groups:
        collect(g, args.out)
    return 0


COMMANDS = {
    "exec": lambda args: execute(args.run_dir, plots=args.plots),
    "list": _cmd_list, "show": _cmd_show, "expand": _cmd_expand,
    "run": cmd_run, "rerun": lambda args: cmd_run(args, failed_only=True),
    "status": _cmd_status, "collect": _cmd_collect,
}


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](args)
    except SweepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
