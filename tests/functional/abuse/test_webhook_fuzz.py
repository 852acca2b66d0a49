"""Fuzzing `POST /webhooks/woocommerce/<store_id>` (issue 7, Abuse): 10,000 generated cases,
13,000 requests (4,500 unsigned; 4,000 signed garbage; 1,500 valid payloads, each sent once
forged with the other store's secret and twice signed).

Whatever arrives, the answer is never a 5xx; nothing is stored or enqueued unless the body is
signed with that store's secret; a signed, valid payload is accepted exactly once.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis
from sqlalchemy import func, select

from app import MAX_ROW_ID
from plugin.adapters.queue.relay import enqueue_pending
from plugin.adapters.sql.inbox import dedupe_key
from plugin.adapters.sql.models import InboxEvent
from plugin.adapters.sql.stores import StoreRecord
from plugin.platforms.woocommerce.signature import sign
from plugin.platforms.woocommerce.webhooks import FINGERPRINTS
from tests.examples import examples
from tests.functional.abuse.conftest import WEBHOOK_SECRET_A, WEBHOOK_SECRET_B
from tests.functional.webhooks.conftest import order_payload, state

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
HANDLED = ["order.created", "order.updated", "product.updated"]
IGNORED = ["order.deleted", "order.restored", "product.created", "product.deleted"]

# Header values a WSGI client can send: latin-1 without line breaks.
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=80,
)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def _nested(depth: int, opener: bytes, closer: bytes) -> bytes:
    return opener * depth + closer * depth


bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.builds(
        lambda payload, extra: json.dumps({**payload, **extra}).encode(),
        st.builds(order_payload, st.integers(min_value=-5, max_value=10**9)),
        st.dictionaries(
            st.sampled_from(
                ["id", "status", "currency", "date_modified_gmt", "line_items", "total"]
            ),
            json_values,
            max_size=3,
        ),
    ),
    # Invalid UTF-8 around JSON, and a BOM.
    st.binary(min_size=1, max_size=8).map(lambda junk: b'{"id": 1, "x": "' + junk + b'\xff"}'),
    st.just(b"\xef\xbb\xbf" + json.dumps(order_payload()).encode()),
    # Deep nesting, past the JSON decoder's recursion limit.
    st.integers(min_value=1, max_value=200_000).map(lambda depth: _nested(depth, b"[", b"]")),
    st.integers(min_value=1, max_value=100_000).map(
        lambda depth: b'{"id":' + _nested(depth, b'{"a":', b"}")[:-1] + b"1" + b"}" * depth
    ),
    # Near and past the 1 MiB limit.
    st.sampled_from([1_048_575, 1_048_576, 1_048_577, 3_000_000]).map(
        lambda size: b"{" + b" " * (size - 2) + b"}"
    ),
    # Form-encoded, like the store's ping.
    st.builds(lambda value: f"webhook_id={value}".encode(), header_text),
)


def inbox_count(app: Flask) -> int:
    with state(app).db.session() as session:
        return int(session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def stored_state(app: Flask, store_id: int, key: str) -> bool:
    """Whether an earlier test (bodies there are random) already stored this resource state."""
    query = select(func.count()).where(
        InboxEvent.store_id == store_id, InboxEvent.dedupe_key == key
    )
    with state(app).db.session() as session:
        return bool(session.scalar(query))


def job_count(connection: Redis) -> int:
    """The job hashes in Redis, counted by Redis (not every name sent over to be counted here:
    a run of valid payloads leaves thousands of jobs, and this is read four times an example)."""
    return int(connection.eval("return #redis.call('KEYS', ARGV[1])", 0, "rq:job:*"))


def relayed(app: Flask, connection: Redis) -> tuple[int, int]:
    """Inbox rows and jobs after a relay pass (the workers' `run_relay` does one every 50 ms):
    every stored event gets its one job, and nothing else does."""
    enqueue_pending(state(app).db, connection, older_than_s=0)
    return inbox_count(app), job_count(connection)


def post(app: Flask, store_id: int, body: bytes, headers: dict[str, str]) -> Any:
    return app.test_client().post(f"/webhooks/woocommerce/{store_id}", data=body, headers=headers)


# The strategies a draw uses are built once, here: hypothesis validates a strategy object the
# first time it draws from it, and building them in every draw cost more than the request.
# What depends on the drawn body (a signature, a length) is drawn as a choice and made from it.
HEADER_NAMES = [
    "Content-Type",
    "Content-Encoding",
    "Transfer-Encoding",
    "X-WC-Webhook-Delivery-ID",
    "X-WC-Webhook-Source",
    "Content-Length",
]
request_headers = st.dictionaries(st.sampled_from(HEADER_NAMES), header_text, max_size=3)
topics = st.sampled_from(HANDLED + IGNORED) | header_text
PAST_THE_BODY = "body + 10"
lengths = st.sampled_from(["0", "1", "-1", PAST_THE_BODY, "99999999", "abc"])
signature_choices = st.one_of(
    st.none(),
    header_text.map(lambda text: ("text", text)),
    st.binary(min_size=32, max_size=32).map(lambda raw: ("text", base64.b64encode(raw).decode())),
    # Truncated, padded or re-cased valid signatures.
    st.integers(min_value=0, max_value=43).map(lambda n: ("truncated", n)),
    st.just(("padded", 0)),
    st.just(("re-cased", 0)),
    # Valid for another body, or with the other store's secret.
    st.just(("other body", 0)),
    st.just(("other secret", 0)),
    st.just(("store A's", 0)),
    # The secret as stored, not as WooCommerce decodes it.
    st.just(("secret as stored", 0)),
)


def make_signature(choice: tuple[str, Any] | None, body: bytes, other_body: bytes) -> str | None:
    """The signature header a `signature_choices` draw names, for this body."""
    if choice is None:
        return None
    kind, value = choice
    made = {
        "text": lambda: str(value),
        "truncated": lambda: sign(WEBHOOK_SECRET_A, body)[:value],
        "padded": lambda: sign(WEBHOOK_SECRET_A, body) + "=",
        "re-cased": lambda: " " + sign(WEBHOOK_SECRET_A, body).lower(),
        "other body": lambda: sign(WEBHOOK_SECRET_A, other_body),
        "other secret": lambda: sign(WEBHOOK_SECRET_B, body),
        "store A's": lambda: sign(WEBHOOK_SECRET_A, body),
        "secret as stored": lambda: base64.b64encode(
            hmac.new(WEBHOOK_SECRET_A.encode(), body, "sha256").digest()
        ).decode(),
    }
    return made[kind]()


def unsigned_requests(
    stores: tuple[StoreRecord, StoreRecord],
) -> st.SearchStrategy[tuple[int, bytes, dict[str, str]]]:
    """Requests whose signature is NOT the target store's signature of the body."""
    first, second = stores
    store_ids = st.sampled_from([first.id, second.id, 0, 999_999, 2**62, 2**63, 2**64])
    other_bodies = st.binary(max_size=50)

    @st.composite
    def requests(draw: st.DrawFn) -> tuple[int, bytes, dict[str, str]]:
        body = draw(bodies)
        store_id = draw(store_ids)
        own_secret = {first.id: WEBHOOK_SECRET_A, second.id: WEBHOOK_SECRET_B}.get(store_id)
        other_body = draw(other_bodies)
        signature = make_signature(draw(signature_choices), body, other_body)
        if own_secret is not None and signature == sign(own_secret, body):
            signature = signature[:-2]  # made invalid: this test is about unsigned requests
        headers = draw(request_headers)
        headers["X-WC-Webhook-Topic"] = draw(topics)
        if signature is not None:
            headers["X-WC-Webhook-Signature"] = signature
        if "Content-Length" in headers:
            # A lie about the length: any number, or nonsense.
            length = draw(lengths)
            headers["Content-Length"] = str(len(body) + 10) if length == PAST_THE_BODY else length
        return store_id, body, headers

    return requests()


def test_unsigned_requests_never_fail_and_never_store(
    fuzz_app: Flask, fuzz_redis: Redis, two_stores: tuple[StoreRecord, StoreRecord]
) -> None:
    before = relayed(fuzz_app, fuzz_redis)

    @settings(FUZZ, max_examples=examples(4500))
    @given(request=unsigned_requests(two_stores))
    def check(request: tuple[int, bytes, dict[str, str]]) -> None:
        store_id, body, headers = request
        response = post(fuzz_app, store_id, body, headers)
        assert response.status_code < 500, (response.status_code, response.get_data()[:200])
        # Whether the store exists makes no difference (issue 13); only an id no store row can
        # have (past MAX_ROW_ID, or the converter's range) is a 404, for every such id.
        expected = {404} if store_id > MAX_ROW_ID else {200, 400, 401, 413}
        assert response.status_code in expected, (store_id, response.status_code)
        assert relayed(fuzz_app, fuzz_redis) == before

    check()


def test_signed_garbage_is_refused_without_5xx_and_stores_nothing(
    fuzz_app: Flask, fuzz_redis: Redis, two_stores: tuple[StoreRecord, StoreRecord]
) -> None:
    first, _second = two_stores

    @settings(FUZZ, max_examples=examples(4000))
    @given(body=bodies, topic=st.sampled_from(HANDLED))
    def check(body: bytes, topic: str) -> None:
        before = relayed(fuzz_app, fuzz_redis)
        headers = {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": sign(WEBHOOK_SECRET_A, body),
        }
        response = post(fuzz_app, first.id, body, headers)
        assert response.status_code < 500, (response.status_code, response.get_data()[:200])
        if response.status_code == 202:
            # Only a JSON object that the schema accepts gets this far.
            payload = json.loads(body)
            assert isinstance(payload, dict)
            stored = 0 if response.get_json()["duplicate"] else 1
            assert relayed(fuzz_app, fuzz_redis) == (
                before[0] + stored,
                before[1] + stored,
            )
        elif response.status_code == 200:
            # Shaped like the store's own REST error: nothing to record (the 200 keeps the store
            # from counting a failure against its webhook).
            assert response.get_json()["recorded"] is False
            assert relayed(fuzz_app, fuzz_redis) == before
        else:
            assert response.status_code in (400, 413), response.status_code
            assert relayed(fuzz_app, fuzz_redis) == before

    check()


OFFSETS = [
    dt.UTC,
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
    dt.timezone(dt.timedelta(hours=-11)),
]


handled_topics = st.sampled_from(HANDLED)
# Above the ids the other fuzz tests may store, so `seen` knows every earlier state.
resource_ids = st.integers(min_value=10**12, max_value=10**12 + 2**31)
moments = st.datetimes(
    min_value=dt.datetime(1971, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from(OFFSETS),
)
moment_styles = st.sampled_from(["naive", "Z", "offset"])
order_statuses = st.sampled_from(["pending", "processing", "on-hold", "completed", "x"])
stock_quantities = st.none() | st.integers(-5, 5)
backorder_modes = st.sampled_from(["no", "notify", "yes"])
extra_fields = st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=3)


@st.composite
def valid_deliveries(draw: st.DrawFn) -> tuple[str, dict[str, Any], tuple[str, int, dt.datetime]]:
    """A valid order or product payload, its topic and the state it names."""
    topic = draw(handled_topics)
    resource_id = draw(resource_ids)
    moment = draw(moments)
    style = draw(moment_styles)
    utc = moment.astimezone(dt.UTC)
    text = {
        "naive": utc.replace(tzinfo=None).isoformat(),
        "Z": utc.replace(tzinfo=None).isoformat() + "Z",
        "offset": moment.isoformat(),
    }[style]
    if topic.startswith("order."):
        payload = order_payload(resource_id)
        payload["status"] = draw(order_statuses)
    else:
        payload = {
            "id": resource_id,
            "stock_quantity": draw(stock_quantities),
            "backorders": draw(backorder_modes),
        }
    payload["date_modified_gmt"] = text
    # Extra fields, never one the payload has (the strategies are built once: see above).
    extra = draw(extra_fields)
    payload.update({key: value for key, value in extra.items() if key not in payload})
    return (
        topic,
        payload,
        (topic, resource_id, utc),
    )


def test_valid_signed_payloads_are_accepted_exactly_once(
    fuzz_app: Flask, fuzz_redis: Redis, two_stores: tuple[StoreRecord, StoreRecord]
) -> None:
    first, second = two_stores
    seen: set[tuple[int, str, int, dt.datetime, str]] = set()

    @settings(FUZZ, max_examples=examples(1500))
    @given(delivery=valid_deliveries(), to_second=st.booleans())
    def check(
        delivery: tuple[str, dict[str, Any], tuple[str, int, dt.datetime]], to_second: bool
    ) -> None:
        topic, payload, (_topic, resource_id, moment) = delivery
        store, secret, other = (
            (second, WEBHOOK_SECRET_B, WEBHOOK_SECRET_A)
            if to_second
            else (first, WEBHOOK_SECRET_A, WEBHOOK_SECRET_B)
        )
        body = json.dumps(payload).encode()
        # One state: the resource (either order topic), its moment and its content.
        fingerprint = FINGERPRINTS[topic.partition(".")[0]](payload)
        key = (store.id, topic.partition(".")[0], resource_id, moment, fingerprint)
        already_stored = stored_state(
            fuzz_app, store.id, dedupe_key(topic, str(resource_id), moment, fingerprint)
        )
        before = relayed(fuzz_app, fuzz_redis)

        forged = post(
            fuzz_app,
            store.id,
            body,
            {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Signature": sign(other, body)},
        )
        assert forged.status_code == 401
        assert relayed(fuzz_app, fuzz_redis) == before

        headers = {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Signature": sign(secret, body),
            "Content-Type": "application/json",
        }
        first_answer = post(fuzz_app, store.id, body, headers)
        assert first_answer.status_code == 202, first_answer.get_data()[:300]
        new = key not in seen and not already_stored
        seen.add(key)
        assert first_answer.get_json()["duplicate"] is (not new)
        added = 1 if new else 0
        after = (before[0] + added, before[1] + added)
        assert relayed(fuzz_app, fuzz_redis) == after
        if new:
            event = state(fuzz_app).events.get(first_answer.get_json()["event_id"])
            assert event is not None
            assert (event.store_id, event.topic, event.resource_id) == (
                store.id,
                topic,
                str(resource_id),
            )

        again = post(fuzz_app, store.id, body, headers)
        assert again.status_code == 202
        assert again.get_json() == {"duplicate": True}
        assert relayed(fuzz_app, fuzz_redis) == after

    check()
