"""The split mode on the settings page: offered only by a platform with more than one way of
writing a split (Shopify: held fulfillment orders, the default, or a separate linked order),
saved with the other settings, and refused, with nothing written, for any other value. Changed
while backorders are open, the page says those keep the way they were split (issue 16)."""

from __future__ import annotations

from flask import Flask

from plugin.adapters.sql.models import Store
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from tests.functional.web.conftest import Merchant, add_store, state
from tests.functional.web.test_stores_settings import _valid


def _shopify_store(app: Flask, merchant_id: int) -> StoreRecord:
    return state(app).stores.create(
        name="Ada's mugs",
        base_url="http://127.0.0.1:9",
        consumer_key="ada-mugs.myshopify.com",
        consumer_secret="shpat_test",
        webhook_secret="shopify-app-secret",
        platform="shopify",
        merchant_id=merchant_id,
    )


def _stored_settings(app: Flask, store_id: int) -> dict[str, object]:
    with state(app).db.session() as session:
        row = session.get(Store, store_id)
        assert row is not None
        return dict(row.settings or {})


def test_a_shopify_store_offers_the_split_modes_held_by_default(
    app: Flask, alice: Merchant
) -> None:
    store = _shopify_store(app, alice.id)
    html = alice.get(f"/stores/{store.id}/settings").get_data(as_text=True)
    assert '<select name="split_mode" id="split_mode">' in html
    assert '<option value="held" selected>' in html
    assert '<option value="linked" >' in html
    assert store.split_mode == ""


def test_the_linked_mode_is_saved_and_opens_the_shop_in_it(app: Flask, alice: Merchant) -> None:
    store = _shopify_store(app, alice.id)
    path = f"/stores/{store.id}/settings"
    response = alice.post(path, _valid(split_mode="linked"), token_from=path)
    assert response.status_code == 303
    saved = state(app).stores.get(store.id)
    assert saved is not None and saved.split_mode == "linked"
    assert _stored_settings(app, store.id)["split_mode"] == "linked"
    assert '<option value="linked" selected>' in alice.get(path).get_data(as_text=True)
    # The worker's platform for this store writes linked splits.
    platform = state(app).registry.for_store(saved)[0]
    assert getattr(platform, "split_mode", None) == "linked"


def test_an_unknown_split_mode_is_refused_and_nothing_is_written(
    app: Flask, alice: Merchant
) -> None:
    store = _shopify_store(app, alice.id)
    before = _stored_settings(app, store.id)
    path = f"/stores/{store.id}/settings"
    response = alice.post(path, _valid(split_mode="sideways"), token_from=path)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert (
        '<span class="field-error" data-field="split_mode">Choose one of the offered ways.' in html
    )
    assert _stored_settings(app, store.id) == before
    after = state(app).stores.get(store.id)
    assert after is not None
    assert (after.split_mode, after.reconcile_interval_seconds, after.api_rate_limit) == (
        "",
        300,
        5.0,
    )


def test_a_woocommerce_store_offers_no_split_mode_and_refuses_one(
    app: Flask, alice: Merchant
) -> None:
    store = add_store(app, alice.id)
    path = f"/stores/{store.id}/settings"
    assert 'name="split_mode"' not in alice.get(path).get_data(as_text=True)
    before = _stored_settings(app, store.id)
    response = alice.post(path, _valid(split_mode="linked"), token_from=path)
    assert response.status_code == 400
    assert _stored_settings(app, store.id) == before
    # Without the field the form saves as before.
    assert alice.post(path, _valid(), token_from=path).status_code == 303
    assert _stored_settings(app, store.id)["split_mode"] == ""


KEEP = "Open backorders keep the way they were split; the new way applies to new splits."


def _waiting(app: Flask, store_id: int, order_id: str, state_: str = "done") -> None:
    """A split of the ledger whose backorder waits for stock (`state_`: how far it is written)."""
    ledger = SqlSplitLedger(state(app).db)
    key = f"{order_id}:1"
    plan = {
        "outcome": "split",
        "split_key": key,
        "backorder_number": f"{order_id}-001",
        "lines": [{"line_id": "1", "ref": {"product_id": "7"}, "ordered": 2, "backorder": 2}],
    }
    ledger.start(store_id, order_id, key, plan)
    if state_ != "planned":
        ledger.advance(store_id, key, state_, backorder_order_id=f"fo-{order_id}9")


def test_changing_the_mode_with_backorders_open_says_they_keep_their_way(
    app: Flask, alice: Merchant
) -> None:
    store = _shopify_store(app, alice.id)
    _waiting(app, store.id, "1001")
    path = f"/stores/{store.id}/settings"
    response = alice.post(path, _valid(split_mode="linked"), token_from=path)
    assert response.status_code == 303
    saved = state(app).stores.get(store.id)
    assert saved is not None and saved.split_mode == "linked"
    assert f"Settings saved; they apply to the next order event. {KEEP}" in alice.get(
        path
    ).get_data(as_text=True)
    # Back to held, with a split still being written: said again.
    _waiting(app, store.id, "1002", "planned")
    assert alice.post(path, _valid(split_mode="held"), token_from=path).status_code == 303
    assert KEEP in alice.get(path).get_data(as_text=True)


def test_the_mode_kept_or_no_backorder_open_says_nothing_more(app: Flask, alice: Merchant) -> None:
    store = _shopify_store(app, alice.id)
    path = f"/stores/{store.id}/settings"
    # Changed with nothing open.
    assert alice.post(path, _valid(split_mode="linked"), token_from=path).status_code == 303
    html = alice.get(path).get_data(as_text=True)
    assert "Settings saved; they apply to the next order event." in html and KEEP not in html
    # Backorders open, the mode saved as it was.
    _waiting(app, store.id, "1001")
    assert alice.post(path, _valid(split_mode="linked"), token_from=path).status_code == 303
    html = alice.get(path).get_data(as_text=True)
    assert "Settings saved; they apply to the next order event." in html and KEEP not in html
    # The default written out ("held") is the store's default ('') kept.
    other = _shopify_store(app, alice.id)
    _waiting(app, other.id, "2001")
    other_path = f"/stores/{other.id}/settings"
    assert (
        alice.post(other_path, _valid(split_mode="held"), token_from=other_path).status_code == 303
    )
    assert KEEP not in alice.get(other_path).get_data(as_text=True)


def test_a_shopify_store_is_not_offered_a_customer_note_it_cannot_add(
    app: Flask, alice: Merchant
) -> None:
    """The hint "one more store API call per split (4 without it)" is WooCommerce's figure,
    and Shopify has no order note to the customer (the adapter only logs one): the page
    offered that setting, with WooCommerce's figure, on a Shopify store."""
    store = _shopify_store(app, alice.id)
    html = alice.get(f"/stores/{store.id}/settings").get_data(as_text=True)
    assert 'id="customer_note_on_split"' not in html
    assert 'id="customer_note_on_split-hint"' not in html
    assert "API call" not in html
