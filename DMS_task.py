#!/usr/bin/env python3
"""Delayed match-to-sample task with an error-neuron microcircuit (paper Fig 2b, §7.7).

    python DMS_task.py [--out experiments/DMS_plots] [--seed 0] [--quick] [--backend auto|numpy|numba]

Ten errormc networks (1-2-1, BP) learn to report whether two stimuli (+-1) separated by a random
delay match (+1) or not (-1); one weight update per trial, at its last frame. Writes model.pkl
(the 10 networks), MSE_val.png and example_{upup,updown,downup,downdown}.png to --out.

Differences from the published script (see README): the first network seed is drawn from
RandomState(--seed) instead of the unseeded global stream; validation and test frames run without
forward learning (the published script does not say); the networks are simulated together as one
ensemble.
"""
import argparse
import os
import sys

# One BLAS thread per simulation unless the user asks otherwise: the ensemble's many small
# products are slower with threads, and sweeps run one simulation per core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import time

import numpy as np

from numpy_model.circuit.activations import Population
from numpy_model.ensemble import Ensemble
from numpy_model.circuit.init import draw_network
from numpy_model.io import atomic_write_bytes, save_models
from numpy_model.params import validate
from numpy_model.models import compiled
from numpy_model.protocol import make_monitor, run_phase
from numpy_model.record import mse
from numpy_model.state import CLOSED_LOOP, Phase

PARAMS = {
    "mc_model": "errormc", "layers": [1, 2, 1], "error_layers": [0, 2, 1],
    "fw_connection_mode": "layered", "bw_connection_mode": "layered", "model_type": "BP",
    "WT_noise": 0.5, "dt": 0.01, "Tpres": 0.01, "settling_time": 0, "dataset_size": 1, "epochs": 10,
    "gl": 0.3, "gbas": 0.1, "gapi": 0.06, "gden": 0.1, "gnI": 0.06, "gntgt": 0.06,
    "eta_fw": [4000, 4000], "eta_IP": [0, 0], "eta_PI": [0, 0],
    "init_WPP_range": [-1, 1], "init_BII_range": [1, 1], "init_BPI_range": [-0.3, 0.3],
    "init_WIP_range": [-0.3, 0.3], "init_WIP_identity": True, "init_BPI_identity": True,
    "varphi_transfer": True, "dWPP_use_activation": False, "noise_type": None,
    "activation": ["soft_relu", "linear"], "error_activation": "linear",
    "rec_per_steps": 100, "rec_WPP": True, "rec_uP_breve": True, "rec_rP_breve": True,
    "rec_uI_breve": True, "rec_rI_breve": True, "rec_input": True, "rec_MSE": True,
    "random_seed": [0],
}
N_NETS, EPOCHS = 10, 10


def generate(n, seed, stim1=None, stim2=None):
    """Trials (§7.7): per sample Tdelay = integers(50, 250), then stim1 and stim2 = choice
    of +-1 (skipped if fixed). Input: zeros(750 + Tdelay), stim1 on [250, 500), stim2 from
    500 + Tdelay on. Target |stim1 + stim2| - 1 (+1 match, -1 non-match)."""
    rng = np.random.default_rng(seed)
    trials = []
    for _ in range(n):
        delay = rng.integers(50, 250)
        s1 = rng.choice([-1, 1]) if stim1 is None else stim1
        s2 = rng.choice([-1, 1]) if stim2 is None else stim2
        x = np.zeros(750 + delay)
        x[250:500] = s1
        x[500 + delay:] = s2
        trials.append((x, float(abs(s1 + s2) - 1)))
    return trials


def network_seeds(n, seed):
    """seed_i = i + G.randint(12345), G re-seeded with seed_i by each network's weight draws
    (§7.7); the first draw comes from RandomState(seed) (published: unseeded)."""
    P = validate(dict(PARAMS), "fw_only", warn=lambda m: None)
    G = np.random.RandomState(seed)
    seeds = []
    for i in range(n):
        s = i + int(G.randint(12345))
        seeds.append(s)
        G = np.random.RandomState(s)                  # the init re-seeds G and draws the weights
        _replay_weight_draws(G, P)
    return seeds


def _replay_weight_draws(G, P):
    """Advance G by the weight draws of one network (§5.3), as the published init does."""
    L = P["layers"]
    for i in range(len(L) - 1):
        G.uniform(size=(L[i + 1], L[i]))
    for i, m in enumerate(P["error_layers"][1:]):
        G.uniform(size=(m, L[i + 1]))
    for i, m in enumerate(P["error_layers"][1:]):
        G.uniform(size=(L[i + 1], m))
    for i in range(1, len(L) - 1):
        G.uniform(size=(L[i], L[i + 1]))


def build(seeds):
    """The DMS ensemble: voltages zero, rates from the instantaneous rep voltage, output
    activation tanh((x - 0.5) 20) whose derivative stays the linear one (§7.7)."""
    P = validate(dict(PARAMS, random_seed=list(seeds)), "fw_only", warn=lambda m: None)
    nets = []
    for s in seeds:
        net = draw_network("errormc", P, s)
        net.uP = [np.zeros_like(u) for u in net.uP]
        net.uI = [np.zeros_like(u) for u in net.uI]
        nets.append(net)
    ens = Ensemble.from_inits(nets, P, rate_target=True)
    ens = ens.vary(phiP=Population(["soft_relu", "dms_tanh"], ens.lay.p_sizes, d_names=["soft_relu", "linear"]),
                   rep_lookahead=np.zeros(ens.lay.NP, bool))
    return P, ens


def reset(ens):
    """Trial reset: uP <- uP_init = 0 (the DMS nets start at rest); uP_old and the error units
    are not reset (docs/model.md §7.7)."""
    ens.state.u[:, :ens.lay.NP] = 0.0
    ens.state.ub[:, :ens.lay.NP] = 0.0


def run_trial(ens, mon, x, y, train):
    """One trial for every network. Training: target nudging all trial long, lateral/BII
    refresh on, then one extra step on the last frame with forward learning. Validation/test:
    frames without target, then one extra step with the target for the MSE (no nudging).
    Each part is one protocol phase (one compiled call on numba)."""
    S = ens.S
    reset(ens)
    X = np.broadcast_to(np.asarray(x, float)[None, :, None], (S, len(x), 1))
    Y = np.full((S, len(x), 1), y)
    run_phase(ens, mon, X, Y if train else None, train, CLOSED_LOOP)
    if train:
        run_phase(ens, mon, X[:, -1:], Y[:, -1:], True, Phase(fw=True, lat=True))
        return None
    run_phase(ens, mon, X[:, -1:], None, False, CLOSED_LOOP)
    return mse(ens, Y[:, -1], True, True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join("experiments", "DMS_plots"))
    ap.add_argument("--seed", type=int, default=0, help="seed of the first network-seed draw")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 networks, 2 epochs, 4 trials")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--backend", choices=compiled.BACKENDS, default="auto",
                    help="numpy, numba (compiled), auto = numba when importable (default)")
    args = ap.parse_args(argv)
    n_nets, epochs, n_trials = (2, 2, 4) if args.quick else (N_NETS, EPOCHS, 50)
    os.makedirs(args.out, exist_ok=True)
    seeds = network_seeds(n_nets, args.seed)
    P, ens = build(seeds)
    use, why = compiled.resolve(args.backend)
    ens, fallback = compiled.choose(ens, use, "DMS networks")
    for warning in (why, fallback):
        if warning:
            print(f"warning: {warning}", flush=True)
    print(compiled.backend_line(ens.c.backend), flush=True)
    train, val, test = generate(n_trials, 42), generate(n_trials, 123456), generate(n_trials, 44)
    frames = sum(len(x) + 1 for x, _ in train + val) * epochs + sum(len(x) + 1 for x, _ in test)
    mon = make_monitor(ens, P, frames, rate_target=True)
    val_mse, test_mse = [], []
    t0 = time.time()
    for epoch in range(epochs):
        val_mse.append([run_trial(ens, mon, x, y, False) for x, y in val])
        for x, y in train:
            run_trial(ens, mon, x, y, True)
        acc = np.mean([[(m < 1.0) for m in row] for row in val_mse[-1]])
        print(f"[{time.time() - t0:6.1f}s] epoch {epoch + 1}/{epochs}: validation MSE "
              f"{np.mean(val_mse[-1]):.3f}, correct sign {100 * acc:.0f}%", flush=True)
    test_mse = [run_trial(ens, mon, x, y, False) for x, y in test]
    val_arr = np.array(val_mse)          # (epochs, trials, S)
    test_arr = np.array(test_mse)        # (trials, S)
    models = []
    from numpy_model.run import _saved
    for s in range(ens.S):
        m = _saved(ens, s, mon, P)
        m.MSE_val_time_series = [float(v) for v in val_arr[:, :, s].ravel()]
        m.MSE_test_time_series = [float(v) for v in test_arr[:, s]]
        m.uP_init = [np.zeros(n) for n in ens.lay.p_sizes]
        m.epochs, m.input_signal = epochs, None
        models.append(m)
    save_models(os.path.join(args.out, "model.pkl"), models)
    correct = np.mean(test_arr < 1.0)      # |r - y| < 1: the output has the target's sign
    print(f"test: MSE {test_arr.mean():.3f}, match/non-match correct {100 * correct:.1f}% "
          f"({test_arr.size} trials x networks)")
    if not args.no_plots:
        plot(models, val_arr, ens, args.out)
    return 0


def plot(models, val_arr, ens, out):
    """MSE_val.png and the example trials of network 0 (§7.7)."""
    import io

    from matplotlib.figure import Figure

    def save(fig, name):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=200, bbox_inches="tight")
        atomic_write_bytes(os.path.join(out, name), buf.getvalue())

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    med = np.median(val_arr, axis=1)            # (epochs, S)
    for s in range(med.shape[1]):
        ax.scatter(np.arange(1, med.shape[0] + 1), med[:, s], s=12, label=f"net {s}")
    ax.set_ylim(-0.1, 4.1)
    ax.set_xlabel("epoch (validation before training)")
    ax.set_ylabel("median validation MSE per trial")
    ax.set_title("DMS: validation error per network")
    save(fig, "MSE_val.png")
    net = ens  # example trials of network 0, without target or learning
    for name, (a, b) in {"upup": (1, 1), "updown": (1, -1), "downup": (-1, 1), "downdown": (-1, -1)}.items():
        x, y = generate(10, 44, a, b)[0]
        reset(net)
        rec = {"uP_h": [], "rP_h": [], "uP_o": [], "rP_o": []}
        for frame in x:
            net.step(np.full((net.S, 1), frame), None)
            rec["uP_h"].append(net.uPb[0, :2].copy())
            rec["rP_h"].append(net.rPb[0, :2].copy())
            rec["uP_o"].append(net.uPb[0, 2])
            rec["rP_o"].append(net.rPb[0, 2])
        fig = Figure(figsize=(6, 6))
        axs = fig.subplots(3, 1, sharex=True)
        t = np.arange(len(x)) * PARAMS["dt"]
        axs[0].plot(t, x, color="k")
        axs[0].set_ylabel("input")
        axs[1].plot(t, np.array(rec["rP_h"]))
        axs[1].set_ylabel("hidden rate (a.u.)")
        axs[2].plot(t, rec["rP_o"], label=r"output rate $\breve{r}_P$")
        axs[2].plot(t, rec["uP_o"], "--", label=r"output voltage $\breve{u}_P$")
        axs[2].scatter([t[-1]], [y], color="r", zorder=3, label="target")
        axs[2].set_ylabel("output (a.u.)")
        axs[2].set_xlabel("time (ms)")
        axs[2].legend(fontsize=7)
        axs[0].set_title(f"DMS example ({name}), network 0")
        save(fig, f"example_{name}.png")


if __name__ == "__main__":
    sys.exit(main())
