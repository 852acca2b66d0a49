"""How many examples a hypothesis test runs: its full count, or a share of it under `make check`.

`make test` runs every property at full strength; `make check` (the fast daily tier) sets
`BACKORDERS_EXAMPLES=0.05` so each runs a twentieth of its examples, never fewer than 10.
"""

import os

from hypothesis import settings

_SHARE = float(os.environ.get("BACKORDERS_EXAMPLES", "1"))


def examples(full: int) -> int:
    """The number of examples to run for a test whose full strength is `full`."""
    if _SHARE >= 1:
        return full
    return max(min(10, full), round(full * _SHARE))


def properties(full: int = 1000) -> settings:
    """Settings for a property of the core: `full` examples (scaled), no deadline."""
    return settings(max_examples=examples(full), deadline=None)
