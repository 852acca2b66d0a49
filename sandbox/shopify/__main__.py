"""Start the Shopify sandbox: ``python -m sandbox.shopify --port 8002 [--data-file shop.json]``.

Options: ``--seed demo|none``, ``--faults JSON``, ``--shop-domain``, ``--redirect-url`` (repeat),
``--compliance-url``, ``--bucket-size``, ``--restore-rate``, ``--retry-scale``. Credentials come
from ``SANDBOX_SHOPIFY_CLIENT_ID``/``_CLIENT_SECRET``/``_ACCESS_TOKEN``/``_CUSTOM_SECRET``
(README, "Shopify sandbox", lists the demo defaults). One gunicorn worker with threads: the
shop's state lives in that process.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from sandbox.shopify.app import create_app


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
    parser = argparse.ArgumentParser(prog="python -m sandbox.shopify", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--data-file", default=None, help="JSON file; omit for in-memory")
    parser.add_argument("--seed", default="demo", help="demo (default) or none")
    parser.add_argument("--faults", default=None, help="fault switches as JSON")
    parser.add_argument("--shop-domain", default=None)
    parser.add_argument("--redirect-url", action="append", default=[])
    parser.add_argument("--compliance-url", default=None)
    parser.add_argument("--bucket-size", type=float, default=2000.0)
    parser.add_argument("--restore-rate", type=float, default=100.0)
    parser.add_argument(
        "--retry-scale",
        type=float,
        default=1.0,
        help="multiplies the webhook retry schedule (8 retries over 4 hours)",
    )
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    factory_kwargs = {
        "data_file": args.data_file,
        "seed": None if args.seed == "none" else args.seed,
        "faults": json.loads(args.faults) if args.faults else None,
        "shop_domain": args.shop_domain,
        "redirect_urls": args.redirect_url,
        "compliance_url": args.compliance_url,
        "bucket_size": args.bucket_size,
        "restore_rate": args.restore_rate,
        "retry_scale": args.retry_scale,
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
