"""The WooCommerce sandbox store: WooCommerce's REST API v3, its webhooks, wc-auth and a
storefront, faithful to the WooCommerce source it cites (`python -m sandbox.woocommerce`)."""
