"""Store URLs that lead to our own network are refused outside development mode, through the
connect page, and nothing is stored (issue 7, Abuse). Name resolution is replaced at the
boundary of plugin/usecases/connecting.py (its `socket` module), so no DNS is used."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from redis import Redis

from app import create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.errors import InvalidStoreUrl
from plugin.usecases.accounts import hash_password
from plugin.usecases.connecting import validate_store_url
from tests.functional.abuse.test_security import snapshot
from tests.functional.web.conftest import PASSWORD, csrf_token, make_config, state

# Host names and what the fake resolver answers for them.
HOSTS = {
    "localhost": ["127.0.0.1", "::1"],
    "intranet.example": ["10.1.2.3"],
    "router.example": ["192.168.0.1"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": ["93.184.216.34", "10.0.0.5"],  # one private address is enough
    "mapped.example": ["::ffff:169.254.169.254"],
    "ula.example": ["fd12:3456::1"],
    "shop.example": ["93.184.216.34", "2606:2800:220:1::1"],
}


def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
    """getaddrinfo without DNS: numeric forms as the C library reads them, names from HOSTS."""
    if host in HOSTS:
        addresses = HOSTS[host]
    else:
        try:
            addresses = [str(ipaddress.ip_address(host.split("%")[0]))]
        except ValueError:
            try:
                # inet_aton accepts what glibc's getaddrinfo accepts for IPv4: decimal
                # (2130706433), octal (0177.0.0.1), hex (0x7f.1) and short (127.1) forms.
                addresses = [socket.inet_ntoa(socket.inet_aton(host))]
            except OSError:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
    return [
        (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
        for a in addresses
    ]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_socket = SimpleNamespace(
        getaddrinfo=fake_getaddrinfo, gaierror=socket.gaierror, SOCK_STREAM=socket.SOCK_STREAM
    )
    monkeypatch.setattr("plugin.usecases.connecting.socket", fake_socket)


REFUSED = [
    # private, shared (CGNAT), loopback, link-local, reserved, unspecified, broadcast, TEST-NET
    "https://10.0.0.1",
    "https://172.16.5.4",
    "https://192.168.1.1",
    "https://100.64.0.1",
    "https://127.0.0.1",
    "https://127.1.2.3:8443/shop",
    "https://169.254.169.254",
    "https://240.0.0.1",
    "https://0.0.0.0",
    "https://255.255.255.255",
    "https://192.0.2.10",
    "https://198.18.0.1",
    # IPv6: loopback, unspecified, unique local, link-local with zone, documentation
    "https://[::1]",
    "https://[::]",
    "https://[fc00::1]",
    "https://[fd12:3456::1]",
    "https://[fe80::1%25eth0]",
    "https://[2001:db8::1]",
    # IPv4 inside IPv6: mapped, 6to4, NAT64
    "https://[::ffff:127.0.0.1]",
    "https://[::ffff:10.0.0.1]",
    "https://[::ffff:7f00:1]",
    "https://[2002:a9fe:a9fe::1]",
    "https://[64:ff9b::a9fe:a9fe]",
    # decimal, octal, hexadecimal and short IPv4 forms
    "https://2130706433",
    "https://017700000001",
    "https://0x7f000001",
    "https://0177.0.0.1",
    "https://0x7f.0.0.1",
    "https://127.1",
    "https://3232235777",
    "https://2852039166",
    # host names resolving to them
    "https://localhost",
    "https://LOCALHOST.",
    "https://intranet.example",
    "https://router.example/wp",
    "https://metadata.example",
    "https://mixed.example",
    "https://mapped.example",
    "https://ula.example",
    # plain http, even to a public host, outside development
    "http://shop.example",
]


@pytest.mark.parametrize("url", REFUSED)
def test_validate_store_url_refuses_non_public_addresses(resolver: None, url: str) -> None:
    with pytest.raises(InvalidStoreUrl):
        validate_store_url(url, development=False)


def test_a_public_host_is_accepted(resolver: None) -> None:
    assert validate_store_url("https://Shop.Example/", development=False) == "https://shop.example"


@pytest.fixture
def production_app(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_client: Redis
) -> Iterator[Flask]:
    application = create_app(
        make_config(tmp_path, redis_server.url, development=False), TESTING=True
    )
    yield application
    state(application).db.dispose()


def signed_in(app: Flask) -> Any:
    """A client over https (session cookies are Secure outside development), signed in."""
    MerchantRepository(state(app).db).create(
        "owner@example.com", hash_password(PASSWORD), verified=True
    )
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    token = csrf_token(client.get("/signin").get_data(as_text=True))
    answer = client.post(
        "/signin", data={"csrf_token": token, "email": "owner@example.com", "password": PASSWORD}
    )
    assert answer.status_code == 303
    return client


def connect_token(client: Any) -> str:
    """The connect page's forms carry the token as `keys-csrf_token` (prefixed forms)."""
    html = client.get("/stores/connect").get_data(as_text=True)
    match = re.search(r'name="keys-csrf_token"[^>]*value="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1)


def test_the_connect_page_refuses_every_non_public_url_and_stores_nothing(
    resolver: None, production_app: Flask, redis_client: Redis
) -> None:
    client = signed_in(production_app)
    for url in REFUSED:
        for action in ("keys", "authorize"):
            token = connect_token(client)
            before = snapshot(production_app, redis_client)
            response = client.post(
                "/stores/connect",
                data={
                    "csrf_token": token,
                    "action": action,
                    f"{action}-store_url": url,
                    "keys-consumer_key": "ck_test",
                    "keys-consumer_secret": "cs_test",
                },
            )
            assert response.status_code == 400, (url, action)
            assert "Location" not in response.headers
            assert snapshot(production_app, redis_client) == before, (url, action)
    assert state(production_app).stores.list() == []


def test_the_authorize_form_accepts_a_public_store(
    resolver: None, production_app: Flask, redis_client: Redis
) -> None:
    """The control: the same form sends a public https store on to WooCommerce."""
    client = signed_in(production_app)
    token = connect_token(client)
    response = client.post(
        "/stores/connect",
        data={
            "csrf_token": token,
            "action": "authorize",
            "authorize-store_url": "https://shop.example",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://shop.example/wc-auth/v1/authorize?")
