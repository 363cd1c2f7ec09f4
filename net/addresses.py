"""Which IP addresses the service may connect to on a stranger's say-so: the one policy.

The verifier fetches URLs that credentials name, and webhooks are posted to URLs providers
register; either could point the service at its own network (cloud metadata at
169.254.169.254, an admin port on loopback, a database on 10.x). Both ask `is_public_address`
about every address they would connect to.

An address is public when it is in a block the IANA special-purpose registries mark
globally reachable and that a server could be found at: IPv4 outside the special blocks
below, IPv6 inside global unicast 2000::/3 (RFC 4291 §2.4) outside its special blocks.
IPv6 forms that carry an IPv4 address are judged by that address, because a host, NAT64
gateway or tunnel relay delivers them to it:

- IPv4-mapped ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): a dual-stack socket connects to a.b.c.d;
- IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated);
- NAT64 64:ff9b::a.b.c.d (RFC 6052 §2.1, the well-known prefix);
- 6to4 2002:AABB:CCDD::/48 (RFC 3056 §2), the IPv4 in bits 16-47;
- Teredo 2001:0::/32 (RFC 4380 §4): the server and the (bit-inverted) client IPv4 must both
  be public.

The local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215) is never public: where the IPv4 sits
in it depends on a prefix length only the local network knows, and RFC 8215 §3 says it is
not globally reachable.

The tables are written out rather than taken from `ipaddress.is_global`, whose answers
change between Python releases (3.11 calls 64:ff9b::7f00:1 and fec0::1 global).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Final

IPAddress = IPv4Address | IPv6Address

# IANA IPv4 Special-Purpose Address Registry (RFC 6890), plus multicast and the old 6to4
# relay anycast; a few blocks it calls globally reachable (anycast PCP/TURN in 192.0.0.0/24)
# are refused too: no webhook receiver or credential host lives there.
_SPECIAL_IPV4: Final[tuple[IPv4Network, ...]] = tuple(
    IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network" (RFC 791); 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",  # private (RFC 1918)
        "100.64.0.0/10",  # shared address space, carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",  # loopback (RFC 1122)
        "169.254.0.0/16",  # link-local (RFC 3927), cloud metadata services
        "172.16.0.0/12",  # private (RFC 1918)
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
        "192.0.2.0/24",  # documentation TEST-NET-1 (RFC 5737)
        "192.88.99.0/24",  # 6to4 relay anycast (RFC 3068, deprecated by RFC 7526)
        "192.168.0.0/16",  # private (RFC 1918)
        "198.18.0.0/15",  # benchmarking (RFC 2544)
        "198.51.100.0/24",  # documentation TEST-NET-2 (RFC 5737)
        "203.0.113.0/24",  # documentation TEST-NET-3 (RFC 5737)
        "224.0.0.0/4",  # multicast (RFC 5771)
        "240.0.0.0/4",  # reserved (RFC 1112), including broadcast 255.255.255.255
    )
)

_GLOBAL_UNICAST: Final = IPv6Network("2000::/3")
# The special blocks inside 2000::/3 (IANA IPv6 Special-Purpose Address Registry); those
# outside it (loopback, unspecified, unique-local fc00::/7, link-local fe80::/10, the old
# site-local fec0::/10, multicast ff00::/8, discard 100::/64, 64:ff9b:1::/48, SRv6 5f00::/16)
# are refused by not being global unicast at all.
_SPECIAL_IPV6: Final[tuple[IPv6Network, ...]] = tuple(
    IPv6Network(block)
    for block in (
        "2001::/23",  # IETF protocol assignments (RFC 2928); Teredo inside is judged apart
        "2001:db8::/32",  # documentation (RFC 3849)
        "3fff::/20",  # documentation (RFC 9637)
    )
)

_MAPPED: Final = IPv6Network("::ffff:0:0/96")
_COMPATIBLE: Final = IPv6Network("::/96")
_NAT64: Final = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR: Final = IPv6Network("2002::/16")
_TEREDO: Final = IPv6Network("2001::/32")


def is_public_address(address: IPAddress) -> bool:
    """True if a connection to `address` leaves for the public Internet (see the module)."""
    if isinstance(address, IPv4Address):
        return _is_public_ipv4(address)
    embedded = embedded_ipv4(address)
    if embedded is not None:
        return all(_is_public_ipv4(inner) for inner in embedded)
    return address in _GLOBAL_UNICAST and not any(address in block for block in _SPECIAL_IPV6)


def embedded_ipv4(address: IPv6Address) -> tuple[IPv4Address, ...] | None:
    """The IPv4 address(es) an IPv6 address is delivered to, if it is one of the forms
    that carry one (mapped, compatible, NAT64, 6to4, Teredo); None for a native address."""
    low32 = IPv4Address(int(address) & 0xFFFF_FFFF)
    if address in _MAPPED or address in _COMPATIBLE or address in _NAT64:
        return (low32,)  # :: and ::1 land on 0.0.0.0 and 0.0.0.1: never public either
    if address in _SIX_TO_FOUR:
        return (IPv4Address((int(address) >> 80) & 0xFFFF_FFFF),)
    if address in _TEREDO:
        server = IPv4Address((int(address) >> 64) & 0xFFFF_FFFF)
        client = IPv4Address(~int(address) & 0xFFFF_FFFF)  # stored inverted (RFC 4380 §4)
        return (server, client)
    return None


def parse_address(text: str) -> IPAddress:
    """An address as `getaddrinfo` reports it (an IPv6 zone such as `%eth0` dropped);
    ValueError if it is not one."""
    return ip_address(text.split("%", 1)[0])


def _is_public_ipv4(address: IPv4Address) -> bool:
    return not any(address in block for block in _SPECIAL_IPV4)
