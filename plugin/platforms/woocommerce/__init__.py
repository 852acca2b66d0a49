"""WooCommerce connector: the plugin's only way to talk to a WooCommerce store (REST API v3).

`platform.connect(base_url, key, secret, throttle)` builds the `plugin.ports.Platform`;
`signature.verify` checks webhook deliveries; `mapping` turns store JSON into core objects.
"""
