"""Published experiment configurations (docs/model.md §11), as params dicts."""
import copy
import json
import os

FIG3_NETS = ["2-1", "4-2-1", "8-4-2-1", "16-8-4-2-1", "32-16-8-4-2-1"]
FIG3_MODELS = ["ann", "errormc", "dPC", "sacramento2018"]
SEEDS = [56789, 12345, 23456, 34567, 76543, 111, 222, 333, 444, 555]

# §11.1 learning-rate table: net -> model -> eta_fw; and sacramento eta_IP = dPC eta_PI
_FIG3_ETA = {
    "2-1": {"ann": [1], "errormc": [1], "sac": [1], "lat": [0]},
    "4-2-1": {"ann": [2, 0.2], "errormc": [2, 0.2], "sac": [0.1, 0.02], "lat": [0.04]},
    "8-4-2-1": {"ann": [1, 0.2, 0.05], "errormc": [1, 0.2, 0.05], "sac": [0.1, 0.02, 0.002],
                "lat": [0.04, 0.004]},
    "16-8-4-2-1": {"ann": [2, 0.5, 0.1, 0.01], "errormc": [2, 0.5, 0.125, 0.03125],
                   "sac": [0.1, 0.01, 0.002, 0.001], "lat": [0.02, 0.004, 0.002]},
    "32-16-8-4-2-1": {"ann": [1, 0.2, 0.1, 0.05, 0.01], "errormc": [1, 0.2, 0.1, 0.05, 0.01],
                      "sac": [1, 0.2, 0.1, 0.05, 0.01], "lat": [0.4, 0.2, 0.1, 0.02]},
}


def _template(model):
    path = os.path.join(os.path.dirname(__file__), "data", "fig3", f"{model}.json")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def fig3_params(net, model, trained=True):
    """Params of experiments/Fig3_multilayer_comparison/<net>/<model or untrained_model>."""
    p = copy.deepcopy(_template(model))
    layers = [int(v) for v in net.split("-")]
    L = len(layers)
    p["layers"] = layers
    p["error_layers"] = [0] + layers[1:]
    eta = _FIG3_ETA[net]
    zeros = [0] * (L - 1)
    if model in ("ann", "errormc"):
        p["eta_fw"] = list(eta[model])
        p["eta_IP"], p["eta_PI"] = list(zeros), list(zeros)
    else:
        p["eta_fw"] = list(eta["sac"])
        lat = list(eta["lat"]) if L > 2 else [0]
        none = [0] * max(L - 2, 1)
        p["eta_IP"], p["eta_PI"] = (lat, none) if model == "sacramento2018" else (none, lat)
    if "alpha" in p:
        p["alpha"] = [1e-06] * (L - 1)
    if not trained:
        p["epochs"] = 1
        p["eta_fw"] = [0] * (L - 1)
        p["eta_IP"] = [0] * len(p["eta_IP"])
        p["eta_PI"] = [0] * len(p["eta_PI"])
    return p


# ==============================================================================================
# Every figure's sweep: one description (base params + swept values) per figure, expanded into
# the published experiments/ layout by `python -m numpy_model.sweep expand` (§11).
# ==============================================================================================

FIG3_ARGS = ["--task", "fw_only", "--compare", "BP"]      # as run_Fig3_multilayer_comparison.sh


class RunSpec:
    """One run folder of a figure: `path` relative to the experiments root, its params dict, the
    runner arguments, the params file name, and the swept values that make this run."""

    def __init__(self, path, params, args=(), values=None, params_file="params.json"):
        self.path = path
        self.params = params
        self.args = list(args)
        self.values = dict(values or {})
        self.params_file = params_file

    def __repr__(self):
        return f"RunSpec({self.path!r}, {self.values})"


class Figure:
    """A figure's sweep. `base` documents the shared params, `swept` the swept values (both are
    written to experiments/sweeps/<name>/sweep.json); `runs()` expands them in the published
    order. `alias_of` names a figure whose runs this one reuses."""

    def __init__(self, name, title, spec, roots, base, swept, build, notes=(), script=None,
                 alias_of=None):
        self.name, self.title, self.spec = name, title, spec
        self.roots, self.base, self.swept = list(roots), base, swept
        self._build = build
        self.notes = list(notes)
        self.script = script
        self.alias_of = alias_of

    def runs(self):
        return self._build()

    def describe(self):
        return {"figure": self.name, "title": self.title, "spec": self.spec, "roots": self.roots,
                "alias_of": self.alias_of, "notes": self.notes, "script": self.script,
                "base": self.base, "swept": self.swept}


# --- Fig 3 (§11.1) ---------------------------------------------------------------------------

def fig3_runs(nets=None, models=None):
    """Fig3_multilayer_comparison/<net>/<model> and .../untrained_<model>, nets x models."""
    runs = []
    for net in nets or FIG3_NETS:
        for model in models or FIG3_MODELS:
            for trained in (True, False):
                name = model if trained else f"untrained_{model}"
                runs.append(RunSpec(f"Fig3_multilayer_comparison/{net}/{name}",
                                    fig3_params(net, model, trained), FIG3_ARGS,
                                    {"net": net, "model": model, "trained": trained}))
    return runs


# --- Fig 2a (§11.2) --------------------------------------------------------------------------

FIG2A_BASE = {
    "mc_model": "errormc", "model_type": "BP", "WT_noise": 0,
    "layers": [4, 4, 1], "error_layers": [0, 4, 1],
    "fw_connection_mode": "layered", "bw_connection_mode": "layered",
    "error_activation": "linear",
    "gl": 0.03, "gbas": 0.1, "gapi": 0.0006, "gden": 0.1, "gnI": 0.06, "gntgt": 0.06,
    "dt": 0.01, "Tpres": 1, "dataset_size": 500, "epochs": 5, "settling_time": 20,
    "eta_IP": [0, 0], "eta_PI": [0, 0],
    "init_WPP_range": [-1, 1], "init_BII_range": [1, 1],
    "init_teacher_WPP_range": [-3, 3], "init_teacher_BII_range": [1, 1],
    "init_WIP_identity": True, "init_BPI_identity": True,
    "input_signal": "cartpole", "target_rescale_factor": 76.6,
    "random_seed": SEEDS, "rec_per_steps": 10000, "rec_WPP": True, "rec_MSE": True,
}
FIG2A_VARIANTS = {
    "ideal": {"activation": ["linear", "linear"], "eta_fw": [1, 0.5],
              "init_WIP_range": [0, 0], "init_BPI_range": [0, 0]},
    "tanh": {"activation": ["tanh", "linear"], "eta_fw": [1.5, 0.75],
             "init_WIP_range": [-0.3, 0.3], "init_BPI_range": [-0.3, 0.3]},
}


def fig2a_params(variant):
    p = copy.deepcopy(FIG2A_BASE)
    p.update(copy.deepcopy(FIG2A_VARIANTS[variant]))
    return p


def fig2a_runs():
    return [RunSpec(f"Fig2a_cartpole_{v}_emc", fig2a_params(v), [], {"variant": v},
                    params_file="params_errormc.json") for v in FIG2A_VARIANTS]


# --- Fig 4 (§11.3) ---------------------------------------------------------------------------

FIG4_N_R = [50, 100, 500, 1000]
FIG4_N_E = [50, 100, 500, 1000]
FIG4_BASE = {
    "mc_model": "errormc", "model_type": "BP", "WT_noise": 0.5,
    "fw_connection_mode": "layered", "bw_connection_mode": "layered",
    "init_realistic_connectivity": False,
    "input_signal": "genMNIST", "layers": [10, "n_R", 784], "error_layers": [0, "n_E", 784],
    "activation": "logistic", "activation_slope": [1, 1], "error_activation": "linear",
    "gl": 0.03, "gbas": 0.1, "gapi": 0.06, "gden": 0.1, "gnI": 0.06, "gntgt": 0.06,
    "eta_fw": [1.0, 0.1], "eta_IP": [0, 0], "eta_PI": [0, 0],
    "init_WPP_range": [-0.1, 0.1], "init_BII_range": [-0.1, 0.1],
    "init_WIP_range": [-0.03, 0.03], "init_BPI_range": [-0.03, 0.03],
    "init_WIP_identity": True, "init_BPI_identity": True,
    "dt": 0.01, "Tpres": 0.2, "dataset_size": 10, "epochs": 1000, "settling_time": 1,
    "rec_per_steps": 500, "rec_MSE": True, "rec_rate_MSE": True,
    "random_seed": ["seed"],
}


def fig4_params(n_R, n_E, seed):
    p = copy.deepcopy(FIG4_BASE)
    p["layers"] = [10, n_R, 784]
    p["error_layers"] = [0, n_E, 784]
    p["random_seed"] = [seed]
    return p


def fig4_runs():
    """Fig4_populations/runs/lr{i}, i = 10*(4a + b) + s (§11.3): 160 runs, lr0 ... lr159."""
    runs = []
    for a, n_R in enumerate(FIG4_N_R):
        for b, n_E in enumerate(FIG4_N_E):
            for s, seed in enumerate(SEEDS):
                i = 10 * (len(FIG4_N_E) * a + b) + s
                runs.append(RunSpec(f"Fig4_populations/runs/lr{i}", fig4_params(n_R, n_E, seed), [],
                                    {"lr": i, "n_R": n_R, "n_E": n_E, "seed": seed}))
    return runs


# --- Fig 5 (§11.4) ---------------------------------------------------------------------------

FIG5_SIGMAS = [0.1, 0.3, 0.5, 1.0]        # slope std = offset std, groups lr0-9 ... lr30-39
FIG5_N = 1000                             # n_R = n_E


def fig5_params(noise_on, sigma, seed):
    """noise_on "rep": per-neuron slope/offset noise on the representation units (published);
    "error": the same noise on the error units (new keys error_activation_*_std; the published
    files put it on the representation units, §12.19); "none": the Fig 4 1000/1000 baseline."""
    p = fig4_params(FIG5_N, FIG5_N, seed)
    if noise_on == "rep":
        p["activation_slope_std"] = p["activation_offset_std"] = sigma
    elif noise_on == "error":
        p["error_activation_slope_std"] = p["error_activation_offset_std"] = sigma
    elif noise_on != "none":
        raise ValueError(f"noise_on: expected 'rep', 'error' or 'none', got {noise_on!r}")
    return p


def fig5_runs():
    runs = []
    for where, root in (("rep", "Fig5_rep_unit_noise"), ("error", "Fig5_error_unit_noise")):
        groups = [(where, s) for s in FIG5_SIGMAS]
        if where == "rep":
            groups.append(("none", 0.0))                 # lr40-49: copies of Fig4 lr150-159
        for g, (noise_on, sigma) in enumerate(groups):
            for s, seed in enumerate(SEEDS):
                i = 10 * g + s
                runs.append(RunSpec(f"{root}/runs/lr{i}", fig5_params(noise_on, sigma, seed), [],
                                    {"lr": i, "noise_on": noise_on, "sigma_act": sigma, "seed": seed}))
    return runs


# --- Appendix figures (their folders are missing from the published repo) -------------------------

def figA2_runs():
    """Assumption: "ideal lateral inhibition" = errormc's lateral weights WIP and BPI exactly the
    identity (init ranges [0, 0] plus the identity) and not learned (eta_IP = eta_PI = 0), all else
    as Fig 3; errormc only (the other models have no parameter that keeps their lateral weights ideal,
    their Fig 3 runs serve as the comparison)."""
    runs = []
    for net in FIG3_NETS:
        for trained in (True, False):
            p = fig3_params(net, "errormc", trained)
            p["init_WIP_range"] = [0, 0]
            p["init_BPI_range"] = [0, 0]
            name = "errormc" if trained else "untrained_errormc"
            runs.append(RunSpec(f"FigA2_multilayer_comparison_ideal_lat_inh/{net}/{name}", p, FIG3_ARGS,
                                {"net": net, "model": "errormc", "trained": trained}))
    return runs


def figC1_runs():
    """FigC1_dPC_linear/<net>/dPC: the Fig 3 dPC runs (trained). The notebook's other variants
    (dPC_nonlin_noUS, dPC_nonlin_US) need nonlinear dPC students, which the published code (and this
    one) forces to linear, so they are left out."""
    return [RunSpec(f"FigC1_dPC_linear/{net}/dPC", fig3_params(net, "dPC", True), FIG3_ARGS,
                    {"net": net, "variant": "dPC_linear"}) for net in FIG3_NETS]


_FIG3_SWEPT = {"net": FIG3_NETS, "model": FIG3_MODELS, "trained": [True, False],
               "eta_fw / eta_IP / eta_PI per net and model": _FIG3_ETA, "random_seed": SEEDS}

FIGURES = {f.name: f for f in [
    Figure("Fig2a", "closed-loop cart-pole, ideal vs tanh error-MC", "§11.2",
           ["Fig2a_cartpole_ideal_emc", "Fig2a_cartpole_tanh_emc"], FIG2A_BASE,
           {"variant": FIG2A_VARIANTS}, fig2a_runs, script="run_Fig2a_cartpole.sh",
           notes=["teacher WIP/BPI ranges are not listed in §11.2: they fall back to the students'"]),
    Figure("Fig3", "multilayer comparison of errormc, sacramento2018, dPC, ann", "§11.1",
           ["Fig3_multilayer_comparison"], {m: f"numpy_model/data/fig3/{m}.json" for m in FIG3_MODELS},
           _FIG3_SWEPT, fig3_runs, script="run_Fig3_multilayer_comparison.sh",
           notes=["untrained runs: all learning rates 0, epochs 1; every run with --task fw_only --compare BP"]),
    Figure("FigA1", "multilayer comparison, appendix version", "§10.2 (Fig3 / FigA1)",
           ["Fig3_multilayer_comparison"], {}, {}, fig3_runs, alias_of="Fig3",
           script="run_FigA1_multilayer_comparison.sh",
           notes=["assumption: the published notebook draws Fig 3 and Fig A1 from the same runs "
                  "(Fig3_multilayer_comparison, §10.2), so Fig A1 reuses the Fig 3 sweep"]),
    Figure("FigA2", "multilayer comparison with ideal lateral inhibition (errormc)", "§10.2",
           ["FigA2_multilayer_comparison_ideal_lat_inh"],
           {"errormc": "Fig 3 errormc params with init_WIP_range = init_BPI_range = [0, 0]"},
           {"net": FIG3_NETS, "model": ["errormc"], "trained": [True, False]}, figA2_runs,
           script="run_FigA2_multilayer_comparison_ideal_lat_inh.sh",
           notes=["assumption: ideal lateral inhibition = errormc's WIP and BPI exactly the identity "
                  "(init ranges [0, 0] plus the identity, eta_IP = eta_PI = 0), all else as Fig 3; errormc "
                  "only, the other models' Fig 3 runs are the comparison"]),
    Figure("FigC1", "dendritic PC variants", "§10.2",
           ["FigC1_dPC_linear"], {"dPC_linear": "Fig 3 dPC params (trained)"},
           {"net": FIG3_NETS, "variant": ["dPC_linear"]}, figC1_runs, script="run_FigC1_comparison_dPC.sh",
           notes=["dPC_nonlin_noUS and dPC_nonlin_US are left out: they need nonlinear dPC students, "
                  "which the published code and this one force to linear"]),
    Figure("Fig4", "representation vs error population sizes (genMNIST)", "§11.3",
           ["Fig4_populations"], FIG4_BASE,
           {"n_R": FIG4_N_R, "n_E": FIG4_N_E, "random_seed": SEEDS,
            "index": "lr{10*(4*a + b) + s} for n_R[a], n_E[b], seed[s]"}, fig4_runs,
           script="run_Fig4_populations.sh"),
    Figure("Fig5", "activation noise on representation vs error units (genMNIST)", "§11.4",
           ["Fig5_rep_unit_noise", "Fig5_error_unit_noise"],
           {"n_R = n_E": FIG5_N, "else": "Fig 4 base"},
           {"sigma_act (slope std = offset std)": FIG5_SIGMAS, "random_seed": SEEDS,
            "rep": "lr0-39 activation_*_std = sigma per group of 10, lr40-49 no noise (Fig 4 lr150-159)",
            "error": "lr0-39 error_activation_*_std = sigma per group of 10"}, fig5_runs,
           script="run_Fig5_noise.sh",
           notes=["fix: the published error-unit runs are copies of the rep-unit runs; here the noise is "
                  "on the error units (error_activation_slope_std / error_activation_offset_std)"]),
]}


def figure_runs(name):
    """The RunSpecs of figure `name` (a key of FIGURES)."""
    return FIGURES[name].runs()
