"""Worker job of the merchant's manual backorder (issue 14): put the chosen units of an order on
backorder (`plugin.usecases.manual_splitting.split_by_hand`), resumed from the split ledger when
retried or when the reaper requeues it after its worker died."""

from __future__ import annotations

import logging

from plugin.adapters.redis.locks import order_lock, product_locks
from plugin.adapters.sql.stores import OpenAlerts
from plugin.errors import PermanentError, RateLimited
from plugin.usecases import manual_splitting
from worker import _prepare_retry, connect_store, notifications, runtime

log = logging.getLogger(__name__)


def split_by_hand(store_id: int, order_id: str, units: dict[str, int], requested_by: str) -> str:
    """Carry out one manual backorder request; returns what became of it ('split', 'refused',
    'ignored', 'failed')."""
    rt = runtime()
    store = rt.stores.get(store_id)
    if store is None or not store.is_connected:
        return "store_not_connected"
    platform, limiter = connect_store(rt, store)
    try:
        try:
            refs = sorted({line.ref for line in platform.get_order(order_id).lines})
        except PermanentError as exc:  # the use case records its own; this read is ours
            rt.audit.record(
                store_id, order_id, "error",
                f"Putting units on backorder by hand, as {requested_by} asked, failed: the "
                f"order could not be read ({exc.reason}). Nothing was changed.",
                reason=exc.reason,
            )  # fmt: skip
            raise
        # The allocation locks of its products first, then the order's (the order allocation
        # takes them in): no allocation reads their stock figures between the plan and the
        # units being set aside, and no event about the order splits it meanwhile.
        with product_locks(rt.redis, store_id, refs), order_lock(rt.redis, store_id, order_id):
            result = manual_splitting.split_by_hand(
                store_id, order_id, {str(k): int(v) for k, v in units.items()},
                requested_by=requested_by, platform=platform, ledger=rt.ledger,
                policies=rt.policies, audit=rt.audit, alerts=OpenAlerts(rt.stores),
                notifier=notifications(rt),
            )  # fmt: skip
    except PermanentError as exc:
        # Recorded for the merchant by the use case; a retry would fail the same way.
        log.warning(
            "manual split store=%s order=%s failed reason=%s", store_id, order_id, exc.reason
        )
        return "failed"
    except Exception as exc:
        if isinstance(exc, RateLimited) and exc.retry_after:
            limiter.pause(exc.retry_after)
        _prepare_retry(exc, None, rt)
        raise
    log.info("manual split store=%s order=%s result=%s", store_id, order_id, result.status)
    return result.status
