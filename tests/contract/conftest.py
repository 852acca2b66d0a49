"""Fixtures every contract test may take: the stores under test (one sandbox process and the
configured real WooCommerce per run, shared by tests/contract/woocommerce and
tests/contract/platform) and the run id their data is named with."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.contract.woocommerce.conftest import (
    NOT_CONFIGURED,
    SANDBOX_KEY,
    SANDBOX_SECRET,
    StoreUnderTest,
    real_store_from_env,
)
from tests.processes import running_sandbox


@pytest.fixture(scope="session")
def sandbox_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreUnderTest]:
    data_dir = tmp_path_factory.mktemp("contract-sandbox")
    arguments = ("--data-dir", str(data_dir), "--threads", "8")
    with running_sandbox(SANDBOX_KEY, SANDBOX_SECRET, *arguments) as url:
        yield StoreUnderTest("sandbox", url, SANDBOX_KEY, SANDBOX_SECRET)


@pytest.fixture(scope="session")
def real_store() -> StoreUnderTest:
    store = real_store_from_env(os.environ)
    if store is None:
        pytest.skip(NOT_CONFIGURED)
    # Another receiver's webhooks (a connected plugin) would act on the test orders meanwhile.
    active = [w for w in store.client().list_webhooks() if w.get("status") == "active"]
    if active:
        listed = ", ".join(f"{w['id']} {w['topic']} -> {w['delivery_url']}" for w in active)
        pytest.fail(f"the store at {store.url} has active webhooks ({listed}); remove them first")
    return store


@pytest.fixture(scope="session")
def run_id() -> str:
    """Names and SKUs of everything this run creates carry it."""
    return uuid.uuid4().hex[:8]
