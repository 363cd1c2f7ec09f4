"""The one address policy: which addresses the verifier and the webhook sender may reach.

Every IPv6 form that carries an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) is
judged by that IPv4 address, since something on the way delivers it there.
"""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from net.addresses import (
    embedded_ipv4,
    is_public_address,
    parse_address,
)
from verification.fetch import FetchError, FetchSettings, SafeFetcher

# Teredo keeps the client's IPv4 inverted: ~127.0.0.1 = 0x80fffffe, ~8.8.8.8 = 0xf7f7f7f7;
# 65.54.227.120 (0x4136e378) is the server.
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",  # IPv4-mapped
    "::8.8.8.8",  # IPv4-compatible
    "64:ff9b::808:808",  # NAT64 well-known prefix, as DNS64 answers on IPv6-only networks
    "2002:808:808::1",  # 6to4
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo
]

NOT_PUBLIC = [
    # IPv4 special-purpose blocks
    "0.0.0.0",  # noqa: S104  # an address judged, not bound
    "0.1.2.3",
    "10.1.2.3",
    "100.64.0.1",  # carrier-grade NAT
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",  # cloud metadata
    "172.16.0.1",
    "192.0.0.8",
    "192.0.2.1",  # documentation
    "192.88.99.1",  # 6to4 relay anycast
    "192.168.1.1",
    "198.18.0.1",  # benchmarking
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    # IPv6 native
    "::",
    "::1",
    "fe80::1",  # link-local
    "fe80::1%eth0",
    "fec0::1",  # site-local (deprecated, still routed inside sites)
    "fc00::1",  # unique-local
    "fd12:3456:789a::1",
    "ff02::1",  # multicast
    "ff0e::1",
    "100::1",  # discard-only
    "2001:db8::1",  # documentation
    "3fff::1",
    "2001:2::1",  # benchmarking
    "2001:10::1",  # ORCHID
    "5f00::1",  # SRv6 SIDs
    "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215): never public
    # IPv4 in IPv6, judged by the IPv4
    "::ffff:127.0.0.1",  # mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # compatible
    "::10.0.0.1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::6440:1",  # NAT64 of 100.64.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # Teredo, server 10.0.0.1
]


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_public(text: str) -> None:
    assert is_public_address(parse_address(text))


@pytest.mark.parametrize("text", NOT_PUBLIC)
def test_addresses_that_reach_a_private_network_are_not_public(text: str) -> None:
    assert not is_public_address(parse_address(text))


@pytest.mark.parametrize(
    ("text", "inner"),
    [
        ("::ffff:127.0.0.1", ("127.0.0.1",)),
        ("::127.0.0.1", ("127.0.0.1",)),
        ("64:ff9b::7f00:1", ("127.0.0.1",)),
        ("2002:7f00:1::1", ("127.0.0.1",)),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", ("65.54.227.120", "127.0.0.1")),
        ("2606:4700:4700::1111", None),
    ],
)
def test_the_ipv4_an_ipv6_address_is_delivered_to(text: str, inner: tuple[str, ...] | None):
    found = embedded_ipv4(ip_address(text))  # type: ignore[arg-type]

    assert found == (None if inner is None else tuple(ip_address(item) for item in inner))


def test_what_is_not_an_address_is_refused_by_the_parser() -> None:
    with pytest.raises(ValueError):
        parse_address("hooks.example.org")
    with pytest.raises(ValueError):
        parse_address("10.0.0.0/8")


@pytest.mark.parametrize(
    "host", ["[2002:7f00:1::1]", "[fec0::1]", "[64:ff9b::7f00:1]", "[::127.0.0.1]", "0.1.2.3"]
)
async def test_the_verifier_never_fetches_from_such_an_address(host: str) -> None:
    async with SafeFetcher(FetchSettings(allow_insecure_http=True, timeout_seconds=2)) as fetcher:
        with pytest.raises(FetchError) as refused:
            await fetcher.fetch(f"http://{host}:9/did.json")

    assert refused.value.reason == "private_address"
