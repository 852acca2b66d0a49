"""Use case: reconcile one store, catching what its webhooks missed.

A store may never deliver a webhook (WooCommerce never retries a failed delivery and disables a
webhook after repeated failures: reference/woocommerce/README.md), so every store is polled on a
schedule: the orders changed since its checkpoint go through the inbox under the same key a
webhook gives them, so a state a webhook delivered is not queued again and one it missed is.
Disabled webhooks are re-activated with an alert for the merchant.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from plugin.ports import (
    Alerts,
    Checkpoints,
    Inbox,
    ReconcilePlatform,
    Topic,
    WebhookSubscriptions,
    moment_text,
)
from plugin.usecases.splitting import NoAlerts

log = logging.getLogger(__name__)

# Reconciliation re-reads this much before its checkpoint: the platform's clock and ours
# differ a little, and an order saved during the previous run must not fall between runs.
RECONCILE_OVERLAP = dt.timedelta(seconds=120)
# A store reconciled for the first time looks back this far.
RECONCILE_FIRST_LOOKBACK = dt.timedelta(hours=24)
# What a change found by polling is recorded as: an update of the order.
RECONCILE_TOPIC = Topic.ORDER_UPDATED


@dataclass(frozen=True)
class ReconcileResult:
    seen: int
    added: int  # new inbox events (the rest were known already)
    enqueued: int
    reactivated_webhooks: tuple[str, ...]
    checkpoint: dt.datetime


def reconcile_store(
    store_id: int,
    *,
    platform: ReconcilePlatform,
    webhooks: WebhookSubscriptions,
    inbox: Inbox,
    checkpoints: Checkpoints,
    enqueue: Callable[[int], object],
    now: dt.datetime,
    alerts: Alerts | None = None,
) -> ReconcileResult:
    """Feed orders changed since the checkpoint through the inbox; revive disabled webhooks."""
    alert_sink: Alerts = alerts if alerts is not None else NoAlerts()
    # A store may never deliver a webhook, or disable one after failed deliveries (module
    # docstring): polling is what catches what was missed.
    reactivated = _reactivate_webhooks(store_id, webhooks, alert_sink)
    checkpoint = checkpoints.get_checkpoint(store_id)
    since = checkpoint if checkpoint is not None else now - RECONCILE_FIRST_LOOKBACK
    since -= RECONCILE_OVERLAP
    seen = added = enqueued = 0
    for change in platform.orders_modified_since(since):
        seen += 1
        event_id = inbox.add(
            store_id,
            RECONCILE_TOPIC,
            change.order_id,
            moment_text(change.modified_gmt),
            "reconcile",
            fingerprint=change.fingerprint,
        )
        if event_id is None:
            continue  # this state is known (the webhook came, or an earlier run saw it)
        added += 1
        enqueue(event_id)
        enqueued += 1
    # Only after every change is in the inbox: a crash above repeats the run, not skips it.
    checkpoints.set_checkpoint(store_id, now)
    log.info(
        "reconciled store=%s seen=%s added=%s reactivated=%s",
        store_id,
        seen,
        added,
        len(reactivated),
    )
    return ReconcileResult(seen, added, enqueued, reactivated, now)


def _reactivate_webhooks(
    store_id: int, webhooks: WebhookSubscriptions, alerts: Alerts
) -> tuple[str, ...]:
    revived: list[str] = []
    for hook in webhooks.list_webhooks():
        if hook.status != "disabled":
            continue
        webhooks.activate_webhook(hook.id)
        revived.append(hook.id)
        alerts.add_alert(
            store_id,
            "webhook_disabled",
            f"The store had disabled webhook {hook.id} ({hook.topic}) after failed deliveries; "
            "it was re-activated and missed orders are picked up by reconciliation.",
        )
    return tuple(revived)
