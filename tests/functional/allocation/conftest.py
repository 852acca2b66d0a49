"""The merchant app (test client) with a real sandbox store on loopback."""

from tests.functional.web.conftest import (  # noqa: F401 - fixtures
    alice,
    app,
    bob,
)
from tests.integration.worker.conftest import sandbox  # noqa: F401 - fixture
