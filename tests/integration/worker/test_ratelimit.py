"""The per-store rate limiter against a real Redis, shared by threads and processes."""

from __future__ import annotations

import math
import subprocess
import threading
import time

import pytest
import redis

from plugin.adapters.redis.ratelimit import RateLimitTimeout, StoreRateLimiter
from tests.integration.worker.conftest import PYTHON, child_env

RATE = 20.0  # requests per second
INTERVAL_US = 50_000
WINDOW_S = 2.0


def server_now_us(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1_000_000 + int(micros)


def assert_never_faster_than_rate(grants: list[int], start_us: int, window_s: float) -> None:
    grants = sorted(grants)
    gaps = [b - a for a, b in zip(grants, grants[1:], strict=False)]
    # GCRA with burst 1: any two grants are at least one interval apart on Redis's clock, so
    # no window of any length ever holds more than ceil(length / interval) requests.
    assert min(gaps) >= INTERVAL_US
    in_window = [g for g in grants if start_us <= g < start_us + int(window_s * 1e6)]
    assert len(in_window) <= math.ceil(window_s * RATE)
    # And it does not starve: the contended limiter delivers most of the rate (the loose
    # bound leaves room for a loaded CI machine waking the sleeping waiters late).
    assert len(in_window) >= math.floor(window_s * RATE * 0.5)
    print(
        f"rate limiter: {len(in_window)} grants in {window_s}s at {RATE}/s, min gap {min(gaps)}us"
    )


def test_threads_share_one_rate(redis_client: redis.Redis, redis_url: str) -> None:
    start = server_now_us(redis_client)
    until = start + int(WINDOW_S * 1e6)
    grants: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        limiter = StoreRateLimiter(redis.Redis.from_url(redis_url), 7, RATE)
        while (at := limiter.acquire()) < until:
            with lock:
                grants.append(at)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert_never_faster_than_rate(grants, start, WINDOW_S)


def test_processes_share_one_rate(redis_client: redis.Redis, redis_url: str) -> None:
    key = "test:limiter-children"
    children = [
        subprocess.Popen(
            [
                PYTHON,
                "-m",
                "tests.integration.worker.limiter_child",
                redis_url,
                "8",
                str(RATE),
                key,
                "3",
            ],
            stdout=subprocess.PIPE,
            env=child_env(),
        )  # fmt: skip
        for _ in range(3)
    ]
    deadline = time.monotonic() + 60
    while redis_client.llen(f"{key}:ready") < 3:
        assert time.monotonic() < deadline, "the children did not start within 60 s"
        assert all(child.poll() is None for child in children), "a child exited early"
        time.sleep(0.05)
    # Before `start` the children already compete; only grants inside the window count.
    start = server_now_us(redis_client) + 200_000
    until = start + int(WINDOW_S * 1e6)
    redis_client.rpush(f"{key}:go", *[until] * 3)
    outputs = [child.communicate(timeout=30)[0].decode() for child in children]
    assert [child.returncode for child in children] == [0, 0, 0]
    grants = [int(line) for out in outputs for line in out.split()]
    per_child = [len(out.split()) for out in outputs]

    assert_never_faster_than_rate(grants, start, WINDOW_S)
    assert all(n > 0 for n in per_child)  # every process got its turn


def test_stores_have_separate_buckets(redis_client: redis.Redis) -> None:
    a = StoreRateLimiter(redis_client, 1, 1.0)
    b = StoreRateLimiter(redis_client, 2, 1.0)

    assert a.try_acquire()[0] == 0
    assert b.try_acquire()[0] == 0  # another store's request does not wait
    wait_us, _ = a.try_acquire()
    assert 0 < wait_us <= 1_000_000


def test_retry_after_pause_holds_every_worker(redis_client: redis.Redis, redis_url: str) -> None:
    pausing = StoreRateLimiter(redis.Redis.from_url(redis_url), 9, 100.0)
    until = pausing.pause(1.2)
    assert 1_150_000 <= until - server_now_us(redis_client) <= 1_200_000
    assert 1.1 <= pausing.paused_for() <= 1.2

    # Another process, with its own connection, must wait for the end of the pause.
    child = subprocess.Popen(
        [PYTHON, "-c",
         "import sys, redis; from plugin.adapters.redis.ratelimit import StoreRateLimiter as L;"
         f"print(L(redis.Redis.from_url({redis_url!r}), 9, 100.0).acquire())"],
        stdout=subprocess.PIPE, env=child_env(),
    )  # fmt: skip
    other_thread_grant: list[int] = []
    t = threading.Thread(
        target=lambda: other_thread_grant.append(
            StoreRateLimiter(redis.Redis.from_url(redis_url), 9, 100.0).acquire()
        )
    )
    t.start()
    t.join()
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 0

    child_grant = int(out)
    assert until <= child_grant <= until + 300_000
    assert until <= other_thread_grant[0] <= until + 300_000
    # A shorter Retry-After never shortens a pause already in force.
    assert pausing.pause(0.1) < until + 10_000_000
    assert StoreRateLimiter(redis_client, 10, 1.0).paused_for() == 0.0


def test_wait_longer_than_the_deadline_raises_at_once(redis_client: redis.Redis) -> None:
    limiter = StoreRateLimiter(redis_client, 11, 5.0, max_wait=0.5)
    limiter.pause(10)

    started = time.monotonic()
    with pytest.raises(RateLimitTimeout) as caught:
        limiter.acquire()

    assert time.monotonic() - started < 0.2
    assert caught.value.retry_after is not None and 9.5 < caught.value.retry_after <= 10
    assert redis_client.get(limiter.bucket_key) is None  # no slot was consumed


def test_burst_allows_back_to_back_requests_then_the_rate(redis_client: redis.Redis) -> None:
    limiter = StoreRateLimiter(redis_client, 12, 1.0, burst=3)

    first = [limiter.try_acquire()[0] for _ in range(3)]
    fourth_wait, _ = limiter.try_acquire()

    assert first == [0, 0, 0]
    assert 0 < fourth_wait <= 1_000_000
