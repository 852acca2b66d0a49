"""What Backorders tells people, and in which words.

Four messages: the customer's "your order was split" and "your backorder is released", the
merchant's "this order could not be backordered" and "stock arrived for open backorders". Each
has a shipped plain-text wording (`templates/email/<kind>.txt`); a store may replace it (stored
with its settings, see `plugin/adapters/sql/outbox.py`). The notifier renders through the
`MessageWording` port (plugin/adapters/mail/wording.py: Jinja's sandbox with a budget of steps,
value sizes and output).

`Notifications` turns domain events into messages and hands them to a `post` callable (the
outbox plus a mail job, built in `worker.py`); it never talks SMTP itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from plugin.core.model import Order, PaymentAction, Plan, Policies, ProductRef, Reason
from plugin.errors import TemplateProblem
from plugin.ports import Message, MessageWording, StoreMail, TemplateText

log = logging.getLogger(__name__)

ORDER_SPLIT = "order_split"
BACKORDER_RELEASED = "backorder_released"
ORDER_NOT_BACKORDERED = "order_not_backordered"
STOCK_ARRIVED = "stock_arrived"


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    audience: str  # 'customer' | 'merchant'
    sample: Mapping[str, Any]  # a context every template of this kind must render with


_SAMPLE_ITEMS = [{"quantity": 2, "name": "Blue mug", "expected_date": "2026-12-01"}]
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            ORDER_SPLIT,
            "Customer: order split",
            "customer",
            {
                "store_name": "Shop",
                "order_number": "1042",
                "customer_name": "Ann Lee",
                "ships_now": [{"quantity": 1, "name": "Red mug", "expected_date": ""}],
                "backorder": _SAMPLE_ITEMS,
                "backorder_number": "1042-001",
                "paid": False,
                "page_url": "https://backorders.example/stores/1/my-order/TOKEN",
            },
        ),
        Kind(
            BACKORDER_RELEASED,
            "Customer: backorder released",
            "customer",
            {
                "store_name": "Shop",
                "order_number": "1042-001",
                "customer_name": "Ann Lee",
                "items": _SAMPLE_ITEMS,
                "payment_url": "https://shop.example/pay/1042-001",
                "page_url": "https://backorders.example/stores/1/my-order/TOKEN",
            },
        ),
        Kind(
            ORDER_NOT_BACKORDERED,
            "Merchant: order could not be backordered",
            "merchant",
            {
                "store_name": "Shop",
                "order_number": "1042",
                "problems": ["Blue mug: 2 units oversold; backorders are not allowed."],
            },
        ),
        Kind(
            STOCK_ARRIVED,
            "Merchant: stock arrived for open backorders",
            "merchant",
            {"store_name": "Shop", "product": "Blue mug (product 17)", "units": 5},
        ),
    )
}


def template_for(store: StoreMail, kind: str, wording: MessageWording) -> TemplateText:
    """The store's own wording of `kind`, else the shipped one."""
    return store.templates.get(kind) or wording.default(kind)


# --- contexts ---------------------------------------------------------------------------------


def _expected_date(ref: ProductRef, policies: Policies) -> dt.date | None:
    exact = [p for p in policies.products if p.ref == ref]
    # A product-level policy applies to its variations (as the rules engine reads it).
    product_level = [
        p for p in policies.products if p.ref == ProductRef(ref.product_id) and ref.variant_id
    ]
    for policy in exact + product_level:
        if policy.expected_date is not None:
            return policy.expected_date
    return None


def customer_name(order: Order) -> str:
    """The billing name, or 'customer' when the order has none."""
    name = f"{order.billing.first_name} {order.billing.last_name}".strip()
    return name or "customer"


def customer_email(order: Order) -> str:
    """Where the customer's messages go: the billing address, else the account's."""
    return order.billing.email or order.customer.email


def split_context(
    store_name: str,
    order: Order,
    plan: Plan,
    policies: Policies,
    purchase_dates: Mapping[ProductRef, dt.date] | None = None,
) -> dict[str, Any]:
    """What the 'order split' message shows: what ships now, what waits, and until when (the
    purchase order bringing it, else the product's manual date)."""
    dates = purchase_dates or {}
    names = {line.line_id: line.name for line in order.lines}
    ships_now: list[dict[str, Any]] = []
    backorder: list[dict[str, Any]] = []
    for lp in plan.lines:
        name = names.get(lp.line_id, f"line {lp.line_id}")
        if lp.keep:
            ships_now.append({"quantity": lp.keep, "name": name, "expected_date": ""})
        if lp.backorder:
            date = (
                dates.get(lp.ref)
                or dates.get(ProductRef(lp.ref.product_id))
                or _expected_date(lp.ref, policies)
            )
            backorder.append(
                {
                    "quantity": lp.backorder,
                    "name": name,
                    "expected_date": date.isoformat() if date else "",
                }
            )
    return {
        "store_name": store_name,
        "order_number": order.number,
        "customer_name": customer_name(order),
        "ships_now": ships_now,
        "backorder": backorder,
        "backorder_number": plan.backorder_number or "",
        # Paid at checkout: the backorder order is covered by that payment (core/split.py).
        "paid": plan.payment is PaymentAction.PAID_FROM_ORIGINAL,
    }


def released_context(store_name: str, order: Order, payment_url: str | None) -> dict[str, Any]:
    """What the 'backorder released' message shows (the backorder order itself)."""
    return {
        "store_name": store_name,
        "order_number": order.number,
        "customer_name": customer_name(order),
        "items": [
            {"quantity": line.quantity, "name": line.name, "expected_date": ""}
            for line in order.lines
        ],
        "payment_url": payment_url or "",
    }


def product_label(ref: ProductRef) -> str:
    """`product 17` or `product 17 variation 21`."""
    if ref.variant_id:
        return f"product {ref.product_id} variation {ref.variant_id}"
    return f"product {ref.product_id}"


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


# (store id, the customer's original order id, its number, the customer's e-mail) -> page URL
PageLink = Callable[[int, str, str, str], str]


# --- the notifier -----------------------------------------------------------------------------


class Notifications:
    """Builds the four messages and posts them; `store_mail(store_id)` gives names, addresses
    and wording, `post(message)` stores and queues one, `alert(store_id, kind, text)` tells
    the merchant their wording could not be used (see worker.py)."""

    def __init__(
        self,
        store_mail: Callable[[int], StoreMail],
        post: Callable[[Message], object],
        alert: Callable[[int, str, str], object] | None = None,
        page_link: PageLink | None = None,
        *,
        wording: MessageWording,
    ) -> None:
        self.store_mail = store_mail
        self.wording = wording
        self.post = post
        self.alert = alert
        self.page_link = page_link

    def _page_url(self, store_id: int, order_id: str, number: str, email: str) -> str:
        """The customer's order page (issue 15), when links are made; '' otherwise."""
        if self.page_link is None or not email:
            return ""
        return self.page_link(store_id, order_id, number, email)

    def _send(
        self,
        store: StoreMail,
        store_id: int,
        kind: str,
        key: str,
        recipient: str,
        context: Mapping[str, Any],
    ) -> Message | None:
        """Render `kind` in `store`'s wording (the caller read it once) and post it."""
        if not recipient:
            log.info("notification skipped: no address store=%s kind=%s", store_id, kind)
            return None
        try:
            subject, body = self.wording.render(template_for(store, kind, self.wording), context)
        except TemplateProblem as exc:
            # A stored override broke (it rendered when saved, or was saved before a check
            # existed): the render stopped, so fall back to our wording rather than leave the
            # customer uninformed, and tell the merchant.
            log.warning(
                "store template failed, default used store=%s kind=%s over_budget=%s",
                store_id,
                kind,
                exc.over_budget,
            )
            if self.alert is not None:
                self.alert(
                    store_id,
                    f"email_template:{kind}",
                    f'Your wording of "{KINDS[kind].label}" could not be used, so the '
                    f"default wording was sent. {exc}",
                )
            subject, body = self.wording.render(self.wording.default(kind), context)
        message = Message(store_id, key, kind, recipient, subject, body)
        self.post(message)
        return message

    def order_split(
        self, store_id: int, order: Order, plan: Plan, policies: Policies
    ) -> Message | None:
        """Tell the customer what ships now and what is on backorder."""
        store = self.store_mail(store_id)
        context = split_context(store.name, order, plan, policies, store.expected_dates)
        context["page_url"] = self._page_url(
            store_id, order.id, order.number, customer_email(order)
        )
        return self._send(
            store, store_id, ORDER_SPLIT, f"split:{plan.split_key}", customer_email(order), context
        )

    def order_not_backordered(
        self, store_id: int, order: Order, problems: Iterable[Reason]
    ) -> Message | None:
        """Alert the merchant: lines of `order` could not be backordered (oversold, cap)."""
        store = self.store_mail(store_id)
        messages = [reason.message for reason in problems]
        if not messages:
            return None
        context = {"store_name": store.name, "order_number": order.number, "problems": messages}
        # The same problems on a later event of the order are not repeated.
        key = f"not_backordered:{order.id}:{_digest(*messages)}"
        return self._send(store, store_id, ORDER_NOT_BACKORDERED, key, store.alert_email, context)

    def backorder_released(
        self, store_id: int, order: Order, payment_url: str | None
    ) -> Message | None:
        """Tell the customer their backorder ships (with the payment link when it is due)."""
        store = self.store_mail(store_id)
        context = released_context(store.name, order, payment_url)
        # The page is the customer's original order's (a held-whole order is its own original).
        original_id = order.links.parent_id or order.id
        number = order.number.rsplit("-", 1)[0] if order.links.parent_id else order.number
        context["page_url"] = self._page_url(store_id, original_id, number, customer_email(order))
        return self._send(
            store,
            store_id,
            BACKORDER_RELEASED,
            f"released:{order.id}",
            customer_email(order),
            context,
        )

    def stock_arrived(
        self, store_id: int, ref: ProductRef, units: int, *, event: str = ""
    ) -> Message | None:
        """Alert the merchant: `units` of `ref` arrived for open backorders. `event` tells
        one arrival from the next (the same units seen twice send one message)."""
        store = self.store_mail(store_id)
        context = {"store_name": store.name, "product": product_label(ref), "units": units}
        key = f"stock:{ref.product_id}:{ref.variant_id or ''}:{units}:{event}"
        return self._send(store, store_id, STOCK_ARRIVED, key, store.alert_email, context)
