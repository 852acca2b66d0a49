"""Merchant accounts on the `merchants` table, and which stores a merchant owns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import Merchant, Store, utcnow
from plugin.core.accounts import normalize_email
from plugin.ports import MerchantRecord


def _record(row: Merchant) -> MerchantRecord:
    return MerchantRecord(
        row.id,
        row.email,
        row.password_hash,
        row.session_version,
        email_verified=row.email_verified_at is not None,
    )


class MerchantRepository:
    """`plugin.ports.Merchants` on SQL: create and find merchants; attach stores to them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, email: str, password_hash: str, *, verified: bool) -> MerchantRecord | None:
        """Insert a merchant; None when the e-mail address is taken. `verified`: the address
        is known to be the merchant's (the demo, tests); sign-up passes False."""
        now = utcnow()
        row = Merchant(
            email=normalize_email(email),
            password_hash=password_hash,
            created_at=now,
            session_version=1,
            email_verified_at=now if verified else None,
        )
        try:
            with self.db.session() as session:
                session.add(row)
                session.flush()
                return _record(row)
        except IntegrityError:
            return None

    def by_email(self, email: str) -> MerchantRecord | None:
        """The merchant with this e-mail address, or None."""
        with self.db.session() as session:
            row = session.scalars(
                select(Merchant).where(Merchant.email == normalize_email(email))
            ).one_or_none()
            return _record(row) if row else None

    def get(self, merchant_id: int) -> MerchantRecord | None:
        """The merchant, or None."""
        with self.db.session() as session:
            row = session.get(Merchant, merchant_id)
            return _record(row) if row else None

    def set_password_hash(self, merchant_id: int, password_hash: str) -> None:
        """Replace the merchant's password hash; every session signed in before ends."""
        with self.db.session() as session:
            session.execute(
                update(Merchant)
                .where(Merchant.id == merchant_id)
                .values(password_hash=password_hash, session_version=Merchant.session_version + 1)
            )

    def mark_verified(self, merchant_id: int) -> bool:
        """Record that the merchant confirmed the address; False when it was already."""
        with self.db.session(write=True) as session:
            result = session.execute(
                update(Merchant)
                .where(Merchant.id == merchant_id, Merchant.email_verified_at.is_(None))
                .values(email_verified_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def end_sessions(self, merchant_id: int) -> None:
        """Bump the session version: every cookie issued so far (and its copies) stops working."""
        with self.db.session() as session:
            session.execute(
                update(Merchant)
                .where(Merchant.id == merchant_id)
                .values(session_version=Merchant.session_version + 1)
            )

    def assign_store(self, store_id: int, merchant_id: int) -> bool:
        """Make `merchant_id` the owner of `store_id`; False when the store does not exist."""
        with self.db.session() as session:
            result = session.execute(
                update(Store).where(Store.id == store_id).values(merchant_id=merchant_id)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# store settings as the settings page edits them


@dataclass(frozen=True)
class StoreSettingsForm:
    """Everything the settings page saves, in one write."""

    settings: Any  # plugin.core.model.StoreSettings
    alert_email: str
    reconcile_interval_seconds: int
    api_rate_limit: float
    split_mode: str = ""  # one of the platform driver's `split_modes` ('' = its default)


ALERT_EMAIL_KEY = "alert_email"  # extra key in `stores.settings` JSON (ignored by the core)


def alert_email(db: Database, store_id: int) -> str:
    """The merchant's alert e-mail address of a store ('' when none)."""
    with db.session() as session:
        row = session.get(Store, store_id)
        return str((row.settings or {}).get(ALERT_EMAIL_KEY, "")) if row else ""


def save_store_settings(db: Database, store_id: int, form: StoreSettingsForm) -> bool:
    """Save the settings and the two per-store columns together; False if no store."""
    from plugin.adapters.sql.stores import SPLIT_MODE_KEY, locked_store, settings_to_dict

    with db.session(write=True) as session:
        row = locked_store(session, store_id)
        if row is None:
            return False
        # Keys the form does not own (e-mail wording) stay as they are.
        row.settings = {
            **(row.settings or {}),
            **settings_to_dict(form.settings),
            ALERT_EMAIL_KEY: form.alert_email,
            SPLIT_MODE_KEY: form.split_mode,
        }
        row.reconcile_interval_seconds = form.reconcile_interval_seconds
        row.api_rate_limit = form.api_rate_limit
        return True
