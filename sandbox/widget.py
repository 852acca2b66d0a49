"""The storefront widget script a sandbox's pages load, as a merchant adds a plugin's script to
a theme (WooCommerce) or an app embed block adds it (Shopify's theme app extensions); both
sandboxes take it at start and from ``POST /sandbox/widget`` while they run."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

WIDGET_URL_EXPECTED = 'expected {"url": an absolute http(s) URL or null}'


def widget_url_from(payload: Any) -> str | None:
    """The URL in a ``{"url": ...}`` body (None removes the script); ValueError unless an
    absolute http(s) URL or null."""
    url = payload.get("url", "") if isinstance(payload, dict) else ""
    if url is None:
        return None
    if (
        not isinstance(url, str)
        or urlsplit(url).scheme not in ("http", "https")
        or not urlsplit(url).netloc
    ):
        raise ValueError(WIDGET_URL_EXPECTED)
    return url
