"""The default badge image: readable colours, text that fits, the same picture every time;
and which pictures from elsewhere a baked badge may be made from."""

from __future__ import annotations

import base64
import io
from xml.etree import ElementTree

import pytest
from PIL import Image

from badges.issuing.badge_art import (
    contrast,
    default_png,
    default_svg,
    layout,
    palette_for,
)
from badges.wallets.exports import (
    data_uri_bytes,
    safe_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def test_every_colour_keeps_text_readable() -> None:
    palettes = [palette_for(f"https://example.org/achievements/{n}") for n in range(2000)]

    worst = min(
        min(contrast(p.text, p.background), contrast(p.issuer_text, p.background)) for p in palettes
    )

    assert worst >= 4.5
    assert len({p.background for p in palettes}) > 300  # badges rarely look alike


def test_the_same_achievement_always_gets_the_same_picture() -> None:
    args = ("https://example.org/achievements/1", "Close Reading", "Digital Promise")

    assert default_svg(*args) == default_svg(*args)
    assert default_png(*args) == default_png.__wrapped__(*args)
    assert palette_for("a") != palette_for("b")


def test_long_names_wrap_into_three_lines_and_shrink_to_fit() -> None:
    short = layout("x", "Number Talks", "NEA")
    long = layout("x", "W" * 60 + " and a very long tail of words besides", "A" * 80)

    assert short.name_lines == ("Number Talks",) and short.name_size == 30
    assert len(long.name_lines) == 3 and long.name_lines[-1].endswith("…")
    assert long.name_size < 30 and long.issuer.endswith("…")


def test_the_svg_is_accessible_and_escapes_names() -> None:
    root = ElementTree.fromstring(default_svg("x", 'Tom & "Jerry" <3', "Org & Co"))  # noqa: S314

    assert root.get("role") == "img"
    assert root.findtext(f"{SVG}title") == 'Tom & "Jerry" <3'
    assert root.findtext(f"{SVG}desc") == "Badge awarded by Org & Co"


# Names as stored before the API refused control characters, or as credentials from
# elsewhere carry them: every C0 control, DEL, a C1 control, lone surrogates (a JSON body
# may spell them, "\\ud800") and the two non-characters XML 1.0 cannot hold.
UNPRINTABLE = [chr(code) for code in range(0x20)] + ["\x7f", "\x85", "\ud800", "\udfff"]
UNPRINTABLE += ["\ufffe", "\uffff"]


@pytest.mark.parametrize("char", UNPRINTABLE, ids=lambda char: f"U+{ord(char):04X}")
def test_a_name_with_a_control_character_still_makes_well_formed_svg(char: str) -> None:
    svg = default_svg("x", f"Close{char}Reading", f"Digital{char}Promise")

    root = ElementTree.fromstring(svg.encode("utf-8"))  # noqa: S314  # our own document

    assert root.findtext(f"{SVG}title") == "Close Reading"
    assert root.findtext(f"{SVG}desc") == "Badge awarded by Digital Promise"
    assert [text.text for text in root.iter(f"{SVG}text")] == ["Close Reading", "Digital Promise"]
    assert default_png.__wrapped__("x", f"Close{char}Reading", f"Digital{char}Promise")


def test_markup_in_a_name_stays_text() -> None:
    name = 'Close ]]> <Reading/> & "<![CDATA[" &amp;'

    root = ElementTree.fromstring(default_svg("x", name, "A <b> & ]]>"))  # noqa: S314

    assert root.findtext(f"{SVG}title") == name
    assert root.findtext(f"{SVG}desc") == "Badge awarded by A <b> & ]]>"


def test_the_png_is_a_400_pixel_image() -> None:
    image = Image.open(io.BytesIO(default_png("x", "Number Talks", "NEA")))

    assert image.format == "PNG" and image.size == (400, 400)


def test_data_uris_are_read_within_limits() -> None:
    png = default_png("x", "A", "B")
    encoded = "data:image/png;base64," + base64.b64encode(png).decode()

    assert data_uri_bytes(encoded) == png
    assert data_uri_bytes("data:image/svg+xml,%3Csvg%2F%3E") == b"<svg/>"
    assert data_uri_bytes("data:text/html,<script>") is None
    assert data_uri_bytes(encoded, limit=10) is None


def test_only_self_contained_svg_without_scripts_is_used() -> None:
    ok = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'
    refused = [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
        b'<image x:href="https://tracker.example/p.png"/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import "https://x/y.css";</style></svg>',
        b'<?xml-stylesheet href="https://x/y.css"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b'<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
        b"<html/>",
        b"\xff\xfe",
    ]

    assert safe_svg(ok) is not None
    assert [safe_svg(item) for item in refused] == [None] * len(refused)
