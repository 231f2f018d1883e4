"""Published experiment configurations (SPEC 11), as params dicts."""
import copy
import json
import os

FIG3_NETS = ["2-1", "4-2-1", "8-4-2-1", "16-8-4-2-1", "32-16-8-4-2-1"]
FIG3_MODELS = ["ann", "errormc", "dPC", "sacramento2018"]
SEEDS = [56789, 12345, 23456, 34567, 76543, 111, 222, 333, 444, 555]

# SPEC 11.1 learning-rate table: net -> model -> eta_fw; and sacramento eta_IP = dPC eta_PI
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
