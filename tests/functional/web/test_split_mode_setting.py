"""The split mode on the settings page: offered only by a platform with more than one way of
writing a split (Shopify: held fulfillment orders, the default, or a separate linked order),
saved with the other settings, and refused, with nothing written, for any other value."""

from __future__ import annotations

from flask import Flask

from plugin.adapters.sql.models import Store
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
