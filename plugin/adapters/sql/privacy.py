"""What Backorders holds about a customer or a store, found, exported and erased (the Shopify
compliance topics, plugin/platforms/shopify/compliance.py `PrivacyStore`)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, func, select, update

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import CustomerPolicyRow, OutboxMessage, Store
from plugin.adapters.vault import Vault

log = logging.getLogger(__name__)

UNINSTALLED = "uninstalled"


class SqlPrivacyStore:
    """A store's customers' data in our tables; a Shopify store's key is its myshopify name."""

    def __init__(self, db: Database, vault: Vault, platform: str = "shopify") -> None:
        self.db = db
        self.vault = vault
        self.platform = platform

    def stores_for_shop(self, shop: str) -> list[int]:
        with self.db.session() as session:
            rows = session.execute(
                select(Store.id, Store.consumer_key_enc).where(Store.platform == self.platform)
            ).all()
        return sorted(
            store_id
            for store_id, key in rows
            if self.vault.decrypt(key).strip().lower() == shop.lower()
        )

    def customer_data(self, store_id: int, customer_id: str, email: str) -> dict[str, Any]:
        with self.db.session() as session:
            policy = session.scalars(
                select(CustomerPolicyRow).where(
                    CustomerPolicyRow.store_id == store_id,
                    CustomerPolicyRow.customer_id == customer_id,
                )
            ).first()
            messages = session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.store_id == store_id,
                    func.lower(OutboxMessage.recipient) == email.lower(),
                )
                .order_by(OutboxMessage.id)
            ).all()
            return {
                "customer_policy": None
                if policy is None
                else {"delivery_condition": policy.delivery_condition, "priority": policy.priority},
                "emails": [
                    {"kind": m.kind, "subject": m.subject, "created_at": m.created_at.isoformat()}
                    for m in messages
                ]
                if email
                else [],
            }

    def erase_customer(self, store_id: int, customer_id: str, email: str) -> int:
        with self.db.session(write=True) as session:
            deleted = _rows(
                session.execute(
                    delete(CustomerPolicyRow).where(
                        CustomerPolicyRow.store_id == store_id,
                        CustomerPolicyRow.customer_id == customer_id,
                    )
                )
            )
            if email:
                deleted += _rows(
                    session.execute(
                        delete(OutboxMessage).where(
                            OutboxMessage.store_id == store_id,
                            func.lower(OutboxMessage.recipient) == email.lower(),
                        )
                    )
                )
        log.info("privacy erase_customer store=%s rows=%s", store_id, deleted)
        return deleted

    def erase_store(self, store_id: int) -> int:
        """Delete the store row; every table naming it goes with it (ON DELETE CASCADE)."""
        with self.db.session(write=True) as session:
            deleted = _rows(session.execute(delete(Store).where(Store.id == store_id)))
        log.info("privacy erase_store store=%s rows=%s", store_id, deleted)
        return deleted

    def disconnect(self, store_id: int) -> None:
        """The app was uninstalled: its token is revoked, so forget it and stop using it."""
        with self.db.session(write=True) as session:
            session.execute(
                update(Store)
                .where(Store.id == store_id)
                .values(status=UNINSTALLED, consumer_secret_enc=self.vault.encrypt(""))
            )
        log.info("privacy disconnect store=%s", store_id)


def _rows(result: Any) -> int:
    """Rows a DELETE touched (a CursorResult's `rowcount`)."""
    return int(result.rowcount)
