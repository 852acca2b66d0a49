"""WooCommerce REST API v3 under /wp-json/wc/v3 (shapes from ../shared/reference/woocommerce).

One blueprint, ``bp``, built from these modules:

- ``http``: the blueprint, JSON responses, ``_fields``, argument parsing, ``_links``, pagination
- ``auth``: consumer key/secret and OAuth 1.0a checks before every request, permission errors
- ``batch``: the runner shared by the ``/batch`` endpoints
- ``products``, ``orders``, ``notes``, ``customers``, ``webhooks``: the routes of each resource
"""

from __future__ import annotations

# Importing the modules registers their routes and hooks on the blueprint.
from sandbox.woocommerce.rest import auth, customers, notes, orders, products, webhooks
from sandbox.woocommerce.rest.http import bp

__all__ = ["auth", "bp", "customers", "notes", "orders", "products", "webhooks"]
