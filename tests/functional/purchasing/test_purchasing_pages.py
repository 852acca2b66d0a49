"""Purchasing pages (web/purchasing.py) through the test client: real SQLite/PostgreSQL, the
embedded Redis; bad input refused with what to change and nothing written."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from plugin.adapters.queue.jobs import event_queue, receipt_job_id
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.adapters.sql.purchasing import SqlPurchasing, SqlReceiptLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductRef
from plugin.core.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ReorderPoint,
    Reservation,
    Supplier,
    SupplierProduct,
)
from tests.functional.web.conftest import Merchant, state

P1 = ProductRef("11")


def _base(store: StoreRecord) -> str:
    return f"/stores/{store.id}/purchasing"


def _purchasing(app: Flask) -> SqlPurchasing:
    return SqlPurchasing(state(app).db)


def _flash(response: Any, merchant: Merchant) -> str:
    assert response.status_code == 303, response.status_code
    return str(merchant.get(response.headers["Location"]).get_data(as_text=True))


def _supplier(app: Flask, store: StoreRecord, email: str = "po@acme.test") -> Supplier:
    purchasing = _purchasing(app)
    supplier_id = purchasing.save_supplier(
        store.id, Supplier("", "Acme", "USD", email=email, lead_time_days=10)
    )
    return next(s for s in purchasing.suppliers(store.id) if s.id == supplier_id)


def _draft(app: Flask, store: StoreRecord, supplier: Supplier, number: str = "PO-1") -> None:
    _purchasing(app).add(
        store.id,
        [
            PurchaseOrder(
                number, supplier.id, "USD", PurchaseOrderStatus.DRAFT,
                (PurchaseOrderLine(P1, 6, Decimal("2.50"), "A-1", 0,
                                   (Reservation("301", 2), Reservation("299", 3))),),
            )
        ],
    )  # fmt: skip


def test_a_supplier_and_a_product_link_are_added_from_the_page(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    page = f"{_base(alice_store)}/suppliers"
    form = {"name": "Acme", "email": "po@acme.test", "currency": "USD", "lead_time_days": "7",
            "minimum_order_value": "100", "exchange_rate": "", "notes": "calls first"}  # fmt: skip
    assert "Supplier Acme saved." in _flash(alice.post(page, form, token_from=page), alice)
    [supplier] = _purchasing(app).suppliers(alice_store.id)
    assert supplier == Supplier(
        supplier.id, "Acme", "USD", "po@acme.test", 7, Decimal("100"), None, "calls first"
    )
    link = {
        "supplier_id": supplier.id, "product_id": "11", "variant_id": "", "unit_cost": "2.40",
        "supplier_sku": "A-11", "pack_size": "6", "minimum_quantity": "12", "preferred": "yes",
    }  # fmt: skip
    html = _flash(alice.post(f"{_base(alice_store)}/links", link, token_from=page), alice)
    assert "Product 11 linked." in html
    assert _purchasing(app).links(alice_store.id) == [
        SupplierProduct(supplier.id, P1, Decimal("2.40"), "A-11", 6, 12, True)
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pack_size", "-6", "the pack size must be 0 or more, not -6."),
        ("pack_size", "1.5", "the pack size must be a whole number, not '1.5'."),
        ("pack_size", "9" * 12, f"the pack size must be a whole number, not '{'9' * 12}'."),
        ("minimum_quantity", "²", "the minimum must be a whole number, not '²'."),
        ("minimum_quantity", "-1", "the minimum must be 0 or more, not -1."),
        ("unit_cost", "abc", "the unit cost must be a number, not 'abc'."),
        ("product_id", "mug", "Give the product's id in the store (digits), not 'mug'."),
    ],
)
def test_a_bad_product_link_is_refused_and_nothing_is_saved(
    app: Flask, alice: Merchant, alice_store: StoreRecord, field: str, value: str, message: str
) -> None:
    supplier = _supplier(app, alice_store)
    page = f"{_base(alice_store)}/suppliers"
    link = {"supplier_id": supplier.id, "product_id": "11", "unit_cost": "2", "pack_size": "1",
            field: value}  # fmt: skip
    html = _flash(alice.post(f"{_base(alice_store)}/links", link, token_from=page), alice)
    assert message in html.replace("&#39;", "'")
    assert _purchasing(app).links(alice_store.id) == []


def test_a_supplier_in_another_currency_without_a_rate_is_refused(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    page = f"{_base(alice_store)}/suppliers"
    form = {"name": "Euro Ltd", "currency": "EUR", "email": "a@euro.test"}
    html = _flash(alice.post(page, form, token_from=page), alice)
    assert "enter an exchange rate (USD per 1 EUR)" in html
    assert _purchasing(app).suppliers(alice_store.id) == []


def test_a_form_without_its_csrf_token_is_refused(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    response = alice.post(f"{_base(alice_store)}/suppliers", {"name": "Acme", "currency": "USD"})
    assert response.status_code == 400
    assert _purchasing(app).suppliers(alice_store.id) == []


def test_another_merchants_store_is_not_found(
    app: Flask, bob: Merchant, alice_store: StoreRecord
) -> None:
    for path in ("suppliers", "proposal", "orders", "suppliers.csv"):
        assert bob.get(f"{_base(alice_store)}/{path}").status_code == 404


def test_suppliers_csv_import_saves_good_rows_and_reports_each_refused_one(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    csv_text = (
        "name,email,currency,lead_time_days,minimum_order_value,exchange_rate,notes\n"
        "Acme,po@acme.test,USD,10,0,,\n"
        "Euro Ltd,a@euro.test,EUR,5,0,,no rate\n"
        "Slow,slow@x.test,USD,-3,0,,\n"
        "Brit,b@brit.test,GBP,3,50,1.25,\n"
    )
    page = f"{_base(alice_store)}/suppliers"
    response = alice.client.post(
        f"{_base(alice_store)}/suppliers/import",
        data={"csrf_token": alice.token(page), "file": (io.BytesIO(csv_text.encode()), "s.csv")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 row(s) saved." in html
    assert '<td class="num">3</td><td>Supplier Euro Ltd invoices in EUR' in html
    assert '<td class="num">4</td><td>Supplier Slow: the lead time must be 0 or more' in html
    assert [s.name for s in _purchasing(app).suppliers(alice_store.id)] == ["Acme", "Brit"]
    export = alice.get(f"{_base(alice_store)}/suppliers.csv").get_data(as_text=True)
    assert export.splitlines()[1:] == [
        "Acme,po@acme.test,USD,10,0,,",
        "Brit,b@brit.test,GBP,3,50,1.25,",
    ]


def test_sending_to_a_supplier_without_an_e_mail_is_refused_and_nothing_is_sent(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    supplier = _supplier(app, alice_store, email="")
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/orders/PO-1"
    html = _flash(alice.post(f"{page}/send", {}, token_from=page), alice)
    assert "Supplier Acme has no e-mail address: add one to send purchase order PO-1." in html
    stored = _purchasing(app).get(alice_store.id, "PO-1")
    assert stored is not None and stored.order.status is PurchaseOrderStatus.DRAFT
    assert OutboxRepository(state(app).db).list(alice_store.id) == []


def test_sending_mails_the_supplier_text_and_csv_and_dates_the_order(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/orders/PO-1"
    html = _flash(alice.post(f"{page}/send", {"expected_date": ""}, token_from=page), alice)
    expected = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=10)
    assert f"Purchase order PO-1 sent, expected {expected}." in html
    [message] = OutboxRepository(state(app).db).list(alice_store.id)
    assert message.recipient == "po@acme.test"
    assert message.subject == "Purchase order PO-1 from Shop"
    assert "- 6 x A-1 at 2.50 USD" in message.body
    assert message.attachments == (
        (
            "PO-1.csv",
            "text/csv",
            "purchase_order,supplier_sku,product_id,variant_id,quantity,unit_cost,currency,"
            "line_value\nPO-1,A-1,11,,6,2.50,USD,15.00\n",
        ),
    )
    printable = alice.get(f"{page}/print").get_data(as_text=True)
    assert 'id="print-total">15.00 USD' in printable


@pytest.mark.parametrize(
    ("value", "message"),
    [("-2", "Product 11: enter 0 or more, not -2."),
     ("1.5", "Product 11: enter a whole number of units, not '1.5'."),
     ("", "Enter the units received for at least one line of purchase order PO-1.")],
)  # fmt: skip
def test_a_bad_receipt_is_refused_and_records_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord, value: str, message: str
) -> None:
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/orders/PO-1"
    alice.post(f"{page}/send", {}, token_from=page)
    before = _purchasing(app).get(alice_store.id, "PO-1")
    html = _flash(alice.post(f"{page}/receive", {"received-11": value}, token_from=page), alice)
    assert message in html.replace("&#39;", "'")
    assert _purchasing(app).get(alice_store.id, "PO-1") == before
    assert SqlReceiptLedger(state(app).db).receipts(alice_store.id) == []


def test_a_partial_receipt_is_recorded_and_its_job_queued_once(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/orders/PO-1"
    alice.post(f"{page}/send", {}, token_from=page)
    html = _flash(alice.post(f"{page}/receive", {"received-11": "4"}, token_from=page), alice)
    assert "Receipt recorded" in html
    stored = _purchasing(app).get(alice_store.id, "PO-1")
    assert stored is not None
    assert stored.order.status is PurchaseOrderStatus.PARTLY_RECEIVED
    assert stored.order.lines[0].received == 4
    assert stored.order.lines[0].reservations == (Reservation("299", 1),)
    [receipt] = SqlReceiptLedger(state(app).db).receipts(alice_store.id)
    assert receipt.lines == ({"product_id": "11", "variant_id": None, "units": 4},)
    queue = event_queue(state(app).redis)
    assert queue.fetch_job(receipt_job_id(alice_store.id, receipt.receipt_key)) is not None


def test_an_over_receipt_is_recorded_with_a_warning(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/orders/PO-1"
    alice.post(f"{page}/send", {}, token_from=page)
    html = _flash(alice.post(f"{page}/receive", {"received-11": "8"}, token_from=page), alice)
    assert "8 units received of 6 ordered on purchase order PO-1; the 2 extra go to stock" in html
    stored = _purchasing(app).get(alice_store.id, "PO-1")
    assert stored is not None and stored.order.status is PurchaseOrderStatus.RECEIVED


def test_a_receipt_on_a_cancelled_order_is_refused_and_cancel_frees_reservations(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/orders/PO-1"
    html = _flash(alice.post(f"{page}/cancel", {}, token_from=page), alice)
    assert "Purchase order PO-1 cancelled; 5 reserved units freed" in html
    assert _purchasing(app).reserved_orders(alice_store.id) == {}
    html = _flash(alice.post(f"{page}/receive", {"received-11": "1"}, token_from=page), alice)
    assert "No receipt can be recorded on purchase order PO-1: it is cancelled" in html
    assert SqlReceiptLedger(state(app).db).receipts(alice_store.id) == []


def test_deleting_a_supplier_with_an_open_order_is_refused(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/suppliers"
    html = _flash(alice.post(f"{page}/{supplier.id}/delete", {}, token_from=page), alice)
    assert "Supplier Acme has purchase orders (PO-1)" in html
    assert [s.name for s in _purchasing(app).suppliers(alice_store.id)] == ["Acme"]


def test_moving_the_expected_date_records_it_on_each_covered_backorder_order(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    from plugin.adapters.sql.audit import SqlAuditLog

    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/orders/PO-1"
    alice.post(f"{page}/send", {"expected_date": "2027-01-14"}, token_from=page)
    html = _flash(
        alice.post(f"{page}/expected", {"expected_date": "2027-01-20"}, token_from=page), alice
    )
    assert "Purchase order PO-1 is now expected on 2027-01-20." in html
    for order_id in ("301", "299"):
        dates = [
            e.message for e in SqlAuditLog(state(app).db).for_order(alice_store.id, order_id)
            if e.data.get("event") == "expected_date_moved"
        ]  # fmt: skip
        assert dates == ["Expected date moved from 2027-01-14 to 2027-01-20 (purchase order PO-1)."]


def test_links_csv_import_refuses_unknown_products_and_suppliers_row_by_row(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    store = live_store.store
    mug = live_store.product_id("MUG-BLUE")
    purchasing = _purchasing(app)
    purchasing.save_supplier(store.id, Supplier("", "Acme", "USD", email="po@acme.test"))
    csv_text = (
        "supplier,product_id,variant_id,supplier_sku,unit_cost,pack_size,minimum_quantity,"
        "preferred\n"
        f"Acme,{mug},,A-MUG,3.10,6,0,yes\n"
        "Acme,999999,,A-NONE,1.00,1,0,yes\n"
        f"Nobody,{mug},,N-MUG,1.00,1,0,no\n"
        f"Acme,{mug},,A-MUG,-1,1,0,no\n"
    )
    page = f"{_base(store)}/suppliers"
    response = alice.client.post(
        f"{_base(store)}/links/import",
        data={"csrf_token": alice.token(page), "file": (io.BytesIO(csv_text.encode()), "l.csv")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 200
    assert "1 row(s) saved." in html
    assert '<td class="num">3</td><td>The store has no product 999999' in html
    assert "<td class=\"num\">4</td><td>There is no supplier named 'Nobody'" in html
    assert f'<td class="num">5</td><td>Product {mug} at supplier 1: the unit cost must be' in html
    [link] = purchasing.links(store.id)
    assert (link.ref, link.supplier_sku, link.unit_cost, link.pack_size) == (
        ProductRef(str(mug)),
        "A-MUG",
        Decimal("3.10"),
        6,
    )


def test_the_backorders_page_shows_the_purchase_order_covering_a_line(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    from tests.functional.web.test_backorders import _line, add_split

    add_split(app, alice_store.id, "100", "301", [_line("11", 2, "20.00")])
    add_split(app, alice_store.id, "101", "302", [_line("12", 1, "5.00")])
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"/stores/{alice_store.id}/backorders"
    assert '<span class="on-po">on PO-1 (draft)</span>' in alice.get(page).get_data(as_text=True)
    orders = f"{_base(alice_store)}/orders/PO-1"
    alice.post(f"{orders}/send", {"expected_date": "2027-01-14"}, token_from=orders)
    html = alice.get(page).get_data(as_text=True)
    assert html.count('class="on-po"') == 1  # 302's line has no purchase order
    assert '<span class="on-po">on PO-1, expected 14 Jan</span>' in html


def test_shortening_a_line_frees_the_last_served_reservations(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/orders/PO-1"
    form = {"product_id": "11", "variant_id": "", "quantity": "3"}
    html = _flash(alice.post(f"{page}/shorten", form, token_from=page), alice)
    assert "Product 11 lowered to 3; 2 reserved units freed." in html
    stored = _purchasing(app).get(alice_store.id, "PO-1")
    assert stored is not None
    assert stored.order.lines[0].quantity == 3
    assert stored.order.lines[0].reservations == (Reservation("301", 2), Reservation("299", 1))


@pytest.mark.parametrize(
    ("quantity", "message"),
    [("7", "purchase order PO-1 orders 6; to order more than that, draft a new purchase order."),
     ("-1", "Product 11: enter 0 or more, not -1."),
     ("0", "Lowering product 11 to 0 leaves purchase order PO-1 empty: cancel the purchase order")],
)  # fmt: skip
def test_a_bad_shortening_is_refused_and_changes_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord, quantity: str, message: str
) -> None:
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    before = _purchasing(app).get(alice_store.id, "PO-1")
    page = f"{_base(alice_store)}/orders/PO-1"
    form = {"product_id": "11", "variant_id": "", "quantity": quantity}
    html = _flash(alice.post(f"{page}/shorten", form, token_from=page), alice)
    assert message in html
    assert _purchasing(app).get(alice_store.id, "PO-1") == before


def test_an_unfinished_receipt_can_be_queued_again_and_an_unknown_one_is_not_found(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    supplier = _supplier(app, alice_store)
    _draft(app, alice_store, supplier)
    page = f"{_base(alice_store)}/orders/PO-1"
    alice.post(f"{page}/send", {}, token_from=page)
    alice.post(f"{page}/receive", {"received-11": "2"}, token_from=page)
    [receipt] = SqlReceiptLedger(state(app).db).receipts(alice_store.id)
    queue = event_queue(state(app).redis)
    before = set(queue.job_ids)
    html = _flash(
        alice.post(f"{page}/resume", {"receipt_key": receipt.receipt_key}, token_from=page), alice
    )
    assert "Receipt recorded: the units are being added to the store&#39;s stock." in html
    [again] = set(queue.job_ids) - before
    assert again.startswith(f"receipt-{alice_store.id}-receipt-PO-1-1-")
    missing = alice.post(f"{page}/resume", {"receipt_key": "receipt:PO-1:9"}, token_from=page)
    assert missing.status_code == 404
    assert set(queue.job_ids) - before == {again}


def test_ordering_a_product_nothing_waits_for_is_refused_and_drafts_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    page = f"{_base(alice_store)}/proposal"
    assert "Nothing to order" in alice.get(page).get_data(as_text=True)
    html = _flash(alice.post(page, {"product": "11"}, token_from=page), alice)
    assert "Product 11 needs no purchase now: free stock and purchase orders cover it." in html
    assert _purchasing(app).purchase_orders(alice_store.id) == []
    response = alice.post(page, {"product": "11", "order": "../1"}, token_from=page)
    assert response.status_code == 400
    assert _purchasing(app).purchase_orders(alice_store.id) == []
    # An order id of some platform's shape that nothing waits on orders nothing either.
    html = _flash(alice.post(page, {"product": "11", "order": "fo-1"}, token_from=page), alice)
    assert "Product 11 needs no purchase now: free stock and purchase orders cover it." in html
    assert _purchasing(app).purchase_orders(alice_store.id) == []


def test_the_widget_expects_a_new_backorder_on_the_purchase_order_bringing_spare_units(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    store = live_store.store
    kettle = str(live_store.product_id("KETTLE-COPPER"))  # stock 0, backorders yes
    purchasing = _purchasing(app)
    supplier_id = purchasing.save_supplier(store.id, Supplier("", "Acme", "USD", "po@acme.test"))
    ref = ProductRef(kettle)

    def expected() -> Any:
        state(app).redis.flushdb()  # the widget's 30 s cache
        answer = alice.client.get(
            f"/storefront/{store.id}/availability", query_string={"product_ids": kettle}
        )
        return answer.get_json()["products"][kettle]["expected_date"]

    assert expected() is None
    # Every unit reserved for waiting orders: a new order cannot expect them.
    full = PurchaseOrder(
        "PO-1", supplier_id, "USD", PurchaseOrderStatus.SENT,
        (PurchaseOrderLine(ref, 2, Decimal("9"), reservations=(Reservation("301", 2),)),),
        expected_date=dt.date(2027, 1, 10),
    )  # fmt: skip
    spare = PurchaseOrder(
        "PO-2", supplier_id, "USD", PurchaseOrderStatus.SENT,
        (PurchaseOrderLine(ref, 5, Decimal("9"), reservations=(Reservation("302", 2),)),),
        expected_date=dt.date(2027, 1, 14),
    )  # fmt: skip
    draft = PurchaseOrder(
        "PO-3", supplier_id, "USD", PurchaseOrderStatus.DRAFT,
        (PurchaseOrderLine(ref, 5, Decimal("9")),), expected_date=dt.date(2027, 1, 2),
    )  # fmt: skip
    purchasing.add(store.id, [full, draft])
    assert expected() is None
    purchasing.add(store.id, [spare])
    assert expected() == "2027-01-14"


def test_the_proposal_links_purchase_order_and_print_pages_name_the_products(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    """Issue 14: the pages said "product 105"; they name the product as the store's orders do
    (one read of the backorder orders' summaries), with its id."""
    from tests.functional.web.test_customer_page import place_and_split

    place_and_split(app, live_store)  # 2 Copper Kettles and 1 Walnut Board on backorder
    store = live_store.store
    kettle = live_store.product_id("KETTLE-COPPER")
    board = live_store.product_id("BOARD-WALNUT")
    base = _base(store)
    # Without a supplier, the line that cannot be ordered yet is named too.
    unlinked = alice.get(f"{base}/proposal").get_data(as_text=True)
    assert (
        f"<li><strong>Copper Kettle (product {kettle})</strong>: Product {kettle} has no "
        "supplier: link one to order it. (2 needed)</li>"
    ) in unlinked
    supplier = _supplier(app, store)
    purchasing = _purchasing(app)
    purchasing.save_links(
        store.id,
        [
            SupplierProduct(supplier.id, ProductRef(str(p)), Decimal("9"), "A-1", preferred=True)
            for p in (kettle, board)
        ],
    )

    # The supplier-links page names them too; a product no backorder order names (the mug
    # shipped) shows its id alone.
    mug = live_store.product_id("MUG-BLUE")
    purchasing.save_links(
        store.id, [SupplierProduct(supplier.id, ProductRef(str(mug)), Decimal(1))]
    )
    links = alice.get(f"{base}/suppliers").get_data(as_text=True)
    assert f'<td class="product">Copper Kettle (product {kettle})</td>' in links
    assert f'<td class="product">Walnut Board (product {board})</td>' in links
    assert f'<td class="product">product {mug}</td>' in links
    purchasing.delete_link(store.id, supplier.id, ProductRef(str(mug)))

    proposal = alice.get(f"{base}/proposal").get_data(as_text=True)
    assert f'<td class="product">Copper Kettle (product {kettle})</td>' in proposal
    assert f'<td class="product">Walnut Board (product {board})</td>' in proposal
    created = alice.post(
        f"{base}/proposal", {"product": [str(kettle), str(board)]}, token_from=f"{base}/proposal"
    )
    assert created.status_code == 303
    [stored] = purchasing.purchase_orders(store.id)
    number = stored.order.number
    order_page = alice.get(f"{base}/orders/{number}").get_data(as_text=True)
    assert f'<td class="product">Copper Kettle (product {kettle})' in order_page
    printed = alice.get(f"{base}/orders/{number}/print").get_data(as_text=True)
    assert f'<td class="product">Walnut Board (product {board})</td>' in printed


def test_variations_sharing_their_parents_stock_are_proposed_with_its_free_units_once(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    """Issue 14: two variations drawing on their parent's figure (WooCommerce `manage_stock`
    "parent"), 5 units waiting for each and 3 free: each saw the 3 free units, and the
    proposal bought 2 + 2; it buys 7, the 3 free units going to the older order."""
    from plugin.adapters.sql.audit import SqlAuditLog
    from plugin.adapters.sql.policies import SqlPolicyStore
    from plugin.adapters.sql.releases import SqlReleaseLedger
    from plugin.adapters.sql.splits import SqlSplitLedger
    from plugin.usecases import splitting
    from tests.functional.web.test_customer_page import _platform

    shop, store, db = live_store.shop, live_store.store, state(app).db
    shirt = shop.create_product(
        {"name": "Rain Jacket", "type": "variable", "manage_stock": True, "stock_quantity": 0,
         "backorders": "notify"}
    )["id"]  # fmt: skip
    red, blue = (
        shop.create_variation(shirt, {"regular_price": "40.00", "manage_stock": False})["id"]
        for _ in range(2)
    )
    for variation in (red, blue):  # red's order is the older
        order = shop.create_order(
            {"status": "on-hold", "payment_method": "bacs",
             "line_items": [{"product_id": shirt, "variation_id": variation, "quantity": 5}]}
        )  # fmt: skip
        result = splitting.handle_order_event(
            store.id, str(order["id"]), platform=_platform(live_store),
            ledger=SqlSplitLedger(db), releases=SqlReleaseLedger(db),
            policies=SqlPolicyStore(db), audit=SqlAuditLog(db),
        )  # fmt: skip
        assert result is not None and result.status == "hold"  # nothing ships: held whole
    assert shop.product_json(shirt)["stock_quantity"] == -10
    shop.update_product(shirt, {"stock_quantity": -7})  # 3 arrive
    supplier = _supplier(app, store)
    _purchasing(app).save_links(
        store.id,
        [SupplierProduct(supplier.id, ProductRef(str(shirt)), Decimal("12"), "JACKET")],
    )

    html = alice.get(f"{_base(store)}/proposal").get_data(as_text=True)

    quantities = {
        field: int(quantity)
        for field, quantity in re.findall(
            r'<tr class="proposal-line" data-product="([0-9-]+)" data-quantity="([0-9]+)">', html
        )
    }
    assert quantities == {f"{shirt}-{red}": 2, f"{shirt}-{blue}": 5}
    assert (
        f"5 units wait on 1 backorder order, 3 free in stock (product {shirt}&#39;s stock, "
        "shared with other products), 0 on order; 2 needed."
    ) in html


def test_products_kept_in_stock_are_bought_back_up_to_their_level_from_the_proposal(
    app: Flask, alice: Merchant, live_store: Any
) -> None:
    """Issue 14 (optional part): a reorder point and an order-up-to quantity per product, set
    on the suppliers page; the proposal tops kept products up, backorders or not."""
    from tests.functional.web.test_customer_page import place_and_split

    place_and_split(app, live_store)  # 2 Copper Kettles and 1 Walnut Board on backorder
    store = live_store.store
    ids = {sku: live_store.product_id(sku) for sku in
           ("APRON-LINEN", "TOWEL-TEA", "PAN-IRON", "KETTLE-COPPER")}  # fmt: skip
    apron, towel, pan, kettle = ids.values()  # in stock 8, not counted, 2, 0 (2 waiting)
    base, page = _base(store), f"{_base(store)}/suppliers"
    supplier = _supplier(app, store)
    purchasing = _purchasing(app)
    purchasing.save_links(
        store.id,
        [SupplierProduct(supplier.id, ProductRef(str(p)), Decimal("3"), preferred=True)
         for p in ids.values()],
    )  # fmt: skip
    for product, point, up_to in ((apron, "10", "30"), (towel, "4", ""), (pan, "2", ""),
                                  (kettle, "3", "5")):  # fmt: skip
        form = {"product_id": str(product), "reorder_point": point, "order_up_to": up_to}
        html = _flash(alice.post(f"{base}/reorder-points", form, token_from=page), alice)
        assert f"Product {product}: reorder point {point}, ordered up to {up_to or point}." in html
    kept = {
        ProductRef(str(apron)): ReorderPoint(10, 30), ProductRef(str(towel)): ReorderPoint(4),
        ProductRef(str(pan)): ReorderPoint(2), ProductRef(str(kettle)): ReorderPoint(3, 5),
    }  # fmt: skip
    assert purchasing.reorder_points(store.id) == kept
    for form, message in (
        ({"product_id": str(pan), "reorder_point": "6", "order_up_to": "4"},
         f"Product {pan}: the quantity to order up to (4) is below the reorder point (6); "
         "raise it to 6 or more, or leave it empty to order up to the reorder point."),
        ({"product_id": str(pan), "reorder_point": "1.5"},
         f"Product {pan}: the reorder point must be a whole number, not &#39;1.5&#39;."),
        ({"product_id": "pan", "reorder_point": "1"},
         "Give the product&#39;s id in the store (digits), not &#39;pan&#39;."),
    ):  # fmt: skip
        assert message in _flash(alice.post(f"{base}/reorder-points", form, token_from=page), alice)
    assert purchasing.reorder_points(store.id) == kept  # refused: nothing written
    links_page = alice.get(page).get_data(as_text=True)
    assert (
        f'<tr data-product="{kettle}"><td class="product">Copper Kettle (product {kettle})</td>\n'
        '    <td class="num">3</td><td class="num">5</td></tr>'
    ) in links_page

    html = alice.get(f"{base}/proposal").get_data(as_text=True)

    quantities = dict(
        re.findall(r'<tr class="proposal-line" data-product="([0-9-]+)" data-quantity="([0-9]+)">',
                   html)
    )  # fmt: skip
    # Apron: 8 free, below 10: up to 30. Kettle: -2 (2 waiting), below 3: up to 5, 7 units.
    # Pan: 2 free is not below 2; the towel's stock is not counted; the board has no link.
    assert quantities == {str(apron): "22", str(kettle): "7"}
    assert (
        f"Product {apron}: reorder point 10, ordered up to 30, 8 free in stock, 0 on order; "
        "22 needed."
    ) in html
    # Removing it: the apron is no longer bought.
    form = {"product_id": str(apron), "reorder_point": "0"}
    html = _flash(alice.post(f"{base}/reorder-points", form, token_from=page), alice)
    assert f"Product {apron}: reorder point removed." in html
    assert ProductRef(str(apron)) not in purchasing.reorder_points(store.id)
