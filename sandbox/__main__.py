"""Start the sandbox store: ``python -m sandbox --host H --port P [--data-dir DIR] [--seed demo]``.

Also ``--faults JSON`` (fault injection settings).

Serves with gunicorn: one worker process (the store's state must be shared) with threads.
Credentials come from SANDBOX_CONSUMER_KEY / SANDBOX_CONSUMER_SECRET (defaults
``ck_sandbox_demo`` / ``cs_sandbox_demo``); SANDBOX_WIDGET_URL is passed to the storefront.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from typing import Any

from gunicorn.app.base import BaseApplication

from sandbox.app import create_app


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], factory_kwargs: dict[str, Any]) -> None:
        self._options = options
        self._factory_kwargs = factory_kwargs
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(**self._factory_kwargs)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--data-dir", default=None, help="SQLite directory; omit for in-memory")
    parser.add_argument("--seed", default=None, help="seed name, e.g. demo")
    parser.add_argument("--faults", default=None, help="fault injection settings as JSON")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    faults = json.loads(args.faults) if args.faults else None
    factory_kwargs = {
        "data_dir": args.data_dir,
        "seed": args.seed,
        "faults": faults,
        "consumer_key": os.environ.get("SANDBOX_CONSUMER_KEY"),
        "consumer_secret": os.environ.get("SANDBOX_CONSUMER_SECRET"),
        "widget_url": os.environ.get("SANDBOX_WIDGET_URL"),
    }
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": args.threads,
        "accesslog": None,
        "loglevel": "info",
        "timeout": 120,
        "graceful_timeout": 5,
    }
    _Server(options, factory_kwargs).run()


if __name__ == "__main__":
    main()
