"""The workers' retry policy: when a failed job runs again, and when it gives up.

RQ retries a job that raised, after the interval its `Retry` names for that attempt
(plugin/adapters/queue/jobs.py). Before it does, the job sets that interval: its own with
jitter, never sooner than the store's Retry-After; a 429 with Retry-After follows the store's
pace without using up the job's own retries (up to `RATE_LIMITED_RETRIES`).
"""

from __future__ import annotations

import logging
import math
import random

from rq import get_current_job

from plugin.errors import RateLimited, TransientError

log = logging.getLogger(__name__)

# A 429 with Retry-After is the store setting the pace, not a failure of the job: such retries
# follow that pace and do not use up the job's own retries, up to this many per job.
RATE_LIMITED_RETRIES = 50


def retry_delay(base: float, retry_after: float | None, rng: random.Random) -> int:
    """Seconds before the next attempt: the job's exponential interval with ±25 % jitter (so
    jobs failing together do not retry together), never sooner than the store's Retry-After."""
    delay = base * rng.uniform(0.75, 1.25)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(1, math.ceil(delay))


def paced_delay(retry_after: float, rng: random.Random) -> int:
    """Seconds before retrying a 429: the store's Retry-After plus up to 25 % jitter."""
    return max(1, math.ceil(retry_after * rng.uniform(1.0, 1.25)))


def prepare_retry(exc: Exception) -> str | None:
    """Set the delay of the retry RQ is about to schedule for the current job; when it has no
    retry left, log it and return why it gave up (None otherwise, and outside a job)."""
    job = get_current_job()
    if job is None:
        return None
    reason = exc.reason if isinstance(exc, TransientError) else "internal_error"
    retry_after = exc.retry_after if isinstance(exc, TransientError) else None
    rng = random.Random()  # noqa: S311 - jitter
    paced = isinstance(exc, RateLimited) and retry_after is not None
    if paced and job.meta.get("rate_limited_retries", 0) < RATE_LIMITED_RETRIES:
        job.meta["rate_limited_retries"] = job.meta.get("rate_limited_retries", 0) + 1
        job.save_meta()  # type: ignore[no-untyped-call]
        job.retries_left = (job.retries_left or 0) + 1  # RQ takes this one back in Job.retry
    else:
        paced = False
    if not job.retries_left:
        log.error("job=%s gave up after retries reason=%s", job.id, reason)
        return f"gave up after retries: {reason}: {exc}"
    intervals = list(job.retry_intervals or [0])
    index = max(len(intervals) - job.retries_left, 0)
    while len(intervals) <= index:
        intervals.append(intervals[-1])
    # RQ reads this in the same process right after the job raises (Job.retry).
    if paced and retry_after is not None:
        intervals[index] = paced_delay(retry_after, rng)
    else:
        intervals[index] = retry_delay(intervals[index], retry_after, rng)
    job.retry_intervals = intervals
    log.info(
        "job=%s transient reason=%s retry_in=%ss retries_left=%s",
        job.id,
        reason,
        intervals[index],
        job.retries_left,
    )
    return None
