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
