"""Merchant accounts: sign up, sign in (throttled by plugin/signin_throttle.py), the demo
merchant."""

from __future__ import annotations

import logging

from werkzeug.security import check_password_hash, generate_password_hash

from plugin.storage.accounts import MerchantRecord, MerchantRepository
from plugin.storage.db import Database

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
DEMO_EMAIL = "demo@example.com"
# Documented demo password for `make run` on loopback only; never a production account.
DEMO_PASSWORD = "backorders-demo"  # noqa: S105


def hash_password(password: str) -> str:
    """A salted, slow hash (werkzeug's default scrypt)."""
    return generate_password_hash(password)


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
