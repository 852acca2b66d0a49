"""Start the Shopify sandbox: ``python -m sandbox.shopify --port 8002 [--data-file shop.json]``.

Options: ``--seed demo|none``, ``--faults JSON``, ``--shop-domain``, ``--redirect-url`` (repeat),
``--compliance-url``, ``--bucket-size``, ``--restore-rate``, ``--retry-scale``, ``--widget-url``
(a script every storefront page loads; also ``SANDBOX_SHOPIFY_WIDGET_URL``). Credentials come
from ``SANDBOX_SHOPIFY_CLIENT_ID``/``_CLIENT_SECRET``/``_ACCESS_TOKEN``/``_CUSTOM_SECRET``
(README, "Shopify sandbox", lists the demo defaults). One gunicorn worker with threads: the
shop's state lives in that process.
"""

from __future__ import annotations

import argparse
import json

from sandbox.serving import serve
from sandbox.shopify.app import create_app


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
    parser.add_argument("--widget-url", default=None, help="script the storefront pages load")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
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
        "widget_url": args.widget_url,
    }
    serve(create_app, factory_kwargs, host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
