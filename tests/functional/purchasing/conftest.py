"""The merchant app (test client) on real storage and the embedded Redis."""

from tests.functional.web.conftest import (  # noqa: F401 - fixtures
    alice,
    alice_store,
    app,
    bob,
    live_store,
)
