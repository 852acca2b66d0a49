"""Cancelling held units of a Shopify order from the merchant app, against the Shopify sandbox
served on loopback, the job run as the worker runs it: the cancel form, the flash and the order
page say that the units are taken off the held part of the order, which goes on; never that an
order is cancelled (plugin/usecases/cancel_wording.py, from `Links.part_of` and what
`cancel_order` answered)."""

from __future__ import annotations

import html
from typing import Any

from flask import Flask

import worker
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.usecases.cancelling import cancel_key, partial_cancel_key
from tests.functional.platforms.shopify.test_backorders_page import split_in_the_shop
from tests.functional.platforms.shopify.test_products_page import (  # noqa: F401 - fixtures
    shopify_shop,
)
from tests.functional.web.conftest import (  # noqa: F401 - fixtures
    Merchant,
    alice,
    app,
    state,
    worker_env,
)
from tests.integration.platforms.shopify.test_cancelling_sandbox import (
    fulfillment_orders,
    lines,
)
from tests.integration.platforms.shopify.test_cancelling_sandbox import (
    state as shop_state,
)
from tests.integration.sandbox_shopify.conftest import Shop


def test_cancelling_held_units_says_they_leave_the_held_part_and_the_order_goes_on(
    app: Flask,  # noqa: F811
    alice: Merchant,  # noqa: F811
    shopify_shop: tuple[StoreRecord, Any],  # noqa: F811
    worker_env: None,  # noqa: F811
) -> None:
    store, _sandbox = shopify_shop
    shop = Shop(store.base_url)
    name, held_id = split_in_the_shop(app, store, shop)
    [split] = SqlSplitLedger(state(app).db).for_order(store.id, held_id)
    order_id = split.original_order_id
    part = str(split.plan["backorder_number"])
    [board] = [str(line["line_id"]) for line in split.plan["lines"] if line["backorder"]]
    form = f"/stores/{store.id}/orders/{held_id}/lines/{board}/cancel"
    number = name.lstrip("#")

    page = html.unescape(alice.get(form).get_data(as_text=True))
    assert (
        '<p id="cancel-every-unit"><strong>Every unit:</strong> The units are taken off the held '
        f"part of order #{number} and their stock is given back; the held part closes. Order "
        f"#{number} itself is not cancelled: it keeps what ships now.</p>"
    ) in page
    # The held part and what ships are one order in Shopify: one note, on that order.
    assert f"A private note on order #{number} and the audit trail record who" in page
    assert "both orders" not in page

    ledger = SqlCancellationLedger(state(app).db)
    order_page = f"/stores/{store.id}/orders/{held_id}"

    def cancel(units: str, key: str) -> str:
        response = alice.post(form, {"reason": "Customer asked", "units": units}, token_from=form)
        assert response.status_code == 303
        flashed = html.unescape(alice.get(order_page).get_data(as_text=True))
        assert worker.cancel_line(store.id, key) == "done"
        record = ledger.get(store.id, key)
        assert record is not None and (record.state, record.error) == ("done", None)
        return flashed

    board_name = "'Walnut Board' (SKU BOARD-WALNUT)"
    flashed = cancel("1", partial_cancel_key(held_id, board, 1, 3))
    # The split here was recorded without its decision: the name is read from the store.
    assert (
        '<p class="flash ok" role="status">Cancelling 1 of the 3 units waiting of \'Walnut Board\' '
        f"on backorder order {part} in the store; this page shows what the store did in a few "
        "seconds.</p>"
    ) in flashed
    after_one = html.unescape(alice.get(order_page).get_data(as_text=True))
    one = (
        f"Took 1 of the 3 waiting units of {board_name} off the held part {part} of order "
        f"#{number}; 2 units still wait; the held part's total is now 90.00."
    )
    assert f'done: <span class="cancel-result">{one} The customer was not charged' in after_one
    assert f'<span class="badge">call</span> {one}' in after_one

    cancel("", cancel_key(held_id, board))
    after_all = html.unescape(alice.get(order_page).get_data(as_text=True))
    rest = (
        f"Took {board_name} × 2 off the held part {part} of order #{number}, which closes; "
        f"order #{number} is not cancelled and keeps what ships now."
    )
    assert (
        f'done: <span class="cancel-result">{rest} The customer was not charged for these '
        "units.</span>"
    ) in after_all
    assert f'<span class="badge">call</span> {rest}' in after_all
    assert "is cancelled" not in after_all and "Cancelled order" not in after_all
    # What the store shows: the order goes on with its mug; the held part is closed.
    final = shop_state(shop, order_id)
    assert final["cancelledAt"] is None
    assert lines(final) == [("MUG-BLUE", 1, 1), ("BOARD-WALNUT", 3, 0)]
    assert fulfillment_orders(final) == [
        ("CLOSED", [("BOARD-WALNUT", 0, 0)]),
        ("OPEN", [("MUG-BLUE", 1, 1)]),
    ]
