"""Metrics of a saved run: the summary in status.json, and the per-seed rows of collect."""
from ..timing import validation_epochs


def student_metrics(m):
    """Per-seed metrics: final test MSE (mean of MSE_test_time_series), the mean validation MSE of the
    last validation (the validation schedule of docs/model.md §7.2), and the time-mean update angle
    (nan_to_num of angle_BP_updates_time_series, averaged per layer, then over layers) if the run
    compared with backprop (§9.1)."""
    import numpy as np
    out = {"final_test_mse": None, "last_val_mse": None, "mean_update_angle": None,
           "update_angle_per_layer": None, "n_test_records": 0}

    def series(name):
        x = getattr(m, name, None)
        return np.zeros(0) if x is None else np.asarray(x, dtype=float).ravel()

    test = series("MSE_test_time_series")
    if test.size:
        out["final_test_mse"] = float(test.mean())
        out["n_test_records"] = int(test.size)
    val = series("MSE_val_time_series")
    n_val = len(validation_epochs(int(getattr(m, "epochs", 0) or 0)))
    if val.size and n_val:
        per = max(1, val.size // n_val)
        out["last_val_mse"] = float(val[-per:].mean())
    ang = getattr(m, "angle_BP_updates_time_series", None)
    if ang is not None and len(ang):
        a = np.nan_to_num(np.asarray(ang, dtype=float))
        per_layer = a.reshape(a.shape[0], -1).mean(axis=0)
        out["mean_update_angle"] = float(per_layer.mean())
        out["update_angle_per_layer"] = " ".join(f"{v:.6g}" for v in per_layer)
    return out


def students(models):
    return [m for m in models if not getattr(m, "is_teacher", False)]


def run_summary(pkl):
    """Summary of model.pkl for status.json: per-seed final test MSE and its mean/min/max."""
    from ..io import load_models
    studs = students(load_models(pkl))
    per = [student_metrics(m)["final_test_mse"] for m in studs]
    vals = [v for v in per if v is not None]
    return {"n_seeds": len(studs), "seeds": [getattr(m, "seed", None) for m in studs],
            "per_seed": per,
            "mean": sum(vals) / len(vals) if vals else None,
            "min": min(vals) if vals else None, "max": max(vals) if vals else None}
