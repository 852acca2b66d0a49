"""Sign-out and a password change end every copy of a session cookie (the session version)."""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.sql.merchants import MerchantRepository, alert_email
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import StoreSettings
from plugin.usecases.accounts import hash_password
from tests.functional.web.conftest import Merchant, state

SETTINGS = {
    "enabled": "on",
    "eligible_statuses": ["on_hold"],
    "default_delivery": "lines_complete",
    "oversold_action": "hold",
    "additional_shipping": "4.95",
    "numbering_pattern": "BO-{number}/{seq}",
    "alert_email": "thief@example.com",
    "reconcile_interval_seconds": "600",
    "api_rate_limit": "2.5",
}


class Thief:
    """Another browser replaying a copy of the merchant's session cookie on every request (a
    refused cookie is cleared by the answer; the thief sends the copy again regardless)."""

    def __init__(self, app: Flask, merchant: Merchant) -> None:
        self.name = app.config["SESSION_COOKIE_NAME"]
        cookie = merchant.client.get_cookie(self.name)
        assert cookie is not None
        self.value = cookie.value
        self.client: FlaskClient = app.test_client()

    def get(self, path: str) -> Any:
        self.client.set_cookie(self.name, self.value)
        return self.client.get(path)

    def post(self, path: str, data: dict[str, Any]) -> Any:
        self.client.set_cookie(self.name, self.value)
        return self.client.post(path, data=data)


def _unchanged(app: Flask, store: StoreRecord) -> None:
    now = state(app).stores.get(store.id)
    assert now is not None
    assert now.settings == StoreSettings()
    assert (now.reconcile_interval_seconds, now.api_rate_limit) == (300, 5.0)
    assert alert_email(state(app).db, store.id) == ""


def _replay(thief: Thief, store: StoreRecord, token: str) -> list[Any]:
    """The requests a copied cookie would make, each with the CSRF token that cookie carries."""
    return [
        thief.get("/stores"),
        thief.get(f"/stores/{store.id}/settings"),
        thief.post(f"/stores/{store.id}/settings", data={**SETTINGS, "csrf_token": token}),
        thief.post(
            f"/stores/{store.id}/products/bulk",
            data={"value": "yes", "q": "", "csrf_token": token},
        ),
    ]


def test_a_cookie_copied_before_sign_out_is_refused_afterwards(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    settings_path = f"/stores/{alice_store.id}/settings"
    token = alice.token(settings_path)  # the session now holds its CSRF token: copy it as is
    thief = Thief(app, alice)
    assert thief.get("/stores").status_code == 200  # the copy works while alice is signed in
    before = MerchantRepository(state(app).db).get(alice.id)
    assert before is not None and before.session_version == 1

    assert alice.post("/signout", {}, token_from="/stores").status_code == 303

    after = MerchantRepository(state(app).db).get(alice.id)
    assert after is not None and after.session_version == 2
    responses = _replay(thief, alice_store, token)
    assert [r.status_code for r in responses] == [303, 303, 303, 303]
    assert [r.headers["Location"].split("?")[0] for r in responses] == ["/signin"] * 4
    _unchanged(app, alice_store)
    assert event_queue(redis_client).count == 0
    assert redis_client.keys("backorders:bulk:*") == []
    # Replaying the sign-out itself does not bump the version again (nobody is signed in).
    thief.post("/signout", data={"csrf_token": token})
    again = MerchantRepository(state(app).db).get(alice.id)
    assert again is not None and again.session_version == 2

    # Control: the very same settings post does change things in a live session.
    assert alice.sign_in().status_code == 303
    saved = alice.post(settings_path, SETTINGS, token_from=settings_path)
    assert saved.status_code == 303
    assert alert_email(state(app).db, alice_store.id) == "thief@example.com"


def test_a_password_change_ends_existing_sessions(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    token = alice.token(f"/stores/{alice_store.id}/settings")
    thief = Thief(app, alice)
    MerchantRepository(state(app).db).set_password_hash(alice.id, hash_password("a new password"))
    responses = _replay(thief, alice_store, token)
    assert [r.status_code for r in responses] == [303, 303, 303, 303]
    assert alice.get("/stores").status_code == 303  # the original session too
    _unchanged(app, alice_store)
    assert alice.sign_in("a new password").status_code == 303
    assert alice.get("/stores").status_code == 200


def test_sign_out_of_one_merchant_leaves_another_signed_in(
    app: Flask, alice: Merchant, bob: Merchant
) -> None:
    assert alice.post("/signout", {}, token_from="/stores").status_code == 303
    assert bob.get("/stores").status_code == 200
    merchant = MerchantRepository(state(app).db).get(bob.id)
    assert merchant is not None and merchant.session_version == 1
