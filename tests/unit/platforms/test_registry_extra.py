"""Platform drivers named by configuration (`BACKORDERS_EXTRA_PLATFORMS`) join the registry."""

from __future__ import annotations

import pytest

from plugin.config import ConfigError
from plugin.platforms.registry import Registry, UnknownPlatform, load_drivers
from plugin.platforms.woocommerce.driver import WOOCOMMERCE
from tests.platforms.toyshop.driver import TOYSHOP


def test_a_named_driver_joins_the_built_in_ones() -> None:
    registry = Registry(None, None, extra=["tests.platforms.toyshop.driver:TOYSHOP"])
    assert registry.names() == ["shopify", "toyshop", "woocommerce"]
    assert registry.driver("toyshop") is TOYSHOP
    assert registry.driver("woocommerce") is WOOCOMMERCE


def test_without_a_name_only_the_built_in_ones() -> None:
    registry = Registry(None, None)
    assert registry.names() == ["shopify", "woocommerce"]
    with pytest.raises(UnknownPlatform):
        registry.driver("toyshop")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("tests.platforms.nosuch:DRIVER", "No module named 'tests.platforms.nosuch'"),
        ("tests.platforms.toyshop.driver:NOSUCH", "has no attribute 'NOSUCH'"),
        ("tests.platforms.toyshop.driver:urlencode", "is not a platform driver"),
    ],
)
def test_a_name_that_is_no_driver_is_a_configuration_error(name: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_drivers([name])
    assert caught.value.variable == "BACKORDERS_EXTRA_PLATFORMS"
    assert str(caught.value).startswith(f"BACKORDERS_EXTRA_PLATFORMS: {name}")
    assert problem in str(caught.value)
