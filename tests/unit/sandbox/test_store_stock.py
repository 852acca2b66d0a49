"""Stock rules of the sandbox store, one WooCommerce behaviour per test (see
sandbox/woocommerce/stock.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.woocommerce.errors import ApiError
from sandbox.woocommerce.store import Store


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: int = 1) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> list[tuple[str, int]]:
    return []


@pytest.fixture
def store(clock: Clock, events: list[tuple[str, int]]) -> Store:
    shop = Store(clock=clock)
    shop.add_listener(lambda topic, rid: events.append((topic, rid)))
    return shop


def product(
    store: Store,
    quantity: int | None = 10,
    backorders: str = "no",
    manage: bool = True,
    price: str = "10.00",
) -> int:
    return store.create_product(
        {
            "name": "Mug",
            "regular_price": price,
            "manage_stock": manage,
            "stock_quantity": quantity,
            "backorders": backorders,
        }
    )["id"]


def stock_of(store: Store, product_id: int) -> Any:
    data = store.product_json(product_id)
    assert data is not None
    return data["stock_quantity"]


def meta(line: dict[str, Any]) -> dict[str, Any]:
    return {m["key"]: m["value"] for m in line["meta_data"]}


def reduced_flag(store: Store, order_id: int) -> bool:
    record = store.order_record(order_id)
    assert record is not None
    return bool(record["stock_reduced"])


# ------------------------------------------------------------------ derived product fields


@pytest.mark.parametrize(
    (
        "manage",
        "quantity",
        "backorders",
        "status",
        "allowed",
        "backordered",
        "shown_quantity",
        "shown_backorders",
    ),
    [
        (True, 5, "no", "instock", False, False, 5, "no"),
        (True, 0, "no", "outofstock", False, False, 0, "no"),
        (True, 0, "notify", "onbackorder", True, True, 0, "notify"),
        (True, 0, "yes", "onbackorder", True, True, 0, "yes"),
        (True, -3, "notify", "onbackorder", True, True, -3, "notify"),
        (True, 2, "yes", "instock", True, False, 2, "yes"),
        # validate_props: without stock management quantity is null and backorders "no".
        (False, 7, "notify", "instock", False, False, None, "no"),
    ],
)
def test_stock_fields_are_derived_as_woocommerce_derives_them(
    store: Store,
    manage: bool,
    quantity: int,
    backorders: str,
    status: str,
    allowed: bool,
    backordered: bool,
    shown_quantity: int | None,
    shown_backorders: str,
) -> None:
    data = store.product_json(product(store, quantity, backorders, manage))
    assert data is not None
    assert data["stock_status"] == status
    assert data["backorders_allowed"] is allowed
    assert data["backordered"] is backordered
    assert data["stock_quantity"] == shown_quantity
    assert data["backorders"] == shown_backorders


# ------------------------------------------------------------------ order creation


def test_rest_order_left_pending_does_not_reduce_stock(store: Store) -> None:
    pid = product(store, 10)
    order = store.create_order({"line_items": [{"product_id": pid, "quantity": 4}]})
    assert order["status"] == "pending"
    assert stock_of(store, pid) == 10
    assert meta(order["line_items"][0]) == {}
    assert reduced_flag(store, order["id"]) is False


@pytest.mark.parametrize("status", ["on-hold", "processing", "completed"])
def test_rest_order_created_with_a_reducing_status_reduces_stock_without_set_paid(
    store: Store, status: str
) -> None:
    # WooCommerce's REST test test_order_update_line_item_quantity_updates_product_stock:
    # stock 10, POST /orders status on-hold quantity 4 -> stock 6.
    pid = product(store, 10)
    order = store.create_order(
        {"status": status, "line_items": [{"product_id": pid, "quantity": 4}]}
    )
    assert order["status"] == status
    assert stock_of(store, pid) == 6
    assert meta(order["line_items"][0]) == {"_reduced_stock": "4"}
    assert reduced_flag(store, order["id"]) is True
    # The internal flag never shows in REST meta_data.
    assert order["meta_data"] == []


@pytest.mark.parametrize("status", ["pending", "failed", "cancelled"])
def test_rest_order_created_with_a_non_reducing_status_keeps_stock(
    store: Store, status: str
) -> None:
    pid = product(store, 10)
    order = store.create_order(
        {"status": status, "line_items": [{"product_id": pid, "quantity": 4}]}
    )
    assert order["status"] == status
    assert stock_of(store, pid) == 10
    assert reduced_flag(store, order["id"]) is False


def test_set_paid_completes_payment_and_reduces_stock_once(store: Store, clock: Clock) -> None:
    pid = product(store, 10)
    order = store.create_order(
        {
            "set_paid": True,
            "transaction_id": "tx-1",
            "line_items": [{"product_id": pid, "quantity": 3}],
        }
    )
    assert order["status"] == "processing"
    assert order["date_paid"] == "2026-03-01T12:00:00"
    assert order["date_paid_gmt"] == "2026-03-01T12:00:00"
    assert order["transaction_id"] == "tx-1"
    assert stock_of(store, pid) == 7
    assert meta(order["line_items"][0]) == {"_reduced_stock": "3"}


def test_status_and_set_paid_together_reduce_exactly_once(store: Store) -> None:
    pid = product(store, 10)
    order = store.create_order(
        {"status": "on-hold", "set_paid": True, "line_items": [{"product_id": pid, "quantity": 3}]}
    )
    assert order["status"] == "processing"
    assert stock_of(store, pid) == 7


def test_unmanaged_product_is_never_reduced(store: Store) -> None:
    pid = product(store, None, manage=False)
    order = store.create_order(
        {"status": "processing", "line_items": [{"product_id": pid, "quantity": 3}]}
    )
    assert stock_of(store, pid) is None
    assert meta(order["line_items"][0]) == {}


# ------------------------------------------------------------------ transitions


def test_each_transition_reduces_or_restores_as_woocommerce(store: Store) -> None:
    pid = product(store, 10)
    oid = store.create_order({"line_items": [{"product_id": pid, "quantity": 4}]})["id"]
    steps = [
        ("processing", 6, True),  # reduce
        ("completed", 6, True),  # already reduced: no double count
        ("cancelled", 10, False),  # restore
        ("on-hold", 6, True),  # reduce again
        ("failed", 6, True),  # failed neither reduces nor restores
        ("pending", 10, False),  # restore
        ("refunded", 10, False),  # refunded does not touch stock by itself
        ("processing", 6, True),
    ]
    for status, expected_stock, flag in steps:
        order = store.update_order(oid, {"status": status})
        assert (status, stock_of(store, pid)) == (status, expected_stock)
        assert reduced_flag(store, oid) is flag
        assert ("_reduced_stock" in meta(order["line_items"][0])) is flag


def test_restoring_notes_and_reducing_notes_are_written(store: Store) -> None:
    pid = product(store, 10)
    oid = store.create_order(
        {"status": "processing", "line_items": [{"product_id": pid, "quantity": 4}]}
    )["id"]
    store.update_order(oid, {"status": "cancelled"})
    notes = [store.note_json(n)["note"] for n in store.order_notes(oid)]  # type: ignore[index]
    assert "Stock levels reduced: Mug 10&rarr;6" in notes
    assert "Stock levels increased: Mug 6&rarr;10" in notes
    assert "Order status changed from Processing to Cancelled." in notes


def test_cash_on_delivery_processing_gets_date_paid(store: Store, clock: Clock) -> None:
    # class-wc-order.php maybe_set_date_paid: reaching processing sets date_paid, paid or not.
    pid = product(store, 10)
    oid = store.create_order(
        {"payment_method": "cod", "line_items": [{"product_id": pid, "quantity": 1}]}
    )["id"]
    assert store.order_json(oid)["date_paid"] is None  # type: ignore[index]
    clock.tick(60)
    order = store.update_order(oid, {"status": "processing"})
    assert order["date_paid"] == "2026-03-01T12:01:00"
    assert order["date_completed"] is None
    clock.tick(60)
    order = store.update_order(oid, {"status": "completed"})
    assert order["date_paid"] == "2026-03-01T12:01:00"
    assert order["date_completed"] == "2026-03-01T12:02:00"


def test_on_hold_does_not_set_date_paid(store: Store) -> None:
    pid = product(store, 10)
    order = store.create_order(
        {"status": "on-hold", "line_items": [{"product_id": pid, "quantity": 1}]}
    )
    assert order["date_paid"] is None
    assert order["needs_payment"] is False


# ------------------------------------------------------------------ backorders


def test_notify_backorder_beyond_stock_goes_negative_and_checkout_marks_backordered(
    store: Store,
) -> None:
    pid = product(store, 3, "notify")
    order = store.create_order(
        {"status": "on-hold", "line_items": [{"product_id": pid, "quantity": 5}]},
        created_via="checkout",
    )
    assert order["created_via"] == "checkout"
    assert meta(order["line_items"][0]) == {"Backordered": "2", "_reduced_stock": "5"}
    data = store.product_json(pid)
    assert data is not None
    assert (data["stock_quantity"], data["stock_status"], data["backordered"]) == (
        -2,
        "onbackorder",
        True,
    )


def test_checkout_backordered_meta_counts_from_zero_when_stock_already_negative(
    store: Store,
) -> None:
    pid = product(store, -4, "notify")
    order = store.create_order(
        {"line_items": [{"product_id": pid, "quantity": 3}]}, created_via="checkout"
    )
    assert meta(order["line_items"][0]) == {"Backordered": "3"}
    assert stock_of(store, pid) == -4  # pending checkout: nothing reduced yet


def test_yes_backorders_have_no_backordered_meta(store: Store) -> None:
    pid = product(store, 0, "yes")
    order = store.create_order(
        {"status": "processing", "line_items": [{"product_id": pid, "quantity": 2}]},
        created_via="checkout",
    )
    assert meta(order["line_items"][0]) == {"_reduced_stock": "2"}
    assert stock_of(store, pid) == -2


def test_rest_created_lines_get_no_backordered_meta(store: Store) -> None:
    pid = product(store, 1, "notify")
    order = store.create_order(
        {"status": "processing", "line_items": [{"product_id": pid, "quantity": 3}]}
    )
    assert meta(order["line_items"][0]) == {"_reduced_stock": "3"}
    assert stock_of(store, pid) == -2


def test_rest_does_not_refuse_an_order_beyond_stock_without_backorders(store: Store) -> None:
    pid = product(store, 1, "no")
    store.create_order({"status": "processing", "line_items": [{"product_id": pid, "quantity": 3}]})
    data = store.product_json(pid)
    assert data is not None
    assert (data["stock_quantity"], data["stock_status"]) == (-2, "outofstock")


# ------------------------------------------------------------------ editing lines


def _processing_order(store: Store, pid: int, quantity: int) -> dict[str, Any]:
    return store.create_order(
        {"status": "processing", "line_items": [{"product_id": pid, "quantity": quantity}]}
    )


def test_changing_quantity_adjusts_stock_by_the_difference(store: Store) -> None:
    pid = product(store, 10)
    order = _processing_order(store, pid, 4)
    line_id = order["line_items"][0]["id"]
    order = store.update_order(order["id"], {"line_items": [{"id": line_id, "quantity": 6}]})
    assert stock_of(store, pid) == 4
    assert meta(order["line_items"][0]) == {"_reduced_stock": "6"}
    order = store.update_order(order["id"], {"line_items": [{"id": line_id, "quantity": 1}]})
    assert stock_of(store, pid) == 9
    assert meta(order["line_items"][0]) == {"_reduced_stock": "1"}


def test_changing_quantity_keeps_line_totals_unless_they_are_posted(store: Store) -> None:
    pid = product(store, 10, price="10.00")
    order = _processing_order(store, pid, 4)
    line_id = order["line_items"][0]["id"]
    order = store.update_order(order["id"], {"line_items": [{"id": line_id, "quantity": 2}]})
    line = order["line_items"][0]
    assert (line["quantity"], line["subtotal"], line["total"], line["price"]) == (
        2,
        "40.00",
        "40.00",
        20,
    )
    assert order["total"] == "40.00"
    order = store.update_order(
        order["id"],
        {"line_items": [{"id": line_id, "quantity": 2, "subtotal": "20.00", "total": "20.00"}]},
    )
    line = order["line_items"][0]
    assert (line["subtotal"], line["total"], line["price"]) == ("20.00", "20.00", 10)
    assert order["total"] == "20.00"


def test_changing_quantity_on_a_never_reduced_order_reduces_the_whole_line(store: Store) -> None:
    # wc_maybe_adjust_line_item_product_stock has no status check: a pending order whose line
    # quantity changes through REST reduces the full new quantity and is marked reduced.
    pid = product(store, 10)
    order = store.create_order({"line_items": [{"product_id": pid, "quantity": 4}]})
    line_id = order["line_items"][0]["id"]
    order = store.update_order(order["id"], {"line_items": [{"id": line_id, "quantity": 3}]})
    assert stock_of(store, pid) == 7
    assert meta(order["line_items"][0]) == {"_reduced_stock": "3"}
    assert reduced_flag(store, order["id"]) is True


@pytest.mark.parametrize("removal", [{"product_id": None}, {"quantity": 0}])
def test_removing_a_reduced_line_restores_its_stock_and_totals(
    store: Store, removal: dict[str, Any]
) -> None:
    mug = product(store, 10, price="10.00")
    bowl = product(store, 10, price="5.00")
    order = store.create_order(
        {
            "status": "processing",
            "line_items": [{"product_id": mug, "quantity": 2}, {"product_id": bowl, "quantity": 3}],
            "shipping_lines": [{"method_id": "flat_rate", "method_title": "Flat", "total": "4.00"}],
        }
    )
    assert (stock_of(store, mug), stock_of(store, bowl), order["total"]) == (8, 7, "39.00")
    bowl_line = order["line_items"][1]["id"]
    order = store.update_order(order["id"], {"line_items": [{"id": bowl_line, **removal}]})
    assert [li["product_id"] for li in order["line_items"]] == [mug]
    assert (stock_of(store, mug), stock_of(store, bowl)) == (8, 10)
    assert order["total"] == "24.00"


def test_removing_a_line_never_reduced_gives_nothing_back(store: Store) -> None:
    pid = product(store, 10)
    order = store.create_order({"line_items": [{"product_id": pid, "quantity": 4}]})
    order = store.update_order(
        order["id"], {"line_items": [{"id": order["line_items"][0]["id"], "product_id": None}]}
    )
    assert order["line_items"] == []
    assert stock_of(store, pid) == 10
    assert order["total"] == "0.00"


def test_a_line_added_to_a_reduced_order_is_not_reduced(store: Store) -> None:
    mug = product(store, 10)
    bowl = product(store, 10)
    order = _processing_order(store, mug, 1)
    order = store.update_order(order["id"], {"line_items": [{"product_id": bowl, "quantity": 2}]})
    assert stock_of(store, bowl) == 10
    assert meta(order["line_items"][1]) == {}
    # ...and a later cancel only gives back what was reduced.
    store.update_order(order["id"], {"status": "cancelled"})
    assert (stock_of(store, mug), stock_of(store, bowl)) == (10, 10)


def test_removing_a_line_of_another_order_is_refused_and_changes_nothing(store: Store) -> None:
    pid = product(store, 10)
    first = _processing_order(store, pid, 1)
    second = _processing_order(store, pid, 2)
    with pytest.raises(ApiError) as raised:
        store.update_order(
            first["id"],
            {"line_items": [{"id": second["line_items"][0]["id"], "product_id": None}]},
        )
    assert raised.value.code == "woocommerce_rest_invalid_item_id"
    assert raised.value.status == 400
    assert stock_of(store, pid) == 7
    assert len(store.order_json(second["id"])["line_items"]) == 1  # type: ignore[index]


def test_trashing_and_deleting_orders_leave_stock_alone(store: Store) -> None:
    pid = product(store, 10)
    first = _processing_order(store, pid, 2)
    second = _processing_order(store, pid, 3)
    trashed = store.delete_order(first["id"], force=False)
    # The answer is the order as it was (WC_REST_CRUD_Controller::delete_item).
    assert trashed["status"] == "processing"
    assert store.order_json(first["id"])["status"] == "trash"  # type: ignore[index]
    store.delete_order(second["id"], force=True)
    assert stock_of(store, pid) == 5
    assert store.order_json(second["id"]) is None


# ------------------------------------------------------------------ variations and events


def test_variation_stock_is_reduced_and_fires_product_updated_for_the_variation(
    store: Store, events: list[tuple[str, int]]
) -> None:
    parent = store.create_product({"name": "Shirt", "type": "variable"})["id"]
    small = store.create_variation(
        parent,
        {
            "regular_price": "20.00",
            "manage_stock": True,
            "stock_quantity": 1,
            "backorders": "notify",
            "attributes": [{"name": "Size", "option": "S"}],
        },
    )["id"]
    assert store.product_json(parent)["stock_status"] == "instock"  # type: ignore[index]
    events.clear()
    order = store.create_order(
        {
            "status": "processing",
            "line_items": [{"product_id": parent, "variation_id": small, "quantity": 2}],
        }
    )
    line = order["line_items"][0]
    assert (line["product_id"], line["variation_id"], line["name"]) == (parent, small, "Shirt - S")
    assert meta(line) == {"size": "S", "_reduced_stock": "2"}
    variation = store.variation_json(small)
    assert variation is not None
    assert (variation["stock_quantity"], variation["stock_status"]) == (-1, "onbackorder")
    assert store.product_json(parent)["stock_status"] == "onbackorder"  # type: ignore[index]
    assert events == [
        ("order.created", order["id"]),
        ("order.updated", order["id"]),
        ("product.updated", small),
    ]


def _parent_keeping_stock(store: Store, quantity: int) -> tuple[int, int, int]:
    """A variable product keeping the stock (1 unit, backorders "notify") and two variations
    drawing on it: one posted with `manage_stock` false, one with "parent"."""
    parent = store.create_product(
        {"name": "Shirt", "type": "variable", "manage_stock": True, "stock_quantity": quantity,
         "backorders": "notify"}
    )["id"]  # fmt: skip
    red, blue = (
        store.create_variation(
            parent,
            {
                "regular_price": "20.00",
                "manage_stock": manage,
                "attributes": [{"name": "Colour", "option": colour}],
            },
        )["id"]  # fmt: skip
        for colour, manage in (("Red", False), ("Blue", "parent"))
    )
    return parent, red, blue


def test_variations_without_their_own_stock_show_the_parents_figure(store: Store) -> None:
    # class-wc-product-variation.php: get_manage_stock() is "parent" in view context, and
    # get_stock_quantity() / get_backorders() give the parent's values; the REST variations
    # controller answers managing_stock() and those getters.
    parent, red, blue = _parent_keeping_stock(store, 1)

    for variation_id in (red, blue):
        shown = store.variation_json(variation_id)
        assert shown is not None
        assert (
            shown["manage_stock"], shown["stock_quantity"], shown["backorders"],
            shown["stock_status"], shown["backorders_allowed"],
        ) == ("parent", 1, "notify", "instock", True)  # fmt: skip
    # The variation's own record keeps manage_stock off (wc_string_to_bool("parent") is false).
    assert store.product_record(red)["manage_stock"] is False  # type: ignore[index]


def test_variations_drawing_on_the_parent_reduce_and_restore_its_one_figure(
    store: Store, events: list[tuple[str, int]]
) -> None:
    # wc-stock-functions.php wc_update_product_stock changes get_stock_managed_by_id(): the
    # parent; saving the parent is what fires product.updated (for the parent's id).
    parent, red, blue = _parent_keeping_stock(store, 1)
    events.clear()
    order = store.create_order(
        {"status": "processing", "line_items": [
            {"product_id": parent, "variation_id": red, "quantity": 1},
            {"product_id": parent, "variation_id": blue, "quantity": 1},
        ]}
    )  # fmt: skip

    assert [meta(line)["_reduced_stock"] for line in order["line_items"]] == ["1", "1"]
    assert stock_of(store, parent) == -1
    for variation_id in (red, blue):
        shown = store.variation_json(variation_id)
        assert shown is not None
        assert (shown["stock_quantity"], shown["stock_status"], shown["backordered"]) == (
            -1, "onbackorder", True,
        )  # fmt: skip
    assert events == [
        ("order.created", order["id"]),
        ("order.updated", order["id"]),
        ("product.updated", parent),
    ]

    store.update_order(order["id"], {"status": "cancelled"})

    assert stock_of(store, parent) == 1
    assert store.variation_json(red)["stock_quantity"] == 1  # type: ignore[index]


def test_checkout_marks_a_variation_backordered_from_the_parents_figure(store: Store) -> None:
    parent, red, _blue = _parent_keeping_stock(store, 1)
    order = store.create_order(
        {"status": "on-hold",
         "line_items": [{"product_id": parent, "variation_id": red, "quantity": 3}]},
        created_via="checkout",
    )  # fmt: skip
    assert meta(order["line_items"][0])["Backordered"] == "2"
    assert stock_of(store, parent) == -2


def test_a_variation_of_a_parent_not_keeping_stock_is_not_counted(store: Store) -> None:
    parent = store.create_product({"name": "Cap", "type": "variable"})["id"]
    plain = store.create_variation(parent, {"regular_price": "5.00", "manage_stock": False})["id"]
    order = store.create_order(
        {"status": "processing",
         "line_items": [{"product_id": parent, "variation_id": plain, "quantity": 2}]}
    )  # fmt: skip
    assert meta(order["line_items"][0]) == {}
    shown = store.variation_json(plain)
    assert shown is not None
    assert (shown["manage_stock"], shown["stock_quantity"]) == (False, None)


def test_listeners_hear_each_committed_change_once(
    store: Store, events: list[tuple[str, int]]
) -> None:
    pid = product(store, 10)
    assert events == [("product.created", pid)]
    events.clear()
    oid = store.create_order({"line_items": [{"product_id": pid, "quantity": 1}]})["id"]
    store.update_order(oid, {"status": "processing"})
    store.delete_order(oid, force=False)
    assert events == [
        ("order.created", oid),
        ("order.updated", oid),  # a REST-created order is saved twice
        ("order.updated", oid),
        ("product.updated", pid),
        ("order.deleted", oid),
    ]


def test_permanent_deletes_and_draft_orders_fire_no_webhook_events(
    store: Store, events: list[tuple[str, int]]
) -> None:
    # class-wc-webhook.php: *.deleted hooks are wp_trash_post/woocommerce_trash_order only, and
    # is_valid_resource ignores checkout-draft orders.
    pid = product(store, 10)
    parent = store.create_product({"name": "Shirt", "type": "variable"})["id"]
    variation = store.create_variation(parent, {"attributes": [{"name": "Size", "option": "S"}]})
    draft = store.create_order(
        {"status": "checkout-draft", "line_items": [{"product_id": pid, "quantity": 1}]}
    )
    kept = store.create_order({"line_items": [{"product_id": pid, "quantity": 1}]})
    events.clear()
    store.update_order(draft["id"], {"customer_note": "still a draft"})
    store.delete_order(kept["id"], force=True)
    store.delete_variation(parent, variation["id"])
    store.delete_product(pid, force=True)
    assert events == []
    assert store.order_json(kept["id"]) is None
    assert store.product_json(pid) is None


def test_a_refused_request_changes_nothing_and_fires_nothing(
    store: Store, events: list[tuple[str, int]]
) -> None:
    pid = product(store, 10)
    events.clear()
    with pytest.raises(ApiError) as raised:
        store.create_order(
            {
                "status": "processing",
                "line_items": [
                    {"product_id": pid, "quantity": 1},
                    {"product_id": pid, "quantity": "one"},
                ],
            }
        )
    assert raised.value.code == "rest_invalid_param"
    assert stock_of(store, pid) == 10
    assert store.list_orders() == []
    assert events == []


def test_concurrent_writers_are_serialised(store: Store) -> None:
    import threading

    pid = product(store, 1000)
    created: list[int] = []
    lock = threading.Lock()

    def place_orders() -> None:
        for _ in range(25):
            order = store.create_order(
                {"status": "processing", "line_items": [{"product_id": pid, "quantity": 1}]}
            )
            with lock:
                created.append(order["id"])

    threads = [threading.Thread(target=place_orders) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(created)) == 200
    assert stock_of(store, pid) == 800
    assert sorted(store.list_orders()) == sorted(created)
