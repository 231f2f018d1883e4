"""Figure 3 configurations against docs/model.md §11.1."""
import pytest

from numpy_model.experiments import FIG3_MODELS, FIG3_NETS, SEEDS, fig3_params
from numpy_model.params import validate


@pytest.mark.parametrize("net", FIG3_NETS)
@pytest.mark.parametrize("model", FIG3_MODELS)
def test_fig3_params_are_valid_and_published(net, model):
    p = validate(fig3_params(net, model), "fw_only", warn=lambda m: None)
    assert p["layers"] == [int(v) for v in net.split("-")]
    assert p["error_layers"] == [0] + p["layers"][1:]
    assert p["random_seed"] == SEEDS
    assert (p["epochs"], p["dataset_size"], p["settling_time"], p["rec_per_steps"]) == (1000, 100, 20, 2000)
    assert (p["dt"], p["Tpres"], p["gl"], p["gbas"], p["gapi"], p["gden"], p["gnI"], p["gntgt"]) == \
        (0.01, 0.2, 0.03, 0.1, 0.06, 0.1, 0.06, 0.06)
    assert p["model_type"] == "BP" and p["WT_noise"] == 0.5 and p["activation"] == "tanh"
    assert p["teacher_mc_model"] == "ann" and p["init_in_SPS"] is True
    untrained = validate(fig3_params(net, model, trained=False), "fw_only", warn=lambda m: None)
    assert untrained["epochs"] == 1 and not any(untrained["eta_fw"])


def test_fig3_learning_rates():
    assert fig3_params("16-8-4-2-1", "ann")["eta_fw"] == [2, 0.5, 0.1, 0.01]
    assert fig3_params("16-8-4-2-1", "errormc")["eta_fw"] == [2, 0.5, 0.125, 0.03125]
    assert fig3_params("8-4-2-1", "dPC")["eta_fw"] == [0.1, 0.02, 0.002]
    assert fig3_params("8-4-2-1", "dPC")["eta_PI"] == [0.04, 0.004]
    assert fig3_params("32-16-8-4-2-1", "sacramento2018")["eta_IP"] == [0.4, 0.2, 0.1, 0.02]
    assert fig3_params("2-1", "sacramento2018")["eta_IP"] == [0]
    p = fig3_params("8-4-2-1", "errormc")
    assert p["fw_connection_mode"] == p["bw_connection_mode"] == "skip"
    assert p["init_realistic_connectivity"] and p["eta_fw_conversion"] == "fill_scaled"
    assert p["rec_BII"] and p["rec_uP_breve"] and p["rec_uI_breve"] and not p["rec_BPP"]
    assert fig3_params("8-4-2-1", "sacramento2018")["dWPP_use_activation"] is True
