"""Start the WooCommerce sandbox store:
``python -m sandbox.woocommerce --host H --port P [--data-dir DIR] [--seed demo]``.

Also ``--faults JSON`` (fault injection settings).

Serves with gunicorn: one worker process (the store's state must be shared) with threads.
Credentials come from SANDBOX_CONSUMER_KEY / SANDBOX_CONSUMER_SECRET (defaults
``ck_sandbox_demo`` / ``cs_sandbox_demo``); SANDBOX_WIDGET_URL is passed to the storefront.
"""

from __future__ import annotations

import argparse
import json
import os

from sandbox.serving import serve
from sandbox.woocommerce.app import create_app


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.woocommerce", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--data-dir", default=None, help="SQLite directory; omit for in-memory")
    parser.add_argument("--seed", default=None, help="seed name, e.g. demo")
    parser.add_argument("--faults", default=None, help="fault injection settings as JSON")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    faults = json.loads(args.faults) if args.faults else None
    factory_kwargs = {
        "data_dir": args.data_dir,
        "seed": args.seed,
        "faults": faults,
        "consumer_key": os.environ.get("SANDBOX_CONSUMER_KEY"),
        "consumer_secret": os.environ.get("SANDBOX_CONSUMER_SECRET"),
        "widget_url": os.environ.get("SANDBOX_WIDGET_URL"),
    }
    serve(create_app, factory_kwargs, host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
