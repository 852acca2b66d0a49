"""The Shopify end-to-end fixtures: a stack of real processes and the sandbox shop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import run
from tests.e2e.platforms.shopify.stack import running_stack
from tests.integration.sandbox_shopify.conftest import Shop, running_shop


@pytest.fixture
def shopify_stack(tmp_path: Path) -> Iterator[run.Stack]:
    with running_stack(tmp_path, {}) as stack:
        yield stack


@pytest.fixture
def shop() -> Iterator[Shop]:
    with running_shop() as running:
        yield running
