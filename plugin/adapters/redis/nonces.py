"""Single-use claims in Redis: `plugin.ports.NonceClaims` for the app authorization's state."""

from __future__ import annotations

from typing import Any


class RedisNonceClaims:
    """Single-use claims kept in Redis (`SET NX EX`), shared by every web process."""

    def __init__(self, redis: Any, prefix: str = "backorders:wc-auth:used:") -> None:
        self._redis = redis
        self._prefix = prefix

    def claim(self, nonce: str, ttl_seconds: int) -> bool:
        return bool(self._redis.set(self._prefix + nonce, b"1", nx=True, ex=ttl_seconds))
