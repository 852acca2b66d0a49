"""The project's own servers as real processes on 127.0.0.1, for tests and benchmarks.

`start` runs a command from the project root and returns once a readiness check passes (with a
deadline, failing early if the process exits); `stop` terminates it, killing it if it does not
exit in time. `running` pairs the two, and the sandbox store has its own shortcuts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

import requests

ROOT = Path(__file__).resolve().parents[1]
API_PATH = "/wp-json/wc/v3"
START_SECONDS = 30.0
STOP_SECONDS = 15.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    command: Sequence[str],
    *,
    ready: Callable[[], bool],
    name: str,
    env: Mapping[str, str] | None = None,
    quiet: bool = True,
    output: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` in the project root and return it once `ready()` is true.

    `quiet` discards its output (its stderr is kept only to explain an early exit); otherwise
    it writes to this process's. `output` names a file that gets both its stdout and stderr
    instead. Raises RuntimeError, with the process stopped, if it exits first or is not ready
    within START_SECONDS.
    """
    with ExitStack() as files:  # a file never fills up and blocks the process as a pipe can
        if output is not None:
            errors: IO[bytes] | None = files.enter_context(output.open("a+b"))
            stdout: IO[bytes] | int | None = errors
        else:
            errors = files.enter_context(tempfile.TemporaryFile()) if quiet else None
            stdout = subprocess.DEVNULL if quiet else None
        process = subprocess.Popen(  # noqa: S603 - the project's own entry points
            list(command),
            cwd=ROOT,
            env=dict(env) if env is not None else None,
            stdout=stdout,
            stderr=errors,
        )  # it keeps its own handle on `errors`: ours is closed when this returns
        try:
            deadline = time.monotonic() + START_SECONDS
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}{_tail(errors)}")
                if ready():
                    return process
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start within {START_SECONDS:g} s")
                time.sleep(0.05)
        except BaseException:
            stop(process)
            raise


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the process and wait for it; kill it if it has not exited in STOP_SECONDS."""
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def running(
    command: Sequence[str],
    *,
    ready: Callable[[], bool],
    name: str,
    env: Mapping[str, str] | None = None,
    quiet: bool = True,
    output: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """`start`, yield the process, then `stop` it."""
    process = start(command, ready=ready, name=name, env=env, quiet=quiet, output=output)
    try:
        yield process
    finally:
        stop(process)


def start_sandbox(
    consumer_key: str, consumer_secret: str, *arguments: str
) -> tuple[str, subprocess.Popen[bytes]]:
    """`python -m sandbox.woocommerce` on a free port with these REST keys and extra `arguments` (in
    memory unless they give `--data-dir`); its base URL and process, once its API answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SANDBOX_CONSUMER_KEY": consumer_key,
        "SANDBOX_CONSUMER_SECRET": consumer_secret,
    }
    command = [
        sys.executable,
        "-m",
        "sandbox.woocommerce",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = start([*command, *arguments], ready=_answers(url), name="sandbox", env=env)
    return url, process


@contextmanager
def running_sandbox(consumer_key: str, consumer_secret: str, *arguments: str) -> Iterator[str]:
    """`start_sandbox`, yield its base URL (`http://127.0.0.1:<port>`), then stop it."""
    url, process = start_sandbox(consumer_key, consumer_secret, *arguments)
    try:
        yield url
    finally:
        stop(process)


def _answers(url: str) -> Callable[[], bool]:
    """Whether the sandbox at `url` answers its REST API at all (any status)."""

    def ready() -> bool:
        try:
            requests.get(url + API_PATH + "/orders", timeout=1)
        except (requests.ConnectionError, requests.Timeout):
            return False
        return True

    return ready


def _tail(errors: IO[bytes] | None) -> str:
    """The end of what the process wrote to stderr, for the error message."""
    if errors is None:
        return ""
    errors.seek(0)
    text = errors.read().decode(errors="replace").strip()
    return f": {text[-2000:]}" if text else ""
