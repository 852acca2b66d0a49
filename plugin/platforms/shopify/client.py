"""HTTP client for Shopify's Admin GraphQL API, version 2025-01.

Contracts relied on:
- Endpoint `POST {shop}/admin/api/2025-01/graphql.json`, authenticated with the
  `X-Shopify-Access-Token` header (shopify.dev/docs/api/admin-graphql, "Authentication"); the shop's
  base URL is configurable so the local sandbox (sandbox/shopify/graphql_api.py) can stand in.
- Rate limits (shopify.dev/docs/api/usage/rate-limits): a leaky bucket of cost points per app and
  shop. Each answer reports `extensions.cost.throttleStatus` `{maximumAvailable,
  currentlyAvailable, restoreRate}`; a request whose cost is not available is answered HTTP 200
  with an error whose `extensions.code` is `THROTTLED`, and nothing is executed, so it may be sent
  again once `requestedQueryCost - currentlyAvailable` points have been restored.
- Errors: HTTP 401 for a wrong token, 402 for a frozen shop, 403 for a missing scope, 404 for an
  unknown shop or version, 423 for a locked shop, 5xx (or 200 with `INTERNAL_SERVER_ERROR`) for
  Shopify's own faults; a query refused by validation answers 200 with `errors` (graphql-ruby's
  shape: `message`, `path`, `extensions.code`), and a mutation refuses input in its payload's
  `userErrors` (`field`, `message`, `code`).

Every request goes through `_post`: one default timeout, the `throttle` hook first (the store's
shared Redis limiter), redirects never followed, errors translated to `plugin.errors`, `calls`
counted. Tokens and payloads are never logged.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from plugin.errors import (
    AuthenticationFailed,
    NotFound,
    PermanentError,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from plugin.platforms.http import is_loopback_host, parse_retry_after
from plugin.platforms.public_http import PublicAddressAdapter

log = logging.getLogger(__name__)

API_VERSION = "2025-01"
DEFAULT_TIMEOUT = 30.0
# THROTTLED answers waited out in place before RateLimited is raised. Nothing was executed, so
# waiting is always safe; four was too few with four workers on one bucket (the chaos run, 200
# orders: 63 jobs failed "THROTTLED after 5 tries" and started over), ten waits of a small read
# (about 1.5 s each) stay far inside a job's 300 s.
THROTTLED_RETRIES = 10
# A query (never a mutation: one may have been carried out before its answer was lost) that
# meets a transient fault (5xx, INTERNAL_SERVER_ERROR, a timeout) is sent again this many times,
# after READ_BACKOFF, twice that, ... seconds (or the Retry-After asked, at most MAX_READ_WAIT):
# a job reading dozens of orders then does not start over for one lost answer.
READ_RETRIES = 2
READ_BACKOFF = 0.5
MAX_READ_WAIT = 10.0
# Below this many points left in the bucket every worker holds back until they are restored, so
# workers sharing the store's limiter stay inside one bucket instead of all meeting THROTTLED.
LOW_WATER_POINTS = 100.0

JSON = dict[str, Any]

# graphql-ruby's validation codes (a query we sent is wrong for the schema: a bug, not input).
_QUERY_ERROR_CODES = frozenset(
    {
        "undefinedField",
        "argumentNotAccepted",
        "argumentLiteralsIncompatible",
        "missingRequiredArguments",
        "selectionMismatch",
        "variableMismatch",
        "variableRequiresValidType",
        "INVALID_VARIABLE",
        "MAX_COST_EXCEEDED",
        "parseError",
    }
)


@dataclass(frozen=True)
class ThrottleStatus:
    """The app's bucket on the shop after a request (`extensions.cost.throttleStatus`)."""

    maximum: float
    available: float
    restore_rate: float

    def seconds_until(self, points: float) -> float:
        """Seconds until `points` are available, at the restore rate."""
        missing = points - self.available
        if missing <= 0:
            return 0.0
        return missing / self.restore_rate if self.restore_rate > 0 else math.inf


@dataclass(frozen=True)
class UserError:
    """One entry of a mutation payload's `userErrors`."""

    field: tuple[str, ...]
    message: str
    code: str | None


class ShopifyUserErrors(ValidationFailed):
    """A mutation refused its input (`userErrors`); nothing was changed."""

    def __init__(self, mutation: str, errors: Sequence[UserError]) -> None:
        first = errors[0]
        super().__init__(
            f"{mutation}: {'; '.join(e.message for e in errors)}",
            reason=(first.code or "user_error").lower(),
        )
        self.errors = tuple(errors)


class ShopifyClient:
    """One shop's Admin GraphQL API, with an access token."""

    def __init__(
        self,
        shop_url: str,
        access_token: str,
        *,
        api_version: str = API_VERSION,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        throttle: Callable[[], None] | None = None,
        pause: Callable[[float], object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        throttled_retries: int = THROTTLED_RETRIES,
        read_retries: int = READ_RETRIES,
        low_water: float = LOW_WATER_POINTS,
        allow_private_addresses: bool = False,
    ) -> None:
        """`throttle` is called before every request (the store's shared limiter); `pause`
        holds every worker of the store for some seconds (`StoreRateLimiter.pause`): it is
        called when the bucket runs low or answers THROTTLED, and without it only this client
        waits."""
        parts = urlsplit(shop_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("shop URL must be an absolute http(s) URL")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            # The token would travel in clear text; only the loopback sandbox may use http.
            raise ValueError("shop URL must use https (http is allowed only on loopback)")
        self.shop_url = f"{parts.scheme}://{parts.netloc}"
        self.endpoint = f"{self.shop_url}/admin/api/{api_version}/graphql.json"
        self._token = access_token
        self.timeout = timeout
        if session is None:
            session = requests.Session()
            if not allow_private_addresses:
                session.mount("https://", PublicAddressAdapter())
        self.session = session
        self.throttle = throttle
        self.pause = pause
        self.sleep = sleep
        self.throttled_retries = throttled_retries
        self.read_retries = read_retries
        self.retried = 0  # queries sent again after a transient fault
        self.low_water = low_water
        self.calls = 0  # requests sent, counted before each is sent
        self.operations: Counter[str] = Counter()  # the same, by operation name (`order`)
        # Mutations sent (counted before each is sent, whatever came of it): a read made when
        # this was the same is one no write of this client has changed since (adapter.py).
        self.mutations = 0
        # A split reads its order and its products' stock on two threads (plugin/platforms/
        # concurrent.py): the count stays exact.
        self._count_lock = threading.Lock()
        self.throttled = 0  # THROTTLED answers met
        self.cost = 0.0  # actual query cost spent, as the answers report it
        self.last_status: ThrottleStatus | None = None
        # Requested cost per operation, as answers said: a THROTTLED answer that says 0 (a
        # bucket emptied under us) waits for what the query will ask, not for one point, so
        # the workers released by the pause do not all meet THROTTLED again at once.
        self._requested: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"ShopifyClient({self.shop_url!r})"

    # -- transport -------------------------------------------------------------------------

    def _post(self, operation: str, body: JSON) -> JSON:
        """Send one request; the decoded answer of a 2xx, else the `plugin.errors` exception."""
        if self.throttle is not None:
            self.throttle()
        with self._count_lock:
            self.calls += 1
            self.operations[operation] += 1
        started = time.monotonic()
        try:
            response = self.session.post(
                self.endpoint,
                json=body,
                timeout=self.timeout,
                allow_redirects=False,
                headers={
                    "X-Shopify-Access-Token": self._token,
                    "Accept": "application/json",
                },
            )
        except requests.Timeout as exc:
            raise TransientError(
                f"{operation}: no answer within {self.timeout:g}s", reason="timeout"
            ) from exc
        except requests.ConnectionError as exc:
            raise TransientError(
                f"{operation}: could not connect to the shop", reason="connection_error"
            ) from exc
        except requests.RequestException as exc:
            raise TransientError(f"{operation}: request failed", reason="request_failed") from exc
        log.info(
            "shopify call operation=%s status=%s ms=%s",
            operation,
            response.status_code,
            int((time.monotonic() - started) * 1000),
        )
        if not 200 <= response.status_code < 300:
            raise _http_error(operation, response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise PermanentError(
                f"{operation}: the shop did not answer JSON", reason="invalid_response"
            ) from exc
        if not isinstance(answer, dict):
            raise PermanentError(f"{operation}: unexpected answer", reason="invalid_response")
        return answer

    def execute(self, query: str, variables: Mapping[str, Any] | None = None) -> JSON:
        """Run a query or mutation and return its `data`; THROTTLED answers are waited out (at
        most `throttled_retries` times, then RateLimited), a query's transient faults retried
        (at most `read_retries` times), other errors raised."""
        if _is_mutation(query):
            with self._count_lock:
                self.mutations += 1
            return self._execute(query, variables)
        failures = 0
        while True:
            try:
                return self._execute(query, variables)
            except TransientError as exc:
                if failures >= self.read_retries or isinstance(exc, RateLimited):
                    raise
                wait = min(exc.retry_after or READ_BACKOFF * 2**failures, MAX_READ_WAIT)
                failures += 1
                with self._count_lock:
                    self.retried += 1
                log.info(
                    "shopify read retried operation=%s reason=%s wait=%.2f",
                    _operation_name(query), exc.reason, wait,
                )  # fmt: skip
                self.sleep(wait)

    def _execute(self, query: str, variables: Mapping[str, Any] | None) -> JSON:
        operation = _operation_name(query)
        body: JSON = {"query": query, "variables": dict(variables or {})}
        attempt = 0
        while True:
            answer = self._post(operation, body)
            status = _throttle_status(answer)
            if status is not None:
                self.last_status = status
            errors = answer.get("errors")
            if errors and _is_throttled(errors):
                with self._count_lock:
                    self.throttled += 1
                requested = _requested_cost(answer)
                if status is not None and requested is not None and requested > status.maximum:
                    # No wait ever makes it fit: a bucket smaller than one query (a shop whose
                    # limits are below the standard 2,000 points).
                    raise ValidationFailed(
                        f"{operation}: costs {requested:g} points, more than the shop's bucket "
                        f"holds ({status.maximum:g})",
                        reason="query_too_costly",
                    )
                wait = _throttled_wait(answer, status, self._requested.get(operation))
                if attempt >= self.throttled_retries:
                    raise RateLimited(
                        f"{operation}: THROTTLED after {attempt + 1} tries",
                        reason="throttled",
                        retry_after=wait,
                    )
                attempt += 1
                log.info("shopify throttled operation=%s wait=%.2f", operation, wait)
                self._hold(wait)
                continue
            with self._count_lock:
                self.cost += _actual_cost(answer)
                requested = _requested_cost(answer)
                if requested:
                    self._requested[operation] = requested
            if errors:
                raise _graphql_error(operation, errors, answer.get("data"))
            if status is not None and status.available < self.low_water:
                # Leave the bucket room to refill before anyone sends the next request.
                self._hold(status.seconds_until(self.low_water), everyone_only=True)
            data = answer.get("data")
            if not isinstance(data, dict):
                raise PermanentError(f"{operation}: answer without data", reason="invalid_response")
            return data

    def _hold(self, seconds: float, *, everyone_only: bool = False) -> None:
        """Wait `seconds`: every worker through `pause` when there is one (the next `throttle`
        then waits), else this client alone (unless only the others need holding)."""
        if seconds <= 0:
            return
        if self.pause is not None:
            self.pause(seconds)
        if not everyone_only and (self.pause is None or self.throttle is None):
            self.sleep(seconds)

    def mutate(self, query: str, variables: Mapping[str, Any] | None, payload: str) -> JSON:
        """Run a mutation; its `payload` object, ShopifyUserErrors when `userErrors` is not
        empty (NotFound when every error's code says the object does not exist)."""
        data = self.execute(query, variables)
        result = data.get(payload)
        if not isinstance(result, dict):
            raise PermanentError(f"{payload}: no payload in the answer", reason="invalid_response")
        errors = [
            UserError(
                tuple(str(part) for part in (e.get("field") or ())),
                str(e.get("message", "")),
                e.get("code"),
            )
            for e in result.get("userErrors") or ()
        ]
        if errors:
            if all((e.code or "").endswith("NOT_FOUND") for e in errors):
                raise NotFound(f"{payload}: {errors[0].message}", reason="not_found")
            raise ShopifyUserErrors(payload, errors)
        return result


def _operation_name(query: str) -> str:
    """The operation's name for logs (`query name(...)`), else its first root field."""
    words = query.replace("{", " { ").replace("(", " ( ").split()
    if len(words) > 1 and words[0] in ("query", "mutation") and words[1] not in ("{", "("):
        return words[1]
    try:
        brace = words.index("{")
        return words[brace + 1]
    except (ValueError, IndexError):
        return "graphql"


def _is_mutation(query: str) -> bool:
    return query.lstrip().startswith("mutation")


def _throttle_status(answer: Mapping[str, Any]) -> ThrottleStatus | None:
    cost = (answer.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus")
    if not isinstance(status, dict):
        return None
    try:
        return ThrottleStatus(
            float(status["maximumAvailable"]),
            float(status["currentlyAvailable"]),
            float(status["restoreRate"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _requested_cost(answer: Mapping[str, Any]) -> float | None:
    requested = ((answer.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost")
    return float(requested) if isinstance(requested, int | float) else None


def _actual_cost(answer: Mapping[str, Any]) -> float:
    actual = ((answer.get("extensions") or {}).get("cost") or {}).get("actualQueryCost")
    return float(actual) if isinstance(actual, int | float) else 0.0


def _codes(errors: Any) -> list[str]:
    if not isinstance(errors, list):
        return []
    return [
        str((e.get("extensions") or {}).get("code") or "") for e in errors if isinstance(e, dict)
    ]


def _is_throttled(errors: Any) -> bool:
    return "THROTTLED" in _codes(errors)


def _throttled_wait(
    answer: Mapping[str, Any], status: ThrottleStatus | None, known: float | None = None
) -> float:
    """Seconds until the bucket holds the requested cost again (1 s when it is not said);
    `known` is what the same operation requested before, for an answer that says 0."""
    requested = _requested_cost(answer)
    if status is None or requested is None:
        return 1.0
    # A THROTTLED request that cost nothing (an emptied bucket) waits for what the query asked
    # before, else for one point at least.
    wait = status.seconds_until(max(float(requested) or (known or 0.0), 1.0))
    return wait if math.isfinite(wait) else 1.0


def _messages(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {v}" for k, v in errors.items())
    return str(errors)


def _graphql_error(operation: str, errors: Any, data: Any) -> Exception:
    """The `plugin.errors` exception for `errors` in a 200 answer."""
    codes = _codes(errors)
    detail = f"{operation}: {_messages(errors)}"
    if "INTERNAL_SERVER_ERROR" in codes:
        return TransientError(detail, reason="internal_server_error")
    if "ACCESS_DENIED" in codes:
        return AuthenticationFailed(detail, reason="access_denied")
    if any(code in _QUERY_ERROR_CODES for code in codes):
        code = next(c for c in codes if c in _QUERY_ERROR_CODES)
        return ValidationFailed(detail, reason=code)
    if any(code.endswith("NOT_FOUND") for code in codes):
        return NotFound(detail, reason="not_found")
    return PermanentError(
        detail, reason=(codes[0] or "graphql_error") if codes else "graphql_error"
    )


def _http_error(operation: str, response: requests.Response) -> Exception:
    """The `plugin.errors` exception for a non-2xx answer."""
    status = response.status_code
    try:
        message = _messages(response.json().get("errors"))
    except (ValueError, AttributeError):
        message = ""
    detail = f"{operation}: HTTP {status}" + (f" {message}" if message else "")
    if 300 <= status < 400:
        # Never followed: the token must not be sent to another host; the shop URL needs fixing.
        return PermanentError(
            f"{operation}: HTTP {status}: the shop redirects", reason="redirected"
        )
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return RateLimited(detail, reason="rate_limited", retry_after=retry_after)
    if status >= 500:
        return TransientError(detail, reason=f"http_{status}", retry_after=retry_after)
    if status in (401, 403):
        return AuthenticationFailed(
            detail, reason="invalid_token" if status == 401 else "forbidden"
        )
    if status == 404:
        return NotFound(detail, reason="not_found")
    if status == 402:
        return PermanentError(detail, reason="shop_frozen")
    if status == 423:
        return PermanentError(detail, reason="shop_locked")
    if status == 400:
        return ValidationFailed(detail, reason="bad_request")
    return PermanentError(detail, reason=f"http_{status}")
