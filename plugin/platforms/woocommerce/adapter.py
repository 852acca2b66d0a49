"""`plugin.ports.Platform` for WooCommerce, over `WooCommerceClient`.

Platform calls per split (happy path, counted by `client.calls`), whatever the number of lines:
1. `GET /orders/<id>`                          get_order
2. `GET /products?include=<ids>`               get_stock (simple products), or
   `GET /products/<parent>/variations?include=` get_stock (variations of one product; on
   WooCommerce ≥ 10.3 `GET /variations?include=` covers variations of several products)
3. `POST /orders/batch` {create: [backorder], update: [original]}   write_split
4. `POST /orders/<original>/notes`             add_note (the private note naming the new order)
(+1 `POST /orders/<original>/notes` with `customer_note: true` when the store asks for it.)
`SPLIT_CALLS` states that count (the settings page's hint; bench/calls_per_split.py measures it).
Calls 1 and 2 are one round trip when the event's delivery named the products
(`read_order_and_products`: two requests in flight, each through the store's rate limiter);
a product the fresh order has and the delivery did not name costs one more read.
The backorder order carries everything in its create item (orders.md: a batch item takes the
same fields as "Create an order"): `parent_id`, the split key, role, number, payment and
`backorders_summary` meta, so it needs no note of its own. The original records no list of its
backorder orders: a batch cannot name an order it creates, and the link is already on the
child (`parent_id` plus the split key), found with `GET /orders?parent=<id>`
(`find_backorder_order`); the original's `backorders_split_keys` keeps the split count exact.

An order mixing simple products and variations needs one more read in step 2, because
`/products?include=` never returns variations (the products route forces `post_type=product`,
class-wc-rest-crud-controller.php `prepare_objects_query`). Parents of variations are never read:
a variation's `stock_quantity`/`backorders` already show the parent's values when the parent
keeps the stock (WC_Product_Variation getters in view context).

`write_split` is idempotent given `backorder_order_id`: when the backorder order exists, only the
original is updated (absolute quantities and amounts; a line that an earlier attempt removed
is not sent again), with one `PUT /orders/<id>`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import requests
from marshmallow import ValidationError

from plugin.core.model import Order, Plan, ProductRef, Stock, StockFigure
from plugin.errors import BackordersError, NotFound, PermanentError
from plugin.platforms.concurrent import both
from plugin.platforms.woocommerce.admin import order_admin_url
from plugin.platforms.woocommerce.catalogue import (
    VARIABLE,
    backorders_message,
    catalogue_item,
    customer_entry,
    is_public_product,
    is_public_variation,
    shelf_item,
)
from plugin.platforms.woocommerce.client import (
    MAX_PER_PAGE,
    WooCommerceClient,
    batch_item_error,
)
from plugin.platforms.woocommerce.fingerprint import ORDER_FIELDS, order_fingerprint
from plugin.platforms.woocommerce.mapping import (
    META_DELIVERY,
    META_NUMBER,
    META_ORIGINAL_LINE,
    META_RELEASE_KEY,
    META_ROLE,
    META_SPLIT_KEY,
    META_SPLIT_KEYS,
    ROLE_BACKORDER,
    backorder_create_body,
    load_order,
    meta_value,
    order_from_data,
    order_summary,
    original_update_body,
    resplit_create_body,
    resplit_update_body,
    string_list,
    waiting_since,
)
from plugin.platforms.woocommerce.schemas import GmtDateTime, summarise
from plugin.platforms.woocommerce.statuses import (
    CANCELLED,
    ON_HOLD,
    PENDING,
    release_status,
    wc_status,
)
from plugin.platforms.woocommerce.stock import (
    free_for_waiting,
    held_units,
    line_reduced_stock,
    stock_figure,
    stock_for_order,
)
from plugin.ports import (
    BackorderOutcome,
    CatalogueItem,
    CustomerEntry,
    FreeUnits,
    HeldUnits,
    OrderChange,
    OrderSummary,
    ProductReading,
    Promise,
    ShelfItem,
    WebhookInfo,
)

log = logging.getLogger(__name__)

SPLIT_CALLS = 4  # a split's calls without the customer note (module docstring)

_REMEMBERED_ORDERS = 32


class WooCommercePlatform:
    """A WooCommerce store in domain terms (implements `plugin.ports.Platform`)."""

    def __init__(
        self,
        client: WooCommerceClient,
        *,
        webhook_ids: Sequence[int] = (),
        public_url: str = "",
    ) -> None:
        self.client = client
        # Our webhooks on the store: those recorded when it was connected, and any pointing at
        # our delivery URLs (`list_webhooks`).
        self.webhook_ids = {str(i) for i in webhook_ids}
        self.public_url = public_url.rstrip("/")
        # The latest loaded JSON of orders read through this instance: `get_stock` and
        # `write_split` need WooCommerce facts the core `Order` does not carry (`_reduced_stock`,
        # our meta, the payment method title) and take them from here instead of re-reading.
        self._orders: dict[str, dict[str, Any]] = {}

    @property
    def calls(self) -> int:
        """Platform calls made so far."""
        return self.client.calls

    # -- reads -----------------------------------------------------------------------------

    def get_order(self, order_id: str) -> Order:
        """GET the order and map it to the core model."""
        data = self._load(self.client.get_order(order_id), order_id)
        self._remember(str(data["id"]), data)
        return order_from_data(data)

    def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """Read several orders with one call per 100 (`GET /orders?include=`), in the order of
        `order_ids`, remembered like `get_order`; an id the store no longer has is left out."""
        ids = list(dict.fromkeys(str(order_id) for order_id in order_ids))
        loaded: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), MAX_PER_PAGE):
            chunk = ids[start : start + MAX_PER_PAGE]
            for payload in self.client.list_orders(include=chunk, per_page=len(chunk)):
                data = self._load(payload, str(payload.get("id", "?")))
                loaded[str(data["id"])] = data
        orders: list[Order] = []
        for order_id in ids:
            if order_id in loaded:
                self._remember(order_id, loaded[order_id])
                orders.append(order_from_data(loaded[order_id]))
        return orders

    def _remember(self, order_id: str, data: dict[str, Any]) -> None:
        self._orders.pop(order_id, None)
        self._orders[order_id] = data
        while len(self._orders) > _REMEMBERED_ORDERS:  # a long-lived instance stays small
            self._orders.pop(next(iter(self._orders)))

    def _load(self, payload: Any, order_id: str) -> dict[str, Any]:
        try:
            return load_order(payload)
        except ValidationError as exc:
            raise PermanentError(
                f"order {order_id}: {summarise(exc)}", reason="invalid_order"
            ) from exc

    def _order_data(self, order_id: str) -> dict[str, Any]:
        data = self._orders.get(str(order_id))
        if data is None:
            data = self._load(self.client.get_order(order_id), order_id)
            self._remember(str(order_id), data)
        return data

    def read_order_and_products(
        self, order_id: str, products: Collection[ProductRef]
    ) -> tuple[Order, ProductReading]:
        """`get_order` and the records of `products` (step 2 above) at the same time, on two
        threads sharing this client and so the store's rate limiter (concurrent.py)."""
        refs = list(dict.fromkeys(products))
        if not refs:
            return self.get_order(order_id), ProductReading()
        order, records = both(lambda: self.get_order(order_id), lambda: self._records(refs))
        return order, ProductReading(frozenset(refs), records)

    def get_stock(
        self, order: Order, read: ProductReading | None = None
    ) -> Mapping[ProductRef, Stock]:
        """Stock of the order's products and variations, seen from the order: the records
        `read` holds, and one read (step 2 above) of the products it did not ask for."""
        data = self._order_data(order.id)
        asked = read.refs if read is not None else frozenset()
        lines = dict.fromkeys(ref for ref in map(_line_ref, data["line_items"]) if ref is not None)
        records: list[Any] = list(read.records.values()) if read is not None else []
        records.extend(self._records([ref for ref in lines if ref not in asked]).values())
        try:
            return stock_for_order(data, records)
        except ValidationError as exc:
            raise PermanentError(
                f"products of order {order.id}: {summarise(exc)}", reason="invalid_product"
            ) from exc

    def _records(self, refs: Sequence[ProductRef]) -> dict[ProductRef, dict[str, Any]]:
        """The REST records of these products and variations (none for one the store no
        longer has): simple products with one `include=` read, variations with theirs."""
        simple_ids: list[int] = []
        variations_by_parent: dict[int, list[int]] = {}
        for ref in refs:
            if ref.variant_id:
                variations_by_parent.setdefault(int(ref.product_id), []).append(int(ref.variant_id))
            else:
                simple_ids.append(int(ref.product_id))
        found: list[dict[str, Any]] = []
        if variations_by_parent:
            found.extend(self._variations(variations_by_parent))
        if simple_ids:
            found.extend(self.client.get_products(simple_ids))
        by_id = {str(record.get("id")): record for record in found}
        records: dict[ProductRef, dict[str, Any]] = {}
        for ref in refs:
            record = by_id.get(ref.variant_id or ref.product_id)
            if record is not None:
                records[ref] = record
        return records

    def _variations(self, by_parent: Mapping[int, list[int]]) -> list[dict[str, Any]]:
        if len(by_parent) > 1:
            every_id = [vid for ids in by_parent.values() for vid in ids]
            found = self.client.get_variations_any_product(every_id)
            if found is not None:
                return found
        records: list[dict[str, Any]] = []
        for parent_id, ids in by_parent.items():
            records.extend(self.client.get_variations(parent_id, ids))
        return records

    def find_backorder_order(self, original_id: str, split_key: str) -> str | None:
        """The backorder order made for `split_key`: `GET /orders?parent=<id>`, matched on meta."""
        for child in self.client.list_orders(parent=[original_id], fields=["id", "meta_data"]):
            meta = child.get("meta_data") or []
            if meta_value(meta, META_SPLIT_KEY) == split_key and (
                meta_value(meta, META_ROLE) == ROLE_BACKORDER
            ):
                return str(child["id"])
        return None

    def orders_modified_since(self, since: dt.datetime) -> Iterator[OrderChange]:
        """Every order modified after `since` (UTC), oldest id first, via `modified_after`,
        with the fingerprint of what it holds now (the webhook's for the same state)."""
        since_utc = since.astimezone(dt.UTC) if since.tzinfo else since.replace(tzinfo=dt.UTC)
        field = GmtDateTime()
        for item in self.client.list_orders(
            modified_after=since_utc,
            dates_are_gmt=True,  # orders.md: compare with the GMT modified date
            orderby="id",  # stable pages while orders keep changing
            order="asc",
            fields=["id", "date_modified_gmt", *ORDER_FIELDS],
        ):
            modified = item.get("date_modified_gmt")
            modified_gmt: dt.datetime = since_utc
            if modified:
                try:
                    modified_gmt = field.deserialize(modified) or since_utc
                except ValidationError:
                    modified_gmt = since_utc
            yield OrderChange(
                order_id=str(item["id"]),
                modified_gmt=modified_gmt,
                status=str(item.get("status", "")),
                fingerprint=order_fingerprint(item),
            )

    # -- writes ----------------------------------------------------------------------------

    def write_split(
        self, original: Order, plan: Plan, *, backorder_order_id: str | None, summary: str = ""
    ) -> str:
        """Create the backorder order and update the original in one batch call; when
        `backorder_order_id` is given, only update the original."""
        data = self._order_data(original.id)
        existing_keys = string_list(meta_value(data.get("meta_data", []), META_SPLIT_KEYS))
        try:
            update = original_update_body(original, plan, existing_split_keys=existing_keys)
            create = None
            if backorder_order_id is None:
                create = backorder_create_body(
                    original,
                    plan,
                    payment_method_title=str(data.get("payment_method_title", "")),
                    summary=summary,
                )
        except ValueError as exc:
            raise PermanentError(f"order {original.id}: {exc}", reason="invalid_plan") from exc
        self._orders.pop(str(original.id), None)  # the original changes now; read it afresh
        if create is None:
            self.client.update_order(original.id, update)
            return str(backorder_order_id)

        # A failed update of the original names the created backorder order: the retry finds
        # it (find_backorder_order) and only updates the original.
        new_id = self._create_and_update(original.id, create, update)
        log.info("split written original=%s backorder=%s", original.id, new_id)
        return new_id

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None:
        """Add an order note; a customer note is e-mailed to the buyer by WooCommerce."""
        self.client.add_order_note(order_id, text, customer_note=customer)

    # -- releasing (plugin/usecases/releasing.py) --------------------------------------------------

    def stock_figure(self, ref: ProductRef) -> StockFigure:
        """The stock figure product or variation `ref` draws on (the parent's for a variation
        whose `manage_stock` is "parent"; mapping `stock_figure`), in one read."""
        if ref.variant_id:
            records = self.client.get_variations(ref.product_id, [ref.variant_id])
        else:
            records = self.client.get_products([ref.product_id])
        for record in records:
            if str(record.get("id")) == (ref.variant_id or ref.product_id):
                return stock_figure(ref, record)
        return StockFigure(ref, None)  # gone from the store: nothing counted

    def set_stock(self, pool: ProductRef, quantity: int) -> None:
        """Set a stock figure to `quantity`: `stock_quantity` is an absolute value, the REST API
        has no increment (products.md "Update a product", product-variations.md "Update a
        product variation"); purchasing reads, records and writes it once
        (plugin/usecases/purchasing.py)."""
        if pool.variant_id:
            path = f"/products/{int(pool.product_id)}/variations/{int(pool.variant_id)}"
        else:
            path = f"/products/{int(pool.product_id)}"
        self.client.put(path, {"stock_quantity": int(quantity)})

    def product_exists(self, ref: ProductRef) -> bool:
        """Whether the store has the product (or the product's variation) `ref`."""
        if ref.variant_id:
            records = self.client.get_variations(ref.product_id, [ref.variant_id])
        else:
            records = self.client.get_products([ref.product_id])
        wanted = ref.variant_id or ref.product_id
        return any(str(record.get("id")) == wanted for record in records)

    def reduced_stock(self, order_id: str) -> Mapping[str, int]:
        """Units taken from stock per line id (`_reduced_stock` line meta) of an order."""
        data = self._order_data(order_id)
        return {str(line["id"]): line_reduced_stock(line) for line in data["line_items"]}

    def held_units(self, promises: Sequence[Promise]) -> HeldUnits:
        """The units WooCommerce gave back for orders released unpaid that still await payment
        (stock.py `held_units`): their orders in one read per 100, none without a promise."""
        if not promises:
            return HeldUnits()
        found = {order.id: order for order in self.get_orders([p.order_id for p in promises])}
        return held_units(promises, found, self.reduced_stock)

    def free_units(self, waiting: Sequence[Order], promises: Sequence[Promise]) -> FreeUnits:
        """Units free for the waiting orders per stock figure (stock.py `free_for_waiting`):
        one read per product, then the held units of `promises`."""
        refs = dict.fromkeys(line.ref for order in waiting for line in order.lines)
        figures = [(ref, self.stock_figure(ref)) for ref in refs]
        reduced = {order.id: self.reduced_stock(order.id) for order in waiting}
        held = self.held_units(promises)
        free, pools = free_for_waiting(figures, waiting, reduced.__getitem__, held.held)
        return FreeUnits(free, pools, held)

    def release_order(self, order_id: str, release_as: str, release_key: str) -> str | None:
        """Move a held backorder order on (statuses.py `release_status`: `processing` when
        paid, `pending` when the customer pays on release); returns `payment_url` for
        `pending`."""
        status = release_status(release_as)
        # Raw answers: `payment_url` is not part of the loaded order schema.
        answer = self.client.get_order(order_id)
        if answer.get("status") == ON_HOLD:
            body = {
                "status": status,
                "meta_data": [{"key": META_RELEASE_KEY, "value": release_key}],
            }
            answer = self.client.update_order(order_id, body)
        self._orders.pop(str(order_id), None)
        if status != PENDING or answer.get("status") != PENDING:
            return None
        # orders.md: `payment_url` is the read-only "Order payment URL" of the order.
        url = answer.get("payment_url")
        return str(url) if url else None

    def set_status(self, order_id: str, canonical_status: str) -> None:
        """Set the WooCommerce status that stands for `canonical_status`."""
        self._orders.pop(str(order_id), None)
        self.client.update_order(order_id, {"status": wc_status(canonical_status)})

    # -- cancelling a backorder line (plugin/usecases/cancelling.py) -------------------------------

    def original_line_ids(self, order_id: str) -> Mapping[str, str]:
        """The original's line id (meta `backorders_original_line`) per line id of a backorder
        order read by `get_order`."""
        data = self._order_data(order_id)
        found: dict[str, str] = {}
        for line in data["line_items"]:
            original = meta_value(line.get("meta_data") or [], META_ORIGINAL_LINE)
            if original not in (None, ""):
                found[str(line["id"])] = str(original)
        return found

    def remove_line(self, order_id: str, line_id: str) -> str | None:
        """Remove one line with `product_id: null` (orders.md "Update an Order"; the Version3
        controller's `remove_item` gives back its `_reduced_stock`) unless it is gone already;
        returns the order's `total` afterwards."""
        answer = self.client.get_order(order_id)
        if any(str(item.get("id")) == str(line_id) for item in answer.get("line_items") or []):
            body = {"line_items": [{"id": int(line_id), "product_id": None}]}
            answer = self.client.update_order(order_id, body)
        self._orders.pop(str(order_id), None)
        total = answer.get("total")
        return str(total) if total is not None else None

    def reduce_line(
        self, order_id: str, line_id: str, quantity: int, subtotal: Decimal, total: Decimal
    ) -> str | None:
        """Set one line to `quantity` units with its new `subtotal` and `total` (orders.md
        "Update an Order", `line_items` by `id`) unless it has that quantity already; returns
        the order's `total` afterwards. WooCommerce does not re-price a line whose quantity
        changes (the Version2 controller's `prepare_line_items` sets only the posted props),
        so the amounts are posted with it; it re-sums the order's totals and, the order being
        on hold, `wc_maybe_adjust_line_item_product_stock` gives back the units taken off
        (new quantity against the line's `_reduced_stock`)."""
        answer = self.client.get_order(order_id)
        item = next(
            (i for i in answer.get("line_items") or [] if str(i.get("id")) == str(line_id)), None
        )
        if item is not None and int(item.get("quantity") or 0) != quantity:
            body = {
                "line_items": [
                    {
                        "id": int(line_id),
                        "quantity": quantity,
                        "subtotal": str(subtotal),
                        "total": str(total),
                    }
                ]
            }
            answer = self.client.update_order(order_id, body)
        self._orders.pop(str(order_id), None)
        value = answer.get("total")
        return str(value) if value is not None else None

    def cancel_order(self, order_id: str) -> bool:
        """Set a held (on-hold) order to `cancelled`, which restores the stock it reduced
        (`wc_maybe_increase_stock_levels`); no write when it is no longer on hold. True when
        the order is cancelled (a backorder order is always an order of its own here)."""
        answer = self.client.get_order(order_id)
        status = answer.get("status")
        if status == ON_HOLD:
            self.client.update_order(order_id, {"status": CANCELLED})
            status = CANCELLED
        self._orders.pop(str(order_id), None)
        return status == CANCELLED

    # -- a customer's delivery choice (plugin/usecases/self_service.py) ----------------------------

    def set_delivery_condition(self, order_id: str, condition: str) -> None:
        """Write meta `backorders_delivery` (read back as `Order.delivery_override` by
        `mapping.py`); WooCommerce's "Update an Order" updates a `meta_data` entry by its key
        (orders.md). No write when the order has that value already."""
        answer = self.client.get_order(order_id)
        if meta_value(answer.get("meta_data") or [], META_DELIVERY) != condition:
            self.client.update_order(
                order_id, {"meta_data": [{"key": META_DELIVERY, "value": condition}]}
            )
        self._orders.pop(str(order_id), None)

    # -- splitting a backorder order again (plugin/usecases/resplitting.py) ------------------------

    def backorder_numbers(self, original_id: str) -> list[str]:
        """The numbers of the original's backorder orders (`GET /orders?parent=<id>`)."""
        numbers: list[str] = []
        for child in self.client.list_orders(parent=[original_id], fields=["id", "meta_data"]):
            meta = child.get("meta_data") or []
            if meta_value(meta, META_ROLE) == ROLE_BACKORDER:
                numbers.append(str(meta_value(meta, META_NUMBER) or child["id"]))
        return numbers

    def write_resplit(self, backorder: Order, plan: Plan, *, new_order_id: str | None) -> str:
        """Create the order taking what still waits of `backorder` and reduce `backorder` to
        what ships now, in one batch call; when `new_order_id` exists, only reduce."""
        data = self._order_data(backorder.id)
        try:
            update = resplit_update_body(backorder, plan)
            create = (
                None
                if new_order_id is not None
                else resplit_create_body(backorder, plan, backorder_data=data)
            )
        except ValueError as exc:
            raise PermanentError(f"order {backorder.id}: {exc}", reason="invalid_plan") from exc
        self._orders.pop(str(backorder.id), None)  # it changes now; read it afresh
        if create is None:
            self.client.update_order(backorder.id, update)
            return str(new_order_id)
        new_id = self._create_and_update(backorder.id, create, update)
        log.info("re-split written backorder=%s new=%s", backorder.id, new_id)
        return new_id

    def _create_and_update(
        self, order_id: str, create: Mapping[str, Any], update: Mapping[str, Any]
    ) -> str:
        """One `orders/batch` creating an order and updating `order_id`; the new order's id.
        A failed update names the created order, so the retry looks for it."""
        answer = self.client.batch_orders(create=[create], update=[{"id": int(order_id), **update}])
        created = _first(answer, "create")
        error = batch_item_error(created) if created is not None else None
        updated = _first(answer, "update")
        update_error = batch_item_error(updated) if updated is not None else None
        if isinstance(update_error, NotFound):
            # The order was deleted meanwhile. WooCommerce then refuses the create too when
            # the new order names it as parent (WC_Abstract_Order::set_parent_id:
            # order_invalid_parent_id), so the gone order is the reason, not the create; a
            # create that went through (a re-split's sibling names the original) is named.
            new_id = created.get("id") if created is not None and error is None else None
            raise _naming_created(update_error, str(new_id)) if new_id else update_error
        if created is None or error is not None or not created.get("id"):
            raise error or PermanentError(
                f"order {order_id}: the store did not return the created order",
                reason="invalid_response",
            )
        new_id = str(created["id"])
        if updated is None or update_error is not None:
            raise _naming_created(
                update_error
                or PermanentError(
                    f"order {order_id}: the store did not confirm the update",
                    reason="invalid_response",
                ),
                new_id,
            )
        return new_id

    def waiting_since(self, order_id: str) -> dt.datetime | None:
        """Since when the units of an order read by `get_order` wait, when a re-split set it."""
        return waiting_since(self._order_data(order_id))

    # -- our webhook subscriptions (plugin/usecases/reconciling.py) ---------------------------

    def list_webhooks(self) -> list[WebhookInfo]:
        """Our webhooks on the store (webhooks.md): those we recorded, or pointing at us."""
        hooks = []
        for item in self.client.list_webhooks():
            hook = WebhookInfo(
                id=str(item.get("id")),
                topic=str(item.get("topic", "")),
                status=str(item.get("status", "")),  # active | paused | disabled, as neutral
                delivery_url=str(item.get("delivery_url", "")),
            )
            ours = self.public_url and hook.delivery_url.startswith(self.public_url + "/")
            if hook.id in self.webhook_ids or ours:
                hooks.append(hook)
        return hooks

    def activate_webhook(self, webhook_id: str) -> None:
        # webhooks.md: `status` is writable (active, paused, disabled).
        self.client.update_webhook(webhook_id, status="active")

    # -- the merchant pages, the storefront widget and the bulk change ------------------------

    def list_products(
        self, *, search: str, stock_status: str, backorders: str, limit: int
    ) -> list[CatalogueItem]:
        """The store's products matching the filters (search and stock status by the store,
        `GET /products`, products.md), at most `limit`."""
        params: dict[str, Any] = {"status": "any", "orderby": "id", "order": "asc"}
        if search:
            params["search"] = search
        if stock_status:
            params["stock_status"] = stock_status
        products: list[CatalogueItem] = []
        for record in self.client.paginate("/products", params):
            if backorders and record.get("backorders") != backorders:
                continue
            products.append(catalogue_item(record))
            if len(products) >= limit:
                break
        return products

    def list_variations(self, product_id: int, *, limit: int) -> list[CatalogueItem]:
        """A variable product's variations (`GET /products/<id>/variations`, products.md)."""
        records = self.client.paginate(f"/products/{int(product_id)}/variations", {})
        return [catalogue_item(record, variation=True) for record in records][:limit]

    def set_backorders(self, ref: ProductRef, value: str) -> None:
        """The product's or variation's `backorders` (products.md), written when it differs."""
        path = f"/products/{int(ref.product_id)}"
        if ref.variant_id is not None:
            path += f"/variations/{int(ref.variant_id)}"
        if self.client.get(path).get("backorders") != value:
            self.client.put(path, {"backorders": value})

    def list_customers(self, *, search: str, limit: int) -> list[CustomerEntry]:
        """The store's customers whose name, e-mail or user name contains `search`."""
        needle = search.lower()
        found: list[CustomerEntry] = []
        for record in self.client.paginate("/customers", {"orderby": "id", "order": "asc"}):
            text = " ".join(
                str(record.get(k, "")) for k in ("first_name", "last_name", "email", "username")
            ).lower()
            if needle in text:
                found.append(customer_entry(record))
            if len(found) >= limit:
                break
        return found

    def order_summaries(self, order_ids: Iterable[str]) -> dict[str, OrderSummary]:
        """Orders by id as the pages show them, one request per 100 (`status=any`); numeric
        ids only (WooCommerce's are)."""
        ids = sorted({int(i) for i in order_ids if str(i).isascii() and str(i).isdigit()})
        found: dict[str, OrderSummary] = {}
        for start in range(0, len(ids), MAX_PER_PAGE):  # keep each request's URL short
            chunk = ids[start : start + MAX_PER_PAGE]
            for record in self.client.list_orders(include=chunk, status="any"):
                found[str(record["id"])] = order_summary(record)
        return found

    def stock_elsewhere(self, order_ids: Sequence[str]) -> Mapping[tuple[str, ProductRef], int]:
        """WooCommerce keeps one stock figure per product: there is no other location."""
        return {}

    def order_admin_url(self, order_id: str) -> str:
        return order_admin_url(self.client.base_url, order_id)

    def shelf_products(self, product_ids: Sequence[int]) -> dict[int, ShelfItem | None]:
        """The published products among `product_ids` (catalogue.py), in one read."""
        records = {int(p["id"]): p for p in self.client.get_products(list(product_ids))}
        shelf: dict[int, ShelfItem | None] = {}
        for product_id in product_ids:
            record = records.get(int(product_id))
            public = record is not None and is_public_product(record)
            shelf[int(product_id)] = (
                shelf_item(ProductRef(str(product_id)), record)
                if public and record is not None
                else None
            )
        return shelf

    def shelf_variations(
        self, product_id: int, variation_ids: Sequence[int], public: Sequence[int]
    ) -> dict[int, ShelfItem]:
        """The published variations among `variation_ids` of public product `product_id`,
        whose public variations are `public` (catalogue.py), in one read."""
        listed = list(public)
        return {
            int(record["id"]): shelf_item(ProductRef(str(product_id), str(record["id"])), record)
            for record in self.client.get_variations(product_id, list(variation_ids))
            if is_public_variation(record, listed)
        }

    def expand_products(self, product_ids: Sequence[int]) -> list[tuple[int, int | None]]:
        """Each product and, after a variable one, each of its variations: one read per 100
        products (`GET /products?include=`); a variable product lists its variation ids in
        `variations` (products.md), which is all the batch write needs."""
        found = {int(p["id"]): p for p in self.client.get_products(list(product_ids))}
        items: list[tuple[int, int | None]] = []
        for product_id in product_ids:
            items.append((product_id, None))
            product = found.get(product_id) or {}
            if product.get("type") == VARIABLE:
                items.extend((product_id, int(v)) for v in product.get("variations") or [])
        return items

    def write_backorders(
        self, items: Sequence[tuple[int, int | None]], value: str
    ) -> Iterator[list[BackorderOutcome]]:
        """Each product by `PUT /products/<id>`, the variations of one product by batches of
        100 (`POST /products/<id>/variations/batch`); the outcomes of each write in turn."""
        index = 0
        while index < len(items):
            product_id, variation_id = items[index]
            if variation_id is None:
                yield [self._write_product_backorders(product_id, value)]
                index += 1
                continue
            # The consecutive variations of one product, at most one batch (100) long.
            group: list[int | None] = []
            for other, variation in items[index : index + MAX_PER_PAGE]:
                if other != product_id or variation is None:
                    break
                group.append(variation)
            yield self._write_variation_backorders(product_id, group, value)
            index += len(group)

    def _write_product_backorders(self, product_id: int, value: str) -> BackorderOutcome:
        try:
            product = self.client.put(f"/products/{product_id}", {"backorders": value})
        except BackordersError as error:
            return BackorderOutcome(product_id, None, False, f"{error.reason}")
        return BackorderOutcome(product_id, None, True, backorders_message(product, value))

    def _write_variation_backorders(
        self, product_id: int, variation_ids: list[int | None], value: str
    ) -> list[BackorderOutcome]:
        """One batch write; an outcome per variation."""
        try:
            answer = self.client.batch_variations(
                product_id, update=[{"id": i, "backorders": value} for i in variation_ids]
            )
        except BackordersError as error:
            return [
                BackorderOutcome(product_id, i, False, f"{error.reason}") for i in variation_ids
            ]
        results = answer.get("update") or []
        outcomes = []
        for index, variation_id in enumerate(variation_ids):
            # WC_REST_Controller::batch_items answers in the order of the request's items.
            result = results[index] if index < len(results) else {}
            failure = batch_item_error(result)
            if failure is not None:
                reason = getattr(failure, "reason", None) or "batch_item_failed"
                outcomes.append(BackorderOutcome(product_id, variation_id, False, reason))
            elif not result:
                outcomes.append(
                    BackorderOutcome(product_id, variation_id, False, "missing_from_batch_answer")
                )
            else:
                outcomes.append(
                    BackorderOutcome(
                        product_id, variation_id, True, backorders_message(result, value)
                    )
                )
        return outcomes


def _line_ref(line: Mapping[str, Any]) -> ProductRef | None:
    """The product or variation an order line's stock is read for (None: product deleted)."""
    product_id = int(line["product_id"] or 0)
    variation_id = int(line.get("variation_id") or 0)
    if not product_id:
        return None
    return ProductRef(str(product_id), str(variation_id) if variation_id else None)


def _naming_created(error: Exception, backorder_order_id: str) -> Exception:
    """`error`, saying which backorder order was created before it happened (attribute
    `backorder_order_id` too), so the merchant and the retry know."""
    message = error.args[0] if error.args else str(error)
    error.args = (f"{message} (backorder order {backorder_order_id} was created)",)
    error.backorder_order_id = backorder_order_id  # type: ignore[attr-defined]
    return error


def _first(answer: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    items = answer.get(key)
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0]
    return None


def connect(
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    throttle: Callable[[], None] | None = None,
    *,
    timeout: float = 30.0,
    session: requests.Session | None = None,
    allow_private_addresses: bool = False,
) -> WooCommercePlatform:
    """The `Platform` for one store: what the worker builds from stored credentials. Private
    addresses are for development only (see WooCommerceClient)."""
    client = WooCommerceClient(
        base_url,
        consumer_key,
        consumer_secret,
        timeout=timeout,
        session=session,
        throttle=throttle,
        allow_private_addresses=allow_private_addresses,
    )
    return WooCommercePlatform(client)
