"""Child process for the rate limiter tests: say it is ready (RPUSH on `<key>:ready`), wait
for the parent to hand out the server-clock deadline (BLPOP on `<key>:go`; a loaded machine
starts processes slowly, so the window is set only once every child is up), then acquire
slots in threads until that deadline and print every grant time (microseconds) on its own
line."""

from __future__ import annotations

import sys
import threading

import redis

from plugin.adapters.redis.ratelimit import StoreRateLimiter


def main() -> None:
    url, store_id, rate, key, threads = sys.argv[1:6]
    connection = redis.Redis.from_url(url)
    connection.rpush(f"{key}:ready", 1)
    answer = connection.blpop([f"{key}:go"], timeout=120)
    if answer is None:
        sys.exit("no deadline from the parent")
    until_us = int(answer[1])
    grants: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        limiter = StoreRateLimiter(
            redis.Redis.from_url(url), int(store_id), float(rate), max_wait=30
        )
        while True:
            at = limiter.acquire()
            if at >= until_us:
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
