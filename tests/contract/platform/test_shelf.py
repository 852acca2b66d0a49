"""The shelf reads of the storefront widget: what a shopper can open, with its stock figure and
whether the store takes backorders; anything else (a draft, an unknown id) answered None. The
same outcomes from every implementation, Shopify's sandbox among them."""

from __future__ import annotations

from plugin.core.model import ProductRef
from plugin.ports import ShelfItem
from tests.contract.platform.harness import ShelfHarness

UNKNOWN = 987654321


def _seen(item: ShelfItem | None) -> tuple[object, ...]:
    """Its figure, whether an uncounted one shows in stock, backorders, variations."""
    assert item is not None
    uncounted = item.counted_in_stock if item.figure.quantity is None else None
    return (item.figure.quantity, uncounted, item.backorders_allowed, item.variation_ids)


def test_the_shelf_shows_published_products_and_nothing_else(store: ShelfHarness) -> None:
    out = store.product("Stool", stock=0, backorders=True)
    counted = store.product("Bench", stock=3, backorders=False)
    loose = store.product("Cushion", backorders=False)  # stock not counted
    draft = store.hidden_product("Draft stool", stock=0, backorders=True)
    refs = [out, counted, loose, draft]
    ids = [int(ref.product_id) for ref in refs] + [UNKNOWN]

    shelf = store.platform().shelf_products(ids)

    assert sorted(shelf) == sorted(ids)
    assert shelf[int(draft.product_id)] is None and shelf[UNKNOWN] is None
    seen = {ref: shelf[int(ref.product_id)] for ref in (out, counted, loose)}
    assert {ref: _seen(item) for ref, item in seen.items()} == {
        out: (0, None, True, ()),
        counted: (3, None, False, ()),
        loose: (None, True, False, ()),
    }
    for ref, item in seen.items():
        assert item is not None
        # The figure and the records' name are the product's own, as its orders' lines name it.
        assert (item.figure.pool, item.ref or ProductRef(ref.product_id)) == (ref, ref)
        assert item.id == int(ref.product_id)


def test_the_shelf_of_nothing_asked_is_empty(store: ShelfHarness) -> None:
    assert store.platform().shelf_products([UNKNOWN]) == {UNKNOWN: None}
