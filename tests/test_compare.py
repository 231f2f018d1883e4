"""--compare BP on every model kind and connection mode: shapes, ranges, and analytic cases."""
import json
import os

import numpy as np
import pytest

from conftest import GOLDEN
from numpy_model.analysis.compare import cos, deg
from numpy_model.params import validate
from numpy_model.run import simulate


def params(case, **over):
    with open(os.path.join(GOLDEN, case, "params.json")) as fh:
        raw = json.load(fh)
    raw.update(dict(random_seed=[5, 6], dataset_size=3, epochs=2, settling_time=0.2, rec_per_steps=10,
                    rec_uP_breve=True, rec_uI_breve=True, rec_vbas=True, rec_WPP=True, rec_WIP=True,
                    rec_BPI=True))
    raw.update(over)
    return validate(raw, "fw_only", warn=lambda m: None)


CASES = {
    "errormc_skip": ("emc_skip_8421", {}, ["angle_BP_updates_time_series", "angle_WPPT_BII_time_series"]),
    "errormc_layered": ("emc_skip_8421", dict(fw_connection_mode="layered", bw_connection_mode="layered",
                                              init_realistic_connectivity=False),
                        ["angle_BP_updates_time_series", "angle_WPPT_BII_time_series", "angle_BII_RHS_time_series"]),
    "sacramento2018": ("sac_8421", {}, ["angle_BP_updates_time_series", "angle_WPPT_BPP_time_series",
                                        "angle_jacobians_BP_time_series", "angle_BPP_RHS_time_series"]),
    "dPC": ("dpc_8421", {}, ["angle_BP_updates_time_series", "angle_WPPT_BPP_time_series"]),
    "ann": ("ann_8421", {}, ["angle_BP_updates_time_series"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compare_produces_every_angle_series(name):
    case, over, expected = CASES[name]
    P = params(case, **over)
    models = simulate(P, "fw_only", compare="BP")
    students = models[1:]
    T = int(P["Tpres"] / P["dt"])
    TPRE = int(P["settling_time"] / P["dt"] / P["rec_per_steps"])
    R = len(students[0].WPP_time_series)
    L = len(P["layers"])
    for m in students:
        present = sorted(k for k in vars(m) if k.startswith("angle_"))
        assert present == sorted(expected)
        upd = np.array(m.angle_BP_updates_time_series)
        assert upd.shape == ((R - TPRE) * P["dataset_size"], L - 1)
        assert np.all((upd[~np.isnan(upd)] >= 0) & (upd[~np.isnan(upd)] <= 180))
        for k in expected[1:]:
            a = np.array(getattr(m, k))
            assert a.shape[0] == R and np.all((a >= 0) & (a <= 180))
    upd0 = np.array(students[0].angle_BP_updates_time_series)
    if name == "ann":
        # the ann's error units carry exactly the backprop deltas: its updates are backprop's
        assert np.nanmax(upd0) == 0.0
    else:
        assert not np.allclose(upd0, np.array(students[1].angle_BP_updates_time_series))
    assert T > 0


def test_angle_helpers_analytic():
    A = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    assert deg(cos(A, A))[0] == 0.0
    assert deg(cos(A, -A))[0] == pytest.approx(180.0)
    B = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    assert deg(cos(A, B))[0] == pytest.approx(90.0)
    assert np.isnan(cos(A, np.zeros_like(A)))[0]
    # |1 - c| < 1e-6 counts as exactly parallel (docs/model.md §9)
    assert deg(1 - 5e-7) == 0.0 and deg(1 - 2e-6) > 0


