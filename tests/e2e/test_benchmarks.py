"""Every benchmark still runs: `python -m bench --quick NAME` (a small size of each) must exit
0, print its figures and write them. A benchmark is found by the runner's own discovery, so a
new one is covered without editing this file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import discover
from tests.processes import ROOT

pytestmark = pytest.mark.e2e

QUICK_RUN_SECONDS = 180  # the slowest quick run takes about 45 s on a loaded 2-core machine


@pytest.mark.parametrize("name", discover())
def test_a_quick_run_prints_and_writes_its_figures(name: str, tmp_path: Path) -> None:
    finished = subprocess.run(  # noqa: S603 - the project's own runner
        [sys.executable, "-m", "bench", "--quick", "--results-dir", str(tmp_path), name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=QUICK_RUN_SECONDS,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    header, *printed = finished.stdout.splitlines()
    assert header == f"== {name} (quick)"
    assert any(char.isdigit() for char in "".join(printed)), "the benchmark printed no figures"
    record = json.loads((tmp_path / f"{name}.json").read_text())
    assert (record["benchmark"], record["quick"]) == (name, True)
    assert isinstance(record["figures"], dict) and record["figures"]
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}.json"]
