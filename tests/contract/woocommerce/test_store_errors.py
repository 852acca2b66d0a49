"""How the plugin's client reads the store's refusals, on the sandbox and a real store."""

from __future__ import annotations

import pytest

from plugin.connectors.woocommerce.client import batch_item_error
from plugin.errors import NotFound, ValidationFailed
from tests.contract.woocommerce.conftest import StoreUnderTest, until_the_sandbox_matches

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


def test_updating_a_missing_order_is_refused_as_invalid(
    request: pytest.FixtureRequest, woo: StoreUnderTest
) -> None:
    until_the_sandbox_matches(request, woo, "PUT/batch of a missing order is a 400")
    client = woo.client()
    # WooCommerce answers 400, not 404 (Version3/class-wc-rest-crud-controller.php,
    # update_item): the plugin sees a refused write, not a missing order.
    with pytest.raises(ValidationFailed) as info:
        client.update_order(MISSING, {"status": "on-hold"})
    assert info.value.reason == "woocommerce_rest_shop_order_invalid_id"
    answer = client.batch_orders(update=[{"id": MISSING, "status": "on-hold"}])
    [item] = answer["update"]
    assert item["id"] == MISSING
    error = batch_item_error(item)
    assert isinstance(error, ValidationFailed)
    assert error.reason == "woocommerce_rest_shop_order_invalid_id"


def test_deleting_a_missing_webhook_is_not_found(woo: StoreUnderTest) -> None:
    with pytest.raises(NotFound):
        woo.client().delete_webhook(MISSING)
