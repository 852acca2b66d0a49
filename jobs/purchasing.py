"""Worker job of purchasing (issue 14): carry a recorded purchase order receipt out in the store
(`plugin.usecases.purchasing.carry_out_receipt`), resumed from its recorded state when retried
or when the reaper requeues it after its worker died."""

from __future__ import annotations

import logging
from typing import Any

from plugin.adapters.redis.locks import order_lock
from plugin.adapters.sql.purchasing import SqlReceiptLedger
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.errors import RateLimited
from plugin.ports import ReceiptRecord
from plugin.usecases import purchasing
from worker import Runtime, allocate_product, connect_store, runtime

log = logging.getLogger(__name__)


def carry_out_receipt(store_id: int, receipt_key: str) -> str:
    """Raise stock by the units received (once), release what they cover, alert the merchant;
    returns the receipt's state."""
    rt = runtime()
    store = rt.stores.get(store_id)
    if store is None or not store.is_connected:
        return "store_not_connected"
    platform, limiter = connect_store(rt, store)
    try:
        # One run of a receipt at a time (a retry, the reaper's requeue and "carry out again"
        # may meet): two runs reading the figure before either wrote would raise it twice.
        with order_lock(rt.redis, store_id, f"receipt:{receipt_key}"):
            record = _carry_out(rt, store_id, receipt_key, platform)
    except RateLimited as exc:
        if exc.retry_after:
            limiter.pause(exc.retry_after)
        raise
    state = record.state if record is not None else "missing"
    log.info("receipt store=%s key=%s state=%s", store_id, receipt_key, state)
    return state


def _carry_out(rt: Runtime, store_id: int, receipt_key: str, platform: Any) -> ReceiptRecord | None:
    def allocate(product_id: str) -> object:
        # The receipt's own alert names what was released: no second "stock arrived" alert.
        return allocate_product(store_id, product_id, on_stock_arrived=lambda *_: None)

    return purchasing.carry_out_receipt(
        store_id,
        receipt_key,
        platform=platform,
        receipts=SqlReceiptLedger(rt.db),
        releases=SqlReleaseLedger(rt.db),
        audit=rt.audit,
        alerts=rt.stores,
        allocate=allocate,
    )
