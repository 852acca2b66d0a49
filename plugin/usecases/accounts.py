"""Merchant accounts: sign up (the password rule, the link that confirms the address), sign in
(throttled by plugin/adapters/redis/signin_throttle.py), the demo merchant."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from plugin.core.accounts import normalize_email
from plugin.core.passwords import is_common_password, mostly_consecutive, repeats_a_block
from plugin.ports import MerchantRecord, Merchants

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
DEMO_EMAIL = "demo@example.com"
# Documented demo password for `make run` on loopback only; never a production account.
DEMO_PASSWORD = "backorders-demo"  # noqa: S105


VERIFY_MAX_AGE_S = 3 * 24 * 3600
_VERIFY_SALT = "backorders.verify-email"


def hash_password(password: str) -> str:
    """A salted, slow hash (werkzeug's default scrypt)."""
    return generate_password_hash(password)


def password_problem(password: str, email: str) -> str | None:
    """Why `password` is too easy to guess for the account of `email`, or None.

    Beyond the length (checked by the form): not the address or its name part, not one of
    the commonest passwords, not a repeated block or a run like `1234567890`. No rules about
    kinds of characters (NIST SP 800-63B 5.1.1.2): a long phrase is welcome.
    """
    folded = password.strip().lower()
    address = normalize_email(email)
    if folded and (folded in (address, address.partition("@")[0]) or address in folded):
        return "Do not use your e-mail address as the password."
    if is_common_password(password):
        return "This is one of the most common passwords; choose one that is harder to guess."
    if repeats_a_block(folded) or mostly_consecutive(folded):
        return "This password is a repeated or consecutive run of characters; choose another."
    return None


@dataclass(frozen=True)
class Registration:
    """What a sign-up did: `merchant` owns the address; `already_verified` means it existed
    and was confirmed, so nothing changed and its owner is told instead."""

    merchant: MerchantRecord
    already_verified: bool


def register(merchants: Merchants, email: str, password_hash: str) -> Registration:
    """Create an unconfirmed account for `email`. An address with a confirmed account keeps it
    untouched; one whose account was never confirmed takes the new password (that account
    could do nothing yet, and the link sent for the old password stops working)."""
    created = merchants.create(email, password_hash, verified=False)
    if created is not None:
        return Registration(created, already_verified=False)
    existing = merchants.by_email(email)
    assert existing is not None  # the insert met this address
    if existing.email_verified:
        return Registration(existing, already_verified=True)
    merchants.set_password_hash(existing.id, password_hash)  # also ends its sessions
    refreshed = merchants.get(existing.id)
    assert refreshed is not None
    return Registration(refreshed, already_verified=False)


class VerificationFailed(ValueError):
    """A confirmation link that cannot be used; the message says why, for the merchant."""


class EmailVerification:
    """Signed, expiring links that confirm an account's address. A link names the account and
    the password it was sent for: after another sign-up for the same address, only the newest
    link works."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_VERIFY_SALT)

    @staticmethod
    def _fingerprint(merchant: MerchantRecord) -> str:
        return hashlib.sha256(merchant.password_hash.encode()).hexdigest()[:16]

    def token(self, merchant: MerchantRecord) -> str:
        """The token of the link for `merchant`."""
        return str(self._serializer.dumps({"m": merchant.id, "p": self._fingerprint(merchant)}))

    def confirm(self, merchants: Merchants, token: str) -> MerchantRecord:
        """Mark the account of `token` confirmed (again is fine); VerificationFailed if not."""
        try:
            payload = self._serializer.loads(token, max_age=VERIFY_MAX_AGE_S)
        except SignatureExpired:
            raise VerificationFailed(
                "This link has expired. Sign in and ask for a new one."
            ) from None
        except BadSignature:
            raise VerificationFailed("This link is not one we sent.") from None
        merchant_id = payload.get("m") if isinstance(payload, dict) else None
        merchant = merchants.get(merchant_id) if isinstance(merchant_id, int) else None
        if merchant is None:
            raise VerificationFailed("This link is not one we sent.")
        if not merchant.email_verified and payload.get("p") != self._fingerprint(merchant):
            raise VerificationFailed(
                "A newer link was sent to this address since; use the newest one."
            )
        merchants.mark_verified(merchant.id)
        confirmed = merchants.get(merchant.id)
        assert confirmed is not None
        return confirmed


def authenticate(merchants: Merchants, email: str, password: str) -> MerchantRecord | None:
    """The merchant when the password matches, else None."""
    merchant = merchants.by_email(email)
    if merchant is None:
        # Spend the same time as a real check so timing does not reveal which e-mails exist.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return merchant if check_password_hash(merchant.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def ensure_demo_merchant(
    merchants: Merchants,
    email: str = DEMO_EMAIL,
    password: str = DEMO_PASSWORD,
    store_id: int | None = None,
) -> int:
    """Create (or reset the password of) the demo merchant and give it `store_id`; its id."""
    merchant = merchants.by_email(email)
    if merchant is None:
        merchant = merchants.create(
            email, hash_password(password), verified=True
        ) or merchants.by_email(email)
        assert merchant is not None  # created now, or by a concurrent start
    elif not check_password_hash(merchant.password_hash, password):
        merchants.set_password_hash(merchant.id, hash_password(password))
    merchants.mark_verified(merchant.id)  # `make run`'s demo account needs no e-mail link
    if store_id is not None:
        merchants.assign_store(store_id, merchant.id)
    logger.info("event=demo_merchant merchant_id=%s store_id=%s", merchant.id, store_id)
    return merchant.id
