"""Child process for the rate limiter tests: acquire slots in threads until a server-clock
deadline, print every grant time (microseconds) on its own line."""

from __future__ import annotations

import sys
import threading

import redis

from plugin.ratelimit import StoreRateLimiter


def main() -> None:
    url, store_id, rate, until_us, threads = sys.argv[1:6]
    grants: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        limiter = StoreRateLimiter(
            redis.Redis.from_url(url), int(store_id), float(rate), max_wait=30
        )
        while True:
            at = limiter.acquire()
            if at >= int(until_us):
                return
            with lock:
                grants.append(at)

    workers = [threading.Thread(target=run) for _ in range(int(threads))]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    print("\n".join(str(g) for g in grants), flush=True)


if __name__ == "__main__":
    main()
