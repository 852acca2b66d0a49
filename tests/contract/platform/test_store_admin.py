"""Our webhook subscriptions, the catalogue the merchant pages read, the backorder setting they
write, and links into the store's admin: the same outcomes from every implementation."""

from __future__ import annotations

import secrets

from tests.contract.platform.harness import Harness


def test_webhook_subscriptions_create_list_and_delete_ours(store: Harness) -> None:
    connection = store.connection()
    connection.check_credentials()
    ids = connection.register_webhooks(delivery_url=store.delivery_url,
                                       secret=secrets.token_urlsafe(32))  # fmt: skip
    try:
        assert len(ids) == len(set(ids)) >= 1
        ours = store.platform(webhook_ids=ids).list_webhooks()
        assert sorted(int(w.id) for w in ours) == sorted(ids)
        assert {(w.status, w.delivery_url) for w in ours} == {("active", store.delivery_url)}
        # Ours are also those pointing at our public URL, and only those.
        public_url = store.delivery_url.rsplit("/webhooks/", 1)[0]
        by_url = store.platform(public_url=public_url).list_webhooks()
        assert sorted(int(w.id) for w in by_url) == sorted(ids)
        assert store.platform(public_url="http://127.0.0.1:9/elsewhere").list_webhooks() == []
        assert connection.webhooks_intact(ids, store.delivery_url) is True
        assert connection.webhooks_intact(ids, store.delivery_url + "0") is False

        store.disable_webhook(ids[0])
        statuses = {w.id: w.status for w in store.platform(webhook_ids=ids).list_webhooks()}
        assert connection.webhooks_intact(ids, store.delivery_url) is False
        if store.stopped_webhooks_kept:
            assert statuses == {str(i): "disabled" if i == ids[0] else "active" for i in ids}
            store.platform(webhook_ids=ids).activate_webhook(str(ids[0]))
            statuses = {w.id: w.status for w in store.platform(webhook_ids=ids).list_webhooks()}
            assert statuses == {str(i): "active" for i in ids}
            assert connection.webhooks_intact(ids, store.delivery_url) is True
        else:  # deleted by the store: the others stay, and only reconnecting replaces it
            assert statuses == {str(i): "active" for i in ids if i != ids[0]}
    finally:
        assert connection.delete_webhooks(ids) == []
    assert store.platform(webhook_ids=ids).list_webhooks() == []
    assert connection.webhooks_intact(ids, store.delivery_url) is False
    assert connection.delete_webhooks(ids) == []  # gone already is fine


def test_catalogue_reads_and_the_backorder_setting(store: Harness) -> None:
    counted = store.product("Lamp", price="12.00", stock=4, backorders=False)
    loose = store.product("Lamp shade", price="3.00", backorders=False)
    platform = store.platform()
    name = platform.list_products(search="Lamp", stock_status="", backorders="", limit=50)
    mine = {item.id: item for item in name if item.id in (int(counted[0]), int(loose[0]))}
    assert sorted(mine) == sorted([int(counted[0]), int(loose[0])])
    lamp = mine[int(counted[0])]
    assert (lamp.manage_stock, lamp.stock_quantity, lamp.backorders, lamp.variable) == (
        True, 4, store.deny_backorders, False,
    )  # fmt: skip
    assert lamp.name.startswith("Lamp ") and lamp.sku
    assert (mine[int(loose[0])].manage_stock, mine[int(loose[0])].stock_quantity) == (False, None)

    shelf = platform.shelf_products([int(counted[0])])[int(counted[0])]
    assert shelf is not None
    assert (shelf.figure.quantity, shelf.backorders_allowed) == (4, False)

    platform.set_backorders(counted, store.allow_backorders)

    again = store.platform()
    allowed = again.shelf_products([int(counted[0])])[int(counted[0])]
    assert allowed is not None and allowed.backorders_allowed is True
    found = again.list_products(search="Lamp", stock_status="",
                                backorders=store.allow_backorders, limit=50)  # fmt: skip
    assert [item.id for item in found if item.id in (int(counted[0]), int(loose[0]))] == [
        int(counted[0])
    ]
    again.set_backorders(counted, store.allow_backorders)  # the same value: no change
    again.set_backorders(counted, store.deny_backorders)
    denied = store.platform().shelf_products([int(counted[0])])[int(counted[0])]
    assert denied is not None and denied.backorders_allowed is False


def test_bulk_backorder_setting(store: Harness) -> None:
    counted = store.product("Chair", stock=2, backorders=False)
    loose = store.product("Chair pad", backorders=False)  # stock not counted
    ids = [int(counted[0]), int(loose[0])]
    platform = store.platform()
    items = platform.expand_products(ids)
    assert items == [(ids[0], None), (ids[1], None)]

    outcomes = [o for group in platform.write_backorders(items, store.allow_backorders)
                for o in group]  # fmt: skip

    assert [(o.product_id, o.variation_id, o.ok) for o in outcomes] == [
        (ids[0], None, True), (ids[1], None, True),
    ]  # fmt: skip
    shelf = store.platform().shelf_products(ids)
    # A product whose stock the store does not count takes no backorders, whatever is written.
    assert {i: item is not None and item.backorders_allowed for i, item in shelf.items()} == {
        ids[0]: True, ids[1]: False,
    }  # fmt: skip


def test_links_into_the_store_admin(store: Harness) -> None:
    widget = store.product("Widget", stock=3, backorders=False)
    order_id = store.order([(widget, 1)], paid=True)
    url = store.platform().order_admin_url(order_id)
    assert url.startswith(store.base_url() + "/") and order_id in url
    assert store.platform().order_admin_url(order_id) != store.platform().order_admin_url("1")
