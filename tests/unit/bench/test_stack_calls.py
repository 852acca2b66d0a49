"""The end-to-end benchmarks' reading of the workers' logs: one `Call` per `woocommerce call`."""

from __future__ import annotations

import datetime as dt

from bench._stack import parse_calls, routes

LOG = [
    "at=2026-12-02T13:24:11.459Z level=INFO logger=rq.worker backorders: process inbox event 20",
    "at=2026-12-02T13:24:11.459Z level=INFO logger=plugin.platforms.woocommerce.client "
    "woocommerce call method=GET path=/orders/133 status=200 ms=8",
    "at=2026-12-02T13:24:11.701Z level=INFO logger=plugin.platforms.woocommerce.client "
    "woocommerce call method=POST path=/orders/batch status=200 ms=49",
    "at=2026-12-02T13:24:11.990Z level=INFO logger=plugin.platforms.woocommerce.client "
    "woocommerce call method=POST path=/orders/153/notes status=429 ms=3",
    "woocommerce call method=GET path=/orders/1 status=200 ms=1",  # not a log line of ours
]


def test_parse_calls_reads_only_call_lines_with_their_times() -> None:
    calls = parse_calls(LOG)
    assert [(c.method, c.path, c.status, c.ms) for c in calls] == [
        ("GET", "/orders/133", 200, 8),
        ("POST", "/orders/batch", 200, 49),
        ("POST", "/orders/153/notes", 429, 3),
    ]
    first = calls[0]
    assert first.at == dt.datetime(2026, 12, 2, 13, 24, 11, 459000, tzinfo=dt.UTC)
    assert first.started == dt.datetime(2026, 12, 2, 13, 24, 11, 451000, tzinfo=dt.UTC)


def test_routes_group_calls_by_what_they_do() -> None:
    calls = parse_calls(LOG + [LOG[1].replace("/orders/133", "/orders/140")])
    assert routes(calls) == {
        "GET /orders/<id>": 2,
        "POST /orders/batch": 1,
        "POST /orders/<id>/notes": 1,
    }
