"""A `requests` transport that connects only to public addresses, checked on every connection.

A store URL is checked when the store is connected (plugin/usecases/connecting.py
`validate_store_url`), but its host name is resolved again for every connection: a name whose DNS
answer changes afterwards (DNS rebinding) would otherwise send our requests, with the store's keys,
into our own network. Here each new connection resolves the host, refuses it unless every address is
public, and connects to one of those same addresses (urllib3 connects to `_dns_host`, while TLS
still checks the certificate against the host name: urllib3/connection.py `HTTPConnection._new_conn`
and `HTTPSConnection.connect`). A refusal is a `PermanentError` with reason `private_address`,
raised before any byte is sent.

Requests through a proxy (HTTPS_PROXY) are not checked here: the proxy resolves the name.
"""

from __future__ import annotations

import socket
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from plugin.core.addresses import is_public_address
from plugin.errors import PermanentError


class PrivateAddressRefused(PermanentError):
    """The store's host name resolved to an address that is not public when we called it."""

    reason = "private_address"


def public_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, when all are public; PrivateAddressRefused if not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []  # urllib3 reports the name that does not resolve, as usual
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not all(is_public_address(address) for address in addresses):
        raise PrivateAddressRefused(
            f"The store's host name {host!r} now points at a private or reserved network "
            "address; nothing was sent to it."
        )
    return addresses


class _PublicConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        host = self._dns_host
        addresses = public_addresses(host, self.port)
        if not addresses:
            return super()._new_conn()  # no answer: urllib3's own error for the name
        failure: NewConnectionError | None = None
        try:
            for address in addresses:  # in resolver order, as socket.create_connection does
                self._dns_host = address
                try:
                    return super()._new_conn()
                except NewConnectionError as error:
                    failure = error
        finally:
            self._dns_host = host
        assert failure is not None
        raise failure


class _PublicHTTPSConnection(_PublicConnection, HTTPSConnection):
    pass


class _PublicPool(HTTPConnectionPool):
    ConnectionCls = _PublicConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicAddressAdapter(HTTPAdapter):
    """Mount on a `requests.Session` for the URLs whose host must be public."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicPool, "https": _PublicHTTPSPool}
