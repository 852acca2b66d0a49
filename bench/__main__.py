"""Run benchmarks: `python -m bench` runs them all, `python -m bench NAME` runs one.

A benchmark is a module `bench/<name>.py` with `main(quick: bool = False) -> dict`: it prints
its figures and returns them. The runner writes each result to `bench/results/<name>.json`
together with the date, the machine and the Python version, so figures can be compared over
time. `--quick` runs each at a small size (seconds, not minutes) to prove it still works, and
writes to `bench/results/quick/` instead; `make test` does that for every benchmark.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
QUICK_RESULTS_DIR = RESULTS_DIR / "quick"


def discover() -> list[str]:
    """Names of every benchmark module, sorted (helpers start with `_`)."""
    return sorted(
        path.stem
        for path in BENCH_DIR.glob("*.py")
        if not path.stem.startswith("_") and path.stem not in {"__main__", "__init__"}
    )


def environment() -> dict[str, Any]:
    """Where and when the figures were measured."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def run(name: str, results_dir: Path | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Run benchmark `name` (at its small size when `quick`) and write its figures to
    `results_dir/<name>.json`."""
    module = importlib.import_module(f"bench.{name}")
    main: Callable[..., dict[str, Any]] | None = getattr(module, "main", None)
    if main is None:
        raise SystemExit(f"bench/{name}.py has no main()")
    print(f"== {name}{' (quick)' if quick else ''}", flush=True)
    figures = main(quick=quick)
    record = {"benchmark": name, "quick": quick, **environment(), "figures": figures}
    if results_dir is None:
        results_dir = QUICK_RESULTS_DIR if quick else RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def cli(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument(
        "--quick", action="store_true", help="a small size of each, to check that it runs"
    )
    parser.add_argument("--results-dir", type=Path, help="where to write <name>.json")
    args = parser.parse_args(argv)
    available = discover()
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(available)}")
    for name in args.names or available:
        run(name, args.results_dir, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(cli())
