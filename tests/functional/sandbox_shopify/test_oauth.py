"""App install through OAuth (authorization code grant) and the shop's checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask

from sandbox.shopify.oauth import verify_query
from tests.functional.sandbox_shopify.conftest import ShopifyApi

CLIENT_ID, SECRET = "backorders-sandbox-client", "backorders-sandbox-secret"
REDIRECT = "https://backorders.example/shopify/callback"


def _configure(app: Flask) -> None:
    response = app.test_client().post(
        f"/sandbox/shopify/apps/{CLIENT_ID}", json={"redirect_urls": [REDIRECT]}
    )
    assert response.status_code == 200


def _authorize(scope: str = "read_orders,write_orders", **extra: str) -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "scope": scope,
        "redirect_uri": REDIRECT,
        "state": "nonce-42",
        **extra,
    }


def test_install_flow_gives_a_working_token(app: Flask, sandbox: Any) -> None:
    _configure(app)
    client = app.test_client()
    start = client.get(
        "/sandbox/shopify/install",
        query_string={"app_url": "https://backorders.example/shopify/install"},
    )
    assert start.status_code == 302
    install = dict(parse_qsl(urlsplit(start.headers["Location"]).query))
    assert install["shop"] == "backorders-sandbox.myshopify.com"
    assert verify_query(install, SECRET)

    page = client.get("/admin/oauth/authorize", query_string=_authorize())
    assert page.status_code == 200
    assert "read_orders" in page.get_data(as_text=True)
    approved = client.post("/admin/oauth/authorize", data=_authorize())
    assert approved.status_code == 302
    target = urlsplit(approved.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    callback = dict(parse_qsl(target.query))
    assert set(callback) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert callback["state"] == "nonce-42"
    assert verify_query(callback, SECRET)
    assert not verify_query({**callback, "shop": "evil.myshopify.com"}, SECRET)

    exchanged = client.post(
        "/admin/oauth/access_token",
        json={"client_id": CLIENT_ID, "client_secret": SECRET, "code": callback["code"]},
    )
    assert exchanged.status_code == 200
    token = exchanged.get_json()
    assert token["scope"] == "read_orders,write_orders"
    assert token["access_token"].startswith("shpua_")
    api = ShopifyApi(client, token["access_token"])
    assert api.data("{ orders(first: 1) { nodes { id } } }") == {"orders": {"nodes": []}}
    assert (
        api.gql("{ products(first: 1) { nodes { id } } }")["errors"][0]["extensions"]["code"]
        == "ACCESS_DENIED"
    )

    reused = client.post(
        "/admin/oauth/access_token",
        data={"client_id": CLIENT_ID, "client_secret": SECRET, "code": callback["code"]},
    )
    assert reused.status_code == 400
    assert reused.get_json() == {
        "error": "invalid_request",
        "error_description": "The authorization code was not found or was already used",
    }


def test_authorize_refusals_issue_no_code(app: Flask, sandbox: Any) -> None:
    _configure(app)
    client = app.test_client()
    cases = [
        (_authorize(client_id="someone-else"), "The client_id is invalid."),
        (
            _authorize(redirect_uri="https://evil.example/callback"),
            "The redirect_uri is not whitelisted",
        ),
        (
            _authorize(scope="read_orders,read_everything"),
            "Scope(s) not recognized: read_everything",
        ),
    ]
    for params, reason in cases:
        page = client.get("/admin/oauth/authorize", query_string=params)
        assert page.status_code == 400
        assert reason in page.get_data(as_text=True)
        assert client.post("/admin/oauth/authorize", data=params).status_code == 400
    assert sandbox.oauth_codes == {}


def test_token_exchange_refusals(app: Flask, sandbox: Any) -> None:
    _configure(app)
    client = app.test_client()
    approved = client.post("/admin/oauth/authorize", data=_authorize())
    code = dict(parse_qsl(urlsplit(approved.headers["Location"]).query))["code"]
    tokens_before = dict(sandbox.shop.table("tokens"))
    wrong_secret = client.post(
        "/admin/oauth/access_token",
        json={"client_id": CLIENT_ID, "client_secret": "guess", "code": code},
    )
    assert wrong_secret.status_code == 401
    wrong_code = client.post(
        "/admin/oauth/access_token",
        json={"client_id": CLIENT_ID, "client_secret": SECRET, "code": "0" * 32},
    )
    assert wrong_code.status_code == 400
    assert dict(sandbox.shop.table("tokens")) == tokens_before
    assert code in sandbox.oauth_codes  # the right code still works once
    ok = client.post(
        "/admin/oauth/access_token",
        json={"client_id": CLIENT_ID, "client_secret": SECRET, "code": code},
    )
    assert ok.status_code == 200


def test_uninstall_revokes_tokens(app: Flask, sandbox: Any) -> None:
    public = sandbox.apps.by_client_id[CLIENT_ID]
    token = sandbox.apps.grant(public, ["read_orders"])
    api = ShopifyApi(app.test_client(), token)
    assert api.post("{ shop { name } }").status_code == 200
    response = app.test_client().post("/sandbox/shopify/uninstall", json={"client_id": CLIENT_ID})
    assert response.status_code == 202
    assert response.get_json() == {"revoked_tokens": 1}
    assert api.post("{ shop { name } }").status_code == 401
    assert ShopifyApi(app.test_client()).post("{ shop { name } }").status_code == 200  # custom app
