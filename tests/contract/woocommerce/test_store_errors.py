"""How the plugin's client reads the store's refusals, on the sandbox and a real store."""

from __future__ import annotations

import pytest

from plugin.errors import NotFound
from plugin.platforms.woocommerce.client import batch_item_error
from tests.contract.woocommerce.conftest import StoreUnderTest

MISSING = 987654321


def test_reading_a_missing_order_or_its_notes_is_not_found(woo: StoreUnderTest) -> None:
    client = woo.client()
    with pytest.raises(NotFound) as info:
        client.get_order(MISSING)
    assert info.value.reason == "woocommerce_rest_shop_order_invalid_id"
    with pytest.raises(NotFound):
        client.get(f"/orders/{MISSING}/notes")
    with pytest.raises(NotFound):
        client.add_order_note(MISSING, "lost")


def test_updating_a_missing_order_is_not_found(woo: StoreUnderTest) -> None:
    client = woo.client()
    # WooCommerce answers 400 `woocommerce_rest_shop_order_invalid_id`, not 404
    # (Version3/class-wc-rest-crud-controller.php, update_item); the client reads that code as
    # the order being gone, so a deletion ends a split or release the same way on every store.
    with pytest.raises(NotFound) as info:
        client.update_order(MISSING, {"status": "on-hold"})
    assert info.value.reason == "woocommerce_rest_shop_order_invalid_id"
    answer = client.batch_orders(update=[{"id": MISSING, "status": "on-hold"}])
    [item] = answer["update"]
    assert item["id"] == MISSING
    error = batch_item_error(item)
    assert isinstance(error, NotFound)
    assert error.reason == "woocommerce_rest_shop_order_invalid_id"


def test_deleting_a_missing_webhook_is_not_found(woo: StoreUnderTest) -> None:
    with pytest.raises(NotFound):
        woo.client().delete_webhook(MISSING)
