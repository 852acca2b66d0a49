"""Purchasing: suppliers, proposals, drafts, sending, receipts, cancelling and expected dates,
with exact outcomes for worked examples."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from plugin.core.model import DeliveryCondition, ProductRef, Reason
from plugin.core.purchasing import (
    Catalogue,
    DateChange,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    PurchasingError,
    ReorderPoint,
    Reservation,
    ReservedUnits,
    Supplier,
    SupplierProduct,
    apply_receipt,
    cancel,
    check_link,
    check_reorder_point,
    check_supplier,
    check_transition,
    date_changes,
    draft_purchase_orders,
    expected_dates,
    order_quantity,
    plan_proposal,
    reschedule,
    send,
    shorten,
)
from plugin.core.release import OpenBackorder, OpenLine

A, B, C = ProductRef("A"), ProductRef("B"), ProductRef("C")
SHIRT, SHIRT_RED = ProductRef("S"), ProductRef("S", "red")
NOW = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 3)
DRAFT, SENT, PARTLY, RECEIVED, CANCELLED = (
    PurchaseOrderStatus.DRAFT,
    PurchaseOrderStatus.SENT,
    PurchaseOrderStatus.PARTLY_RECEIVED,
    PurchaseOrderStatus.RECEIVED,
    PurchaseOrderStatus.CANCELLED,
)

ACME = Supplier("s1", "Acme", "USD", "orders@acme.test", 7, Decimal("100"))
BOLT = Supplier("s2", "Bolt", "EUR", "", 3, exchange_rate=Decimal("1.10"))
LINKS = (
    SupplierProduct("s1", A, Decimal("2.50"), "ACME-A", pack_size=6, minimum_quantity=10),
    SupplierProduct("s2", B, Decimal("4.125"), "BOLT-B"),
)


def catalogue(*links: SupplierProduct, suppliers: tuple[Supplier, ...] = (ACME, BOLT)) -> Catalogue:
    return Catalogue("USD", suppliers, links or LINKS)


def backorder(
    order_id: str, lines: list[tuple[ProductRef, int]], priority: int = 0, days_old: int = 0
) -> OpenBackorder:
    return OpenBackorder(
        order_id=order_id,
        priority=priority,
        created_at=NOW - dt.timedelta(days=days_old),
        delivery=DeliveryCondition.SHIP_AVAILABLE,
        lines=tuple(OpenLine(f"{order_id}-{i}", ref, q) for i, (ref, q) in enumerate(lines, 1)),
    )


# Allocation order: 2 (priority 1), then 3 (5 days old), then 1 (3 days old).
BACKORDERS = (
    backorder("1", [(A, 4), (B, 2)], days_old=3),
    backorder("2", [(A, 3)], priority=1),
    backorder("3", [(A, 5), (C, 1)], days_old=5),
)


@contextlib.contextmanager
def refused(reason: str, message: str) -> Iterator[None]:
    """Expect a PurchasingError with exactly this reason and message."""
    with pytest.raises(PurchasingError) as caught:
        yield
    assert (caught.value.reason, caught.value.message) == (reason, message)
    assert str(caught.value) == message


def po_line(
    ref: ProductRef,
    quantity: int,
    *reservations: tuple[str, int],
    received: int = 0,
    drop_ship: bool = False,
) -> PurchaseOrderLine:
    return PurchaseOrderLine(
        ref, quantity, Decimal("2.50"), f"SKU-{ref.product_id}", received,
        tuple(Reservation(o, u) for o, u in reservations), drop_ship,
    )  # fmt: skip


def purchase_order(
    *lines: PurchaseOrderLine,
    status: PurchaseOrderStatus = SENT,
    number: str = "PO-1",
    expected: dt.date | None = dt.date(2026, 12, 10),
) -> PurchaseOrder:
    return PurchaseOrder(number, "s1", "USD", status, lines, expected)


# --- suppliers and links --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason", "message"),
    [
        ({"name": "  "}, "supplier_name_missing", "Give the supplier a name."),
        (
            {"currency": "usd"},
            "supplier_currency_invalid",
            "Supplier Acme: the currency must be a three-letter ISO code such as EUR, not 'usd'.",
        ),
        (
            {"email": "orders at acme"},
            "supplier_email_invalid",
            "Supplier Acme: 'orders at acme' is not an e-mail address; correct it or leave it "
            "empty.",
        ),
        (
            {"lead_time_days": -1},
            "negative_quantity",
            "Supplier Acme: the lead time in days must be 0 or more, not -1.",
        ),
        (
            {"lead_time_days": 1.5},
            "fractional_quantity",
            "Supplier Acme: the lead time in days must be a whole number, not 1.5.",
        ),
        (
            {"minimum_order_value": Decimal("-1")},
            "minimum_order_value_invalid",
            "Supplier Acme: the minimum order value must be an amount of 0 or more in USD.",
        ),
        (
            {"currency": "EUR", "exchange_rate": Decimal("0")},
            "exchange_rate_invalid",
            "Supplier Acme: the exchange rate must be a number above 0 (USD per 1 EUR).",
        ),
        (
            {"currency": "EUR"},
            "exchange_rate_missing",
            "Supplier Acme invoices in EUR and the store sells in USD: enter an exchange rate "
            "(USD per 1 EUR) or change the supplier's currency.",
        ),
    ],
)
def test_a_supplier_with_bad_input_is_refused_saying_what_to_change(
    changes: dict[str, object], reason: str, message: str
) -> None:
    with refused(reason, message):
        check_supplier(dataclasses.replace(ACME, **changes), "USD")  # type: ignore[arg-type]


def test_a_supplier_may_have_no_email_and_another_currency_with_a_rate() -> None:
    check_supplier(BOLT, "USD")
    check_supplier(dataclasses.replace(ACME, email="", minimum_order_value=Decimal(0)), "USD")


@pytest.mark.parametrize(
    ("changes", "reason", "message"),
    [
        (
            {"unit_cost": Decimal("-0.01")},
            "unit_cost_invalid",
            "Product A at supplier s1: the unit cost must be an amount of 0 or more.",
        ),
        (
            {"pack_size": 0},
            "pack_size_invalid",
            "Product A at supplier s1: the pack size must be 1 or more.",
        ),
        (
            {"pack_size": Decimal("2.5")},
            "fractional_quantity",
            "Product A at supplier s1: the pack size must be a whole number, not 2.5.",
        ),
        (
            {"minimum_quantity": -3},
            "negative_quantity",
            "Product A at supplier s1: the minimum quantity must be 0 or more, not -3.",
        ),
        (
            {"minimum_quantity": "3"},
            "not_a_quantity",
            "Product A at supplier s1: the minimum quantity must be a whole number, not '3'.",
        ),
    ],
)
def test_a_link_with_bad_input_is_refused(
    changes: dict[str, object], reason: str, message: str
) -> None:
    with refused(reason, message):
        check_link(dataclasses.replace(LINKS[0], **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("suppliers", "links", "reason", "message"),
    [
        ((ACME, ACME), (), "supplier_listed_twice", "Supplier s1 is listed twice."),
        (
            (ACME,),
            (SupplierProduct("s9", A, Decimal(1)),),
            "unknown_supplier",
            "Product A is linked to supplier s9, which does not exist: link it to an existing "
            "supplier.",
        ),
        (
            (ACME,),
            (SupplierProduct("s1", A, Decimal(1)), SupplierProduct("s1", A, Decimal(2))),
            "link_listed_twice",
            "Product A is linked to supplier Acme twice: keep one link.",
        ),
        (
            (ACME, BOLT),
            (
                SupplierProduct("s1", A, Decimal(1), preferred=True),
                SupplierProduct("s2", A, Decimal(2), preferred=True),
            ),
            "two_preferred_suppliers",
            "Product A has more than one preferred supplier: mark only one as preferred.",
        ),
        (
            (dataclasses.replace(BOLT, exchange_rate=None),),
            (),
            "exchange_rate_missing",
            "Supplier Bolt invoices in EUR and the store sells in USD: enter an exchange rate "
            "(USD per 1 EUR) or change the supplier's currency.",
        ),
    ],
)
def test_a_catalogue_with_bad_input_is_refused(
    suppliers: tuple[Supplier, ...], links: tuple[SupplierProduct, ...], reason: str, message: str
) -> None:
    with refused(reason, message):
        Catalogue("USD", suppliers, links)


def test_the_link_to_buy_from() -> None:
    cheap = SupplierProduct("s2", A, Decimal(1))
    preferred = SupplierProduct("s1", A, Decimal(2), preferred=True)
    red = SupplierProduct("s2", SHIRT_RED, Decimal(3))
    shirt = SupplierProduct("s1", SHIRT, Decimal(4))
    found = Catalogue("USD", (ACME, BOLT), (cheap, preferred, red, shirt, LINKS[1]))
    assert found.link_for(A) == preferred
    assert found.link_for(B) == LINKS[1]  # the only link, not marked preferred
    assert found.link_for(SHIRT_RED) == red  # the variation's own link
    assert found.link_for(ProductRef("S", "blue")) == shirt  # bought as its product is
    assert found.link_for(C) == Reason(
        "no_supplier", "Product C has no supplier: link one to order it."
    )
    two = Catalogue("USD", (ACME, BOLT), (cheap, dataclasses.replace(preferred, preferred=False)))
    assert two.link_for(A) == Reason(
        "no_preferred_supplier",
        "Product A has 2 suppliers (Acme, Bolt) and none is preferred: mark one as preferred.",
    )


@pytest.mark.parametrize(
    ("needed", "pack", "minimum", "expected"),
    [(0, 6, 10, 0), (-4, 1, 0, 0), (1, 1, 0, 1), (7, 1, 0, 7), (7, 6, 0, 12), (12, 6, 0, 12),
     (3, 6, 10, 12), (3, 1, 10, 10), (11, 5, 10, 15), (10, 5, 10, 10)],
)  # fmt: skip
def test_order_quantity_rounds_up_to_minimum_then_packs(
    needed: int, pack: int, minimum: int, expected: int
) -> None:
    assert order_quantity(needed, pack, minimum) == expected


# --- transitions ----------------------------------------------------------------------------

ALLOWED = {
    (DRAFT, SENT), (DRAFT, CANCELLED), (SENT, PARTLY), (SENT, RECEIVED), (SENT, CANCELLED),
    (PARTLY, PARTLY), (PARTLY, RECEIVED), (PARTLY, CANCELLED),
}  # fmt: skip


@pytest.mark.parametrize("current", list(PurchaseOrderStatus))
@pytest.mark.parametrize("new", list(PurchaseOrderStatus))
def test_only_the_documented_transitions_are_allowed(
    current: PurchaseOrderStatus, new: PurchaseOrderStatus
) -> None:
    if (current, new) in ALLOWED:
        check_transition(current, new)
    else:
        with pytest.raises(PurchasingError) as caught:
            check_transition(current, new)
        assert caught.value.reason == "invalid_transition"


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        (
            CANCELLED,
            SENT,
            "A purchase order cannot go from cancelled to sent: it is cancelled; draft a new "
            "purchase order instead.",
        ),
        (
            RECEIVED,
            CANCELLED,
            "A purchase order cannot go from received to cancelled: it was received in full; "
            "record anything more on a new purchase order.",
        ),
        (
            DRAFT,
            RECEIVED,
            "A purchase order cannot go from draft to received: it is a draft; send it first.",
        ),
        (
            SENT,
            DRAFT,
            "A purchase order cannot go from sent to draft: a sent order goes on to received "
            "or cancelled.",
        ),
    ],
)
def test_a_refused_transition_says_why(
    current: PurchaseOrderStatus, new: PurchaseOrderStatus, message: str
) -> None:
    with refused("invalid_transition", message):
        check_transition(current, new)


# --- proposal -------------------------------------------------------------------------------


def test_the_worked_proposal() -> None:
    proposal = plan_proposal(BACKORDERS, {A: 2}, [], catalogue())
    assert proposal.store_currency == "USD"
    acme, bolt = proposal.groups
    assert (acme.supplier, acme.value, acme.store_value) == (
        ACME,
        Decimal("30.00"),
        Decimal("30.00"),
    )
    (a,) = acme.lines
    assert (a.ref, a.demand, a.free, a.on_order, a.reorder_point) == (A, 12, 2, 0, 0)
    assert (a.covered_by_purchase, a.covered_by_stock, a.uncovered) == (0, 2, 10)
    assert (a.needed, a.quantity, a.value, a.link) == (10, 12, Decimal("30.00"), LINKS[0])
    # Free stock goes to order 2 first (priority), then the rest by age: 3, then 1.
    assert a.covers == (Reservation("2", 1), Reservation("3", 5), Reservation("1", 4))
    assert a.reason == Reason(
        "to_order_rounded",
        "Product A: 12 units wait on 3 backorder orders, 2 free in stock, 0 on order; "
        "10 needed, 12 ordered (packs of 6).",
    )
    assert acme.warnings == (
        Reason(
            "below_minimum_order_value",
            "The proposal for Acme is worth 30.00 USD, below the supplier's minimum order of "
            "100.00 USD: add lines or raise quantities.",
        ),
    )
    # 2 x 4.125 EUR = 8.25 EUR; at 1.10 USD per EUR 9.075, rounded half up to 9.08 USD.
    assert (bolt.supplier, bolt.value, bolt.store_value, bolt.warnings) == (
        BOLT,
        Decimal("8.25"),
        Decimal("9.08"),
        (),
    )
    (b,) = bolt.lines
    assert (b.needed, b.quantity, b.covers) == (2, 2, (Reservation("1", 2),))
    assert b.reason == Reason(
        "to_order",
        "Product B: 2 units wait on 1 backorder order, 0 free in stock, 0 on order; 2 needed.",
    )
    (c,) = proposal.unlinked
    assert (c.ref, c.needed, c.quantity, c.covers, c.link, c.value) == (
        C,
        1,
        1,
        (Reservation("3", 1),),
        None,
        Decimal(0),
    )
    assert c.reason == Reason("no_supplier", "Product C has no supplier: link one to order it.")
    assert proposal.lines == (a, b)


def test_units_on_order_and_reservations_count_before_anything_is_bought() -> None:
    # Order 3 holds 5 units of A on a sent PO that has 9 still to come, so 4 are reserved for
    # nobody; a cancelled PO and a received one count for nothing.
    orders = [
        purchase_order(po_line(A, 12, ("3", 5), received=3)),
        purchase_order(po_line(A, 50), status=CANCELLED, number="PO-2"),
        purchase_order(po_line(A, 7, received=7), status=RECEIVED, number="PO-3"),
    ]
    proposal = plan_proposal(BACKORDERS, {A: 1}, orders, catalogue())
    (a,) = proposal.groups[0].lines
    assert (a.demand, a.free, a.on_order) == (12, 1, 9)
    # Order 2: 1 from stock, 2 of the unreserved units; order 3: its 5 reserved; order 1:
    # the last 2 unreserved units, and 2 still to buy.
    assert (a.covered_by_purchase, a.covered_by_stock, a.uncovered) == (9, 1, 2)
    assert a.covers == (Reservation("1", 2),)
    assert (a.needed, a.quantity) == (2, 12)  # minimum 10, in packs of 6
    assert a.reason.message == (
        "Product A: 12 units wait on 3 backorder orders, 1 free in stock, 9 on order; "
        "2 needed, 12 ordered (minimum 10, packs of 6)."
    )


def test_reservations_beyond_what_an_order_waits_for_cover_the_others() -> None:
    # Order 3 waits for 5 but holds 8; order 9 was released and holds 2: 5 units are
    # reserved for nobody, and cover order 2 (3) and part of order 1 (2 of 4).
    orders = [purchase_order(po_line(A, 10, ("3", 8), ("9", 2)))]
    proposal = plan_proposal(BACKORDERS, {}, orders, catalogue())
    (a,) = proposal.groups[0].lines
    assert (a.demand, a.on_order, a.covered_by_purchase, a.covered_by_stock) == (12, 10, 10, 0)
    assert (a.needed, a.covers) == (2, (Reservation("1", 2),))


def test_a_reorder_point_tops_up_stock_for_a_product_kept_in_stock() -> None:
    linked = catalogue(SupplierProduct("s1", A, Decimal("2.50"), pack_size=5), LINKS[1])
    proposal = plan_proposal(
        [backorder("1", [(A, 4)])],
        {A: 3, B: 6},
        [],
        linked,
        reorder_points={A: ReorderPoint(10), B: ReorderPoint(5, 20)},
    )
    (a,) = proposal.groups[0].lines
    # 4 waiting + 10 to keep - 3 free = 11, in packs of 5: 15; only 1 unit is for order 1.
    assert (a.demand, a.reorder_point, a.needed, a.quantity, a.covers) == (
        4,
        10,
        11,
        15,
        (Reservation("1", 1),),
    )
    assert a.reason.message == (
        "Product A: 4 units wait on 1 backorder order, 10 to keep in stock, 3 free in stock, "
        "0 on order; 11 needed, 15 ordered (packs of 5)."
    )
    assert a.reorder_target == 10
    assert len(proposal.groups) == 1  # B: 6 free is above its reorder point of 5


def test_below_its_reorder_point_a_product_is_bought_up_to_its_order_up_to_quantity() -> None:
    linked = catalogue(SupplierProduct("s1", A, Decimal("2.50")), LINKS[1])
    orders = [purchase_order(po_line(A, 4, ("1", 1)))]
    points = {A: ReorderPoint(5, 20), B: ReorderPoint(2, 8)}
    proposal = plan_proposal([backorder("1", [(A, 3)])], {A: 3, B: 2}, orders, linked,
                             reorder_points=points)  # fmt: skip
    (a,) = proposal.groups[0].lines
    # Position: 3 free + 4 on order - 3 waiting = 4, below 5: buy 16 to bring it to 20.
    assert (a.reorder_point, a.reorder_target, a.needed, a.quantity, a.covers) == (
        5, 20, 16, 16, (),
    )  # fmt: skip
    assert a.reason.message == (
        "Product A: 3 units wait on 1 backorder order, reorder point 5, ordered up to 20, "
        "3 free in stock, 4 on order; 16 needed."
    )
    # B: 2 free is not below its reorder point of 2: nothing to buy.
    assert [line.ref for line in proposal.lines] == [A]
    # Nothing waits for it: only its reorder point counts.
    (b,) = plan_proposal([], {B: 1}, [], linked, reorder_points={B: points[B]}).lines
    assert (b.free, b.reorder_target, b.needed, b.quantity, b.covers) == (1, 8, 7, 7, ())
    assert b.reason.message == (
        "Product B: reorder point 2, ordered up to 8, 1 free in stock, 0 on order; 7 needed."
    )


@pytest.mark.parametrize(
    ("reorder_point", "reason", "message"),
    [
        (ReorderPoint(5, 3), "order_up_to_below_reorder_point",
         "Product A: the quantity to order up to (3) is below the reorder point (5); raise it "
         "to 5 or more, or leave it empty to order up to the reorder point."),
        (ReorderPoint(-1), "negative_quantity",
         "Product A: the reorder point must be 0 or more, not -1."),
        (ReorderPoint(2, -4), "negative_quantity",
         "Product A: the quantity to order up to must be 0 or more, not -4."),
    ],
)  # fmt: skip
def test_a_bad_reorder_point_is_refused(
    reorder_point: ReorderPoint, reason: str, message: str
) -> None:
    with refused(reason, message):
        check_reorder_point(A, reorder_point)
    with refused(reason, message):
        plan_proposal([], {}, [], catalogue(), reorder_points={A: reorder_point})
    assert check_reorder_point(A, ReorderPoint(5, 5)) == ReorderPoint(5, 5)


def test_a_products_lines_of_one_order_count_together_and_negative_stock_is_none() -> None:
    orders = [backorder("1", [(B, 2), (B, 3), (B, 0)])]
    proposal = plan_proposal(orders, {B: -4}, [], catalogue())
    (b,) = proposal.lines
    assert (b.demand, b.free, b.needed, b.covers) == (5, 0, 5, (Reservation("1", 5),))


SHIRT_BLUE = ProductRef("S", "blue")


def shared(order_id: str, ref: ProductRef, units: int, days_old: int) -> OpenBackorder:
    """A backorder order for a variation drawing on its parent's stock figure (SHIRT)."""
    return dataclasses.replace(
        backorder(order_id, [], days_old=days_old),
        lines=(OpenLine(f"{order_id}-1", ref, units, SHIRT),),
    )


def test_variations_sharing_their_parents_stock_count_its_free_units_once() -> None:
    """Issue 14: each variation drawing on the parent's figure saw all of its free units, so
    3 free units covered 3 of red's 5 and 3 of blue's 5 and the proposal bought 4, not 7."""
    links = tuple(SupplierProduct("s1", ref, Decimal("4")) for ref in (SHIRT_RED, SHIRT_BLUE))
    orders = [shared("1", SHIRT_BLUE, 5, days_old=2), shared("2", SHIRT_RED, 5, days_old=4)]
    proposal = plan_proposal(orders, {SHIRT: 3}, [], catalogue(*links))
    blue, red = proposal.lines
    # The free units go to the waiting orders in allocation order: red's order 2 is older.
    assert (red.ref, red.demand, red.free, red.needed, red.quantity) == (SHIRT_RED, 5, 3, 2, 2)
    assert (red.covered_by_stock, red.covers) == (3, (Reservation("2", 2),))
    assert (blue.ref, blue.demand, blue.free, blue.needed, blue.quantity) == (
        SHIRT_BLUE, 5, 0, 5, 5,
    )  # fmt: skip
    assert (blue.covered_by_stock, blue.covers) == (0, (Reservation("1", 5),))
    assert sum(line.quantity for line in proposal.lines) == 7
    assert (red.stock_figure, blue.stock_figure) == (SHIRT, SHIRT)
    assert red.reason.message == (
        "Product S (variation red): 5 units wait on 1 backorder order, 3 free in stock "
        "(product S's stock, shared with other products), 0 on order; 2 needed."
    )
    # A figure of its own is not shared: the line says nothing more.
    (a,) = plan_proposal([backorder("1", [(B, 2)])], {B: 1}, [], catalogue()).lines
    assert a.stock_figure is None
    assert a.reason.message == (
        "Product B: 2 units wait on 1 backorder order, 1 free in stock, 0 on order; 1 needed."
    )


def test_expected_dates_count_shared_free_units_once() -> None:
    orders = [shared("1", SHIRT_BLUE, 2, days_old=2), shared("2", SHIRT_RED, 2, days_old=4)]
    manual = {SHIRT_RED: dt.date(2027, 1, 5), SHIRT_BLUE: dt.date(2027, 1, 9)}
    # 2 free units: red's older order is released with them, blue still waits.
    assert expected_dates(orders, {SHIRT: 2}, [], manual) == {
        ("1", SHIRT_BLUE): dt.date(2027, 1, 9)
    }


def test_a_product_needing_nothing_is_left_out() -> None:
    proposal = plan_proposal(BACKORDERS, {A: 12, B: 2, C: 1}, [], catalogue())
    assert (proposal.groups, proposal.unlinked) == ((), ())


@pytest.mark.parametrize(
    ("orders", "reason", "message"),
    [
        (
            [backorder("1", [(A, 1)]), backorder("1", [(B, 1)])],
            "order_listed_twice",
            "Backorder order 1 is listed twice.",
        ),
        (
            [dataclasses.replace(backorder("1", [(A, 1)]), created_at=dt.datetime(2026, 11, 1))],
            "naive_datetime",
            "Order 1: created_at must be timezone-aware.",
        ),
    ],
)
def test_a_proposal_refuses_bad_backorders(
    orders: list[OpenBackorder], reason: str, message: str
) -> None:
    with refused(reason, message):
        plan_proposal(orders, {}, [], catalogue())


def test_a_proposal_refuses_a_fractional_reorder_point() -> None:
    with refused(
        "fractional_quantity", "Product A: the reorder point must be a whole number, not 2.5."
    ):
        plan_proposal(
            [],
            {},
            [],
            catalogue(),
            reorder_points={A: ReorderPoint(Decimal("2.5"))},  # type: ignore[arg-type]
        )


# --- drafting -------------------------------------------------------------------------------


def test_the_worked_drafts_one_per_supplier_numbered_after_the_stores_orders() -> None:
    proposal = plan_proposal(BACKORDERS, {A: 2}, [], catalogue())
    drafts = draft_purchase_orders(proposal, today=TODAY, taken_numbers=["PO-20261201-001"])
    assert drafts.purchase_orders == (
        PurchaseOrder(
            "PO-20261203-002", "s1", "USD", DRAFT,
            (PurchaseOrderLine(A, 12, Decimal("2.50"), "ACME-A", 0,
                               (Reservation("2", 1), Reservation("3", 5), Reservation("1", 4))),),
        ),
        PurchaseOrder(
            "PO-20261203-003", "s2", "EUR", DRAFT,
            (PurchaseOrderLine(B, 2, Decimal("4.125"), "BOLT-B", 0, (Reservation("1", 2),)),),
        ),
    )  # fmt: skip
    assert drafts.warnings == (
        Reason(
            "below_minimum_order_value",
            "Purchase order PO-20261203-002 for Acme is worth 30.00 USD, below the supplier's "
            "minimum order of 100.00 USD: add lines or raise quantities.",
        ),
    )
    # The next proposal counts the drafts: nothing more to buy for the same demand.
    again = plan_proposal(BACKORDERS, {A: 2}, drafts.purchase_orders, catalogue())
    assert again.groups == ()
    assert again.unlinked == proposal.unlinked


def test_numbering_follows_the_pattern_and_skips_numbers_in_use() -> None:
    proposal = plan_proposal(BACKORDERS, {}, [], catalogue())
    drafts = draft_purchase_orders(
        proposal, today=TODAY, taken_numbers=["X-1", "P20261203/3"], pattern="P{number}/{seq}"
    )
    assert [o.number for o in drafts.purchase_orders] == ["P20261203/4", "P20261203/5"]


def test_selected_products_only() -> None:
    proposal = plan_proposal(BACKORDERS, {}, [], catalogue())
    drafts = draft_purchase_orders(proposal, today=TODAY, taken_numbers=(), products={B})
    (order,) = drafts.purchase_orders
    assert (order.number, order.supplier_id, order.lines) == (
        "PO-20261203-001", "s2",
        (PurchaseOrderLine(B, 2, Decimal("4.125"), "BOLT-B", 0, (Reservation("1", 2),)),),
    )  # fmt: skip
    assert drafts.warnings == ()


def test_selected_backorder_orders_only_rounded_again() -> None:
    proposal = plan_proposal(BACKORDERS, {}, [], catalogue())
    drafts = draft_purchase_orders(proposal, today=TODAY, taken_numbers=(), orders={"1"})
    acme, bolt = drafts.purchase_orders
    # Order 1's 4 units of A, rounded up to the minimum of 10 and then to packs of 6.
    assert acme.lines == (
        PurchaseOrderLine(A, 12, Decimal("2.50"), "ACME-A", 0, (Reservation("1", 4),)),
    )
    assert bolt.lines == (
        PurchaseOrderLine(B, 2, Decimal("4.125"), "BOLT-B", 0, (Reservation("1", 2),)),
    )
    # The 8 units rounding added are reserved for nobody: they cover orders 2 and 3, so the
    # next proposal buys nothing more of A, and nothing of B.
    again = plan_proposal(BACKORDERS, {}, drafts.purchase_orders, catalogue())
    assert again.groups == ()


def test_drop_ship_orders_exactly_the_orders_units_and_warns_off_pack() -> None:
    proposal = plan_proposal(BACKORDERS, {}, [], catalogue())
    drafts = draft_purchase_orders(
        proposal, today=TODAY, taken_numbers=(), orders={"2", "1"}, drop_ship=True
    )
    acme, bolt = drafts.purchase_orders
    assert acme.lines == (
        PurchaseOrderLine(A, 7, Decimal("2.50"), "ACME-A", 0,
                          (Reservation("2", 3), Reservation("1", 4)), drop_ship=True),
    )  # fmt: skip
    assert bolt.lines == (
        PurchaseOrderLine(B, 2, Decimal("4.125"), "BOLT-B", 0, (Reservation("1", 2),), True),
    )
    assert drafts.warnings == (
        Reason(
            "drop_ship_off_pack",
            "Product A: 7 units to drop-ship, but the supplier sells minimum 10, packs of 6: "
            "check that the supplier accepts it.",
        ),
        Reason(
            "below_minimum_order_value",
            "Purchase order PO-20261203-001 for Acme is worth 17.50 USD, below the supplier's "
            "minimum order of 100.00 USD: add lines or raise quantities.",
        ),
    )


@pytest.mark.parametrize(
    ("selection", "reason", "message"),
    [
        (
            {"pattern": "PO-{seq}"},
            "numbering_pattern_invalid",
            "The purchase order numbering pattern 'PO-{seq}' is not valid: The pattern must "
            "contain {number}, the original order number. For purchase orders {number} is the "
            "day the order is drafted.",
        ),
        (
            {"drop_ship": True},
            "drop_ship_needs_orders",
            "Choose the backorder orders the supplier ships to.",
        ),
        ({"products": {C}}, "no_supplier", "Product C has no supplier: link one to order it."),
        (
            {"products": {ProductRef("Z")}},
            "nothing_to_order",
            "Product Z needs no purchase now: free stock and purchase orders cover it.",
        ),
        (
            {"orders": {"1", "7"}},
            "nothing_to_order",
            "Backorder order 7 has nothing left to buy among the chosen products: free stock "
            "or purchase orders cover it, or its products have no supplier.",
        ),
        (
            {"products": {B}, "orders": {"2"}},
            "nothing_to_order",
            "Backorder order 2 has nothing left to buy among the chosen products: free stock "
            "or purchase orders cover it, or its products have no supplier.",
        ),
        (
            {"products": set()},
            "nothing_to_order",
            "The selection has nothing left to buy: choose other lines.",
        ),
    ],
)
def test_a_bad_selection_is_refused(
    selection: dict[str, object], reason: str, message: str
) -> None:
    proposal = plan_proposal(BACKORDERS, {}, [], catalogue())
    with refused(reason, message):
        draft_purchase_orders(proposal, today=TODAY, taken_numbers=(), **selection)  # type: ignore[arg-type]


# --- sending and rescheduling ---------------------------------------------------------------


def test_sending_dates_the_order_after_the_lead_time_unless_dated() -> None:
    draft = purchase_order(po_line(A, 12, ("1", 4)), status=DRAFT, expected=None)
    sent = send(draft, ACME, TODAY)
    assert sent == dataclasses.replace(draft, status=SENT, expected_date=dt.date(2026, 12, 10))
    dated = dataclasses.replace(draft, expected_date=dt.date(2027, 1, 5))
    assert send(dated, ACME, TODAY).expected_date == dt.date(2027, 1, 5)


@pytest.mark.parametrize(
    ("order", "supplier", "reason", "message"),
    [
        (
            purchase_order(po_line(A, 12), status=DRAFT, expected=None),
            dataclasses.replace(ACME, email=""),
            "supplier_email_missing",
            "Supplier Acme has no e-mail address: add one to send purchase order PO-1.",
        ),
        (
            purchase_order(po_line(A, 0), status=DRAFT, expected=None),
            ACME,
            "empty_purchase_order",
            "Purchase order PO-1 orders nothing: add a quantity or cancel it.",
        ),
        (
            purchase_order(po_line(A, 12), status=DRAFT, expected=None),
            dataclasses.replace(BOLT, email="b@bolt.test"),
            "wrong_supplier",
            "Purchase order PO-1 is for supplier s1, not Bolt.",
        ),
        (
            purchase_order(po_line(A, 12)),
            ACME,
            "invalid_transition",
            "A purchase order cannot go from sent to sent: a sent order goes on to received or "
            "cancelled.",
        ),
    ],
)
def test_sending_refuses_saying_what_to_change(
    order: PurchaseOrder, supplier: Supplier, reason: str, message: str
) -> None:
    before = dataclasses.replace(order)
    with refused(reason, message):
        send(order, supplier, TODAY)
    assert order == before


def test_reschedule_moves_the_date_of_an_open_order_only() -> None:
    order = purchase_order(po_line(A, 12))
    assert reschedule(order, dt.date(2027, 2, 1)).expected_date == dt.date(2027, 2, 1)
    with refused(
        "purchase_order_closed",
        "Purchase order PO-1 is cancelled: you cannot change its expected date.",
    ):
        reschedule(cancel(order).purchase_order, dt.date(2027, 2, 1))


# --- receipts -------------------------------------------------------------------------------


def test_a_partial_receipt_then_an_over_receipt() -> None:
    order = purchase_order(po_line(A, 12, ("2", 1), ("3", 5), ("1", 4)), po_line(B, 2, ("1", 2)))
    first = apply_receipt(order, {A: 5})
    assert first.purchase_order == dataclasses.replace(
        order,
        status=PARTLY,
        lines=(po_line(A, 12, ("3", 1), ("1", 4), received=5), po_line(B, 2, ("1", 2))),
    )
    assert first.stock_increase == ((A, 5),)
    assert first.arrived == (ReservedUnits(A, "2", 1), ReservedUnits(A, "3", 4))
    assert (first.drop_shipped, first.warnings) == ((), ())
    second = apply_receipt(first.purchase_order, {A: 9, B: 2})
    assert second.purchase_order == dataclasses.replace(
        order, status=RECEIVED, lines=(po_line(A, 12, received=14), po_line(B, 2, received=2))
    )
    assert second.stock_increase == ((A, 9), (B, 2))
    assert second.arrived == (
        ReservedUnits(A, "3", 1),
        ReservedUnits(A, "1", 4),
        ReservedUnits(B, "1", 2),
    )
    assert second.warnings == (
        Reason(
            "over_receipt",
            "Product A: 14 units received of 12 ordered on purchase order PO-1; the 2 extra go "
            "to stock as well.",
        ),
    )


def test_a_drop_ship_receipt_touches_no_stock() -> None:
    order = purchase_order(po_line(A, 7, ("2", 3), ("1", 4), drop_ship=True))
    receipt = apply_receipt(order, {A: 5})
    assert receipt.stock_increase == ()
    assert receipt.drop_shipped == (ReservedUnits(A, "2", 3), ReservedUnits(A, "1", 2))
    assert receipt.arrived == ()
    assert receipt.purchase_order.lines == (po_line(A, 7, ("1", 2), received=5, drop_ship=True),)
    assert receipt.purchase_order.status is PARTLY


@pytest.mark.parametrize(
    ("order", "received", "reason", "message"),
    [
        (
            purchase_order(po_line(A, 12), status=CANCELLED),
            {A: 1},
            "purchase_order_cancelled",
            "No receipt can be recorded on purchase order PO-1: it is cancelled: record the "
            "delivery on an open purchase order, or add the units to stock directly.",
        ),
        (
            purchase_order(po_line(A, 12), status=DRAFT),
            {A: 1},
            "purchase_order_not_sent",
            "No receipt can be recorded on purchase order PO-1: it is a draft: send it.",
        ),
        (
            purchase_order(po_line(A, 12, received=12), status=RECEIVED),
            {A: 1},
            "purchase_order_received",
            "No receipt can be recorded on purchase order PO-1: it was received in full: "
            "record further units on a new purchase order.",
        ),
        (
            purchase_order(po_line(A, 12)),
            {A: -1},
            "negative_quantity",
            "Product A: the quantity received must be 0 or more, not -1.",
        ),
        (
            purchase_order(po_line(A, 12)),
            {A: Decimal("1.5")},
            "fractional_quantity",
            "Product A: the quantity received must be a whole number, not 1.5.",
        ),
        (
            purchase_order(po_line(A, 12)),
            {B: 1},
            "unknown_line",
            "Product B is not on purchase order PO-1.",
        ),
        (
            purchase_order(po_line(A, 12), po_line(B, 2)),
            {A: 0},
            "empty_receipt",
            "Enter the units received for at least one line of purchase order PO-1.",
        ),
        (
            purchase_order(po_line(A, 4, ("1", 4), drop_ship=True)),
            {A: 5},
            "drop_ship_over_quantity",
            "Product A: purchase order PO-1 drop-ships 4 units and 0 were shipped already; "
            "enter at most 4.",
        ),
    ],
)
def test_a_bad_receipt_is_refused_and_changes_nothing(
    order: PurchaseOrder, received: dict[ProductRef, int], reason: str, message: str
) -> None:
    before = dataclasses.replace(order)
    with refused(reason, message):
        apply_receipt(order, received)
    assert order == before


# --- cancelling and shortening --------------------------------------------------------------


def test_cancelling_frees_every_reservation_and_keeps_what_was_received() -> None:
    order = purchase_order(
        po_line(A, 12, ("3", 1), ("1", 4), received=5), po_line(B, 2, ("1", 2)), status=PARTLY
    )
    cancelled, freed = cancel(order)
    assert cancelled == dataclasses.replace(
        order, status=CANCELLED, lines=(po_line(A, 12, received=5), po_line(B, 2))
    )
    assert freed == (ReservedUnits(A, "3", 1), ReservedUnits(A, "1", 4), ReservedUnits(B, "1", 2))
    with refused(
        "invalid_transition",
        "A purchase order cannot go from cancelled to cancelled: it is cancelled; draft a new "
        "purchase order instead.",
    ):
        cancel(cancelled)


def test_shortening_frees_the_last_served_first() -> None:
    order = purchase_order(po_line(A, 12, ("2", 1), ("3", 5), ("1", 4)), po_line(B, 2))
    shortened, freed = shorten(order, A, 4)
    assert shortened == dataclasses.replace(
        order, lines=(po_line(A, 4, ("2", 1), ("3", 3)), po_line(B, 2))
    )
    assert freed == (ReservedUnits(A, "3", 2), ReservedUnits(A, "1", 4))
    # Units not reserved go first: 12 -> 10 frees nothing.
    assert shorten(order, A, 10).freed == ()
    # To 0, the line goes.
    assert shorten(order, B, 0).purchase_order.lines == (order.lines[0],)


def test_shortening_the_last_open_line_to_what_arrived_receives_the_order() -> None:
    order = purchase_order(
        po_line(A, 12, ("1", 4), received=5), po_line(B, 2, received=2), status=PARTLY
    )
    shortened, freed = shorten(order, A, 5)
    assert shortened.status is RECEIVED
    assert shortened.lines == (po_line(A, 5, received=5), po_line(B, 2, received=2))
    assert freed == (ReservedUnits(A, "1", 4),)


@pytest.mark.parametrize(
    ("order", "ref", "quantity", "reason", "message"),
    [
        (
            purchase_order(po_line(A, 12)),
            A,
            13,
            "not_a_shortening",
            "Product A: purchase order PO-1 orders 12; to order more than that, draft a new "
            "purchase order.",
        ),
        (
            purchase_order(po_line(A, 12, received=5), status=PARTLY),
            A,
            4,
            "below_received",
            "Product A: 5 units were received already on purchase order PO-1; the quantity "
            "cannot go below that.",
        ),
        (
            purchase_order(po_line(A, 12)),
            A,
            0,
            "would_empty_purchase_order",
            "Lowering product A to 0 leaves purchase order PO-1 empty: cancel the purchase "
            "order instead.",
        ),
        (
            purchase_order(po_line(A, 12)),
            A,
            Decimal("4.5"),
            "fractional_quantity",
            "Product A on purchase order PO-1: the new quantity must be a whole number, not 4.5.",
        ),
        (
            purchase_order(po_line(A, 12)),
            B,
            1,
            "unknown_line",
            "Product B is not on purchase order PO-1.",
        ),
        (
            purchase_order(po_line(A, 12, received=12), status=RECEIVED),
            A,
            12,
            "purchase_order_closed",
            "Purchase order PO-1 is received: you cannot change its quantities.",
        ),
    ],
)
def test_a_bad_shortening_is_refused_and_changes_nothing(
    order: PurchaseOrder, ref: ProductRef, quantity: int, reason: str, message: str
) -> None:
    before = dataclasses.replace(order)
    with refused(reason, message):
        shorten(order, ref, quantity)
    assert order == before


@pytest.mark.parametrize(
    ("build", "reason", "message"),
    [
        (
            lambda: po_line(A, 3, ("1", 2), ("2", 2)),
            "reservation_invalid",
            "Product A: 4 units are reserved but only 3 are still to come.",
        ),
        (
            lambda: po_line(A, 3, ("1", 1), ("1", 1)),
            "reservation_invalid",
            "Product A: backorder order 1 is reserved twice.",
        ),
        (
            lambda: po_line(A, 3, ("1", 0)),
            "reservation_invalid",
            "Product A: a reservation must hold at least 1 unit.",
        ),
        (
            lambda: purchase_order(po_line(A, 3, ("1", 2), drop_ship=True)),
            "reservation_invalid",
            "Product A: every unit still to come on a drop-ship line goes to a backorder order "
            "(3 to come, 2 reserved).",
        ),
        (
            lambda: po_line(A, -1),
            "negative_quantity",
            "Product A: the quantity ordered must be 0 or more, not -1.",
        ),
        (
            lambda: purchase_order(po_line(A, 1), po_line(A, 2)),
            "line_listed_twice",
            "Purchase order PO-1 lists a product twice: keep one line for it.",
        ),
        (
            lambda: purchase_order(po_line(A, 1, ("1", 1)), status=CANCELLED),
            "reservation_invalid",
            "Purchase order PO-1 is cancelled and can reserve nothing.",
        ),
    ],
)
def test_an_inconsistent_purchase_order_cannot_be_made(
    build: object, reason: str, message: str
) -> None:
    with refused(reason, message):
        build()  # type: ignore[operator]


# --- expected dates -------------------------------------------------------------------------

MANUAL = {A: dt.date(2027, 1, 15), B: dt.date(2026, 12, 20)}


def test_a_backorder_is_expected_when_the_purchase_order_covering_it_is() -> None:
    orders = [
        purchase_order(po_line(A, 12, ("2", 1), ("3", 5)), expected=dt.date(2026, 12, 10)),
        purchase_order(po_line(A, 4, ("3", 2)), number="PO-2", expected=dt.date(2026, 12, 12)),
        purchase_order(po_line(B, 2, ("1", 2)), status=DRAFT, number="PO-3", expected=None),
    ]
    dates = expected_dates(BACKORDERS, {A: 2}, orders, MANUAL)
    assert dates == {
        ("2", A): dt.date(2026, 12, 10),  # 2 from stock, 1 on PO-1
        ("3", A): dt.date(2026, 12, 12),  # 5 on PO-1, 2 of them also on PO-2: the later
        ("1", A): dt.date(2027, 1, 15),  # nothing reserved: the manual date
        ("1", B): dt.date(2026, 12, 20),  # reserved on a draft only: the manual date
        ("3", C): None,  # no purchase order, no manual date
    }


def test_a_line_partly_covered_is_expected_at_the_later_date_or_unknown() -> None:
    orders = [purchase_order(po_line(A, 2, ("1", 2)), expected=dt.date(2026, 12, 10))]
    early = {A: dt.date(2026, 12, 1)}
    assert expected_dates([backorder("1", [(A, 4)])], {}, orders, early) == {
        ("1", A): dt.date(2026, 12, 10)
    }
    assert expected_dates([backorder("1", [(A, 4)])], {}, orders, {}) == {("1", A): None}
    # Free stock covering the whole line: it is released, not waited for.
    assert expected_dates([backorder("1", [(A, 4)])], {A: 4}, [], early) == {}


def test_moving_a_purchase_order_moves_every_backorder_it_covers() -> None:
    order = purchase_order(po_line(A, 12, ("2", 3), ("3", 5), ("1", 4)), po_line(B, 2, ("1", 2)))
    other = purchase_order(po_line(A, 5, ("3", 5)), number="PO-2", expected=dt.date(2026, 12, 30))
    old = expected_dates(BACKORDERS, {}, [order, other], MANUAL)
    new = expected_dates(BACKORDERS, {}, [reschedule(order, dt.date(2026, 12, 18)), other], MANUAL)
    assert date_changes(old, new) == (
        DateChange("1", A, dt.date(2026, 12, 10), dt.date(2026, 12, 18)),
        DateChange("1", B, dt.date(2026, 12, 10), dt.date(2026, 12, 18)),
        DateChange("2", A, dt.date(2026, 12, 10), dt.date(2026, 12, 18)),
    )  # order 3 waits for PO-2 (Dec 30) anyway
    cancelled = expected_dates(BACKORDERS, {}, [cancel(order).purchase_order, other], MANUAL)
    assert date_changes(old, cancelled) == (
        DateChange("1", A, dt.date(2026, 12, 10), dt.date(2027, 1, 15)),
        DateChange("1", B, dt.date(2026, 12, 10), dt.date(2026, 12, 20)),
        DateChange("2", A, dt.date(2026, 12, 10), dt.date(2027, 1, 15)),
    )
    assert date_changes(old, old) == ()
    assert date_changes({("9", A): None}, {("8", A): dt.date(2027, 1, 1)}) == ()
