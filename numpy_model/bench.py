"""Benchmark of the simulation loop: `python -m numpy_model.bench [options]` (`--help` lists them).

Times the training phase (plasticity + target nudging, the bulk of a Figure 3 run) of every model
on the Figure 3 networks at ensemble sizes S, through the real protocol code (`run_phase`) with
the published Figure 3 recording (every 2000 steps). No plotting, no file I/O. Prints a table of
us per step and us per seed-step, the speed-up over the published implementation, the recording
overhead (protocol loop with monitor vs bare step calls; on numba vs no record), the peak memory of state plus a short
run, and the memory the recorded series of a full Figure 3 run take; writes the same as JSON and
projects the wall time of the full Figure 3 sweep on this machine.

`--big` adds the Figure 4 / Figure 5 nets (errormc 10-n_R-784, n_R, n_E in 50..1000, S = 1):
ms per training step for every (n_R, n_E) of Figure 4 and for Figure 5's noisy 1000/1000 nets,
and the projected wall times of the Figure 4 (160 runs) and Figure 5 (90 runs) sweeps.
`--backend numba --specialize` times the size-specialised training kernels (models/specialize.py);
the warm-up column then holds each one's compile (or cache load).
"""
import argparse
import json
import os
import platform
import sys
import time
import tracemalloc

import numpy as np

from . import timing
from .ensemble import Ensemble
from .experiments import (FIG3_MODELS, FIG3_NETS, FIG4_N_E, FIG4_N_R, FIG5_N, FIG5_SIGMAS,
                          fig3_params, fig4_params, fig5_params)
from .params import validate
from .protocol import make_monitor, run_phase
from .models import compiled, specialize
from .run import build
from .state import Phase

TRAIN = Phase(fw=True, lat=True)

# published implementation, us per train step per network (docs/model.md §13)
REFERENCE_US_ISSUE = {"errormc": 340.0, "sacramento2018": 215.0, "dPC": 190.0, "ann": 87.0}


BACKEND = "numpy"     # set by main(--backend): the backend every timing runs on
SPECIALIZE = "never"  # set by main(--specialize): "always" times the size-specialised numba kernels


def _ensemble(net, model, S, p=None):
    p = fig3_params(net, model) if p is None else p
    p["random_seed"] = list(range(1, S + 1))
    task = "fw_only_no_teacher" if p.get("input_signal") == "genMNIST" else "fw_only"
    P = validate(p, task, warn=lambda msg: None)
    students, _, _ = build(P, task)
    ens, _ = compiled.choose(Ensemble.from_inits(students, P), BACKEND, "bench")
    return P, specialize.choose(ens, SPECIALIZE, 0)


def _inputs(P, S, n):
    rng = np.random.RandomState(0)
    return (rng.uniform(0, 1, (S, n, P["layers"][0])), rng.uniform(-0.5, 0.5, (S, n, P["layers"][-1])))


def time_train(net, model, S, min_time=0.3, repeats=5, p=None):
    """(us per training step through run_phase with the published recording, recording overhead).

    The loop runs `repeats` times and the best time is kept: on a shared VM the minimum is the
    most reproducible statistic. The recording overhead is measured directly: on numpy the
    monitor's per-step work (counter tick, and a snapshot of every recorded variable every
    rec_per_steps steps) over the same number of steps, relative to the step time; on numba (the
    kernel records) the same phase timed without any record."""
    P, ens = _ensemble(net, model, S, p)
    n = 10 if p is not None else 50
    X, Y = _inputs(P, S, n)
    mon = make_monitor(ens, P, 10 ** 5, rate_target=ens.rate_target)
    t0 = time.perf_counter()
    run_phase(ens, mon, X, Y, True, TRAIN)      # warm-up (on numba: loads or compiles the kernel)
    COMPILE_S[(net, model, S)] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_phase(ens, mon, X, Y, True, TRAIN)
    per = (time.perf_counter() - t0) / n
    n = int(min(20000, max(10, min_time / repeats / per)))
    X, Y = _inputs(P, S, n)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_phase(ens, mon, X, Y, True, TRAIN)
        best = min(best, time.perf_counter() - t0)
    us = best / n * 1e6
    if BACKEND == "numba":      # the kernel takes the records: the same phase without any record
        bare = make_monitor(ens, dict(P, rec_per_steps=10 ** 9), 1, rate_target=ens.rate_target)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            run_phase(ens, bare, X, Y, True, TRAIN)
            best = min(best, time.perf_counter() - t0)
        return us, us / (best / n * 1e6) - 1
    # recording cost per step: ticks plus one snapshot per rec_per_steps steps
    every = P["rec_per_steps"]
    rec = make_monitor(ens, P, 64, rate_target=ens.rate_target)
    x, y = X[:, 0], Y[:, 0]
    ticks = 20000
    t0 = time.perf_counter()
    for _ in range(ticks):
        rec.tick(ens, x, y)
    tick_us = (time.perf_counter() - t0) / ticks * 1e6
    rec.counter = every - 1
    t0 = time.perf_counter()
    for _ in range(20):
        rec.counter = every - 1
        rec.tick(ens, x, y)
    snap_us = (time.perf_counter() - t0) / 20 * 1e6
    overhead = (tick_us + snap_us / every) / us
    return us, overhead


COMPILE_S = {}     # (net, model, S): seconds of the warm-up call of time_train (compile or cache load)


def first_run_seconds():
    """Seconds of the first compiled phase in this process (compile, or load from the cache)."""
    P, ens = _ensemble("2-1", "errormc", 1)
    X, Y = _inputs(P, 1, 2)
    t0 = time.perf_counter()
    run_phase(ens, make_monitor(ens, P, 10, rate_target=ens.rate_target), X, Y, True, TRAIN)
    return time.perf_counter() - t0


def record_mib(net, model, S):
    """Memory of the recorded series of a full Figure 3 run (1012 records), MiB."""
    P, ens = _ensemble(net, model, 1)
    mon = make_monitor(ens, P, 1, rate_target=ens.rate_target)
    per_record = sum(a[0].size for name in mon.names for a in ens.layers_of(name)) + 1
    return per_record * 8 * S * (fig3_steps(True) // P["rec_per_steps"]) / 2 ** 20


def peak_memory(net, model, S, steps=50):
    """Peak traced memory (MiB) of building the ensemble and running a few steps."""
    tracemalloc.start()
    try:
        P, ens = _ensemble(net, model, S)
        X, Y = _inputs(P, S, steps)
        mon = make_monitor(ens, P, steps, rate_target=ens.rate_target)
        run_phase(ens, mon, X, Y, True, TRAIN)
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def fig3_steps(trained):
    """Student steps of one Figure 3 run (docs/model.md §7.4), without the --compare pass."""
    p = fig3_params("8-4-2-1", "errormc")
    T, n_settle = timing.of_params(p)
    # an untrained run is one epoch (its validation included), as published
    return timing.student_total_steps(p["epochs"] if trained else 1, p["dataset_size"] * T, n_settle)


def big_steps(p):
    """Student steps of one Figure 4/5 run (genMNIST: 10 digits held T steps each)."""
    T, n_settle = timing.of_params(p)
    return timing.student_total_steps(p["epochs"], 10 * T, n_settle)


def big_nets(min_time):
    """ms per training step of every Figure 4 net and of Figure 5's noisy nets (S = 1), and the
    projected sweep hours on one core (a run is one seed: the sweep runs `cores` at a time)."""
    rows = []
    cases = [("Fig4", n_R, n_E, None, fig4_params(n_R, n_E, 1)) for n_R in FIG4_N_R for n_E in FIG4_N_E]
    cases += [("Fig5", FIG5_N, FIG5_N, f"{where} sigma={sigma}", fig5_params(where, sigma, 1))
              for where in ("rep", "error") for sigma in FIG5_SIGMAS[-1:]]
    for fig, n_R, n_E, noise, p in cases:
        us, _ = time_train(f"10-{n_R}-784", "errormc", 1, min_time=min_time, repeats=3, p=p)
        rows.append({"figure": fig, "n_R": n_R, "n_E": n_E, "noise": noise, "ms_per_step": us / 1e3,
                     "run_hours": us * 1e-6 * big_steps(p) / 3600})
        print(f"{fig:5s} 10-{n_R}-784 n_E={n_E:5d} {noise or '':16s} {us / 1e3:8.2f} ms/step "
              f"{rows[-1]['run_hours'] * 60:7.1f} min/run", flush=True)
    per = {(r["n_R"], r["n_E"]): r["run_hours"] for r in rows if r["figure"] == "Fig4"}
    noisy = max(r["run_hours"] for r in rows if r["figure"] == "Fig5")
    seeds = 10
    fig4 = seeds * sum(per.values())
    fig5 = seeds * (2 * len(FIG5_SIGMAS) * noisy + per[(FIG5_N, FIG5_N)])
    return rows, fig4, fig5


def _parser():
    ap = argparse.ArgumentParser(prog="python -m numpy_model.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1,10,100,1000", help="ensemble sizes S (default 1,10,100,1000)")
    ap.add_argument("--nets", default=",".join(FIG3_NETS))
    ap.add_argument("--models", default=",".join(FIG3_MODELS))
    ap.add_argument("--quick", action="store_true", help="short timings (noisier)")
    ap.add_argument("--json", default="bench.json", help="where to write the results (default bench.json)")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                    help="cores assumed for the sweep projections (runs in parallel)")
    ap.add_argument("--big", action="store_true", help="also the Figure 4/5 nets (10-n_R-784, ~3 min)")
    ap.add_argument("--only-big", action="store_true", help="only the Figure 4/5 nets")
    ap.add_argument("--backend", choices=["numpy", "numba", "auto"], default="numpy",
                    help="time loop backend (default numpy); numba reports its first-run compile "
                         "(or cache load) time separately")
    ap.add_argument("--specialize", action="store_true",
                    help="numba: time the kernels compiled for each net's sizes (runner.py --specialize "
                         "always); the warm-up column then shows each one's compile (or cache load)")
    return ap


def fig3_table(models, nets, sizes, min_time):
    rows = []
    print(f"{'model':15s} {'net':14s} {'S':>5s} {'us/step':>9s} {'us/seed-step':>12s} "
          f"{'x ref':>6s} {'rec ovh':>7s} {'peak MiB':>8s} {'rec MiB':>8s} {'warm-up s':>9s}")
    for model in models:
        for net in nets:
            for S in sizes:
                us, overhead = time_train(net, model, S, min_time=min_time)
                row = {"model": model, "net": net, "S": S, "us_per_step": us, "us_per_seed_step": us / S,
                       "speedup_vs_reference": REFERENCE_US_ISSUE[model] / (us / S),
                       "recording_overhead": overhead,
                       "peak_MiB": peak_memory(net, model, S),
                       "fig3_record_MiB": record_mib(net, model, S), "warmup_s": COMPILE_S[(net, model, S)]}
                rows.append(row)
                print(f"{model:15s} {net:14s} {S:5d} {us:9.1f} {us / S:12.2f} "
                      f"{row['speedup_vs_reference']:6.0f} {100 * row['recording_overhead']:6.1f}% "
                      f"{row['peak_MiB']:8.1f} {row['fig3_record_MiB']:8.0f} {row['warmup_s']:9.2f}", flush=True)
    return rows


def fig3_projection(rows, n_configs, cores, result):
    s10 = {(r["model"], r["net"]): r["us_per_step"] for r in rows if r["S"] == 10}
    if not rows or len(s10) != n_configs:
        return
    published = sum(us * 1e-6 * (fig3_steps(True) + fig3_steps(False)) for us in s10.values())
    conservative = sum(us * 1e-6 * 2 * 2.2e6 for us in s10.values())
    result["fig3_projection_hours"] = published / 3600 / cores
    result["fig3_projection_hours_80_full_runs"] = conservative / 3600 / cores
    print(f"\nFigure 3 sweep, 10 seeds per run, published recording, {cores} runs in parallel, "
          f"simulation only (the --compare pass is not included):\n"
          f"  as published ({len(s10)} trained runs of 1000 epochs + {len(s10)} untrained runs): "
          f"{published / 3600 / cores:.2f} h\n"
          f"  counting all {2 * len(s10)} runs at 2.2 million steps each: "
          f"{conservative / 3600 / cores:.2f} h")


def main(argv=None):
    args = _parser().parse_args(argv)
    global BACKEND, SPECIALIZE
    BACKEND, why = compiled.resolve(args.backend)
    if why:
        print(f"warning: {why}")
    compile_s = first_run_seconds() if BACKEND == "numba" else None
    if args.specialize and BACKEND != "numba":
        print("warning: --specialize: only the numba backend has size-specialised kernels; timing numpy")
    SPECIALIZE = "always" if args.specialize else "never"
    sizes = [int(s) for s in args.sizes.split(",")]
    nets, models = args.nets.split(","), args.models.split(",")
    min_time = 0.15 if args.quick else 0.6
    cores = max(1, args.cores)
    print(f"numpy {np.__version__}, python {platform.python_version()}, {os.cpu_count()} cores; "
          f"backend {BACKEND}{' (size-specialised)' if SPECIALIZE == 'always' and BACKEND == 'numba' else ''}; "
          f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; "
          f"training steps, best of 5 runs")
    if compile_s is not None:
        print(f"numba {compiled.numba_version()}: first call of the errormc kernel in this process "
              f"{compile_s:.2f} s (compile, or load from numba's cache); not in the timings below")
    rows = [] if args.only_big else fig3_table(models, nets, sizes, min_time)
    result = {"rows": rows, "numpy": np.__version__, "python": platform.python_version(),
              "backend": BACKEND, "first_call_seconds": compile_s, "specialize": SPECIALIZE,
              "cpu_count": os.cpu_count(), "reference_us_per_step": REFERENCE_US_ISSUE}
    fig3_projection(rows, len(models) * len(nets), cores, result)
    if args.big or args.only_big:
        print("\nFigure 4 / 5 nets (errormc, S = 1, training steps):")
        big, fig4, fig5 = big_nets(min_time)
        result.update(big_rows=big, fig4_projection_hours=fig4 / cores, fig5_projection_hours=fig5 / cores)
        print(f"\nprojected sweeps, {cores} runs in parallel: Figure 4 (160 runs) {fig4 / cores:.1f} h, "
              f"Figure 5 (90 runs) {fig5 / cores:.1f} h")
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)
    print(f"results written to {args.json}")
    return 0


BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _one_blas_thread():
    """Time what runner.py runs: one BLAS thread per simulation unless the environment says
    otherwise (set before numpy loads BLAS, hence a re-exec; threaded BLAS makes the 10-n_R-784
    step 3-30x slower on this machine class)."""
    if all(v in os.environ for v in BLAS_THREAD_VARS):
        return
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")
    os.execv(sys.executable, [sys.executable, "-m", "numpy_model.bench"] + sys.argv[1:])


if __name__ == "__main__":
    _one_blas_thread()
    sys.exit(main())
