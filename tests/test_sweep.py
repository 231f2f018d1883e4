"""Sweeps (numpy_model.sweep): expansion against docs/model.md §11, and the run manager on tiny run folders
(status, logs, failure isolation, rerun --failed, collect, killed runs, at most -j N at a time)."""
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import dill
import numpy as np

import numpy_model
import pytest

from conftest import ROOT
from numpy_model import experiments as ex
from numpy_model import params as params_mod
from numpy_model import sweep
from numpy_model.params import ParamsError, validate

SEEDS = [56789, 12345, 23456, 34567, 76543, 111, 222, 333, 444, 555]
TINY = {"mc_model": "errormc", "teacher_mc_model": "ann", "layers": [3, 2, 1], "dataset_size": 2,
        "epochs": 1, "settling_time": 0, "random_seed": [1, 2], "rec_per_steps": 10, "rec_MSE": True}
BAD = {"mc_model": "errormc", "layerz": [3, 1]}


def quiet(msg):
    pass


def sweep_cli(*args, cwd=ROOT, timeout=300):
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "numpy_model.sweep", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def make_runs(base, names, params=TINY, bad=()):
    dirs = []
    for name in names:
        d = os.path.join(base, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "params.json"), "w") as fh:
            json.dump(BAD if name in bad else params, fh)
        dirs.append(d)
    return dirs


def status(d):
    with open(os.path.join(d, "status.json")) as fh:
        return json.load(fh)


def by_path(runs):
    return {r.path: r for r in runs}


# ------------------------------------------------------------------------------------------------
# expansion vs docs/model.md §11
# ------------------------------------------------------------------------------------------------

def test_fig4_grid():
    runs = ex.figure_runs("Fig4")
    assert [r.path for r in runs] == [f"Fig4_populations/runs/lr{i}" for i in range(160)]
    sizes = [50, 100, 500, 1000]
    for i, r in enumerate(runs):
        a, rest = divmod(i, 40)
        b, s = divmod(rest, 10)
        p = r.params
        assert p["layers"] == [10, sizes[a], 784] and p["error_layers"] == [0, sizes[b], 784]
        assert p["random_seed"] == [SEEDS[s]]
        assert r.values == {"lr": i, "n_R": sizes[a], "n_E": sizes[b], "seed": SEEDS[s]}
        assert r.args == [] and r.params_file == "params.json"
    p = runs[0].params
    assert (p["mc_model"], p["input_signal"], p["activation"], p["error_activation"]) == \
        ("errormc", "genMNIST", "logistic", "linear")
    assert p["fw_connection_mode"] == p["bw_connection_mode"] == "layered"
    assert p["activation_slope"] == [1, 1] and p["model_type"] == "BP" and p["WT_noise"] == 0.5
    assert p["eta_fw"] == [1.0, 0.1] and p["eta_IP"] == p["eta_PI"] == [0, 0]
    assert p["init_WPP_range"] == p["init_BII_range"] == [-0.1, 0.1]
    assert p["init_WIP_range"] == p["init_BPI_range"] == [-0.03, 0.03]
    assert p["init_WIP_identity"] and p["init_BPI_identity"]
    assert (p["dataset_size"], p["epochs"], p["settling_time"], p["Tpres"], p["dt"], p["rec_per_steps"]) == \
        (10, 1000, 1, 0.2, 0.01, 500)
    assert p["rec_MSE"] and p["rec_rate_MSE"]
    # only layers, error_layers and random_seed differ between runs (§11.3)
    for r in runs:
        diff = {k for k in set(p) | set(r.params) if p.get(k) != r.params.get(k)}
        assert diff <= {"layers", "error_layers", "random_seed"}
    for r in runs[::7]:
        validate(r.params, "fw_only", warn=quiet)


def test_fig5_noise_levels_and_seeds(monkeypatch):
    runs = by_path(ex.figure_runs("Fig5"))
    rep = [runs[f"Fig5_rep_unit_noise/runs/lr{i}"] for i in range(50)]
    err = [runs[f"Fig5_error_unit_noise/runs/lr{i}"] for i in range(40)]
    assert len(runs) == 90                       # published scripts: 51 + 41 with one missing index each
    fig4 = by_path(ex.figure_runs("Fig4"))
    for i, r in enumerate(rep):
        g, s = divmod(i, 10)
        p = r.params
        assert p["layers"] == [10, 1000, 784] and p["error_layers"] == [0, 1000, 784]
        assert p["random_seed"] == [SEEDS[s]]
        assert "error_activation_slope_std" not in p and "error_activation_offset_std" not in p
        if g < 4:
            sigma = [0.1, 0.3, 0.5, 1.0][g]
            assert p["activation_slope_std"] == p["activation_offset_std"] == sigma
        else:                                     # lr40-49: the Fig 4 1000/1000 baseline, lr150-159
            assert "activation_slope_std" not in p and "activation_offset_std" not in p
            assert p == fig4[f"Fig4_populations/runs/lr{150 + s}"].params
    for i, r in enumerate(err):
        g, s = divmod(i, 10)
        p = r.params
        sigma = [0.1, 0.3, 0.5, 1.0][g]
        assert p["error_activation_slope_std"] == p["error_activation_offset_std"] == sigma
        assert "activation_slope_std" not in p and "activation_offset_std" not in p
        assert p["random_seed"] == [SEEDS[s]]
        assert r.values["noise_on"] == "error" and r.values["sigma_act"] == sigma
        # the published error-unit files were copies of the rep-unit ones; these differ
        assert p != rep[i].params
    # error-unit noise: validated (and refused if the simulator did not apply it)
    for r in err[::9] + rep[::9]:
        validate(r.params, "fw_only", warn=quiet)
    monkeypatch.setattr(params_mod, "ERROR_UNIT_NOISE_SIMULATED", False)
    with pytest.raises(ParamsError, match="error_activation_slope_std.*not available yet"):
        validate(err[0].params, "fw_only", warn=quiet)
    monkeypatch.setattr(params_mod, "ERROR_UNIT_NOISE_SIMULATED", True)
    with pytest.raises(ParamsError, match="error_activation_offset_std"):
        validate(dict(err[0].params, error_activation_offset_std=-1), "fw_only", warn=quiet)
    msgs = []
    validate(dict(TINY, error_activation_slope_std=0.1, mc_model="ann"), "fw_only", warn=msgs.append)
    assert any("only errormc has error units" in m for m in msgs)


def test_fig3_nets_and_models():
    runs = ex.figure_runs("Fig3")
    assert len(runs) == 40
    expected = [f"Fig3_multilayer_comparison/{net}/{pre}{model}"
                for net in ["2-1", "4-2-1", "8-4-2-1", "16-8-4-2-1", "32-16-8-4-2-1"]
                for model in ["ann", "errormc", "dPC", "sacramento2018"] for pre in ("", "untrained_")]
    assert [r.path for r in runs] == expected
    for r in runs:
        net, model, trained = r.values["net"], r.values["model"], r.values["trained"]
        assert r.params == ex.fig3_params(net, model, trained)
        assert r.args == ["--task", "fw_only", "--compare", "BP"]
        assert r.params["random_seed"] == SEEDS
    # FigA1 reuses the Fig 3 runs
    assert [r.path for r in ex.figure_runs("FigA1")] == expected


def test_fig2a_and_appendix_figures():
    runs = by_path(ex.figure_runs("Fig2a"))
    ideal = runs["Fig2a_cartpole_ideal_emc"]
    tanh = runs["Fig2a_cartpole_tanh_emc"]
    assert ideal.params_file == tanh.params_file == "params_errormc.json"
    for r in (ideal, tanh):
        p = r.params
        assert p["layers"] == [4, 4, 1] and p["error_layers"] == [0, 4, 1] and p["input_signal"] == "cartpole"
        assert (p["gapi"], p["Tpres"], p["dataset_size"], p["epochs"], p["settling_time"]) == (0.0006, 1, 500, 5, 20)
        assert p["WT_noise"] == 0 and p["init_BII_range"] == [1, 1] and p["init_teacher_WPP_range"] == [-3, 3]
        assert p["target_rescale_factor"] == 76.6 and p["rec_per_steps"] == 10000 and "rec_rate_MSE" not in p
        assert p["random_seed"] == SEEDS
        validate(p, "fw_only", warn=quiet)
    assert ideal.params["activation"] == ["linear", "linear"] and ideal.params["eta_fw"] == [1, 0.5]
    assert ideal.params["init_WIP_range"] == [0, 0]
    assert tanh.params["activation"] == ["tanh", "linear"] and tanh.params["eta_fw"] == [1.5, 0.75]
    assert tanh.params["init_BPI_range"] == [-0.3, 0.3]

    a2 = ex.figure_runs("FigA2")
    assert len(a2) == 10
    for r in a2:
        assert r.path.startswith("FigA2_multilayer_comparison_ideal_lat_inh/")
        assert r.params["init_WIP_range"] == r.params["init_BPI_range"] == [0, 0]
        assert r.params["init_WIP_identity"] and r.params["init_BPI_identity"]
        assert not any(r.params["eta_IP"]) and not any(r.params["eta_PI"])
        validate(r.params, "fw_only", warn=quiet)
    c1 = ex.figure_runs("FigC1")
    assert [r.path for r in c1] == [f"FigC1_dPC_linear/{n}/dPC" for n in ex.FIG3_NETS]
    assert all(r.params == ex.fig3_params(r.values["net"], "dPC") for r in c1)


def test_expand_writes_the_published_layout(tmp_path):
    root = str(tmp_path / "experiments")
    res = sweep_cli("expand", "Fig4", "Fig2a", "--root", root)
    assert res.returncode == 0, res.stderr
    assert "Fig4: 160 runs" in res.stdout and "(160 written, 0 unchanged)" in res.stdout
    lr = sorted(os.listdir(os.path.join(root, "Fig4_populations", "runs")))
    assert sorted(lr) == sorted(f"lr{i}" for i in range(160))       # lr0 ... lr159, no lr160
    with open(os.path.join(root, "Fig4_populations", "runs", "lr57", "params.json")) as fh:
        assert json.load(fh) == ex.fig4_params(100, 100, SEEDS[7])   # 57 = 10*(4*1 + 1) + 7
    assert os.path.isfile(os.path.join(root, "Fig2a_cartpole_tanh_emc", "params_errormc.json"))
    with open(os.path.join(root, "sweeps", "Fig4", "sweep.json")) as fh:
        desc = json.load(fh)
    assert desc["swept"]["n_R"] == [50, 100, 500, 1000] and len(desc["runs"]) == 160
    again = sweep_cli("expand", "Fig4", "--root", root)
    assert "(0 written, 160 unchanged)" in again.stdout
    st = sweep_cli("status", "Fig4", "--root", root)
    assert st.returncode == 0 and "160 pending" in st.stdout
    assert sweep_cli("expand", "Fig99", "--root", root).returncode == 2
    assert sweep_cli("status", "Fig3", "--root", root).stdout.count("not expanded") >= 40


@pytest.mark.parametrize("script,figure", [
    ("run_Fig3_multilayer_comparison.sh", "Fig3"), ("run_Fig4_populations.sh", "Fig4"),
    ("run_Fig5_noise.sh", "Fig5"), ("run_FigA1_multilayer_comparison.sh", "FigA1"),
    ("run_FigA2_multilayer_comparison_ideal_lat_inh.sh", "FigA2"), ("run_FigC1_comparison_dPC.sh", "FigC1"),
    ("run_Fig2a_cartpole.sh", "Fig2a")])
def test_batch_scripts_run_exactly_the_expanded_runs(script, figure):
    with open(os.path.join(ROOT, script)) as fh:
        text = fh.read()
    assert re.search(rf"sweep expand --root \"\$ROOT\" {figure}\n", text)
    assert re.search(rf"sweep run --root \"\$ROOT\" {figure} \"\$@\"", text)
    assert not re.search(r"^\s*(for|while) ", text, re.M)    # no hand-written index loops (off-by-one)
    assert ex.FIGURES[figure].script == script


# ------------------------------------------------------------------------------------------------
# the run manager
# ------------------------------------------------------------------------------------------------

def test_run_status_logs_rerun_and_collect(tmp_path):
    base = str(tmp_path / "runs")
    dirs = make_runs(base, ["r0", "r1", "r2", "r3"], bad={"r2"})
    res = sweep_cli("run", base, "-j", "2")
    assert res.returncode == 1, res.stdout + res.stderr          # one failure, the others still ran
    assert "3 done, 1 failed" in res.stdout
    for d in dirs:
        for name in ("status.json", "run.log", "error.log"):
            assert os.path.isfile(os.path.join(d, name))
    ok = [status(d) for d in (dirs[0], dirs[1], dirs[3])]
    for st, d in zip(ok, (dirs[0], dirs[1], dirs[3])):
        assert st["state"] == "done" and st["exit_code"] == 0 and st["attempt"] == 1
        assert st["end_ts"] >= st["start_ts"] and st["host"] and st["pid"]
        prov = st["provenance"]                      # which code, numpy and command made it
        assert prov["version"] == numpy_model.__version__ and prov["numpy"] == np.__version__
        assert len(prov["params_hash"]) == 64 and "numpy_model.cli" in prov["command"]
        with open(os.path.join(d, "model.pkl"), "rb") as fh:
            models = dill.load(fh)
        expect = [float(np.mean(m.MSE_test_time_series)) for m in models[1:]]
        assert st["test_mse"]["per_seed"] == pytest.approx(expect)
        assert st["test_mse"]["mean"] == pytest.approx(np.mean(expect))
        assert open(os.path.join(d, "error.log")).read() == ""
        log = open(os.path.join(d, "run.log")).read()
        assert "training: epoch 1/1" in log and "done after" in log
    bad = status(dirs[2])
    assert bad["state"] == "failed" and bad["exit_code"] == 2 and "unknown key 'layerz'" in bad["error"]
    assert "unknown key 'layerz'" in open(os.path.join(dirs[2], "error.log")).read()

    table = sweep_cli("status", base).stdout
    assert re.search(r"r2\s+failed .*unknown key 'layerz'", table)
    assert re.search(r"r0\s+done .*\d", table) and "3 done, 1 failed" in table

    out = str(tmp_path / "m.csv")
    assert sweep_cli("collect", base, "--out", out).returncode == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 6 and {r["run"] for r in rows} == {"r0", "r1", "r3"}
    assert {r["seed"] for r in rows} == {"1", "2"}
    assert {r["version"] for r in rows} == {numpy_model.__version__}
    assert all(len(r["params_hash"]) == 64 for r in rows)

    # run again: done runs are skipped, the failed one is retried (and fails again)
    res = sweep_cli("run", base)
    assert "1 of 4 runs to run" in res.stdout and status(dirs[2])["attempt"] == 2
    assert all(status(d)["attempt"] == 1 for d in (dirs[0], dirs[1], dirs[3]))
    # fix the params and rerun only the failure
    with open(os.path.join(dirs[2], "params.json"), "w") as fh:
        json.dump(TINY, fh)
    res = sweep_cli("rerun", "--failed", base, "-j", "2")
    assert res.returncode == 0 and "1 of 4 failed runs to rerun" in res.stdout, res.stdout + res.stderr
    assert status(dirs[2])["state"] == "done" and status(dirs[2])["attempt"] == 3
    assert all(status(d)["attempt"] == 1 for d in (dirs[0], dirs[1], dirs[3]))
    assert sweep_cli("collect", base, "--out", out).returncode == 0
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 8
    r2 = [r for r in rows if r["run"] == "r2"]
    with open(os.path.join(dirs[2], "model.pkl"), "rb") as fh:
        models = dill.load(fh)
    assert [float(r["final_test_mse"]) for r in r2] == \
        pytest.approx([np.mean(m.MSE_test_time_series) for m in models[1:]])
    n_val = len(models[1].MSE_val_time_series)        # epochs 1: one validation
    assert float(r2[0]["last_val_mse"]) == pytest.approx(np.mean(models[1].MSE_val_time_series[-n_val:]))
    assert r2[0]["mean_update_angle"] == ""

    # --force reruns done runs; a changed params file makes a done run stale
    res = sweep_cli("run", dirs[0], "--force")
    assert res.returncode == 0 and status(dirs[0])["attempt"] == 2
    with open(os.path.join(dirs[1], "params.json"), "w") as fh:
        json.dump(dict(TINY, random_seed=[3]), fh)
    assert "params changed since this run" in sweep_cli("status", base).stdout
    res = sweep_cli("run", base)
    assert "1 of 4 runs to run" in res.stdout and status(dirs[1])["test_mse"]["seeds"] == [3]


def test_at_most_j_runs_at_a_time(tmp_path):
    base = str(tmp_path / "runs")
    dirs = make_runs(base, [f"r{i}" for i in range(6)], params=dict(TINY, epochs=40))
    res = sweep_cli("run", base, "-j", "2")
    assert res.returncode == 0, res.stdout + res.stderr
    spans = [(status(d)["start_ts"], status(d)["end_ts"]) for d in dirs]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    running, most = 0, 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert 1 <= most <= 2
    res = sweep_cli("run", base, "-j", "1", "--force")
    spans = sorted((status(d)["start_ts"], status(d)["end_ts"]) for d in dirs)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))          # strictly one after the other


def test_longest_expected_run_starts_first(tmp_path):
    """The local pool orders its queue by expected work (seeds x steps x weights, x2 with
    --compare), so a long run never starts last while the other cores idle; -j 1 shows the order."""
    from numpy_model.sweeps.folders import Run
    from numpy_model.sweeps.local import expected_work
    base = str(tmp_path / "runs")
    small, big, bigger, bad = make_runs(base, ["a_small", "b_big", "c_bigger", "d_bad"], bad=("d_bad",))
    for d, over in ((big, dict(layers=[6, 4, 1])), (bigger, dict(layers=[6, 4, 1], epochs=3))):
        with open(os.path.join(d, "params.json"), "w") as fh:
            json.dump(dict(TINY, **over), fh)
    runs = [Run(d) for d in (small, big, bigger, bad)]
    assert [expected_work(r) > 0 for r in runs] == [True, True, True, False]
    assert expected_work(runs[2]) > expected_work(runs[1]) > expected_work(runs[0])
    res = sweep_cli("run", base, "-j", "1")
    starts = {d: status(d)["start_ts"] for d in (small, big, bigger, bad)}
    assert starts[bigger] < starts[big] < starts[small] < starts[bad], res.stdout + res.stderr


def _wait_running(d, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            st = status(d)
        except (OSError, ValueError):
            st = {}
        if st.get("state") == "running" and st.get("child_pid"):
            return st
        time.sleep(0.05)
    raise AssertionError(f"{d} never started")


LONG = dict(TINY, epochs=100000, rec_per_steps=1000)


def test_killed_run_is_reported_failed(tmp_path):
    (d,) = make_runs(str(tmp_path), ["long"], params=LONG)
    env = {**os.environ, "PYTHONPATH": ROOT}
    p = subprocess.Popen([sys.executable, "-m", "numpy_model.sweep", "exec", d], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    st = _wait_running(d)
    assert st["pid"] == p.pid
    assert re.search(r"long\s+running", sweep_cli("status", d).stdout)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    table = sweep_cli("status", d).stdout
    assert re.search(r"long\s+failed .*is gone without recording an end", table), table
    assert status(d)["state"] == "failed"
    for _ in range(50):                                   # the runner dies with its wrapper
        if not sweep._pid_alive(st["child_pid"]):
            break
        time.sleep(0.1)
    assert not sweep._pid_alive(st["child_pid"])
    assert "gone without recording an end" in open(os.path.join(d, "error.log")).read()


def test_killed_runner_under_the_manager(tmp_path):
    dirs = make_runs(str(tmp_path), ["long", "short"], params=LONG)
    with open(os.path.join(dirs[1], "params.json"), "w") as fh:
        json.dump(TINY, fh)
    env = {**os.environ, "PYTHONPATH": ROOT}
    mgr = subprocess.Popen([sys.executable, "-m", "numpy_model.sweep", "run", str(tmp_path), "-j", "2"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    st = _wait_running(dirs[0])
    os.kill(st["child_pid"], signal.SIGKILL)
    out, _ = mgr.communicate(timeout=120)
    assert mgr.returncode == 1
    assert status(dirs[0])["state"] == "failed" and "SIGKILL" in status(dirs[0])["error"]
    assert status(dirs[1])["state"] == "done"
    assert "1 done, 1 failed" in out


def test_slurm_liveness_and_submission_with_fake_slurm(tmp_path, monkeypatch):
    """The Slurm code paths without a cluster: a fake sbatch records its arguments, a fake squeue
    lists the jobs in $FAKE_SQUEUE."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text("#!/bin/sh\necho \"$@\" > \"$FAKE_SBATCH_ARGS\"\necho 4242\n")
    (bin_dir / "squeue").write_text("#!/bin/sh\ncat \"$FAKE_SQUEUE\"\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    queue = tmp_path / "queue.txt"
    queue.write_text("")
    env_args = tmp_path / "sbatch_args.txt"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SQUEUE", str(queue))
    monkeypatch.setenv("FAKE_SBATCH_ARGS", str(env_args))
    base = str(tmp_path / "runs")
    dirs = make_runs(base, ["a", "b", "c"])
    res = sweep_cli("run", base, "--slurm", "--array-limit", "2", "--time", "0:10:00", "--partition", "debug")
    assert res.returncode == 0, res.stdout + res.stderr
    args = env_args.read_text().split()
    assert "--array=0-2%2" in args and "--time=0:10:00" in args and "--partition=debug" in args
    listfile = args[-1]
    assert args[-2].endswith("slurm_script.sh")
    assert open(listfile).read().split() == dirs
    assert [status(d)["slurm_job"] for d in dirs] == ["4242_0", "4242_1", "4242_2"]
    # queued tasks are pending; a task gone from squeue before it started is failed
    queue.write_text("4242_0|RUNNING\n4242_1|PENDING\n")
    table = sweep_cli("status", base).stdout
    assert re.search(r"a\s+pending", table) and re.search(r"c\s+failed .*ended before the run started", table)
    # a running task that left squeue without recording an end is failed
    st = dict(status(dirs[0]), state="running", host="elsewhere", pid=1, start_ts=time.time())
    with open(os.path.join(dirs[0], "status.json"), "w") as fh:
        json.dump(st, fh)
    assert re.search(r"a\s+running", sweep_cli("status", base).stdout)
    queue.write_text("4242_1|PENDING\n")
    assert re.search(r"a\s+failed .*Slurm job 4242_0 is no longer running", sweep_cli("status", base).stdout)
    # squeue unavailable: nothing is declared dead
    (bin_dir / "squeue").write_text("#!/bin/sh\nexit 1\n")
    assert re.search(r"b\s+pending", sweep_cli("status", base).stdout)


def test_bad_targets():
    assert sweep_cli("run", "NoSuchFigure").returncode == 2
    res = sweep_cli("list")
    assert res.returncode == 0 and "Fig4    160 runs" in res.stdout
    assert json.loads(sweep_cli("show", "fig5").stdout)["swept"]["sigma_act (slope std = offset std)"] == \
        [0.1, 0.3, 0.5, 1.0]
