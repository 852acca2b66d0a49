"""The benchmark runner: discovery, JSON results with their environment, CLI errors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from bench import __main__ as runner


def test_discovery_finds_benchmarks_and_skips_helpers() -> None:
    names = runner.discover()
    assert "plan_split" in names
    assert all(not n.startswith("_") for n in names)
    assert names == sorted(names)


def test_run_writes_figures_with_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = types.ModuleType("bench.tiny")

    def main(quick: bool = False) -> dict[str, object]:
        print(f"tiny: {4 if quick else 42} widgets")
        return {"widgets": 4 if quick else 42}

    module.main = main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bench.tiny", module)
    record = runner.run("tiny", tmp_path / "results")
    written = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert written == record
    assert written["benchmark"] == "tiny"
    assert written["figures"] == {"widgets": 42}
    assert written["quick"] is False
    assert set(written) == {
        "benchmark", "quick", "date", "machine", "python", "implementation", "figures",
    }  # fmt: skip
    assert set(written["machine"]) == {"platform", "processor", "cpu_count"}
    assert written["python"].count(".") == 2
    assert capsys.readouterr().out == "== tiny\ntiny: 42 widgets\n"

    quick = runner.run("tiny", tmp_path / "results", quick=True)
    assert (quick["quick"], quick["figures"]) == (True, {"widgets": 4})
    assert capsys.readouterr().out == "== tiny (quick)\ntiny: 4 widgets\n"


def test_quick_runs_write_apart_from_the_real_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(runner, "QUICK_RESULTS_DIR", tmp_path / "results" / "quick")
    assert runner.cli(["--quick", "release"]) == 0
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["quick"]
    written = json.loads((tmp_path / "results" / "quick" / "release.json").read_text())
    assert (written["quick"], written["figures"]["runs"]) == (True, 20)
    assert capsys.readouterr().out.startswith("== release (quick)\nplan_release, 500 open")


def test_plan_split_benchmark_reports_its_figures(tmp_path: Path) -> None:
    record = runner.run("plan_split", tmp_path)
    figures = record["figures"]
    assert figures["lines"] == 100
    assert figures["moved_lines"] == 60
    assert 0 < figures["median_ms"] <= figures["p99_ms"]
    assert abs(figures["median_ratio_to_target"] - figures["median_ms"] / 1.0) <= 0.001
    assert (tmp_path / "plan_split.json").exists()


def test_unknown_benchmark_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "RESULTS_DIR", tmp_path)
    with pytest.raises(SystemExit) as exc:
        runner.cli(["no_such_bench"])
    assert exc.value.code == 2
    assert "unknown benchmark(s): no_such_bench" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
