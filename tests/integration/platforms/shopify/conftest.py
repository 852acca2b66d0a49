"""The Shopify sandbox the integration tests of the adapter run against: a fresh shop per test
(a module may use its own, e.g. one shop for the module or a sandbox started with options)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.sandbox_shopify.conftest import Shop, running_shop


@pytest.fixture
def shop() -> Iterator[Shop]:
    with running_shop() as running:
        yield running
