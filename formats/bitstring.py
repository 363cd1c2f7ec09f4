"""W3C Bitstring Status List bits: encoding a list (issuing), decoding one and reading a
bit (verification), and the permutation that spreads indices over a list.

Bit order follows the Recommendation: index 0 is the most significant (left-most) bit of the
first byte. `encodedList` is "u" (multibase base64url, no padding) + the GZIP of the bits.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import zlib
from typing import Any, Final

# 131,072 entries (16 KiB): the Recommendation's minimum for herd privacy.
LIST_SIZE: Final = 131_072
_HALF_BITS: Final = 9  # a balanced Feistel network over 18 bits covers the 17-bit list
_HALF_MASK: Final = (1 << _HALF_BITS) - 1
_ROUNDS: Final = 4


def empty_bits(size: int = LIST_SIZE) -> bytes:
    return bytes(size // 8)


def get_bit(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytes, index: int, value: bool) -> bytes:
    buffer = bytearray(bits)
    if value:
        buffer[index // 8] |= 0x80 >> (index % 8)
    else:
        buffer[index // 8] &= ~(0x80 >> (index % 8)) & 0xFF
    return bytes(buffer)


def encode_list(bits: bytes) -> str:
    # mtime=0 keeps the encoding (and so the signed list) a pure function of the bits.
    compressed = gzip.compress(bits, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_list(encoded: str, *, max_bytes: int = 16 * LIST_SIZE) -> bytes:
    """The bits of an `encodedList`; refuses output beyond `max_bytes` (gzip bombs)."""
    if not encoded.startswith("u"):
        raise ValueError('encodedList must be multibase base64url (start with "u")')
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as error:
        raise ValueError("encodedList is not base64url") from error
    inflater = zlib.decompressobj(wbits=31)
    try:
        bits = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as error:
        raise ValueError("encodedList is not GZIP data") from error
    if len(bits) > max_bytes or inflater.unconsumed_tail:
        raise ValueError(f"encodedList expands beyond {max_bytes} bytes")
    return bits


def permute(seed: bytes, position: int, size: int = LIST_SIZE) -> int:
    """A keyed bijection on `range(size)`: the list index for the `position`-th allocation.

    Feistel rounds keyed with HMAC-SHA256 permute 18-bit values; "cycle walking" repeats the
    permutation until the value falls inside the list, which keeps it a bijection.
    """
    if not 0 <= position < size or size > 1 << (2 * _HALF_BITS):
        raise ValueError("position outside the list")
    value = position
    while True:
        value = _feistel(seed, value)
        if value < size:
            return value


def _feistel(seed: bytes, value: int) -> int:
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    for round_number in range(_ROUNDS):
        message = bytes((round_number,)) + right.to_bytes(2, "big")
        digest = hmac.new(seed, message, hashlib.sha256).digest()
        left, right = right, left ^ (int.from_bytes(digest[:2], "big") & _HALF_MASK)
    return (left << _HALF_BITS) | right


def decode_bitstring(encoded: Any, max_bytes: int) -> bytes:
    """The raw bitstring of `encodedList`; ValueError if malformed or too large."""
    if not isinstance(encoded, str) or not encoded:
        raise ValueError('"encodedList" must be a non-empty string')
    # Bitstring Status List: multibase "u" + base64url; StatusList2021: base64url alone.
    text = encoded[1:] if encoded.startswith("u") else encoded
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError('"encodedList" is not base64url') from None
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as error:
        raise ValueError(f'"encodedList" is not GZIP data: {error}') from None
    if len(raw) > max_bytes:
        raise ValueError(f"the status list inflates past {max_bytes} bytes; refused")
    return raw


def bit_is_set(bitstring: bytes, index: int) -> bool:
    return bool(bitstring[index // 8] >> (7 - index % 8) & 1)
