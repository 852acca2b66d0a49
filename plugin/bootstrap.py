"""One wiring for the web app, the worker and the jobs: the adapters a process builds from its
`Config` (plugin/config.py). Besides the entry points (app.py, worker.py, run.py), this is the
only place that chooses concrete adapters: SQL storage with encrypted credentials, and the
platforms registry behind the stores' rate limiters.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.stores import StoreRepository
from plugin.adapters.vault import Vault
from plugin.config import Config
from plugin.platforms.registry import Registry


def open_database(config: Config) -> Database:
    """The database of DATABASE_URL (not migrated: the entry points migrate once, up front)."""
    return Database(config.database_url)


def store_repository(config: Config, db: Database) -> StoreRepository:
    """The stores, their credentials encrypted with SECRET_KEY."""
    return StoreRepository(db, Vault(config.secret_key))


def platform_registry(
    config: Config,
    connection: redis.Redis | Callable[[], redis.Redis],
    stores: StoreRepository,
) -> Registry:
    """The platforms, and each store's platform behind its shared rate limiter (Redis from
    `connection`, or from calling it when the first store is opened)."""
    return Registry(
        connection,
        stores,
        public_url=config.public_url,
        allow_private_addresses=config.development,
        extra=config.extra_platforms,
    )
