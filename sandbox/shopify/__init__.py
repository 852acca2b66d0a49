"""A local Shopify shop for development and tests: Admin GraphQL API 2025-01, webhooks, OAuth
and a storefront (``python -m sandbox.shopify``)."""
