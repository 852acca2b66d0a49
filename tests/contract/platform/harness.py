"""What the platform contract suite needs of each implementation: a `Harness`.

A harness opens the implementation's `Platform` (a fresh one per call, as a job would) and, like a
merchant and customers would, makes products and orders on its store and reads what the store
then holds, in neutral terms (`ProductRef`, order ids, quantities). It is not the code under
test: WooCommerce's makes its data with plain REST calls (tests/contract/woocommerce/shop.py).
Register a new one in `IMPLEMENTATIONS` (conftest.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from plugin.core.model import ProductRef, Status
from plugin.ports import Delivery, Platform, StoreConnection, Webhooks


class ShelfHarness(Protocol):
    """What the shelf reads (the storefront widget's) need: products a shopper can open and
    one they cannot. `product` refs name products as Backorders' records do."""

    name: str

    def platform(self, *, webhook_ids: Sequence[int] = (), public_url: str = "") -> Platform:
        """A fresh `Platform` of the store (as `PlatformDriver.open` gives a job)."""
        ...

    def product(
        self, name: str, *, price: str = "10.00", stock: int | None = None, backorders: bool
    ) -> ProductRef:
        """A published simple product (unique name), its stock counted unless `stock` is None."""
        ...

    def hidden_product(self, name: str, *, stock: int, backorders: bool) -> ProductRef:
        """A simple product a shopper cannot open (a draft)."""
        ...


class Harness(ShelfHarness, Protocol):
    webhooks: Webhooks  # the driver's (`PlatformDriver.webhooks`)
    allow_backorders: str  # the platform's own backorder setting that allows them ...
    deny_backorders: str  # ... and the one that refuses them
    delivery_url: str  # where a webhook subscription may point (the store need not reach it)
    unpaid_status: Status  # the status the store gives an order placed unpaid (`order`)
    # Whether a webhook the store stops delivering stays, disabled (WooCommerce), or the store
    # deletes it (Shopify, whose subscriptions have no status): `disable_webhook`.
    stopped_webhooks_kept: bool
    # Whether a split holds the backordered units on the original order itself, which keeps
    # every line (Shopify's held fulfillment order), rather than moving them off it.
    holds_on_the_order: bool
    # Whether an order awaiting payment keeps its units taken from the store's figure (Shopify
    # commits them until they ship or the order is cancelled) rather than giving them back.
    unpaid_keeps_units: bool

    def connection(self) -> StoreConnection:
        """The store as the connect flow reaches it (`PlatformDriver.connection`)."""
        ...

    def order(self, lines: Sequence[tuple[ProductRef, int]], *, paid: bool) -> str:
        """A customer's order: paid (ready to ship), or unpaid (a bank transfer), in the status
        the store gives such an order (`unpaid_status`)."""
        ...

    def stock(self, ref: ProductRef) -> int | None:
        """The store's stock figure of a product (None when it does not count it)."""
        ...

    def notes(self, order_id: str) -> list[str]:
        """The notes on an order (the store's own may be among them)."""
        ...

    def delivery(self, secret: str, topic: str, order_id: str) -> Delivery:
        """The webhook delivery the store sends about the order's current state, signed with
        `secret` (its own topic name: `topic` is "order.updated" or "order.created")."""
        ...

    def disable_webhook(self, webhook_id: int) -> None:
        """The store stops delivering one of our webhooks, as it does after repeated failures
        (it disables it, or deletes it: `stopped_webhooks_kept`)."""
        ...

    def payment_page(self, order_id: str) -> str | None:
        """The page the store keeps for an order, where its customer pays (read from the
        store); None when a payment link is the platform's own making."""
        ...

    def adopt(self, order_id: str) -> None:
        """An order the platform made (a split's) that clean-up must remove too."""
        ...

    def base_url(self) -> str:
        """The store's address, which its admin links start with."""
        ...
