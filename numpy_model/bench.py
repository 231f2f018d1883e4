"""Benchmark of the simulation loop: `python -m numpy_model.bench [--quick] [--json FILE]`.

Times the training phase (plasticity + target nudging, the bulk of a Figure 3 run) of every model
on the Figure 3 networks at ensemble sizes S, through the real protocol code (`run_phase`) with
the published Figure 3 recording (every 2000 steps). No plotting, no file I/O. Prints a table of
us per step and us per seed-step, the recording overhead and peak memory, writes the same as
JSON, and projects the wall time of the full Figure 3 sweep on this machine.
"""
import argparse
import json
import os
import platform
import sys
import time
import tracemalloc

import numpy as np

from .ensemble import Ensemble
from .experiments import FIG3_MODELS, FIG3_NETS, fig3_params
from .params import validate
from .protocol import make_monitor, run_phase
from .run import build

# published implementation, us per train step per network (SPEC 13, issue 3)
REFERENCE_US = {"errormc": 342.0, "sacramento2018": 161.0, "dPC": 163.0, "ann": 113.0}
REFERENCE_US_ISSUE = {"errormc": 340.0, "sacramento2018": 215.0, "dPC": 190.0, "ann": 87.0}


def _ensemble(net, model, S, record=True):
    p = fig3_params(net, model)
    p["random_seed"] = list(range(1, S + 1))
    P = validate(p, "fw_only", warn=lambda msg: None)
    students, _, _ = build(P, "fw_only")
    ens = Ensemble.from_inits(students, P)
    if not record:
        P = dict(P, rec_per_steps=10 ** 12)
    return P, ens


def time_train(net, model, S, min_time=0.4, record=True, max_steps=20000):
    """us per training step (all seeds together), through run_phase with a monitor."""
    P, ens = _ensemble(net, model, S, record)
    n0, n_out = P["layers"][0], P["layers"][-1]
    rng = np.random.RandomState(0)
    n = 200
    X = rng.uniform(0, 1, (S, max_steps, n0))
    Y = rng.uniform(-0.5, 0.5, (S, max_steps, n_out))
    mon = make_monitor(ens, P, max_steps * 8, rate_target=ens.rate_target)
    run_phase(ens, mon, X[:, :50], Y[:, :50], True, True, True, False)  # warm-up
    while True:
        t0 = time.perf_counter()
        run_phase(ens, mon, X[:, :n], Y[:, :n], True, True, True, False)
        el = time.perf_counter() - t0
        if el >= min_time or n >= max_steps:
            return el / n * 1e6
        n = min(max_steps, int(n * max(2.0, 1.2 * min_time / max(el, 1e-9))))


def peak_memory(net, model, S, steps=50):
    """Peak traced memory (MiB) of building the ensemble and running a few recorded steps."""
    tracemalloc.start()
    try:
        P, ens = _ensemble(net, model, S)
        rng = np.random.RandomState(0)
        X = rng.uniform(0, 1, (S, steps, P["layers"][0]))
        Y = rng.uniform(-0.5, 0.5, (S, steps, P["layers"][-1]))
        mon = make_monitor(ens, P, 2024000, rate_target=ens.rate_target)  # Fig3 record count
        run_phase(ens, mon, X, Y, True, True, True, False)
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def fig3_steps(trained):
    """Student steps of one Figure 3 run (SPEC 7.4), without the --compare pass."""
    return 2000 + 1000 * 2000 + 10 * 2000 + 2000 if trained else 8000


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m numpy_model.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1,10,100,1000", help="ensemble sizes S (default 1,10,100,1000)")
    ap.add_argument("--nets", default=",".join(FIG3_NETS))
    ap.add_argument("--models", default=",".join(FIG3_MODELS))
    ap.add_argument("--quick", action="store_true", help="short timings (noisier)")
    ap.add_argument("--json", default="bench.json", help="where to write the results (default bench.json)")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                    help="cores assumed for the Figure 3 projection (runs in parallel)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    nets, models = args.nets.split(","), args.models.split(",")
    min_time = 0.15 if args.quick else 0.5
    rows = []
    print(f"numpy {np.__version__}, python {platform.python_version()}, {os.cpu_count()} cores")
    print(f"{'model':15s} {'net':14s} {'S':>5s} {'us/step':>9s} {'us/seed-step':>12s} "
          f"{'x ref':>6s} {'rec ovh':>7s} {'peak MiB':>8s}")
    for model in models:
        for net in nets:
            for S in sizes:
                us = time_train(net, model, S, min_time=min_time)
                row = {"model": model, "net": net, "S": S, "us_per_step": us, "us_per_seed_step": us / S,
                       "speedup_vs_reference": REFERENCE_US_ISSUE[model] / (us / S)}
                if S == 10:
                    us_norec = time_train(net, model, S, min_time=min_time, record=False)
                    row["recording_overhead"] = us / us_norec - 1
                row["peak_MiB"] = peak_memory(net, model, S)
                rows.append(row)
                ovh = f"{100 * row['recording_overhead']:6.1f}%" if "recording_overhead" in row else ""
                print(f"{model:15s} {net:14s} {S:5d} {us:9.1f} {us / S:12.2f} "
                      f"{row['speedup_vs_reference']:6.0f} {ovh:>7s} {row['peak_MiB']:8.1f}", flush=True)
    result = {"rows": rows, "numpy": np.__version__, "python": platform.python_version(),
              "cpu_count": os.cpu_count(), "reference_us_per_step": REFERENCE_US_ISSUE}
    s10 = {(r["model"], r["net"]): r["us_per_step"] for r in rows if r["S"] == 10}
    if len(s10) == len(models) * len(nets):
        total = sum(us * 1e-6 * (fig3_steps(True) + fig3_steps(False)) for us in s10.values())
        hours = total / 3600 / max(1, args.cores)
        result["fig3_projection_hours"] = hours
        print(f"\nFigure 3 sweep ({len(s10) * 2} runs of 10 seeds, 1000 epochs, published recording, "
              f"simulation without the --compare pass), {args.cores} runs in parallel: "
              f"{hours:.2f} h projected")
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
