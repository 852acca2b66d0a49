"""Shopify connector: the plugin's only way to talk to a Shopify shop (Admin GraphQL 2025-01).

`client` sends GraphQL within the shop's cost bucket; `webhooks` verifies and parses deliveries;
`connect` installs the app; `mapping` and `adapter` turn the shop's objects into the core's.
"""
