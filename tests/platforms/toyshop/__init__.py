"""Toy shop: a test-only platform, to show that a platform is one folder (issue 17).

Its store is `tests.fakes.FakeStore` kept in a file (shop.py), so every process on the machine (a
test, the web app, a worker) sees one shop; its adapter (adapter.py) runs each `Platform` call on
that file; its deliveries (webhooks.py) are signed JSON. `driver.TOYSHOP` is what a registry
needs: the tests call `Registry.register(TOYSHOP)`.
"""
