"""Baked badges (OB 3.0 §5.3): a credential carried inside its PNG or SVG image.

PNG: one `iTXt` chunk with keyword `openbadgecredential`, compression flag 0, holding the
compact JWS or the credential JSON, placed before `IEND`. SVG: one
`<openbadges:credential>` (xmlns `https://purl.imsglobal.org/ob/v3p0`) right after the
`<svg>` start tag, with `verify="<JWS>"` or the JSON in CDATA. Baking again replaces the
credential (the spec allows "error or overwrite"; overwrite lets a re-issued badge be
re-baked). Unbaking refuses an image that holds two credentials, which §5.3 forbids. Baked
SVG is always well-formed XML: in JSON text the characters XML cannot hold are written as
`\\uXXXX` escapes (the same JSON), and a JWS holding one is refused.

Unbaking reads images from anyone, so it is defensive: sizes are bounded, compressed text
(tolerated though the spec forbids it) is inflated with a hard output limit, and SVG is
parsed only after refusing entity declarations and DTD internal subsets (no defusedxml in
the environment; expat never fetches an external DTD). Every refusal is a `BakingError`.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from typing import Any, Final
from xml.etree import ElementTree

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
KEYWORD: Final = b"openbadgecredential"
OB2_KEYWORD: Final = b"openbadges"
SVG_NAMESPACE: Final = "https://purl.imsglobal.org/ob/v3p0"
OB2_SVG_NAMESPACE: Final = "http://openbadges.org"
DEFAULT_MAX_TEXT: Final = 1024 * 1024
_TEXT_CHUNKS: Final = (b"iTXt", b"zTXt", b"tEXt")


class BakingError(ValueError):
    """An image that cannot be baked or holds no readable credential."""


def _payload_text(payload: str | Mapping[str, Any]) -> str:
    if isinstance(payload, Mapping):
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    if not isinstance(payload, str) or not payload.strip():
        raise BakingError("payload must be a compact JWS or a credential object")
    return payload.strip()


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes, int, int]]:
    """(type, data, start, end) of each chunk up to IEND; BakingError if malformed."""
    if not data.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image (bad signature)")
    offset = len(PNG_SIGNATURE)
    while True:
        if offset + 12 > len(data):
            raise BakingError("PNG ends before its IEND chunk")
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise BakingError(f"PNG chunk {kind!r} is longer than the file")
        body = data[offset + 8 : offset + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end - 4 : end])[0]:
            raise BakingError(f"PNG chunk {kind.decode('latin-1')} has a bad CRC")
        yield kind, body, offset, end
        if kind == b"IEND":
            return
        offset = end


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _keyword(body: bytes) -> bytes:
    return body.split(b"\0", 1)[0]


def bake_png(image: bytes, payload: str | Mapping[str, Any]) -> bytes:
    """`image` with the credential in one uncompressed `openbadgecredential` iTXt chunk."""
    text = _payload_text(payload).encode("utf-8")
    # keyword \0, compression flag 0, method 0, empty language \0, empty translation \0
    new_chunk = _chunk(b"iTXt", KEYWORD + b"\0\0\0\0\0" + text)
    out = bytearray(PNG_SIGNATURE)
    for kind, body, start, end in _chunks(image):
        if kind in _TEXT_CHUNKS and _keyword(body) == KEYWORD:
            continue  # re-baking replaces the old credential
        if kind == b"IEND":
            out += new_chunk
        out += image[start:end]
    return bytes(out)


def _inflate(compressed: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(compressed, limit + 1)
    except zlib.error as error:
        raise BakingError(f"compressed badge text is corrupt: {error}") from None
    if len(text) > limit:
        raise BakingError(f"compressed badge text inflates past {limit} bytes; refused")
    return text


def _chunk_text(kind: bytes, body: bytes, limit: int) -> bytes:
    rest = body.split(b"\0", 1)[1] if b"\0" in body else b""
    if kind == b"tEXt":
        return rest
    if kind == b"zTXt":
        return _inflate(rest[1:], limit)
    if len(rest) < 2:
        raise BakingError("iTXt chunk is truncated")
    flag, fields = rest[0], rest[2:]
    parts = fields.split(b"\0", 2)  # language, translated keyword, text
    if len(parts) != 3:
        raise BakingError("iTXt chunk is truncated")
    return _inflate(parts[2], limit) if flag == 1 else parts[2]


def unbake_png(image: bytes, *, max_text_bytes: int = DEFAULT_MAX_TEXT) -> str:
    """The credential text (JWS or JSON) of the `openbadgecredential` chunk.

    A PNG with two such chunks is refused: §5.3.1 allows only one, and a verifier that
    read the first while a wallet showed the second could be made to vouch for the wrong one.
    """
    found: tuple[bytes, bytes] | None = None
    ob2 = False
    for kind, body, _, _ in _chunks(image):
        if kind not in _TEXT_CHUNKS:
            continue
        keyword = _keyword(body)
        if keyword == KEYWORD:
            if found is not None:
                raise BakingError(
                    'this PNG holds more than one "openbadgecredential" chunk; '
                    "a baked badge carries exactly one (OB 3.0 §5.3.1)"
                )
            found = (kind, body)
        ob2 = ob2 or keyword == OB2_KEYWORD
    if found is None:
        if ob2:
            raise BakingError(
                "this PNG holds an Open Badges 2.0 assertion, not an OB 3.0 credential"
            )
        raise BakingError('this PNG holds no "openbadgecredential" chunk: it is not a baked badge')
    kind, body = found
    text = _chunk_text(kind, body, max_text_bytes)
    if len(text) > max_text_bytes:
        raise BakingError(f"baked credential is larger than {max_text_bytes} bytes")
    try:
        return text.decode("utf-8" if kind == b"iTXt" else "latin-1").strip()
    except UnicodeDecodeError:
        raise BakingError("baked credential text is not UTF-8") from None


_SVG_START: Final = re.compile(r"<svg\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(/?)>")
_OLD_CREDENTIAL: Final = re.compile(
    r"<openbadges:credential\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(?:/>|>.*?</openbadges:credential>)"
    r"\s*",
    re.DOTALL,
)
_XMLNS: Final = f'xmlns:openbadges="{SVG_NAMESPACE}"'
# What XML 1.0 cannot hold, not even as a character reference (§2.2 `Char`, WFC: Legal
# Character): C0 controls but tab, LF and CR; surrogates; U+FFFE and U+FFFF.
_NOT_XML: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Attribute values have their tabs and line breaks turned into spaces by XML parsers
# (§3.3.3) unless written as character references.
_ATTRIBUTE_ESCAPES: Final = str.maketrans(
    {"&": "&amp;", '"': "&quot;", "<": "&lt;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)


def _escape_attribute(value: str) -> str:
    if _NOT_XML.search(value):
        raise BakingError("payload must be a compact JWS (base64url parts joined by dots)")
    return value.translate(_ATTRIBUTE_ESCAPES)


def _json_for_xml(text: str) -> str:
    """`text` with each character XML cannot hold as a `\\uXXXX` escape. In JSON such a
    character can only stand inside a string, where the escape means the same character."""
    return _NOT_XML.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def bake_svg(svg: str, payload: str | Mapping[str, Any]) -> str:
    """`svg` with one `<openbadges:credential>` right after the `<svg>` start tag."""
    text = _payload_text(payload)
    svg = _OLD_CREDENTIAL.sub("", svg)
    start = _SVG_START.search(svg)
    if start is None or start.group(1):
        raise BakingError("no <svg> start tag with content to bake into")
    tag = start.group(0)
    if "xmlns:openbadges=" not in tag:
        tag = f"{tag[:-1].rstrip()} {_XMLNS}>"
    if isinstance(payload, Mapping) or text.startswith("{"):
        cdata = _json_for_xml(text).replace("]]>", "]]]]><![CDATA[>")
        element = f"<openbadges:credential><![CDATA[{cdata}]]></openbadges:credential>"
    else:
        element = f'<openbadges:credential verify="{_escape_attribute(text)}"/>'
    return svg[: start.start()] + tag + element + svg[start.end() :]


_DOCTYPE: Final = re.compile(r"<!DOCTYPE(?:[^>\"'\[]|\"[^\"]*\"|'[^']*')*(\[)?", re.IGNORECASE)


def unbake_svg(svg: str, *, max_text_bytes: int = DEFAULT_MAX_TEXT) -> str:
    """The credential text of the one `<openbadges:credential>` of an SVG document."""
    if re.search(r"<!ENTITY", svg, re.IGNORECASE):
        raise BakingError("SVG declares XML entities (<!ENTITY); refused as unsafe")
    doctype = _DOCTYPE.search(svg)
    if doctype is not None and doctype.group(1):
        raise BakingError("SVG has a DOCTYPE with an internal subset; refused as unsafe")
    try:
        root = ElementTree.fromstring(svg)  # noqa: S314  # entities and DTD subsets refused above
    except ElementTree.ParseError as error:
        raise BakingError(f"SVG is not well-formed XML: {error}") from None
    credentials = root.iter(f"{{{SVG_NAMESPACE}}}credential")
    found = next(credentials, None)
    if found is not None and next(credentials, None) is not None:
        raise BakingError(
            "this SVG holds more than one <openbadges:credential>; "
            "a baked badge carries exactly one (OB 3.0 §5.3.2)"
        )
    if found is None:
        if next(root.iter(f"{{{OB2_SVG_NAMESPACE}}}assertion"), None) is not None:
            raise BakingError("this SVG holds an Open Badges 2.0 assertion, not OB 3.0")
        raise BakingError("this SVG holds no <openbadges:credential>: it is not a baked badge")
    text = (found.get("verify") or found.text or "").strip()
    if not text:
        raise BakingError("<openbadges:credential> is empty")
    if len(text.encode("utf-8")) > max_text_bytes:
        raise BakingError(f"baked credential is larger than {max_text_bytes} bytes")
    return text
