"""Ensemble = sequential: seeds simulated together give each seed the same numbers as alone."""
import copy
import json
import os

import numpy as np
import pytest

from conftest import GOLDEN
from numpy_model.ensemble import Ensemble
from numpy_model.models import RATE_TARGET_DEFAULT
from numpy_model.params import validate
from numpy_model.protocol import run_students, run_teacher, steps_per_sample
from numpy_model.run import _teacher_params, build, effective_rate_target
from numpy_model.signals import step_inputs

pytestmark = pytest.mark.usefixtures("weight_storage")   # auto and per-block storage (conftest)

SEEDS = [56789, 12345, 23456]


def small(case, **over):
    with open(os.path.join(GOLDEN, case, "params.json")) as fh:
        raw = json.load(fh)
    raw.update(dict(random_seed=SEEDS, dataset_size=4, epochs=2, settling_time=0.1,
                    rec_per_steps=7, rec_uP=True, rec_uI=True))
    raw.update(over)
    return validate(raw, "fw_only", warn=lambda msg: None)


def run_group(P, students, data, targets):
    ens = Ensemble.from_inits(students, P, rate_target=effective_rate_target(P))
    run = run_students(ens, data, targets, P, "fw_only")
    return ens, run.mon


CASES = {
    "errormc_skip_realistic": ("emc_skip_8421", {}),
    "errormc_layered_FA": ("emc_skip_8421", dict(fw_connection_mode="layered", bw_connection_mode="layered",
                                                 init_realistic_connectivity=False, model_type="FA",
                                                 eta_IP=[0.1, 0.1, 0.1], activation_slope_std=0.2)),
    "sacramento2018": ("sac_8421", dict(eta_PI=[0.01, 0.01])),
    "dPC": ("dpc_8421", {}),
    "ann": ("ann_8421", dict(activation_offset_std=0.1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ensemble_equals_sequential(name):
    case, over = CASES[name]
    P = small(case, **over)
    students, teacher, t_seed = build(P, "fw_only")
    data = step_inputs(np.random.RandomState(t_seed), P["dataset_size"], steps_per_sample(P), P["layers"][0])
    Pt = _teacher_params(P)
    tens = Ensemble.from_inits([teacher], Pt, rate_target=RATE_TARGET_DEFAULT[teacher.kind])
    targets, _, _ = run_teacher(tens, data, Pt, effective_rate_target(P))
    together, mon_all = run_group(P, copy.deepcopy(students), data, targets)
    for s, net in enumerate(students):
        alone, mon_one = run_group(P, [copy.deepcopy(net)], data, targets)
        a, b = mon_all.seed_series(s), mon_one.seed_series(0)
        assert a.keys() == b.keys()
        for key in a:
            assert len(a[key]) == len(b[key]) > 0, key
            for ra, rb in zip(a[key], b[key]):
                ra, rb = (ra, rb) if isinstance(ra, list) else ([ra], [rb])
                for la, lb in zip(ra, rb):
                    np.testing.assert_allclose(la, lb, rtol=1e-12, atol=0, err_msg=f"seed {net.seed} {key}")
        for var in ("WPP", "WIP", "BPI", "uP", "uI"):
            for x, y in zip(together.layers_of(var), alone.layers_of(var)):
                np.testing.assert_allclose(x[s], y[0], rtol=1e-12, atol=0, err_msg=f"seed {net.seed} {var}")
        assert together.rngs[s].get_state()[2] == alone.rngs[0].get_state()[2]
