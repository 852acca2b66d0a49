"""Slowing down password guessing on the sign-in form without locking the owner out.

What a careful service does (OWASP's "Slow Down Online Guessing Attacks with Device Cookies"
and the Authentication Cheat Sheet's account-lockout advice):

- A browser that signed in to an account before carries a signed *device cookie* for it. Its
  failures count on that device only (5 in 15 minutes), so nobody elsewhere can lock the owner
  out of their own browser, not even from the same address (a shared proxy or office NAT).
- Any other client is counted three ways: per account and client address (5 failures in 15
  minutes, then that pair waits out the window); per client address over all accounts (30 in 15
  minutes: one address spraying many accounts); and per account over every address, which
  never locks: after 10 failures each further try waits twice as long as the one before (1 s,
  2 s, 4 s, ... at most 5 minutes), and the count is forgotten an hour after the last failure.
  Guessing from many addresses is slowed to about a dozen tries an hour, while the owner on a
  new device waits at most 5 minutes for a try.

The client address is `request.remote_addr`, which is the real client only when the web app
trusts its reverse proxies' X-Forwarded-For (TRUSTED_PROXY_HOPS). Counters live in Redis,
shared by every web process; e-mail addresses are hashed, never stored in clear.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from plugin.core.accounts import normalize_email

# Failures allowed per account and client address within the window.
SIGN_IN_MAX_FAILURES = 5
SIGN_IN_WINDOW_S = 15 * 60
# Failures allowed per client address over all accounts within the window.
ADDRESS_MAX_FAILURES = 30
# Failures of one account (from clients without its device cookie) before tries are spaced.
ACCOUNT_FREE_FAILURES = 10
ACCOUNT_MAX_DELAY_S = 5 * 60
ACCOUNT_MEMORY_S = 60 * 60
DEVICE_COOKIE = "backorders_device"
DEVICE_MAX_AGE_S = 180 * 24 * 3600
_DEVICE_SALT = "backorders.signin-device"


def _now() -> float:
    """The clock of the account delays (seconds); tests replace it."""
    return time.time()


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Refusal:
    """A sign-in attempt refused unchecked; the client may try again in `retry_after` s."""

    retry_after: int

    @property
    def message(self) -> str:
        """What the sign-in page says."""
        if self.retry_after < 90:
            wait = f"{self.retry_after} second{'s' if self.retry_after != 1 else ''}"
        else:
            wait = f"{math.ceil(self.retry_after / 60)} minutes"
        return f"Too many failed attempts. Wait {wait} and try again."


class DeviceTokens:
    """Signed device cookies: which account a browser signed in to, and the device's own id."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_DEVICE_SALT)

    def issue(self, email: str) -> str:
        """A new device cookie value for `email`'s account."""
        return str(
            self._serializer.dumps(
                {"a": _digest(normalize_email(email)), "d": secrets.token_urlsafe(16)}
            )
        )

    def device(self, token: str | None, email: str) -> str | None:
        """The device id when `token` is a valid cookie of `email`'s account, else None."""
        if not token:
            return None
        try:
            payload = self._serializer.loads(token, max_age=DEVICE_MAX_AGE_S)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("d"), str):
            return None
        if payload.get("a") != _digest(normalize_email(email)):
            return None
        return str(payload["d"])


class SignInThrottle:
    """The counters above, in Redis. `device` is the id from `DeviceTokens.device` or None."""

    def __init__(
        self, redis: Any, *, clock: Callable[[], float] | None = None, prefix: str = "backorders:"
    ) -> None:
        self.redis = redis
        self.clock = clock or _now
        self.prefix = prefix + "signin:"

    def _pair(self, email: str, ip: str) -> str:
        return f"{self.prefix}pair:{_digest(normalize_email(email), ip)}"

    def _address(self, ip: str) -> str:
        return f"{self.prefix}ip:{_digest(ip)}"

    def _account(self, email: str) -> str:
        return f"{self.prefix}account:{_digest(normalize_email(email))}"

    def _device(self, device: str) -> str:
        return f"{self.prefix}device:{_digest(device)}"

    def _window_refusal(self, key: str, limit: int) -> Refusal | None:
        pipe = self.redis.pipeline()
        pipe.get(key)
        pipe.ttl(key)
        count, ttl = pipe.execute()
        if int(count or 0) < limit:
            return None
        return Refusal(max(1, int(ttl)) if ttl and ttl > 0 else SIGN_IN_WINDOW_S)

    def refusal(self, email: str, ip: str, device: str | None) -> Refusal | None:
        """Why this attempt may not be checked now, or None when it may."""
        if device is not None:
            return self._window_refusal(self._device(device), SIGN_IN_MAX_FAILURES)
        for key, limit in (
            (self._pair(email, ip), SIGN_IN_MAX_FAILURES),
            (self._address(ip), ADDRESS_MAX_FAILURES),
        ):
            refused = self._window_refusal(key, limit)
            if refused is not None:
                return refused
        raw: dict[Any, Any] = self.redis.hgetall(self._account(email))
        account = {k.decode() if isinstance(k, bytes) else k: float(v) for k, v in raw.items()}
        count = int(account.get("count", 0))
        if count < ACCOUNT_FREE_FAILURES:
            return None
        delay = min(2.0 ** (count - ACCOUNT_FREE_FAILURES), ACCOUNT_MAX_DELAY_S)
        wait = account.get("last", 0.0) + delay - self.clock()
        return Refusal(math.ceil(wait)) if wait > 0 else None

    def failed(self, email: str, ip: str, device: str | None) -> None:
        """Count one failed attempt."""
        pipe = self.redis.pipeline()
        if device is not None:
            self._count(pipe, self._device(device))
        else:
            # Windows start at the first failure (SET NX EX, then INCR keeps the TTL).
            self._count(pipe, self._pair(email, ip))
            self._count(pipe, self._address(ip))
            account = self._account(email)
            pipe.hincrby(account, "count", 1)
            pipe.hset(account, "last", repr(self.clock()))
            pipe.expire(account, ACCOUNT_MEMORY_S)  # forgotten an hour after the last failure
        pipe.execute()

    @staticmethod
    def _count(pipe: Any, key: str) -> None:
        pipe.set(key, 0, ex=SIGN_IN_WINDOW_S, nx=True)
        pipe.incr(key)

    def succeeded(self, email: str, ip: str, device: str | None) -> None:
        """Forget this client's failures on this account. The address's count over all
        accounts and the account's count over all clients stay: an attacker's own successful
        sign-ins must not reset them."""
        keys = [self._pair(email, ip)] + ([self._device(device)] if device is not None else [])
        self.redis.delete(*keys)
