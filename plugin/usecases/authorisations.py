"""Authorisations that lapse (issue 16): a card authorised at checkout can be captured only for
a while (Shopify Payments: 7 days). The split records when (`SplitLedger.start`); this use case
warns the merchant, once per split, `warn_before` ahead of the lapse while the backorder still
waits for stock. A release after the lapse asks the customer to pay instead of capturing (the
platform's `release_order`, e.g. Shopify's `orderInvoiceSend`)."""

from __future__ import annotations

import datetime as dt
import logging

from plugin.ports import ExpiringPayment, PaymentExpiries

log = logging.getLogger(__name__)

ALERT_KIND = "authorisation_expiring"


def warning_text(payment: ExpiringPayment, now: dt.datetime) -> str:
    """The merchant's alert for one split whose authorisation lapses soon (or did)."""
    when = payment.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    verb = "lapsed at" if payment.expires_at <= now else "lapses at"
    return (
        f"The card authorisation of order {payment.original_order_id} {verb} {when}, and "
        f"backorder {payment.backorder_number or payment.backorder_order_id} still waits for "
        "stock. Released before then, the rest is captured; released after, the customer is "
        "sent an invoice to pay it instead. Capture it by hand now if you prefer."
    )


def warn_expiring(
    expiries: PaymentExpiries, *, now: dt.datetime, warn_before: dt.timedelta
) -> list[ExpiringPayment]:
    """Alert the merchant of every waiting backorder whose authorisation lapses within
    `warn_before` of `now`, once each: the claim and the alert are one write, so of two runs
    one alerts, and a run that dies writing them leaves the warning to the next."""
    warned: list[ExpiringPayment] = []
    for payment in expiries.expiring(now + warn_before):
        if not expiries.claim_expiry_warning(
            payment, now, alert_kind=ALERT_KIND, message=warning_text(payment, now)
        ):
            continue
        log.info(
            "authorisation expiring store=%s order=%s expires=%s",
            payment.store_id,
            payment.original_order_id,
            payment.expires_at.isoformat(),
        )
        warned.append(payment)
    return warned
