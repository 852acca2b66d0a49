"""A per-store rate limiter in Redis, shared by every worker process on every machine.

GCRA (generic cell rate algorithm): one Redis key per store holds the "theoretical arrival
time" of the next request, in Redis's own clock (`TIME`), so workers on machines with skewed
clocks still agree. A request is allowed when it is no earlier than that time minus the burst
tolerance; each allowed request pushes the time on by one emission interval (1 / rate). The
check and the update are one Lua script, so they are atomic across all clients.

A 429 with `Retry-After` pauses the whole store: `pause()` stores a "not before" time next to the
bucket, and every `acquire()` on any worker waits until it has passed.

A named `bucket` is a second, smaller budget of the same store (its own key, the store's pause):
a caller that takes a slot from it and then from the store's own bucket can never use more than
its share of the store's rate (the storefront widget does, so anonymous traffic always leaves
the rest to the workers).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from plugin.errors import TransientError

log = logging.getLogger(__name__)

KEY_PREFIX = "backorders:ratelimit"

# KEYS[1] bucket (TAT, microseconds), KEYS[2] pause-until (microseconds)
# ARGV[1] emission interval us, ARGV[2] burst tolerance us
# Returns {0, granted_at_us} when allowed, {wait_us, now_us} when not.
_ACQUIRE = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then
  return {paused - now, now}
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then
  return {allow_at - now, now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
           math.ceil((new_tat - now) / 1000) + 1000)
return {0, now}
"""

# KEYS[1] pause-until; ARGV[1] pause length us. Only ever extends a pause.
_PAUSE = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_us = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_us > current then
  redis.call('SET', KEYS[1], string.format('%d', until_us), 'PX',
             math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
  return until_us
end
return current
"""


class RateLimitTimeout(TransientError):
    """No slot became free before the deadline; the job is retried later."""

    reason = "rate_limit_wait"


@dataclass
class StoreRateLimiter:
    """Requests per second for one store, over all workers. Plug `acquire` into the
    WooCommerce client's `throttle` hook."""

    connection: redis.Redis
    store_id: int
    rate: float  # requests per second
    burst: int = 1  # requests allowed back to back after a quiet spell
    max_wait: float = 60.0  # seconds `acquire` may block before giving up
    bucket: str = ""  # "" is the store's own budget; a name gives a separate share of it
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _acquire_script: Any = field(init=False, repr=False)
    _pause_script: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("rate must be positive")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        self._acquire_script = self.connection.register_script(_ACQUIRE)
        self._pause_script = self.connection.register_script(_PAUSE)

    @property
    def bucket_key(self) -> str:
        if self.bucket:
            return f"{KEY_PREFIX}:{self.store_id}:bucket:{self.bucket}"
        return f"{KEY_PREFIX}:{self.store_id}"

    @property
    def pause_key(self) -> str:
        return f"{KEY_PREFIX}:{self.store_id}:pause"

    @property
    def interval_us(self) -> int:
        return max(1, round(1_000_000 / self.rate))

    def try_acquire(self) -> tuple[int, int]:
        """One attempt: (0, granted_at) when allowed, else (wait, server now); microseconds."""
        wait_us, now_us = self._acquire_script(
            keys=[self.bucket_key, self.pause_key],
            args=[self.interval_us, self.interval_us * (self.burst - 1)],
        )
        return int(wait_us), int(now_us)

    def acquire(self) -> int:
        """Block until this store may send one request; returns the grant time (Redis clock,
        microseconds). Raises RateLimitTimeout when no slot comes within `max_wait` seconds."""
        deadline = self.clock() + self.max_wait
        while True:
            wait_us, at_us = self.try_acquire()
            if wait_us == 0:
                return at_us
            wait = wait_us / 1_000_000
            left = deadline - self.clock()
            if left <= 0 or wait > left + 1e-3:
                raise RateLimitTimeout(
                    f"store {self.store_id}: no request slot within {self.max_wait:g}s",
                    retry_after=wait,
                )
            self.sleep(wait)

    def __call__(self) -> None:
        """The `throttle` hook: wait for a slot."""
        self.acquire()

    def pause(self, seconds: float) -> int:
        """Hold every worker's requests to this store for `seconds` (a 429's Retry-After);
        returns when the pause ends (Redis clock, microseconds)."""
        until_us = self._pause_script(
            keys=[self.pause_key], args=[max(0, round(seconds * 1_000_000))]
        )
        log.info("rate limit pause store=%s seconds=%.1f", self.store_id, seconds)
        return int(until_us)

    def paused_for(self) -> float:
        """Seconds left of a pause (0 when none)."""
        raw = self.connection.get(self.pause_key)
        if raw is None:
            return 0.0
        seconds, micros = self.connection.time()
        now_us = int(seconds) * 1_000_000 + int(micros)
        return max(0.0, (int(raw) - now_us) / 1_000_000)
