"""run.py's process management with real child processes (no product code involved)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis

import run

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
# A parent that starts a grandchild in its own process group, then sleeps.
PARENT_WITH_GRANDCHILD = [
    sys.executable,
    "-c",
    "import subprocess, sys, time; "
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "print(p.pid, flush=True); time.sleep(60)",
]
# Ignores SIGTERM: only SIGKILL stops it.
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)",
]


def _read_line(path: Path, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text()
            if text.endswith("\n"):
                return text.strip()
        time.sleep(0.02)
    raise AssertionError(f"nothing written to {path}")


def test_stop_all_stops_children_and_grandchildren_in_reverse_order(tmp_path: Path) -> None:
    supervisor = run.Supervisor(log_dir=tmp_path)
    first = supervisor.spawn("first", SLEEPER, env=os.environ)
    second = supervisor.spawn("second", PARENT_WITH_GRANDCHILD, env=os.environ)
    grandchild = psutil.Process(int(_read_line(tmp_path / "second.log")))
    assert grandchild.is_running()
    assert os.getpgid(grandchild.pid) == second.pid  # the group holds the grandchild

    left = supervisor.stop_all(timeout=5)

    assert left == []
    assert first.process.returncode == -signal.SIGTERM
    assert second.process.returncode == -signal.SIGTERM
    assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE
    assert not first.group_alive() and not second.group_alive()


def test_a_child_ignoring_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    supervisor = run.Supervisor(log_dir=tmp_path)
    child = supervisor.spawn("stubborn", STUBBORN, env=os.environ)
    assert _read_line(tmp_path / "stubborn.log") == "ready"
    started = time.monotonic()
    assert supervisor.stop_all(timeout=0.5) == []
    assert child.process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_an_unexpected_exit_is_reported_by_check_and_wait_until(tmp_path: Path) -> None:
    supervisor = run.Supervisor(log_dir=tmp_path)
    supervisor.spawn("quitter", [sys.executable, "-c", "raise SystemExit(3)"], env=os.environ)
    with pytest.raises(run.ChildExited) as info:
        supervisor.wait_until("never", lambda: False, timeout=10)
    assert (info.value.name, info.value.returncode) == ("quitter", 3)
    assert supervisor.stop_all() == []


def test_wait_until_fails_at_its_deadline(tmp_path: Path) -> None:
    supervisor = run.Supervisor(log_dir=tmp_path)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="probe: not ready after 0 s"):
        supervisor.wait_until("probe", lambda: False, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 2


def test_wait_until_stops_waiting_when_shutdown_is_requested(tmp_path: Path) -> None:
    supervisor = run.Supervisor(log_dir=tmp_path)
    supervisor.stop_event.set()
    with pytest.raises(run.ShutdownRequested):
        supervisor.wait_until("probe", lambda: True, timeout=10)


def test_run_once_raises_on_failure(tmp_path: Path) -> None:
    supervisor = run.Supervisor(log_dir=tmp_path)
    supervisor.run_once("ok", [sys.executable, "-c", "print('fine')"], env=os.environ)
    with pytest.raises(run.ChildExited, match="bad exited unexpectedly \\(exit code 2\\)"):
        supervisor.run_once("bad", [sys.executable, "-c", "raise SystemExit(2)"], env=os.environ)
    assert supervisor.dead_child() is None  # one-shot commands are expected to end


def test_embedded_redis_runs_as_a_child_with_data_in_home(tmp_path: Path) -> None:
    supervisor = run.Supervisor(log_dir=tmp_path / "logs")
    stack = run.Stack(home=tmp_path, supervisor=supervisor)
    child = stack.start_redis()
    try:
        assert stack.redis_url == f"unix://{tmp_path / 'redis.sock'}"
        client = redis.Redis.from_url(stack.redis_url)
        client.set("k", "v")
        client.save()
        client.close()
        assert (tmp_path / "redis.rdb").exists()
        assert psutil.Process(child.pid).ppid() == os.getpid()  # our child, not daemonized
    finally:
        assert supervisor.stop_all() == []
    assert child.process.returncode == 0  # redis-server exits cleanly on SIGTERM


def test_a_queued_job_survives_redis_killed_and_restarted(tmp_path: Path) -> None:
    """The append-only file keeps the queue through a crash (no snapshot was taken)."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    supervisor = run.Supervisor(log_dir=tmp_path / "logs")
    stack = run.Stack(home=tmp_path, supervisor=supervisor)
    first = stack.start_redis()
    try:
        client = redis.Redis.from_url(stack.redis_url)
        queue = Queue("backorders", connection=client, serializer=JSONSerializer)
        queue.enqueue_call("worker.process_event", args=(7,), job_id="event-7")
        client.close()
        time.sleep(1.5)  # appendfsync everysec: the write reaches the file within a second
        assert not (tmp_path / "redis.rdb").exists()  # no snapshot: only the AOF has it

        second = stack.restart_redis(crash=True)

        assert first.process.returncode == -signal.SIGKILL
        assert second.pid != first.pid
        client = redis.Redis.from_url(stack.redis_url)  # the same socket as before
        queue = Queue("backorders", connection=client, serializer=JSONSerializer)
        assert queue.get_job_ids() == ["event-7"]
        client.close()
    finally:
        assert supervisor.stop_all() == []
