"""RQ forks a work horse per job, so a module a job imports on first use is imported again by
every job (about 0.3 s for the WooCommerce connector and marshmallow, bench/split_throughput).
Importing `worker` must load what the jobs use, once, in the worker's main process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_importing_worker_loads_the_connector_the_jobs_use() -> None:
    probe = (
        "import sys, worker; "
        "print(sorted(m for m in ('plugin.platforms.woocommerce.adapter', "
        "'plugin.platforms.woocommerce.client', 'marshmallow') if m not in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
