"""Persistence, locking and change events of the sandbox store.

State lives in memory (the truth while the process runs) and is written through to SQLite
(``<data_dir>/sandbox.sqlite3``) so a restart with the same ``--data-dir`` keeps it. All writes
are serialised by one lock; listeners run after the change is committed, outside the lock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.woocommerce.store.contract import SILENT_ORDER_STATUSES, rest_links

logger = logging.getLogger(__name__)

Listener = Callable[[str, int], None]


class StoreBase:
    """The tables, counters and SQLite write-through every part of the store builds on."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        site_url: str = "http://127.0.0.1/",
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock or (lambda: datetime.now(UTC))
        self.site_url = site_url
        self._listeners: list[Listener] = []
        self._pending_events: list[tuple[str, int]] | None = None
        self._touched: set[tuple[str, int]] = set()
        self._deleted: set[tuple[str, int]] = set()
        self._tables: dict[str, dict[int, dict[str, Any]]] = {
            "product": {},
            "order": {},
            "customer": {},
            "webhook": {},
            "note": {},
            "key": {},
        }
        self._counters: dict[str, int] = {
            "post": 100,
            "item": 0,
            "meta": 0,
            "user": 0,
            "webhook": 0,
            "comment": 0,
            "key": 0,
        }
        path = ":memory:"
        if data_dir is not None:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            path = str(Path(data_dir) / "sandbox.sqlite3")
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects (kind TEXT, id INTEGER, body TEXT, "
            "PRIMARY KEY (kind, id))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER)"
        )
        self._db.commit()
        self._load()

    def _load(self) -> None:
        for kind, object_id, body in self._db.execute("SELECT kind, id, body FROM objects"):
            self._tables[kind][object_id] = json.loads(body)
        for name, value in self._db.execute("SELECT name, value FROM counters"):
            self._counters[name] = value

    def add_listener(self, fn: Listener) -> None:
        """Call ``fn(topic, resource_id)`` after each committed change."""
        self._listeners.append(fn)

    def now(self) -> str:
        """The current time as the REST API prints it (UTC, site timezone UTC)."""
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def _next(self, counter: str) -> int:
        self._counters[counter] += 1
        return self._counters[counter]

    def _put(self, kind: str, record: dict[str, Any]) -> None:
        self._tables[kind][record["id"]] = record
        self._touched.add((kind, record["id"]))

    def _remove(self, kind: str, object_id: int) -> None:
        self._tables[kind].pop(object_id, None)
        self._deleted.add((kind, object_id))

    def _emit(self, topic: str, resource_id: int) -> None:
        assert self._pending_events is not None
        if (topic, resource_id) not in self._pending_events:
            self._pending_events.append((topic, resource_id))

    @contextmanager
    def _write(self) -> Iterator[None]:
        """Serialise a change, write it through to SQLite, then notify listeners."""
        with self._lock:
            self._pending_events = []
            self._touched = set()
            self._deleted = set()
            try:
                yield
                self._commit()
                events = [
                    (topic, rid)
                    for topic, rid in self._pending_events
                    if not self._silent(topic, rid)
                ]
            finally:
                self._pending_events = None
        for topic, resource_id in events:
            for listener in self._listeners:
                try:
                    listener(topic, resource_id)
                except Exception:
                    # A broken listener must not undo a committed change.
                    logger.exception("listener_failed topic=%s id=%s", topic, resource_id)

    def _silent(self, topic: str, resource_id: int) -> bool:
        """class-wc-webhook.php is_valid_resource: draft orders fire no order webhooks."""
        if not topic.startswith("order.") or topic == "order.deleted":
            return False
        order = self._tables["order"].get(resource_id)
        return order is not None and order["status"] in SILENT_ORDER_STATUSES

    def _commit(self) -> None:
        rows = [
            (kind, object_id, json.dumps(self._tables[kind][object_id]))
            for kind, object_id in self._touched
            if object_id in self._tables[kind]
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", rows)
            self._db.executemany(
                "DELETE FROM objects WHERE kind = ? AND id = ?", list(self._deleted)
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO counters VALUES (?, ?)", list(self._counters.items())
            )

    def links(self, path: str, collection: str, **extra: str) -> dict[str, Any]:
        """The ``_links`` object WordPress adds to a REST response, against ``site_url``."""
        return rest_links(self.site_url, path, collection, extra)

    def _update_meta(self, meta: list[dict[str, Any]], posted: list[Any]) -> None:
        """WC_Data::update_meta_data for each posted entry (by id, else by key, else add),
        then WC_Data::save_meta_data, which deletes an entry whose value is null (and never
        stores a new one): null removes the key."""
        for entry in posted:
            if not isinstance(entry, dict) or "key" not in entry:
                continue
            key, value = str(entry["key"]), entry.get("value")
            target = None
            if entry.get("id"):
                target = next((m for m in meta if m["id"] == entry["id"]), None)
            if target is None:
                target = next((m for m in meta if m["key"] == key), None)
            if value is None:
                if target is not None:
                    meta.remove(target)
            elif target is None:
                meta.append({"id": self._next("meta"), "key": key, "value": value})
            else:
                target["key"], target["value"] = key, value
