"""The toy shop in domain terms (`plugin.ports.Platform`, and `StoreConnection` for connecting):
each call runs on the shop file, behind the store's rate limiter when one is given."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from plugin.ports import Platform, StockSetAside, StoreConnection
from tests.platforms.toyshop.shop import open_shop

# Every call a use case or the connect flow may make of a store.
CALLS = frozenset(
    name
    for protocol in (Platform, StoreConnection, StockSetAside)
    for name, _ in inspect.getmembers(protocol, inspect.isfunction)
    if not name.startswith("_")
)


class ToyshopPlatform:
    def __init__(
        self,
        path: Path,
        *,
        webhook_ids: Sequence[int] = (),
        public_url: str = "",
        throttle: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self.webhook_ids = tuple(str(i) for i in webhook_ids)
        self.public_url = public_url
        self.throttle = throttle
        self.calls = 0

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.throttle is not None:
            self.throttle()
        self.calls += 1
        with open_shop(self.path) as store:
            store.webhook_ids, store.public_url = self.webhook_ids, self.public_url
            result = getattr(store, name)(*args, **kwargs)
            return list(result) if isinstance(result, Iterator) else result

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in CALLS:
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call(name, *args, **kwargs)
