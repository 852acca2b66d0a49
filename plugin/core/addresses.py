"""Which network addresses our processes may call on a merchant's behalf: public ones only
(outside development), so a store URL cannot point our workers at our own network."""

from __future__ import annotations

import ipaddress


def is_public_address(address: str) -> bool:
    """False for private, loopback, link-local, reserved, multicast or unspecified addresses.

    An IPv6 address that embeds an IPv4 one (IPv4-mapped, 6to4, Teredo) is judged by the
    IPv4 address too, since that is where a connection to it would go.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            candidates.append(ip.sixtofour)
        if ip.teredo is not None:
            candidates.extend(ip.teredo)
    for candidate in candidates:
        if (
            candidate.is_private
            or candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_reserved
            or candidate.is_multicast
            or candidate.is_unspecified
            or not candidate.is_global
        ):
            return False
    return True
