"""connect_store / ensure_connected / disconnect_store against a real sandbox store over HTTP."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from plugin.adapters.sql.stores import StoreRepository
from plugin.errors import InvalidKeys, InvalidStoreUrl
from plugin.platforms.registry import Registry
from plugin.platforms.woocommerce.connect import WEBHOOK_TOPICS
from plugin.platforms.woocommerce.driver import WOOCOMMERCE
from plugin.usecases.connecting import connect_store, disconnect_store, ensure_connected
from tests.integration.connect.conftest import CONSUMER_KEY, CONSUMER_SECRET, LiveSandbox

PUBLIC_URL = "http://127.0.0.1:9"  # never contacted by these tests except the store's ping


def _connect(stores: StoreRepository, sandbox: LiveSandbox, **overrides: object) -> int:
    arguments: dict[str, object] = {
        "driver": WOOCOMMERCE,
        "public_url": PUBLIC_URL,
        "development": True,
        "name": "Sandbox",
    }
    arguments.update(overrides)
    return connect_store(
        stores,
        sandbox.url + "/",
        CONSUMER_KEY,
        CONSUMER_SECRET,
        **arguments,  # type: ignore[arg-type]
    )


def test_connect_stores_keys_encrypted_and_registers_the_webhooks(
    stores: StoreRepository, sandbox: LiveSandbox, db: object
) -> None:
    store_id = _connect(stores, sandbox)

    store = stores.get(store_id)
    assert store is not None
    assert (store.name, store.base_url, store.status, store.platform) == (
        "Sandbox",
        sandbox.url,
        "connected",
        "woocommerce",
    )
    credentials = stores.credentials(store_id)
    assert (credentials.consumer_key, credentials.consumer_secret) == (
        CONSUMER_KEY,
        CONSUMER_SECRET,
    )
    assert len(credentials.webhook_secret) >= 40

    webhooks = sandbox.webhooks()
    assert sorted(w["topic"] for w in webhooks) == sorted(WEBHOOK_TOPICS)
    assert {w["delivery_url"] for w in webhooks} == {
        f"{PUBLIC_URL}/webhooks/woocommerce/{store_id}"
    }
    assert {w["secret"] for w in webhooks} == {credentials.webhook_secret}
    assert {w["status"] for w in webhooks} == {"active"}
    assert sorted(store.webhook_ids) == sorted(w["id"] for w in webhooks)

    # At rest, none of the secrets appears in clear.
    with stores.db.session() as session:
        row = session.execute(
            text(
                "select consumer_key_enc, consumer_secret_enc, webhook_secret_enc "
                "from stores where id = :id"
            ),
            {"id": store_id},
        ).one()
    stored = " ".join(row)
    for secret in (CONSUMER_KEY, CONSUMER_SECRET, credentials.webhook_secret):
        assert secret not in stored


def test_each_store_gets_its_own_webhook_secret(
    stores: StoreRepository, sandbox: LiveSandbox
) -> None:
    first = _connect(stores, sandbox)
    second = _connect(stores, sandbox)
    assert first != second
    assert stores.credentials(first).webhook_secret != stores.credentials(second).webhook_secret
    assert len(sandbox.webhooks()) == 2 * len(WEBHOOK_TOPICS)


def test_wrong_keys_are_refused_and_nothing_is_kept(
    stores: StoreRepository, sandbox: LiveSandbox
) -> None:
    with pytest.raises(InvalidKeys) as info:
        connect_store(
            stores,
            sandbox.url,
            CONSUMER_KEY,
            "cs_wrong",
            driver=WOOCOMMERCE,
            public_url=PUBLIC_URL,
            development=True,
        )
    assert info.value.reason == "invalid_keys"
    assert stores.list() == []
    assert sandbox.webhooks() == []


def test_a_plain_http_store_is_refused_outside_development_before_any_call(
    stores: StoreRepository, sandbox: LiveSandbox
) -> None:
    with pytest.raises(InvalidStoreUrl):
        _connect(stores, sandbox, development=False)
    assert stores.list() == []
    assert sandbox.webhooks() == []


def test_secrets_are_never_logged(
    stores: StoreRepository, sandbox: LiveSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store_id = _connect(stores, sandbox)
    disconnect_store(stores, store_id, drivers=Registry(None, None))
    webhook_secret = stores.credentials(store_id).webhook_secret
    assert "store connected" in caplog.text
    for secret in (CONSUMER_KEY, CONSUMER_SECRET, webhook_secret):
        assert secret not in caplog.text


def test_disconnect_deletes_the_webhooks_and_marks_the_store(
    stores: StoreRepository, sandbox: LiveSandbox
) -> None:
    kept = _connect(stores, sandbox)
    store_id = _connect(stores, sandbox)
    kept_ids = sorted(stores.get(kept).webhook_ids)  # type: ignore[union-attr]

    assert disconnect_store(stores, store_id, drivers=Registry(None, None)) == []

    store = stores.get(store_id)
    assert store is not None
    assert (store.status, store.webhook_ids) == ("disconnected", ())
    assert sorted(w["id"] for w in sandbox.webhooks()) == kept_ids  # the other store's stay


def test_ensure_connected_reuses_the_connection(
    stores: StoreRepository, sandbox: LiveSandbox
) -> None:
    arguments = {"driver": WOOCOMMERCE, "public_url": PUBLIC_URL, "development": True}
    first = ensure_connected(stores, sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, **arguments)
    webhook_ids = stores.get(first).webhook_ids  # type: ignore[union-attr]
    second = ensure_connected(stores, sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, **arguments)

    assert second == first
    assert stores.get(first).webhook_ids == webhook_ids  # type: ignore[union-attr]
    assert len(stores.list()) == 1
    assert sorted(w["id"] for w in sandbox.webhooks()) == sorted(webhook_ids)


def test_ensure_connected_re_registers_webhooks_the_store_lost(
    stores: StoreRepository, sandbox: LiveSandbox
) -> None:
    arguments = {"driver": WOOCOMMERCE, "public_url": PUBLIC_URL, "development": True}
    store_id = ensure_connected(stores, sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, **arguments)
    old_ids = stores.get(store_id).webhook_ids  # type: ignore[union-attr]
    sandbox.store.delete_webhook(old_ids[0])

    assert (
        ensure_connected(stores, sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, **arguments)
        == store_id
    )

    new_ids = stores.get(store_id).webhook_ids  # type: ignore[union-attr]
    webhooks = sandbox.webhooks()
    assert sorted(w["id"] for w in webhooks) == sorted(new_ids)
    assert not set(new_ids) & set(old_ids)
    assert sorted(w["topic"] for w in webhooks) == sorted(WEBHOOK_TOPICS)
    assert {w["secret"] for w in webhooks} == {stores.credentials(store_id).webhook_secret}


def test_ensure_connected_with_new_keys_keeps_one_connection(
    stores: StoreRepository, sandbox: LiveSandbox
) -> None:
    arguments = {"driver": WOOCOMMERCE, "public_url": PUBLIC_URL, "development": True}
    old = sandbox.store.create_api_key(app_name="Old", user_id="1", scope="read_write")
    store_id = ensure_connected(
        stores, sandbox.url, old["consumer_key"], old["consumer_secret"], **arguments
    )
    webhook_ids = stores.get(store_id).webhook_ids  # type: ignore[union-attr]

    assert (
        ensure_connected(stores, sandbox.url, CONSUMER_KEY, CONSUMER_SECRET, **arguments)
        == store_id
    )
    credentials = stores.credentials(store_id)
    assert (credentials.consumer_key, credentials.consumer_secret) == (
        CONSUMER_KEY,
        CONSUMER_SECRET,
    )
    assert len(stores.list()) == 1
    assert stores.get(store_id).webhook_ids == webhook_ids  # type: ignore[union-attr]
