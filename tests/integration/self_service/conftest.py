"""Reuse the worker tests' real Redis, sandbox store and worker processes, and the
notification tests' real SMTP server."""

from tests.integration.notifications.conftest import smtp_server  # noqa: F401 - fixture
from tests.integration.worker.conftest import (  # noqa: F401 - fixtures
    instance,
    sandbox,
)
