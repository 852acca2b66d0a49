"""Serving a sandbox store with gunicorn: one worker process (the store's state lives in it) with
threads, the store's app built by its own factory in that process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(
        self, options: dict[str, Any], factory: Callable[..., Any], kwargs: dict[str, Any]
    ) -> None:
        self._options = options
        self._factory = factory
        self._kwargs = kwargs
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._factory(**self._kwargs)


def serve(
    factory: Callable[..., Any], kwargs: dict[str, Any], *, host: str, port: int, threads: int
) -> None:
    """Serve `factory(**kwargs)` on host:port until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    options = {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "accesslog": None,
        "loglevel": "info",
        "timeout": 120,
        "graceful_timeout": 5,
    }
    _Server(options, factory, kwargs).run()
