"""Baking (OB 3.0 §5.3) round trips through unbaking, and unbaking refuses hostile images."""

from __future__ import annotations

import json
import struct
import zlib
from xml.etree import ElementTree

import pytest

from badges.issuing.badge_art import default_svg
from formats.baking import (
    BakingError,
    bake_png,
    bake_svg,
    unbake_png,
    unbake_svg,
)

VALIDATOR_SVG = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="10" height="10">
<rect width="10" height="10"/></svg>
"""
CREDENTIAL = {"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "Close ]]> Reading"}
JWS = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2ln"


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def tiny_png(*extra: bytes) -> bytes:
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    data = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + data + b"".join(extra) + chunk(b"IEND", b"")


def text_chunks(png: bytes) -> list[bytes]:
    found, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        if kind in (b"iTXt", b"zTXt", b"tEXt"):
            found.append(png[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return found


def test_png_round_trip_json_and_jws() -> None:
    baked = bake_png(tiny_png(), CREDENTIAL)
    assert (
        unbake_png(baked)
        == '{"@context":["https://www.w3.org/ns/credentials/v2"],"name":"Close ]]> Reading"}'
    )
    assert unbake_png(bake_png(tiny_png(), JWS)) == JWS


def test_png_chunk_is_uncompressed_itxt_before_iend_and_rebaking_replaces_it() -> None:
    baked = bake_png(bake_png(tiny_png(), "first.jws.x"), JWS)
    chunks = text_chunks(baked)
    assert len(chunks) == 1
    assert chunks[0].startswith(b"openbadgecredential\x00\x00\x00")  # flag 0, method 0
    assert baked.endswith(chunk(b"IEND", b""))
    assert baked.index(b"iTXt") < baked.index(b"IEND")


def test_compressed_itxt_is_tolerated_but_bombs_are_refused() -> None:
    packed = zlib.compress(JWS.encode())
    png = tiny_png(chunk(b"iTXt", b"openbadgecredential\x00\x01\x00\x00\x00" + packed))
    assert unbake_png(png) == JWS
    bomb = zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    png = tiny_png(chunk(b"zTXt", b"openbadgecredential\x00\x00" + bomb))
    with pytest.raises(BakingError, match="inflates past"):
        unbake_png(png, max_text_bytes=1024 * 1024)


def test_png_errors_are_clear() -> None:
    with pytest.raises(BakingError, match='no "openbadgecredential" chunk'):
        unbake_png(tiny_png())
    with pytest.raises(BakingError, match=r"Open Badges 2\.0"):
        unbake_png(tiny_png(chunk(b"iTXt", b"openbadges\x00\x00\x00\x00\x00https://x")))
    broken = bytearray(bake_png(tiny_png(), JWS))
    broken[-20] ^= 0xFF
    with pytest.raises(BakingError):
        unbake_png(bytes(broken))
    with pytest.raises(BakingError, match="not a PNG"):
        unbake_png(b"GIF89a")


def test_svg_round_trip_keeps_the_doctype_and_rebaking_replaces() -> None:
    baked = bake_svg(VALIDATOR_SVG, CREDENTIAL)
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked
    assert (
        unbake_svg(baked)
        == '{"@context":["https://www.w3.org/ns/credentials/v2"],"name":"Close ]]> Reading"}'
    )
    rebaked = bake_svg(baked, JWS)
    assert rebaked.count("<openbadges:credential") == 1
    assert unbake_svg(rebaked) == JWS
    assert rebaked.startswith('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE svg PUBLIC')


def test_svg_with_entities_or_internal_subset_is_refused() -> None:
    laughs = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>'
    with pytest.raises(BakingError, match="ENTITY"):
        unbake_svg(laughs)
    subset = '<!DOCTYPE svg [<!ATTLIST svg x CDATA "1">]><svg/>'
    with pytest.raises(BakingError, match="internal subset"):
        unbake_svg(subset)
    external = '<!DOCTYPE svg SYSTEM "file:///etc/passwd"><svg xmlns="http://www.w3.org/2000/svg"/>'
    with pytest.raises(BakingError, match="no <openbadges:credential>"):
        unbake_svg(external)  # parsed without ever reading the external DTD


def test_svg_without_a_credential_or_not_xml() -> None:
    with pytest.raises(BakingError, match="not well-formed"):
        unbake_svg("<svg><g></svg>")
    with pytest.raises(BakingError, match="no <svg> start tag"):
        bake_svg("<html/>", JWS)


def test_a_png_or_svg_with_two_credentials_is_refused() -> None:
    once = bake_png(tiny_png(), JWS)
    (body,) = text_chunks(once)
    doubled = once[:-12] + chunk(b"iTXt", body) + once[-12:]  # a second chunk before IEND
    with pytest.raises(BakingError, match='more than one "openbadgecredential" chunk'):
        unbake_png(doubled)
    baked = bake_svg(VALIDATOR_SVG, JWS)
    element = f'<openbadges:credential verify="{JWS}"/>'
    with pytest.raises(BakingError, match="more than one <openbadges:credential>"):
        unbake_svg(baked.replace(element, element + element))


# Every character XML 1.0 cannot hold (C0 controls but tab, LF, CR; lone surrogates; U+FFFE,
# U+FFFF), with the ones it can, and markup.
AWKWARD_NAME = (
    "".join(chr(code) for code in range(0x20))
    + '\x7f\x85\ud800-\udfff\ufffe\uffff ]]> <b> & "quoted" \U0001f393'
)


def test_a_credential_with_any_characters_bakes_into_well_formed_svg() -> None:
    credential = {**CREDENTIAL, "name": AWKWARD_NAME}
    image = default_svg("https://example.org/achievements/1", "Close Reading", "Digital Promise")

    baked = bake_svg(image, credential)

    ElementTree.fromstring(baked.encode("utf-8"))  # noqa: S314  # raises if not well-formed
    assert json.loads(unbake_svg(baked)) == credential


def test_json_text_with_raw_control_characters_bakes_as_the_same_json() -> None:
    text = '{"name":"Close\x01Reading\x1f\uffff"}'  # as a caller might hand it over

    baked = bake_svg(VALIDATOR_SVG, text)

    assert json.loads(unbake_svg(baked)) == {"name": "Close\x01Reading\x1f\uffff"}


def test_a_jws_keeps_its_exact_text_and_one_xml_cannot_hold_is_refused() -> None:
    assert unbake_svg(bake_svg(VALIDATOR_SVG, JWS)) == JWS
    with pytest.raises(BakingError, match="compact JWS"):
        bake_svg(VALIDATOR_SVG, JWS + "\x00")
