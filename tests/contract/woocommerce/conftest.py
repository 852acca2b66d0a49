"""The store a contract test talks to: the sandbox by default, a real WooCommerce when configured.

Every test that takes `woo` runs twice: against a `python -m sandbox.woocommerce` process on
loopback, and against the store named by the environment (marker `real_store`), which is skipped,
saying what to set, when none is configured:

- `WOO_URL`: the store's base URL, e.g. `https://127.0.0.1:8600`.
- `WOO_KEYS`: a JSON file with `consumer_key` and `consumer_secret` (read_write), or
  `WOO_CONSUMER_KEY` and `WOO_CONSUMER_SECRET`.
- `WOO_CA_BUNDLE`: the CA bundle (PEM) that signs the store's certificate, for a self-signed one.
- `WOO_DELIVERY_PORT` (only for the connected-plugin test): a port on 127.0.0.1 the store may
  deliver webhooks to. WordPress refuses loopback deliveries, and ports other than 80, 443 and
  8080, unless the store allows them (`../shared/tools/realwoo/mu-realwoo.php`).

The tests make their own products and orders (names carry a run id) and delete them afterwards,
so any test store will do; they never touch what was there before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from plugin.platforms.woocommerce.adapter import WooCommercePlatform
from plugin.platforms.woocommerce.client import WooCommerceClient
from tests.contract.woocommerce.shop import Shop
from tests.processes import free_port

SANDBOX_KEY, SANDBOX_SECRET = "ck_contract", "cs_contract"
NOT_CONFIGURED = (
    "no real WooCommerce store configured: set WOO_URL, WOO_KEYS (a JSON file with "
    "consumer_key and consumer_secret) or WOO_CONSUMER_KEY and WOO_CONSUMER_SECRET, and "
    "WOO_CA_BUNDLE for a self-signed certificate (see tests/README.md)"
)


@dataclass(frozen=True)
class StoreUnderTest:
    """Where a store answers and how to reach it."""

    kind: str  # "sandbox" or "real"
    url: str
    consumer_key: str
    consumer_secret: str
    ca_bundle: str | None = None

    @property
    def is_real(self) -> bool:
        return self.kind == "real"

    def session(self) -> requests.Session:
        """A requests session that trusts the store's certificate."""
        session = requests.Session()
        if self.ca_bundle:
            session.verify = self.ca_bundle
            # Otherwise REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, when set, win over session.verify
            # (requests' merge_environment_settings).
            session.trust_env = False
        return session

    def client(self, timeout: float = 60.0) -> WooCommerceClient:
        """The plugin's own client for this store."""
        return WooCommerceClient(
            self.url,
            self.consumer_key,
            self.consumer_secret,
            timeout=timeout,
            session=self.session(),
        )

    def platform(self) -> WooCommercePlatform:
        """The plugin's platform adapter for this store, on a fresh client (calls from 0)."""
        return WooCommercePlatform(self.client())


def real_store_from_env(environ: Mapping[str, str]) -> StoreUnderTest | None:
    """The real store the environment names, or None; a half-configured one is an error."""
    url = environ.get("WOO_URL", "").strip()
    keys_file = environ.get("WOO_KEYS", "").strip()
    key = environ.get("WOO_CONSUMER_KEY", "").strip()
    secret = environ.get("WOO_CONSUMER_SECRET", "").strip()
    ca_bundle = environ.get("WOO_CA_BUNDLE", "").strip() or None
    if not (url or keys_file or key or secret):
        return None
    if keys_file:
        keys = json.loads(Path(keys_file).read_text())
        key, secret = str(keys["consumer_key"]), str(keys["consumer_secret"])
    if not (url and key and secret):
        raise pytest.UsageError(f"incomplete real store settings: {NOT_CONFIGURED}")
    if ca_bundle and not Path(ca_bundle).is_file():
        raise pytest.UsageError(f"WOO_CA_BUNDLE={ca_bundle} is not a file")
    return StoreUnderTest("real", url.rstrip("/"), key, secret, ca_bundle)


NO_DELIVERY_PORT = (
    "set WOO_DELIVERY_PORT to a port on 127.0.0.1 the real store may deliver webhooks to "
    "(realwoo: add it to the option realwoo_plugin_ports)"
)


def delivery_port(store: StoreUnderTest) -> int:
    """A port on 127.0.0.1 the store delivers webhooks to; skips when a real store has none."""
    if not store.is_real:
        return free_port()  # the sandbox delivers anywhere
    port = os.environ.get("WOO_DELIVERY_PORT", "").strip()
    if not port:
        pytest.skip(NO_DELIVERY_PORT)
    return int(port)


@pytest.fixture(
    scope="session", params=["sandbox", pytest.param("real", marks=pytest.mark.real_store)]
)
def woo(request: pytest.FixtureRequest) -> StoreUnderTest:
    """The store under test: the sandbox, then the configured real store."""
    store: StoreUnderTest = request.getfixturevalue(f"{request.param}_store")
    return store


@pytest.fixture
def shop(woo: StoreUnderTest, run_id: str) -> Iterator[Shop]:
    """Makes products and orders on the store under test; deletes them after the test."""
    made = Shop(woo.client(), run_id)
    try:
        yield made
    finally:
        made.clean_up()
