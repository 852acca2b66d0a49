"""Local stores, one folder per platform, each faithful to its platform (`woocommerce/`,
`shopify/`); `faults.py` (the fault switches) and `serving.py` (gunicorn) are shared."""
