"""Two reads of one store at the same time, for the platform adapters.

A split's first round trip reads the order and the stock of the products its delivery named
(`plugin.ports.SplitPlatform.read_order_and_products`). Both go through the same client, so
each request still takes its slot of the store's shared rate limiter (the client's `throttle`,
plugin/platforms/registry.py) before it is sent: at a store's default 5 requests a second the
second read simply waits its turn, at a higher limit the two overlap. One extra thread per
call: two requests in flight at most (`plugin.ports.MAX_CONCURRENT_READS`), and the thread
never outlives the call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

First = TypeVar("First")
Second = TypeVar("Second")


def both(first: Callable[[], First], second: Callable[[], Second]) -> tuple[First, Second]:
    """Run `second` on a thread of its own while `first` runs on this one; return both answers.

    The call returns only when both are over, so no request is left running behind a failure.
    When both fail, `first`'s error is raised (the order's, for a split: it decides whether
    the job is retried); when one fails, its error is raised.
    """
    answer: list[Second] = []
    failure: list[BaseException] = []

    def run_second() -> None:
        try:
            answer.append(second())
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread below
            failure.append(error)

    worker = threading.Thread(target=run_second, name="store-read", daemon=True)
    worker.start()
    try:
        result = first()
    finally:
        worker.join()
    if failure:
        raise failure[0]
    return result, answer[0]
