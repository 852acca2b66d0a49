"""Store calls re-check the store's address on every connection (issue 13, 11: the private-
address check ran when the store was connected only, so a host name whose DNS answer changed
afterwards, DNS rebinding, reached our own network). Name resolution is replaced in
plugin/platforms/public_http.py (its `socket.getaddrinfo`); the connections are real, to a
listener on 127.0.0.1 that counts them."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from plugin.errors import PermanentError, TransientError
from plugin.platforms.public_http import PrivateAddressRefused
from plugin.platforms.woocommerce.adapter import connect
from plugin.platforms.woocommerce.client import WooCommerceClient


class Listener:
    """A TCP server on 127.0.0.1 that accepts and closes connections, counting them."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        self.server.close()
        self._thread.join(timeout=5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


class Resolver:
    """What the store's host name resolves to at the moment of the call."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def getaddrinfo(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in self.answers[host]
        ]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    fake = Resolver()
    # Only the guard's view of DNS: urllib3 still resolves the (numeric) address it is given.
    fake_socket = SimpleNamespace(
        getaddrinfo=fake.getaddrinfo, gaierror=socket.gaierror, SOCK_STREAM=socket.SOCK_STREAM
    )
    monkeypatch.setattr("plugin.platforms.public_http.socket", fake_socket)
    return fake


def client(port: int, **kwargs: Any) -> WooCommerceClient:
    return WooCommerceClient(f"https://shop.example:{port}", "ck_x", "cs_x", timeout=5, **kwargs)


@pytest.mark.parametrize(
    "answer",
    [["127.0.0.1"], ["93.184.216.34", "127.0.0.1"], ["::ffff:127.0.0.1"], ["10.0.0.7"]],
)
def test_a_store_whose_name_now_points_inside_is_refused_before_connecting(
    listener: Listener, resolver: Resolver, answer: list[str]
) -> None:
    resolver.answers["shop.example"] = answer
    with pytest.raises(PrivateAddressRefused) as refused:
        client(listener.port).get("/orders")
    assert refused.value.reason == "private_address"
    assert isinstance(refused.value, PermanentError)  # recorded for the merchant, not retried
    assert "'shop.example' now points at a private or reserved network address" in str(
        refused.value
    )
    assert resolver.asked == ["shop.example"]
    assert listener.accepted == 0  # nothing reached the address


def test_the_worker_platform_checks_every_call_too(listener: Listener, resolver: Resolver) -> None:
    resolver.answers["shop.example"] = ["127.0.0.1"]
    platform = connect(f"https://shop.example:{listener.port}", "ck_x", "cs_x", timeout=5)
    with pytest.raises(PrivateAddressRefused):
        platform.client.get("/orders/1")
    assert listener.accepted == 0


def test_the_connection_goes_to_the_address_that_was_checked(
    listener: Listener, resolver: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: an answer that passes the check is the one connected to (here loopback
    is made to count as public, since nothing may leave this machine)."""
    monkeypatch.setattr("plugin.platforms.public_http.is_public_address", lambda a: True)
    resolver.answers["shop.example"] = ["127.0.0.1"]
    with pytest.raises(TransientError):  # the listener closes at once: no TLS, no answer
        client(listener.port).get("/orders")
    assert listener.accepted >= 1
    assert resolver.asked[0] == "shop.example"


def test_development_may_call_a_store_on_this_machine(
    listener: Listener, resolver: Resolver
) -> None:
    resolver.answers["shop.example"] = ["127.0.0.1"]
    local = WooCommerceClient(
        f"https://localhost:{listener.port}", "ck_x", "cs_x", timeout=5,
        allow_private_addresses=True,
    )  # fmt: skip
    with pytest.raises(TransientError):
        local.get("/orders")
    assert listener.accepted >= 1
    assert resolver.asked == []  # the guard is not in the way
