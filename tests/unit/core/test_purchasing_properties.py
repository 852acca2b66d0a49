"""Properties of purchasing over generated catalogues, backorders and purchase order histories."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from plugin.core.model import DeliveryCondition, ProductRef, minor_unit
from plugin.core.purchasing import (
    OPEN_STATUSES,
    Catalogue,
    Proposal,
    PurchaseOrder,
    PurchaseOrderStatus,
    PurchasingError,
    ReorderPoint,
    Supplier,
    SupplierProduct,
    apply_receipt,
    cancel,
    draft_purchase_orders,
    order_quantity,
    plan_proposal,
    send,
    share_free_units,
    shorten,
)
from plugin.core.release import OpenBackorder, OpenLine, queue_key
from tests.examples import properties

EXAMPLES = properties(1000)
REFS = (ProductRef("A"), ProductRef("B"), ProductRef("C", "red"), ProductRef("C", "blue"))
BASE = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 3)
SUPPLIERS = (
    Supplier("s1", "Acme", "USD", "orders@acme.test", 5, Decimal("50")),
    Supplier("s2", "Bolt", "JPY", "bolt@bolt.test", 9, exchange_rate=Decimal("0.0067")),
)

_REF = st.sampled_from(REFS)
_QTY = st.integers(0, 9)
_FREE = st.dictionaries(_REF, st.integers(-3, 12), max_size=len(REFS))
_POINTS = st.dictionaries(
    _REF,
    st.integers(0, 8).flatmap(
        lambda p: st.builds(ReorderPoint, st.just(p), st.just(0) | st.integers(p, 15))
    ),
    max_size=len(REFS),
)
_ACTION = st.sampled_from(["draft", "send", "receive", "cancel", "shorten", "receive_cancel"])


@st.composite
def catalogues(draw: st.DrawFn) -> Catalogue:
    links = []
    for ref in REFS:
        unlinked = 0 if ref.variant_id == "blue" else 1  # blue may have no link of its own
        for supplier in draw(st.sets(st.sampled_from(SUPPLIERS), min_size=unlinked, max_size=2)):
            links.append(
                SupplierProduct(
                    supplier.id,
                    ref,
                    Decimal(draw(st.integers(0, 5000))) / 100,
                    f"{supplier.id}-{ref.product_id}",
                    draw(st.integers(1, 6)),
                    draw(st.integers(0, 10)),
                    preferred=False,
                )
            )
    if draw(st.booleans()):
        # A variation without links of its own is bought as its product is.
        links.append(SupplierProduct("s1", ProductRef("C"), Decimal("3.30"), "C", 4, 0))
    # Mark at most one preferred link per product; several unpreferred ones list it apart.
    marked: set[ProductRef] = set()
    for i, link in enumerate(links):
        if link.ref not in marked and draw(st.booleans()):
            links[i] = dataclasses.replace(link, preferred=True)
            marked.add(link.ref)
    return Catalogue("USD", SUPPLIERS, tuple(links))


@st.composite
def backorders(draw: st.DrawFn, first_id: int = 0) -> list[OpenBackorder]:
    result = []
    for i in range(first_id, first_id + draw(st.integers(0, 7))):
        lines = tuple(
            OpenLine(f"{i}-{j}", draw(_REF), draw(_QTY)) for j in range(draw(st.integers(1, 3)))
        )
        result.append(
            OpenBackorder(
                str(i),
                draw(st.integers(0, 2)),
                BASE + dt.timedelta(hours=draw(st.integers(0, 5))),
                DeliveryCondition.SHIP_AVAILABLE,
                lines,
            )
        )
    return result


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A store now: its catalogue, open backorders, free stock and purchase orders."""

    catalogue: Catalogue
    backorders: list[OpenBackorder]
    free: dict[ProductRef, int]
    purchase_orders: list[PurchaseOrder]
    reorder_points: dict[ProductRef, ReorderPoint]
    stock_figures: dict[ProductRef, ProductRef] = dataclasses.field(default_factory=dict)

    def proposal(self, purchase_orders: list[PurchaseOrder] | None = None) -> Proposal:
        orders = self.purchase_orders if purchase_orders is None else purchase_orders
        return plan_proposal(
            self.backorders, self.free, orders, self.catalogue,
            reorder_points=self.reorder_points, stock_figures=self.stock_figures,
        )  # fmt: skip

    def waiting(self) -> Counter[tuple[str, ProductRef]]:
        units: Counter[tuple[str, ProductRef]] = Counter()
        for backorder in self.backorders:
            for line in backorder.lines:
                units[(backorder.order_id, line.ref)] += line.quantity
        return units


def _progress(draw: st.DrawFn, order: PurchaseOrder, catalogue: Catalogue) -> PurchaseOrder:
    """`order` taken some way along its life: sent, partly received, shortened, cancelled."""
    action = draw(_ACTION)
    if action == "draft":
        return order
    if action == "cancel":
        return cancel(order).purchase_order
    if action == "shorten":
        line = draw(st.sampled_from(order.lines))
        try:
            return shorten(order, line.ref, draw(st.integers(0, line.quantity))).purchase_order
        except PurchasingError:
            return order  # the last line to 0: refused, the order stays as it was
    order = send(order, catalogue.supplier(order.supplier_id), TODAY)
    received = {
        line.ref: draw(st.integers(0, line.quantity if line.drop_ship else line.quantity + 3))
        for line in order.lines
    }
    if any(received.values()):
        order = apply_receipt(order, received).purchase_order
    if action == "receive_cancel" and order.status is not PurchaseOrderStatus.RECEIVED:
        order = cancel(order).purchase_order
    return order


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Purchase orders drafted for earlier backorders, then some released, changed or new."""
    catalogue = draw(catalogues())
    earlier = draw(backorders())
    earlier_free = draw(_FREE)
    purchase_orders: list[PurchaseOrder] = []
    proposal = plan_proposal(earlier, earlier_free, [], catalogue)
    if proposal.lines:
        chosen = draw(st.none() | st.sets(st.sampled_from([b.order_id for b in earlier])))
        drop_ship = chosen is not None and draw(st.booleans())
        try:
            drafts = draft_purchase_orders(
                proposal, today=TODAY, taken_numbers=(), orders=chosen, drop_ship=drop_ship
            )
        except PurchasingError as refusal:
            assert refusal.reason in {"nothing_to_order", "drop_ship_needs_orders"}
        else:
            purchase_orders = [_progress(draw, o, catalogue) for o in drafts.purchase_orders]
    # Now: some earlier orders were released (gone), some had lines change, and new ones came.
    now = []
    for backorder in earlier:
        if draw(st.booleans()):
            continue
        if draw(st.booleans()):
            backorder = dataclasses.replace(
                backorder,
                lines=tuple(dataclasses.replace(ln, quantity=draw(_QTY)) for ln in backorder.lines),
            )
        now.append(backorder)
    now += draw(backorders(first_id=100))
    points = draw(_POINTS)
    return Scenario(catalogue, now, draw(_FREE), purchase_orders, points)


def _outstanding(orders: list[PurchaseOrder], ref: ProductRef) -> int:
    return sum(
        line.outstanding
        for order in orders
        if order.status in OPEN_STATUSES
        for line in order.lines
        if line.ref == ref
    )


def _reserved(orders: list[PurchaseOrder]) -> Counter[tuple[str, ProductRef]]:
    units: Counter[tuple[str, ProductRef]] = Counter()
    for order in orders:
        for line in order.lines:
            for reservation in line.reservations:
                units[(reservation.order_id, line.ref)] += reservation.units
    return units


@EXAMPLES
@given(scenarios())
def test_demand_is_covered_by_purchase_orders_stock_or_uncovered(scenario: Scenario) -> None:
    proposal = scenario.proposal()
    waiting = scenario.waiting()
    rank = {b.order_id: queue_key(b) for b in scenario.backorders}
    for line in proposal.lines + proposal.unlinked:
        assert line.demand == sum(u for (_, ref), u in waiting.items() if ref == line.ref)
        assert line.free == max(scenario.free.get(line.ref, 0), 0)
        assert line.on_order == _outstanding(scenario.purchase_orders, line.ref)
        assert line.demand == line.covered_by_purchase + line.covered_by_stock + line.uncovered
        assert line.covered_by_stock <= line.free
        assert line.covered_by_purchase <= line.on_order
        assert line.uncovered == max(line.demand - line.free - line.on_order, 0)
        target = scenario.reorder_points.get(line.ref, ReorderPoint(0)).target
        assert line.needed == line.demand + target - line.free - line.on_order > 0
        keys = [rank[r.order_id] for r in line.covers]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        for reservation in line.covers:
            assert 0 < reservation.units <= waiting[(reservation.order_id, line.ref)]


@EXAMPLES
@given(scenarios(), st.data())
def test_a_unit_is_reserved_for_at_most_one_backorder_order(
    scenario: Scenario, data: st.DataObject
) -> None:
    proposal = scenario.proposal()
    if not proposal.lines:
        return
    orders = [b.order_id for b in scenario.backorders]
    chosen = data.draw(st.none() | st.sets(st.sampled_from(orders)) if orders else st.none())
    try:
        drafts = draft_purchase_orders(proposal, today=TODAY, taken_numbers=(), orders=chosen)
    except PurchasingError as refusal:
        assert refusal.reason == "nothing_to_order"
        return
    waiting = scenario.waiting()
    before = _reserved(scenario.purchase_orders)
    after = _reserved(list(drafts.purchase_orders))
    for key, units in after.items():
        # New reservations only take what the order waits for beyond what it already holds.
        assert units <= waiting[key] - min(before[key], waiting[key])
    for order in [*scenario.purchase_orders, *drafts.purchase_orders]:
        for line in order.lines:
            assert line.reserved <= line.outstanding
            assert len({r.order_id for r in line.reservations}) == len(line.reservations)
    numbers = [o.number for o in drafts.purchase_orders]
    assert len(set(numbers)) == len(numbers)
    assert len({o.supplier_id for o in drafts.purchase_orders}) == len(numbers)


@EXAMPLES
@given(scenarios(), st.data())
def test_receipts_never_raise_stock_by_more_than_received(
    scenario: Scenario, data: st.DataObject
) -> None:
    receivable = [
        o
        for o in scenario.purchase_orders
        if o.status in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED)
    ]
    for order in receivable:
        for _ in range(data.draw(st.integers(1, 3))):
            if order.status is PurchaseOrderStatus.RECEIVED:
                break
            received = {
                line.ref: data.draw(
                    st.integers(0, line.quantity - line.received if line.drop_ship else 15)
                )
                for line in order.lines
            }
            if not any(received.values()):
                continue
            receipt = apply_receipt(order, received)
            stock = dict(receipt.stock_increase)
            for line in order.lines:
                after = receipt.purchase_order.line(line.ref)
                assert after is not None
                assert after.received == line.received + received[line.ref]
                assert stock.get(line.ref, 0) == (0 if line.drop_ship else received[line.ref])
                met = receipt.drop_shipped if line.drop_ship else receipt.arrived
                met_units = Counter()
                for units in met:
                    if units.ref == line.ref:
                        met_units[units.order_id] += units.units
                assert sum(met_units.values()) <= received[line.ref]
                # A reservation is met or still held, never both, never lost.
                still = Counter({r.order_id: r.units for r in after.reservations})
                assert met_units + still == Counter(
                    {r.order_id: r.units for r in line.reservations}
                )
            assert sum(stock.values()) <= sum(received.values())
            over = sum(max(0, received[ln.ref] - ln.outstanding) for ln in order.lines)
            assert bool(over) == any(w.code == "over_receipt" for w in receipt.warnings)
            order = receipt.purchase_order


@EXAMPLES
@given(scenarios())
def test_a_proposal_orders_whole_packs_of_at_least_the_minimum(scenario: Scenario) -> None:
    proposal = scenario.proposal()
    for group in proposal.groups:
        unit = minor_unit(group.supplier.currency)
        for line in group.lines:
            link = line.link
            assert link is not None and link.supplier_id == group.supplier.id
            assert type(line.quantity) is int
            assert line.quantity > 0 and line.quantity % link.pack_size == 0
            assert line.quantity >= max(link.minimum_quantity, line.needed, line.uncovered)
            assert line.quantity == order_quantity(
                line.needed, link.pack_size, link.minimum_quantity
            )
            assert line.value == (link.unit_cost * line.quantity).quantize(unit, ROUND_HALF_UP)
        assert group.value == sum(line.value for line in group.lines)
    for line in proposal.unlinked:
        assert line.link is None and line.quantity == line.needed > 0
        assert line.reason.code in {"no_supplier", "no_preferred_supplier"}


@EXAMPLES
@given(scenarios(), st.data())
def test_a_second_proposal_after_drafting_orders_nothing_more(
    scenario: Scenario, data: st.DataObject
) -> None:
    proposal = scenario.proposal()
    if not proposal.lines:
        return
    drafts = draft_purchase_orders(proposal, today=TODAY, taken_numbers=())
    again = scenario.proposal([*scenario.purchase_orders, *drafts.purchase_orders])
    assert again.groups == ()
    assert again.unlinked == proposal.unlinked
    # Drafting for chosen backorder orders only: those orders are not proposed again.
    orders = sorted({r.order_id for line in proposal.lines for r in line.covers})
    if not orders:
        return
    chosen = data.draw(st.sets(st.sampled_from(orders), min_size=1))
    drafts = draft_purchase_orders(proposal, today=TODAY, taken_numbers=(), orders=chosen)
    again = scenario.proposal([*scenario.purchase_orders, *drafts.purchase_orders])
    assert not any(r.order_id in chosen for line in again.lines for r in line.covers)


@EXAMPLES
@given(scenarios(), st.data())
def test_cancelling_frees_exactly_what_was_reserved(
    scenario: Scenario, data: st.DataObject
) -> None:
    open_orders = [o for o in scenario.purchase_orders if o.status in OPEN_STATUSES]
    if not open_orders:
        return
    order = data.draw(st.sampled_from(open_orders))
    others = [o for o in scenario.purchase_orders if o is not order]
    cancelled, freed = cancel(order)
    assert Counter({(f.order_id, f.ref): f.units for f in freed}) == _reserved([order])
    assert _reserved([cancelled]) == Counter()
    assert [ln.received for ln in cancelled.lines] == [ln.received for ln in order.lines]
    # A cancelled purchase order counts for nothing: as if it had never been.
    assert scenario.proposal([*others, cancelled]) == scenario.proposal(others)
    # Shortening frees the reservations the shorter line can no longer bring, no more.
    line = data.draw(st.sampled_from(order.lines))
    if line.received > line.quantity:
        return  # over-received: nothing to shorten
    quantity = data.draw(st.integers(line.received, line.quantity))
    try:
        shortened, freed = shorten(order, line.ref, quantity)
    except PurchasingError as refusal:
        assert refusal.reason == "would_empty_purchase_order" and quantity == 0
        return
    kept = _reserved([shortened])
    assert kept + Counter({(f.order_id, f.ref): f.units for f in freed}) == _reserved([order])
    assert sum(f.units for f in freed) == max(0, line.reserved - (quantity - line.received))


POOL = ProductRef("C")  # the parent both variations of C draw on in `_pooled`


def _pooled(scenario: Scenario) -> Scenario:
    """The scenario with both variations of C drawing on their parent's one stock figure."""
    backorders = [
        dataclasses.replace(
            backorder,
            lines=tuple(
                dataclasses.replace(line, pool=POOL) if line.ref.product_id == "C" else line
                for line in backorder.lines
            ),
        )
        for backorder in scenario.backorders
    ]
    free = {ref: n for ref, n in scenario.free.items() if ref.product_id != "C"}
    free[POOL] = scenario.free.get(ProductRef("C", "red"), 0)
    figures = {ref: POOL for ref in REFS if ref.product_id == "C"}
    return dataclasses.replace(scenario, backorders=backorders, free=free, stock_figures=figures)


@EXAMPLES
@given(scenarios())
def test_products_sharing_a_stock_figure_count_its_free_units_once(scenario: Scenario) -> None:
    pooled = _pooled(scenario)
    reserved = _reserved(pooled.purchase_orders)
    short = sum(
        units - min(reserved[(order_id, ref)], units)
        for (order_id, ref), units in pooled.waiting().items()
        if ref.product_id == "C"
    )
    points = sum(rp.point for ref, rp in pooled.reorder_points.items() if ref.product_id == "C")
    by_product: dict[ProductRef, dict[str, int]] = {}
    for (order_id, ref), units in reserved.items():
        by_product.setdefault(ref, {})[order_id] = units
    queue = sorted(pooled.backorders, key=queue_key)
    kept = {ref: rp.point for ref, rp in pooled.reorder_points.items()}
    shares = share_free_units(queue, pooled.free, by_product, kept, pooled.stock_figures)
    # The figure's free units go to the variations once between them, as far as they need.
    shared = sum(n for ref, n in shares.items() if ref.product_id == "C")
    assert shared == min(max(pooled.free[POOL], 0), short + points)
    proposal = pooled.proposal()
    for line in proposal.lines + proposal.unlinked:
        assert line.free == shares.get(line.ref, 0)
        assert line.stock_figure == (POOL if line.ref.product_id == "C" else None)
        assert line.demand == line.covered_by_purchase + line.covered_by_stock + line.uncovered
        target = pooled.reorder_points.get(line.ref, ReorderPoint(0)).target
        assert line.needed == line.demand + target - line.free - line.on_order > 0
    lines = [ln for ln in proposal.lines + proposal.unlinked if ln.ref.product_id == "C"]
    assert sum(line.covered_by_stock for line in lines) <= shared


@EXAMPLES
@given(scenarios())
def test_below_its_reorder_point_a_product_is_bought_back_up_to_its_target(
    scenario: Scenario,
) -> None:
    """position = free + on order - demand; below the reorder point the proposal buys exactly
    target - position (target: the order-up-to quantity, else the point), else nothing."""
    proposal = scenario.proposal()
    lines = {line.ref: line for line in proposal.lines + proposal.unlinked}
    waiting = scenario.waiting()
    for ref in REFS:
        demand = sum(u for (_, r), u in waiting.items() if r == ref)
        kept = scenario.reorder_points.get(ref, ReorderPoint(0))
        free = max(scenario.free.get(ref, 0), 0)
        position = free + _outstanding(scenario.purchase_orders, ref) - demand
        line = lines.get(ref)
        if position >= kept.point:
            assert line is None
            continue
        assert line is not None
        assert (line.free, line.reorder_point, line.reorder_target) == (
            free, kept.point, kept.target if kept.point else 0,
        )  # fmt: skip
        assert line.needed == kept.target - position > 0
        assert position + line.needed >= kept.point  # bought back to at least the point
        assert line.quantity >= line.needed
        # Units for backorders are only the part nothing covers: the rest goes to stock.
        assert line.uncovered <= line.needed
