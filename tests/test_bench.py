"""The benchmark runs and writes its table as JSON (timings are not asserted: they live in the
benchmark's output, never in a test)."""
import json

from numpy_model import bench


def test_bench_runs_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--sizes", "1,2", "--nets", "2-1", "--models", "ann,errormc",
                       "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert [(r["model"], r["S"]) for r in rows] == [("ann", 1), ("ann", 2), ("errormc", 1), ("errormc", 2)]
    for r in rows:
        assert r["us_per_step"] > 0 and r["us_per_seed_step"] * r["S"] == r["us_per_step"]
        assert 0 <= r["recording_overhead"] < 1
        assert r["peak_MiB"] > 0 and r["fig3_record_MiB"] > 0
    text = capsys.readouterr().out
    assert "us/seed-step" in text and "errormc" in text


def test_fig3_step_counts_match_spec():
    """docs/model.md §7.4: 2,024,000 steps for a trained Fig 3 run, 8000 untrained."""
    assert bench.fig3_steps(True) == 2_024_000
    assert bench.fig3_steps(False) == 8000


def test_bench_on_numba_times_the_recording_against_no_record(tmp_path, monkeypatch):
    """On numba the kernel takes the records: the overhead is the same phase timed without any."""
    import pytest
    from numpy_model.models import compiled
    if compiled.numba_version() is None:
        pytest.skip("numba is not importable")
    bare = []
    real = bench.make_monitor

    def spy(ens, P, *a, **k):
        bare.append(P["rec_per_steps"])
        return real(ens, P, *a, **k)
    monkeypatch.setattr(bench, "make_monitor", spy)
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--sizes", "1", "--nets", "2-1", "--models", "ann", "--backend", "numba",
                       "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert 10 ** 9 in bare and -0.5 < row["recording_overhead"] < 1
