"""The merchant cancels held units of a Shopify order from the web app's cancel form, with real
processes on loopback (the Shopify sandbox, Redis, the web app and a worker): a card checkout
of a mug and three boards is split (the boards held), one board is cancelled, then the other
two. Shopify shows an order edit each time (the held fulfillment order shrinks, then closes;
the order and its shipped part stay), the stock comes back once, nothing more is captured;
the ledger and audit trail say what was done. Asking for more units than wait writes nothing."""

from __future__ import annotations

import html
from typing import Any

import pytest
import requests

import run
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.usecases.accounts import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_merchant
from plugin.usecases.cancelling import cancel_key, partial_cancel_key
from tests.e2e.helpers import PluginDb, wait_for
from tests.e2e.platforms.shopify.stack import (
    connect_shop,
    plugin_releases,
    split_card_order,
)
from tests.e2e.test_cancel_line import TOKEN, _signed_in
from tests.integration.platforms.shopify.test_cancelling_sandbox import (
    amounts,
    fulfillment_orders,
    lines,
    state,
    warehouse,
)
from tests.integration.platforms.shopify.test_platform_sandbox import adjust, locations
from tests.integration.sandbox_shopify.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite")]  # a whole stack: one database


def _ask(session: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    """Open the cancel form and send it with its CSRF token."""
    confirm = session.get(url, timeout=10)
    assert confirm.status_code == 200 and 'id="confirm-cancel"' in confirm.text, confirm.text
    token = TOKEN.search(confirm.text)
    assert token is not None
    return session.post(url, data={"csrf_token": token.group(1), **data}, timeout=10)


def test_the_merchant_cancels_one_held_unit_then_the_rest(
    shopify_stack: run.Stack, shop: Shop
) -> None:
    stack = shopify_stack
    plugin = PluginDb(stack.config())
    store = connect_shop(stack, plugin, shop)
    ensure_demo_merchant(MerchantRepository(plugin.db), DEMO_EMAIL, DEMO_PASSWORD, store.id)
    name, order_id, held_id = split_card_order(plugin, store, shop)
    [split] = plugin.ledger.for_order(store.id, order_id)
    number, part = name.lstrip("#"), split.plan["backorder_number"]
    board_name = "'Walnut Board' (SKU BOARD-WALNUT)"  # as the split's decision recorded it

    def flashed(response: requests.Response, units: str) -> None:
        assert response.status_code == 200
        assert (
            f'<p class="flash ok" role="status">Cancelling {units} waiting of {board_name} on '
            f"backorder order {part} in the store; this page shows what the store did in a few "
            "seconds.</p>"
        ) in html.unescape(response.text)

    [board] = [str(line["line_id"]) for line in split.plan["lines"] if line["backorder"]]
    split_state = state(shop, order_id)
    assert warehouse(shop, "BOARD-WALNUT") == {"available": -3, "committed": 3}
    session = _signed_in(stack)
    form = f"{stack.web_url}/stores/{store.id}/orders/{held_id}/lines/{board}/cancel"
    ledger = SqlCancellationLedger(plugin.db)

    def cancel_trail() -> list[str]:
        return [
            a.message
            for i in (order_id, held_id)
            for a in plugin.audit.for_order(store.id, i)
            if "cancel_key" in a.data
        ]

    # Refused: more units than wait. Nothing is recorded, queued or written.
    refused = _ask(session, form, {"reason": "Too many", "units": "4"})
    assert refused.status_code == 400
    assert "enter a whole number of units from 0 to 3, not &#39;4&#39;." in refused.text
    assert ledger.for_order(store.id, held_id) == []
    assert cancel_trail() == []
    assert state(shop, order_id) == split_state

    # One board of the three.
    done = _ask(session, form, {"reason": "Customer wants two", "units": "1"})
    flashed(done, "1 of the 3 units")
    key = partial_cancel_key(held_id, board, 1, 3)

    def finished(cancel: str) -> Any:
        record = ledger.get(store.id, cancel)
        return record if record is not None and (record.state == "done" or record.error) else None

    record = wait_for(lambda: finished(key), what="the first cancellation", timeout=60)
    assert (record.state, record.error, record.requested_by) == ("done", None, DEMO_EMAIL)
    assert record.outcome["kept_quantity"] == 2 and record.outcome["new_total"] == "90.00"
    one = state(shop, order_id)
    assert one["cancelledAt"] is None
    assert lines(one) == [("MUG-BLUE", 1, 1), ("BOARD-WALNUT", 3, 2)]
    assert fulfillment_orders(one) == [
        ("ON_HOLD", [("BOARD-WALNUT", 2, 2)]),
        ("OPEN", [("MUG-BLUE", 1, 1)]),
    ]
    assert warehouse(shop, "BOARD-WALNUT") == {"available": -2, "committed": 2}
    assert amounts(one, "CAPTURE") == ["12.0"]
    assert one["totalOutstandingSet"]["shopMoney"]["amount"] == "90.0"
    calls = [
        a.message
        for a in plugin.audit.for_order(store.id, held_id)
        if a.data.get("cancel_key") == key and a.kind == "call"
    ]
    assert calls == [
        f"Took 1 of the 3 waiting units of {board_name} off the held part {part} of order "
        f"#{number}; 2 units still wait; the held part's total is now 90.00."
    ]
    note = str(
        shop.data("query($id: ID!) { order(id: $id) { note } }", {"id": one_gid(order_id)})[
            "order"
        ]["note"]
    )
    # One Shopify order (its staff note): one note says it all.
    assert (
        note.count(
            f"Backorders took 1 of the 3 backordered units of {board_name} (45.00 USD) off "
            f"the held part {part} of order #{number} at the request of {DEMO_EMAIL}."
        )
        == 1
    ), note
    assert "Backorders cancelled" not in note
    assert "The customer was not charged for these units." in note

    # The two left: the held part goes, the order and its shipped mug stay.
    done = _ask(session, form, {"reason": "Customer changed their mind"})
    flashed(done, "the 2 units")
    rest = cancel_key(held_id, board)
    record = wait_for(lambda: finished(rest), what="the second cancellation", timeout=60)
    assert (record.state, record.error) == ("done", None)
    assert (record.outcome["cancels_order"], record.outcome["order_cancelled"]) == (True, False)
    assert [
        a.message
        for a in plugin.audit.for_order(store.id, held_id)
        if a.data.get("cancel_key") == rest and a.kind == "call"
    ] == [
        f"Took {board_name} × 2 off the held part {part} of order #{number}, which closes; "
        f"order #{number} is not cancelled and keeps what ships now."
    ]
    final = state(shop, order_id)
    assert final["cancelledAt"] is None
    assert lines(final) == [("MUG-BLUE", 1, 1), ("BOARD-WALNUT", 3, 0)]
    assert fulfillment_orders(final) == [
        ("CLOSED", [("BOARD-WALNUT", 0, 0)]),
        ("OPEN", [("MUG-BLUE", 1, 1)]),
    ]
    assert warehouse(shop, "BOARD-WALNUT") == {"available": 0, "committed": 0}
    assert warehouse(shop, "MUG-BLUE") == {"available": 9, "committed": 1}
    assert amounts(final, "CAPTURE") == ["12.0"] and amounts(final, "VOID") == []
    assert final["totalOutstandingSet"]["shopMoney"]["amount"] == "0.0"
    assert sorted(r.cancel_key for r in ledger.for_order(store.id, held_id)) == sorted([key, rest])
    # Nothing is left to ask for.
    gone = session.get(form, timeout=10)
    assert "was already cancelled" in gone.text

    # Boards arrive: nothing waits for them any more, nothing is released or captured.
    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 3)
    shop.flush()
    wait_for(plugin.events_finished, what="the stock event", timeout=30)
    assert plugin_releases(plugin).for_order(store.id, held_id) == []
    assert warehouse(shop, "BOARD-WALNUT") == {"available": 3, "committed": 0}
    assert amounts(state(shop, order_id), "CAPTURE") == ["12.0"]


def one_gid(order_id: str) -> str:
    return f"gid://shopify/Order/{order_id}"
