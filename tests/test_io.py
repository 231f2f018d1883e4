"""model.pkl bytes: a plain (C) pickle when possible, dill as the fallback; both load with dill."""
import io

import dill
import numpy as np

from numpy_model.io import Network, dump, load, load_models, save_models


def test_plain_pickle_loads_with_dill_and_keeps_every_value(tmp_path):
    net = Network(WPP=[np.arange(6.0).reshape(2, 3)], angle_BP_updates_time_series=[[0.0, 1.5], [2.0, np.nan]],
                  rng=np.random.default_rng(3), mc_model="errormc", layers=[3, 2], seed=1)
    path = tmp_path / "model.pkl"
    save_models(path, [net])
    assert path.read_bytes()[:2] == b"\x80\x05"      # protocol 5: arrays without an extra copy
    with open(path, "rb") as fh:
        back = dill.load(fh)[0]
    np.testing.assert_array_equal(back.WPP[0], net.WPP[0])
    np.testing.assert_array_equal(np.array(back.angle_BP_updates_time_series),
                                  np.array(net.angle_BP_updates_time_series))
    assert back.rng.random() == np.random.default_rng(3).random()
    assert load_models(path)[0].seed == 1


def dumps(obj):
    buf = io.BytesIO()
    dump(obj, buf)
    return buf.getvalue()


def test_what_only_dill_can_pickle_falls_back_to_dill(tmp_path):
    net = Network(WPP=[np.ones((1, 1))], hook=lambda x: x + 1)     # a lambda: plain pickle refuses
    data = dumps([net])
    assert load(io.BytesIO(data))[0].hook(1) == 2
    assert dill.loads(data)[0].hook(2) == 3


def test_dill_fallback_rewrites_the_file_from_its_start(tmp_path):
    """The C pickler fails part-way (a lambda after a large array): the file then holds dill's
    pickle alone, not the plain pickler's partial output followed by it."""
    big = np.arange(10 ** 5, dtype=float)
    net = Network(WPP=[big], hook=lambda x: x * 2)
    path = tmp_path / "model.pkl"
    save_models(path, [net])
    assert path.read_bytes() == dumps([net])
    back = load_models(path)[0]
    np.testing.assert_array_equal(back.WPP[0], big)
    assert back.hook(4) == 8
    assert not list(tmp_path.glob(".tmp-*"))


def test_stale_temporary_files_are_removed_and_fresh_ones_kept(tmp_path):
    """What a write killed before its rename left (`.tmp-*model.pkl`) goes; a temporary file newer
    than `older_than` (another writer's, just begun) stays."""
    import os
    import time
    from numpy_model.io import remove_stale_temps
    old, new, other = (tmp_path / ".tmp-abcmodel.pkl", tmp_path / ".tmp-defmodel.pkl",
                       tmp_path / ".tmp-ghiresults.npz")
    for p in (old, new, other):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 100, time.time() - 100))
    remove_stale_temps(tmp_path / "model.pkl", older_than=time.time() - 50)
    assert not old.exists() and new.exists() and other.exists()
    remove_stale_temps(tmp_path / "model.pkl")
    assert not new.exists() and other.exists()
