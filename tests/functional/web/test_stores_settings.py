"""The stores page (health, ownership) and the settings form (valid, invalid, CSRF, 404)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from plugin.adapters.sql.merchants import alert_email
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import DeliveryCondition, OversoldAction, Status, StoreSettings
from plugin.platforms.woocommerce.driver import WOOCOMMERCE
from tests.functional.web.conftest import LiveStore, Merchant, add_store, state

VALID = {
    "enabled": "on",
    "eligible_statuses": ["on_hold"],
    "default_delivery": "lines_complete",
    "oversold_action": "hold",
    "additional_shipping": "4.95",
    "numbering_pattern": "BO-{number}/{seq}",
    "customer_note_on_split": "",  # unchecked boxes are simply absent; see below
    "alert_email": "ops@example.com",
    "reconcile_interval_seconds": "600",
    "api_rate_limit": "2.5",
}


def _valid(**changes: Any) -> dict[str, Any]:
    data = {k: v for k, v in VALID.items() if k != "customer_note_on_split"}
    data.update(changes)
    return data


def _unchanged(app: Flask, store: StoreRecord) -> None:
    now = state(app).stores.get(store.id)
    assert now is not None
    assert now.settings == StoreSettings()
    assert (now.reconcile_interval_seconds, now.api_rate_limit) == (300, 5.0)
    assert alert_email(state(app).db, store.id) == ""


def test_stores_page_lists_only_my_stores_with_their_health(
    app: Flask, alice: Merchant, bob: Merchant
) -> None:
    mine = add_store(app, alice.id)
    theirs = add_store(app, bob.id)
    state(app).stores.add_alert(mine.id, "oversold", "Order 7 is oversold", order_id="7")
    state(app).events.receive(mine.id, "order.created", "7", "2026-01-01T00:00:00")
    html = alice.get("/stores").get_data(as_text=True)
    assert f'id="store-{mine.id}"' in html
    assert f'id="store-{theirs.id}"' not in html
    assert 'class="alerts" data-count="1"' in html
    assert "Order 7 is oversold" in html
    assert '<span class="waiting">1</span> waiting, <span class="failed">0</span> failed' in html
    # Port 9 has no store behind it: the page says so instead of failing.
    assert "The store could not be reached." in html
    # Queue-wide figures would tell one merchant about every other store's traffic.
    assert "all stores" not in html and "queue-counts" not in html


def test_pages_need_sign_in(app: Flask, anonymous: FlaskClient, alice_store: StoreRecord) -> None:
    for path in ("/stores", f"/stores/{alice_store.id}/settings", "/stores/connect"):
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"].startswith("/signin?next="), path


def test_settings_page_shows_the_current_settings_with_woocommerce_names(
    alice: Merchant, alice_store: StoreRecord
) -> None:
    html = alice.get(f"/stores/{alice_store.id}/settings").get_data(as_text=True)
    assert 'name="eligible_statuses" value="new" id="status-new"\n      checked' in html
    assert 'value="on_hold" id="status-on_hold"\n      checked' in html
    assert 'value="new_backorder" id="status-new_backorder"\n      >' in html
    assert "Pending payment / Processing (New)" in html
    assert '<output id="number-example">1042-001</output>' in html
    # The customer note costs a call per split: off unless the merchant turns it on.
    assert 'id="customer_note_on_split" >' in html
    assert (
        '<span class="hint" id="customer_note_on_split-hint">The store e-mails that note to the '
        "customer, who already gets Backorders' split e-mail. Off by default: each note is one "
        "more store API call per split (4 without it).</span>"
    ) in html
    assert WOOCOMMERCE.split_calls == 4  # the adapter's count (bench/calls_per_split.py)


def test_valid_settings_are_saved_and_read_back_by_the_policy_store(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    path = f"/stores/{alice_store.id}/settings"
    response = alice.post(path, _valid(), token_from=path)
    assert response.status_code == 303
    store = state(app).stores.get(alice_store.id)
    assert store is not None
    assert store.settings == StoreSettings(
        enabled=True,
        eligible_statuses=frozenset({Status.ON_HOLD}),
        default_delivery=DeliveryCondition.LINES_COMPLETE,
        oversold_action=OversoldAction.HOLD,
        additional_shipping=Decimal("4.95"),
        numbering_pattern="BO-{number}/{seq}",
        customer_note_on_split=False,
    )
    assert (store.reconcile_interval_seconds, store.api_rate_limit) == (600, 2.5)
    assert alert_email(state(app).db, store.id) == "ops@example.com"
    html = alice.get(path).get_data(as_text=True)
    assert "Settings saved; they apply to the next order event." in html
    assert '<output id="number-example">BO-1042/1</output>' in html


def test_invalid_settings_show_every_error_inline_and_save_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    path = f"/stores/{alice_store.id}/settings"
    data = _valid(
        eligible_statuses=[],
        additional_shipping="-1",
        numbering_pattern="{number}",
        alert_email="not-mail",
        reconcile_interval_seconds="5",
        api_rate_limit="fast",
        default_delivery="sometimes",
    )
    response = alice.post(path, data, token_from=path)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was saved" in html
    for field, message in [
        ("eligible_statuses", "Choose at least one status."),
        ("additional_shipping", "Must be greater than or equal to 0 and less than or equal"),
        ("numbering_pattern", "The pattern must contain {seq}"),
        ("alert_email", "Enter an e-mail address such as you@example.com."),
        ("reconcile_interval_seconds", "Between 60 and 86400 seconds."),
        ("api_rate_limit", "Not a valid number."),
        ("default_delivery", "Must be one of"),
    ]:
        assert f'<span class="field-error" data-field="{field}">{message}' in html, field
    # What was typed is shown again.
    assert 'value="{number}"' in html
    _unchanged(app, alice_store)


def test_an_unknown_field_is_refused(app: Flask, alice: Merchant, alice_store: StoreRecord) -> None:
    path = f"/stores/{alice_store.id}/settings"
    response = alice.post(path, _valid(is_admin="1"), token_from=path)
    assert response.status_code == 400
    assert '<span class="field-error" data-field="is_admin">Unknown field.</span>' in (
        response.get_data(as_text=True)
    )
    _unchanged(app, alice_store)


def test_settings_without_csrf_token_change_nothing(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    response = alice.post(f"/stores/{alice_store.id}/settings", _valid())
    assert response.status_code == 400
    _unchanged(app, alice_store)


def test_another_merchants_settings_are_404_for_reading_and_writing(
    app: Flask, alice: Merchant, bob: Merchant, alice_store: StoreRecord
) -> None:
    path = f"/stores/{alice_store.id}/settings"
    assert bob.get(path).status_code == 404
    response = bob.post(path, _valid(), token_from="/stores")
    assert response.status_code == 404
    assert bob.get(f"{path}/number-example?pattern=x").status_code == 404
    assert bob.get("/stores/999/settings").status_code == 404
    _unchanged(app, alice_store)


def test_settings_without_sign_in_redirect_and_change_nothing(
    app: Flask, anonymous: FlaskClient, alice_store: StoreRecord
) -> None:
    response = anonymous.post(f"/stores/{alice_store.id}/settings", data=_valid())
    # CSRF is checked first: a stranger's POST has no token.
    assert response.status_code == 400
    _unchanged(app, alice_store)


def test_number_example_endpoint_uses_the_core_formatter(
    alice: Merchant, alice_store: StoreRecord
) -> None:
    path = f"/stores/{alice_store.id}/settings/number-example"
    ok = alice.get(path, query_string={"pattern": "{number}-B{seq:02d}"}).get_json()
    assert ok == {"example": "1042-B01", "errors": []}
    bad = alice.get(path, query_string={"pattern": "{number}{x}"}).get_json()
    assert bad["example"] == ""
    assert "Unknown field {x}: use only {number} and {seq}." in bad["errors"]


def test_disconnect_of_another_merchants_store_is_404_and_changes_nothing(
    app: Flask, alice: Merchant, bob: Merchant, alice_store: StoreRecord
) -> None:
    response = bob.post(f"/stores/{alice_store.id}/disconnect", {}, token_from="/stores")
    assert response.status_code == 404
    store = state(app).stores.get(alice_store.id)
    assert store is not None and store.status == "connected"


def test_stores_page_shows_the_widget_snippet(alice: Merchant, alice_store: StoreRecord) -> None:
    html = alice.get("/stores").get_data(as_text=True)
    assert (
        f'&lt;script src="http://127.0.0.1:8000/storefront/{alice_store.id}/widget.js" '
        "defer&gt;&lt;/script&gt;"
    ) in html


def test_webhook_health_is_read_from_the_store_and_cached_briefly(
    app: Flask, alice: Merchant, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    shop = live_store.shop
    ids = [
        int(shop.create_webhook({"topic": t, "delivery_url": "http://127.0.0.1:9/x"})["id"])
        for t in ("order.created", "order.updated")
    ]
    state(app).stores.update(live_store.store.id, webhook_ids=ids)
    card = f'id="store-{live_store.store.id}"'
    html = alice.get("/stores").get_data(as_text=True)
    assert card in html
    assert '<span class="badge ok" data-status="active">2 active</span>' in html
    shop.update_webhook(ids[1], {"status": "disabled"})
    cached = alice.get("/stores").get_data(as_text=True)
    assert '<span class="badge ok" data-status="active">2 active</span>' in cached
    [key] = redis_client.keys(f"backorders:health:{live_store.store.id}:*")
    assert 0 < redis_client.ttl(key) <= 30
    redis_client.delete(key)
    fresh = alice.get("/stores").get_data(as_text=True)
    assert '<span class="badge ok" data-status="active">1 active</span>' in fresh
    assert '<span class="badge bad" data-status="disabled">1 disabled</span>' in fresh
