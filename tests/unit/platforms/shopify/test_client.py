"""ShopifyClient over `responses`: endpoint, token header, body, cost bucket, error mapping."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests
import responses

from plugin.errors import (
    AuthenticationFailed,
    BackordersError,
    NotFound,
    PermanentError,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from plugin.platforms.shopify.client import ShopifyClient, ShopifyUserErrors

SHOP = "https://ada-mugs.myshopify.com"
ENDPOINT = SHOP + "/admin/api/2025-01/graphql.json"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"  # noqa: S105 - a test token
QUERY = "query order($id: ID!) { order(id: $id) { id name } }"


def cost(available: float, requested: int = 2, actual: int | None = 2) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": available,
                "restoreRate": 100.0,
            },
        }
    }


THROTTLED = {
    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
    "extensions": cost(50.0, requested=252, actual=None),
}
ORDER = {"data": {"order": {"id": "gid://shopify/Order/1", "name": "#1001"}}}


class Recorder:
    """Records what the throttle, pause and sleep hooks were asked."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float]] = []

    def throttle(self) -> None:
        self.events.append(("throttle", 0.0))

    def pause(self, seconds: float) -> None:
        self.events.append(("pause", round(seconds, 3)))

    def sleep(self, seconds: float) -> None:
        self.events.append(("sleep", round(seconds, 3)))


@pytest.fixture
def mocked() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def hooks() -> Recorder:
    return Recorder()


def make(hooks: Recorder, *, pause: bool = True, **kwargs: Any) -> ShopifyClient:
    return ShopifyClient(
        SHOP,
        TOKEN,
        throttle=hooks.throttle,
        pause=hooks.pause if pause else None,
        sleep=hooks.sleep,
        timeout=7,
        **kwargs,
    )


def test_execute_posts_the_query_with_the_token_and_returns_data(
    mocked: Any, hooks: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mocked.post(ENDPOINT, json={**ORDER, "extensions": cost(1998.0)})
    client = make(hooks)

    data = client.execute(QUERY, {"id": "gid://shopify/Order/1"})

    assert data == {"order": {"id": "gid://shopify/Order/1", "name": "#1001"}}
    request = mocked.calls[0].request
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "query": QUERY,
        "variables": {"id": "gid://shopify/Order/1"},
    }
    assert client.calls == 1
    assert client.cost == 2.0
    assert hooks.events == [("throttle", 0.0)]
    assert client.last_status is not None and client.last_status.available == 1998.0
    assert TOKEN not in caplog.text
    assert "operation=order status=200" in caplog.text


def test_base_url_path_is_ignored_and_http_is_refused_off_loopback() -> None:
    assert ShopifyClient(SHOP + "/admin/", TOKEN).endpoint == ENDPOINT
    local = ShopifyClient("http://127.0.0.1:8531", TOKEN)
    assert local.endpoint == "http://127.0.0.1:8531/admin/api/2025-01/graphql.json"
    with pytest.raises(ValueError, match="https"):
        ShopifyClient("http://ada-mugs.myshopify.com", TOKEN)
    with pytest.raises(ValueError, match="absolute"):
        ShopifyClient("ada-mugs.myshopify.com", TOKEN)


def test_throttled_waits_what_the_bucket_implies_then_succeeds(
    mocked: Any, hooks: Recorder
) -> None:
    mocked.post(ENDPOINT, json=THROTTLED)
    mocked.post(ENDPOINT, json={**ORDER, "extensions": cost(1500.0)})
    client = make(hooks)

    assert client.execute(QUERY, {"id": "x"})["order"]["name"] == "#1001"

    # 252 points asked, 50 available, 100 restored a second: everyone waits 2.02 s.
    assert hooks.events == [("throttle", 0.0), ("pause", 2.02), ("throttle", 0.0)]
    assert client.calls == 2
    assert client.throttled == 1


def test_throttled_without_a_shared_pause_sleeps_in_place(mocked: Any, hooks: Recorder) -> None:
    mocked.post(ENDPOINT, json=THROTTLED)
    mocked.post(ENDPOINT, json={**ORDER, "extensions": cost(1500.0)})
    client = make(hooks, pause=False)

    client.execute(QUERY, {"id": "x"})

    assert hooks.events == [("throttle", 0.0), ("sleep", 2.02), ("throttle", 0.0)]


def test_throttled_too_often_raises_rate_limited_with_the_wait(
    mocked: Any, hooks: Recorder
) -> None:
    for _ in range(3):
        mocked.post(ENDPOINT, json=THROTTLED)
    client = make(hooks, throttled_retries=2)

    with pytest.raises(RateLimited) as raised:
        client.execute(QUERY, {"id": "x"})

    assert raised.value.reason == "throttled"
    assert raised.value.retry_after == pytest.approx(2.02)
    assert client.calls == 3
    assert [e for e in hooks.events if e[0] == "pause"] == [("pause", 2.02), ("pause", 2.02)]


def test_ten_throttled_answers_are_waited_out_by_default(mocked: Any, hooks: Recorder) -> None:
    # Workers sharing a bucket meet THROTTLED in turn; nothing ran, so waiting is safe.
    for _ in range(10):
        mocked.post(ENDPOINT, json=THROTTLED)
    mocked.post(ENDPOINT, json={**ORDER, "extensions": cost(1500.0)})
    client = make(hooks)

    assert client.execute(QUERY, {"id": "x"})["order"]["name"] == "#1001"
    assert (client.calls, client.throttled) == (11, 10)


def test_an_emptied_bucket_waits_for_one_point_at_least(mocked: Any, hooks: Recorder) -> None:
    drained = {"errors": THROTTLED["errors"], "extensions": cost(0.0, requested=0, actual=None)}
    mocked.post(ENDPOINT, json=drained)
    mocked.post(ENDPOINT, json={**ORDER, "extensions": cost(10.0 + 200)})
    client = make(hooks)

    client.execute(QUERY, {"id": "x"})

    assert ("pause", 0.01) in hooks.events


def test_an_emptied_bucket_waits_for_what_the_query_asked_before(
    mocked: Any, hooks: Recorder
) -> None:
    mocked.post(ENDPOINT, json={**ORDER, "extensions": cost(1500.0, requested=149, actual=31)})
    drained = {"errors": THROTTLED["errors"], "extensions": cost(0.0, requested=0, actual=None)}
    mocked.post(ENDPOINT, json=drained)
    mocked.post(ENDPOINT, json={**ORDER, "extensions": cost(1500.0, requested=149, actual=31)})
    client = make(hooks)

    client.execute(QUERY, {"id": "x"})
    client.execute(QUERY, {"id": "x"})

    # 149 points at 100 a second, not one point: the others released with it would meet
    # THROTTLED again at once.
    assert [e for e in hooks.events if e[0] == "pause"] == [("pause", 1.49)]


def test_a_bucket_running_low_holds_every_worker_until_it_refills(
    mocked: Any, hooks: Recorder
) -> None:
    mocked.post(ENDPOINT, json={**ORDER, "extensions": cost(40.0)})
    client = make(hooks)

    client.execute(QUERY, {"id": "x"})

    # 100 points is the low water mark: 60 missing at 100 a second.
    assert hooks.events == [("throttle", 0.0), ("pause", 0.6)]


def test_mutation_user_errors_are_validation_failed_with_the_code(mocked: Any) -> None:
    mocked.post(
        ENDPOINT,
        json={
            "data": {
                "fulfillmentOrderHold": {
                    "fulfillmentHold": None,
                    "userErrors": [
                        {
                            "field": ["fulfillmentHold", "fulfillmentOrderLineItems"],
                            "message": "Quantity must be greater than 0",
                            "code": "GREATER_THAN_ZERO",
                        }
                    ],
                }
            },
            "extensions": cost(1990.0, 10, 10),
        },
    )
    client = ShopifyClient(SHOP, TOKEN)

    with pytest.raises(ShopifyUserErrors) as raised:
        client.mutate("mutation hold { x }", {}, "fulfillmentOrderHold")

    assert isinstance(raised.value, ValidationFailed)
    assert raised.value.reason == "greater_than_zero"
    assert raised.value.errors[0].field == ("fulfillmentHold", "fulfillmentOrderLineItems")
    assert "Quantity must be greater than 0" in str(raised.value)


def test_mutation_not_found_user_errors_are_not_found(mocked: Any) -> None:
    mocked.post(
        ENDPOINT,
        json={
            "data": {
                "fulfillmentOrderReleaseHold": {
                    "fulfillmentOrder": None,
                    "userErrors": [
                        {
                            "field": ["id"],
                            "message": "Fulfillment order does not exist.",
                            "code": "FULFILLMENT_ORDER_NOT_FOUND",
                        }
                    ],
                }
            }
        },
    )
    with pytest.raises(NotFound):
        ShopifyClient(SHOP, TOKEN).mutate("mutation r { x }", {}, "fulfillmentOrderReleaseHold")


def test_mutation_returns_its_payload(mocked: Any) -> None:
    payload = {"job": {"id": "gid://shopify/Job/1"}, "userErrors": []}
    mocked.post(ENDPOINT, json={"data": {"orderCancel": payload}})
    result = ShopifyClient(SHOP, TOKEN).mutate("mutation c { x }", {}, "orderCancel")
    assert result == payload


@pytest.mark.parametrize(
    ("status", "body", "kind", "reason"),
    [
        (
            401,
            {
                "errors": "[API] Invalid API key or access token (unrecognized login or wrong "
                "password)"
            },
            AuthenticationFailed,
            "invalid_token",
        ),
        (403, {"errors": "Forbidden"}, AuthenticationFailed, "forbidden"),
        (404, {"errors": "Not Found"}, NotFound, "not_found"),
        (402, {"errors": "Unavailable Shop"}, PermanentError, "shop_frozen"),
        (423, {"errors": "Locked"}, PermanentError, "shop_locked"),
        (
            400,
            {"errors": {"query": "Required parameter missing or invalid"}},
            ValidationFailed,
            "bad_request",
        ),
        (429, {"errors": "Exceeded"}, RateLimited, "rate_limited"),
        (
            500,
            {
                "errors": [
                    {"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
                ]
            },
            TransientError,
            "http_500",
        ),
        (503, None, TransientError, "http_503"),
    ],
)
def test_http_errors_are_mapped(
    mocked: Any, status: int, body: Any, kind: type[Exception], reason: str
) -> None:
    if body is None:
        mocked.post(ENDPOINT, body="<html>Service Unavailable</html>", status=status)
    else:
        mocked.post(ENDPOINT, json=body, status=status, headers={"Retry-After": "3"})
    with pytest.raises(kind) as raised:
        ShopifyClient(SHOP, TOKEN, read_retries=0).execute(QUERY, {"id": "x"})
    assert type(raised.value) is kind
    assert isinstance(raised.value, BackordersError)
    assert raised.value.reason == reason
    if status == 429:
        assert isinstance(raised.value, RateLimited)
        assert raised.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("undefinedField", ValidationFailed),
        ("MAX_COST_EXCEEDED", ValidationFailed),
        ("ACCESS_DENIED", AuthenticationFailed),
        ("INTERNAL_SERVER_ERROR", TransientError),
        ("SOMETHING_NEW", PermanentError),
    ],
)
def test_graphql_errors_in_a_200_are_mapped(mocked: Any, code: str, kind: type[Exception]) -> None:
    mocked.post(
        ENDPOINT,
        json={"errors": [{"message": f"refused {code}", "extensions": {"code": code}}]},
    )
    with pytest.raises(kind) as raised:
        ShopifyClient(SHOP, TOKEN, read_retries=0).execute(QUERY, {"id": "x"})
    assert type(raised.value) is kind
    assert f"refused {code}" in str(raised.value)


def test_connection_errors_and_timeouts_are_transient(mocked: Any) -> None:
    mocked.post(ENDPOINT, body=requests.ConnectTimeout("slow"))
    mocked.post(ENDPOINT, body=requests.ConnectionError("refused"))
    client = ShopifyClient(SHOP, TOKEN, read_retries=0)
    with pytest.raises(TransientError) as first:
        client.execute(QUERY, {"id": "x"})
    assert first.value.reason == "timeout"
    with pytest.raises(TransientError) as second:
        client.execute(QUERY, {"id": "x"})
    assert second.value.reason == "connection_error"


def test_a_query_meeting_transient_faults_is_sent_again_with_backoff(
    mocked: Any, hooks: Recorder
) -> None:
    mocked.post(ENDPOINT, body="<html>Bad Gateway</html>", status=502)
    internal = {
        "errors": [{"message": "Internal", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    }
    mocked.post(ENDPOINT, json=internal, status=500, headers={"Retry-After": "3"})
    mocked.post(ENDPOINT, json=ORDER)
    client = make(hooks)
    assert client.execute(QUERY, {"id": "x"}) == ORDER["data"]
    assert len(mocked.calls) == 3
    assert client.retried == 2
    # 0.5 s after the first fault, then the 3 s the shop asked for.
    assert [e for e in hooks.events if e[0] == "sleep"] == [("sleep", 0.5), ("sleep", 3.0)]


def test_a_query_failing_past_its_retries_raises_the_last_fault(
    mocked: Any, hooks: Recorder
) -> None:
    for status in (503, 500, 502):
        mocked.post(ENDPOINT, body="<html>down</html>", status=status)
    client = make(hooks)
    with pytest.raises(TransientError) as raised:
        client.execute(QUERY, {"id": "x"})
    assert raised.value.reason == "http_502"
    assert len(mocked.calls) == 3  # the first try and READ_RETRIES (2) more
    assert [e for e in hooks.events if e[0] == "sleep"] == [("sleep", 0.5), ("sleep", 1.0)]


def test_a_mutation_meeting_a_transient_fault_is_not_sent_again(
    mocked: Any, hooks: Recorder
) -> None:
    # It may have been carried out before its answer was lost: the job's ledger decides.
    mocked.post(ENDPOINT, body="<html>Service Unavailable</html>", status=503)
    client = make(hooks)
    with pytest.raises(TransientError) as raised:
        client.execute("mutation note($id: ID!) { tagsAdd(id: $id, tags: []) { node { id } } }")
    assert raised.value.reason == "http_503"
    assert len(mocked.calls) == 1
    assert client.retried == 0
    assert [e for e in hooks.events if e[0] == "sleep"] == []


def test_redirects_are_not_followed(mocked: Any) -> None:
    mocked.post(ENDPOINT, status=301, headers={"Location": "https://elsewhere.example/"})
    with pytest.raises(PermanentError) as raised:
        ShopifyClient(SHOP, TOKEN).execute(QUERY, {"id": "x"})
    assert raised.value.reason == "redirected"
    assert len(mocked.calls) == 1


def test_non_json_answer_is_a_permanent_error(mocked: Any) -> None:
    mocked.post(ENDPOINT, body="<html>hello</html>", status=200)
    with pytest.raises(PermanentError) as raised:
        ShopifyClient(SHOP, TOKEN).execute(QUERY, {"id": "x"})
    assert raised.value.reason == "invalid_response"


def test_a_query_costing_more_than_the_bucket_is_refused_at_once(
    mocked: Any, hooks: Recorder
) -> None:
    too_big = {"errors": THROTTLED["errors"], "extensions": cost(400.0, requested=641, actual=None)}
    too_big["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] = 400.0
    mocked.post(ENDPOINT, json=too_big)
    client = make(hooks)

    with pytest.raises(ValidationFailed) as raised:
        client.execute(QUERY, {"id": "x"})

    assert raised.value.reason == "query_too_costly"
    assert "costs 641 points, more than the shop's bucket holds (400)" in str(raised.value)
    assert hooks.events == [("throttle", 0.0)]  # no wait, no retry
