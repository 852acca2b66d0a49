"""Reuse the worker tests' real Redis, sandbox store and worker processes."""

from tests.integration.worker.conftest import (  # noqa: F401 - fixtures
    instance,
    sandbox,
)
