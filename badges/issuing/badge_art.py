"""The default badge image: what a badge looks like when its achievement has no image.

One layout, drawn twice: as SVG (text stays text, so it is searchable and screen readers
get its `<title>`/`<desc>`) and as PNG (Pillow, with the FreeType font Pillow ships, so no
font is ever fetched and the picture is the same on every machine). The colour comes from
the achievement id, so a badge always looks the same and two badges rarely do; every
colour pair keeps text contrast of at least 4.5:1 (WCAG AA) against its background. Names
are drawn as printable text on one line: control characters become spaces (`_printable`).
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageDraw, ImageFont

SIZE: Final = 400  # px, both formats
_SUPERSAMPLE: Final = 3  # the PNG is drawn larger then reduced: smooth edges
_NAME_WIDTH: Final = 17  # characters per line of the achievement name
_NAME_LINES: Final = 3
_ISSUER_CHARS: Final = 40
_NAME_SIZE: Final = 30  # px, largest; smaller when a line would not fit
_ISSUER_SIZE: Final = 18
_NAME_WIDTH_PX: Final = 290  # the ring's chord where the name sits, less a margin
_ISSUER_WIDTH_PX: Final = 220
# The SVG names common fonts (wider than Pillow's, and bold); text is fitted as if this much
# wider than Pillow measures it, so it stays inside the ring in either format.
_SVG_WIDER: Final = 1.3
_FONT_FAMILY: Final = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
# Every control character (C0, DEL, C1), every surrogate code point and U+FFFE/U+FFFF. XML
# 1.0 (§2.2, `Char`) cannot hold most of them at all, so one in a name would make the SVG
# unreadable; the rest draw as nothing or as boxes.
_UNPRINTABLE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Palette:
    background: str  # dark: white text on it
    ring: str  # light: the ring and the emblem
    text: str
    issuer_text: str


@dataclass(frozen=True)
class Layout:
    name_lines: tuple[str, ...]
    name_baselines: tuple[int, ...]
    name_size: int
    issuer: str
    issuer_size: int
    palette: Palette


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(channel * 255):02x}" for channel in rgb)


def palette_for(achievement_id: str) -> Palette:
    """Colours derived from the achievement id (the same id, the same colours)."""
    hue = int.from_bytes(hashlib.sha256(achievement_id.encode()).digest()[:2], "big") % 360
    background = colorsys.hls_to_rgb(hue / 360, 0.26, 0.55)
    ring = colorsys.hls_to_rgb(hue / 360, 0.82, 0.65)
    return Palette(_hex(background), _hex(ring), "#ffffff", _hex(ring))


def _printable(text: str) -> str:
    """`text` on one line, each run of whitespace and control characters one space.

    The API refuses control characters in names, but rows stored before it did, and
    credentials issued elsewhere, may hold any.
    """
    return " ".join(_UNPRINTABLE.sub(" ", text).split())


def _name_lines(name: str) -> tuple[str, ...]:
    lines = textwrap.wrap(" ".join(name.split()), _NAME_WIDTH, break_long_words=True) or ["Badge"]
    if len(lines) > _NAME_LINES:
        last = lines[_NAME_LINES - 1]
        lines = [*lines[: _NAME_LINES - 1], last[: _NAME_WIDTH - 1].rstrip() + "…"]
    return tuple(lines)


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fits(line: str, size: int, width: int) -> bool:
    return _pillow_font(size).getlength(line) * _SVG_WIDER <= width


def _fitting_size(lines: tuple[str, ...], largest: int, width: int, smallest: int = 12) -> int:
    """The largest font size (px) at which every line fits in `width`, in either format."""
    size = largest
    while size > smallest and any(
        _pillow_font(size).getlength(line) * _SVG_WIDER > width for line in lines
    ):
        size -= 1
    return size


@lru_cache(maxsize=64)
def _pillow_font(size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType
        raise RuntimeError("Pillow needs FreeType to draw badge text")
    return font


def layout(achievement_id: str, name: str, issuer: str) -> Layout:
    name, issuer = _printable(name), _printable(issuer)
    lines = _name_lines(name)
    size = _fitting_size(lines, _NAME_SIZE, _NAME_WIDTH_PX)
    step = round(size * 1.2)
    first = 210 - (len(lines) - 1) * step // 2 + size // 3
    shown_issuer = _one_line(issuer, _ISSUER_CHARS)
    while len(shown_issuer) > 8 and not _fits(shown_issuer, 13, _ISSUER_WIDTH_PX):
        shown_issuer = _one_line(issuer, len(shown_issuer) - 1)
    return Layout(
        name_lines=lines,
        name_baselines=tuple(first + index * step for index in range(len(lines))),
        name_size=size,
        issuer=shown_issuer,
        issuer_size=_fitting_size((shown_issuer,), _ISSUER_SIZE, _ISSUER_WIDTH_PX, 13),
        palette=palette_for(achievement_id),
    )


def _star(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    points = []
    for index in range(10):
        radius = outer if index % 2 == 0 else inner
        angle = math.pi / 5 * index - math.pi / 2
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


STAR: Final = _star(200, 112, 38, 16)


def default_svg(achievement_id: str, name: str, issuer: str) -> str:
    """The default badge image as an SVG document."""
    name, issuer = _printable(name), _printable(issuer)
    art = layout(achievement_id, name, issuer)
    colours = art.palette
    star = " ".join(f"{x:.1f},{y:.1f}" for x, y in STAR)
    text = "".join(
        f'<text x="200" y="{y}">{escape(line)}</text>'
        for line, y in zip(art.name_lines, art.name_baselines, strict=True)
    )
    title = escape(name or "Badge")
    description = escape(f"Badge awarded by {issuer}" if issuer else "Badge")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}" role="img" aria-labelledby="title desc">'
        f'<title id="title">{title}</title><desc id="desc">{description}</desc>'
        f'<circle cx="200" cy="200" r="196" fill={quoteattr(colours.background)}/>'
        f'<circle cx="200" cy="200" r="178" fill="none" stroke={quoteattr(colours.ring)} '
        'stroke-width="6"/>'
        f"<polygon points={quoteattr(star)} fill={quoteattr(colours.ring)}/>"
        f"<g fill={quoteattr(colours.text)} font-family={quoteattr(_FONT_FAMILY)} "
        f'font-size="{art.name_size}" font-weight="bold" text-anchor="middle">{text}</g>'
        f'<line x1="140" y1="296" x2="260" y2="296" stroke={quoteattr(colours.ring)} '
        'stroke-width="2"/>'
        f'<text x="200" y="328" fill={quoteattr(colours.issuer_text)} '
        f'font-family={quoteattr(_FONT_FAMILY)} font-size="{art.issuer_size}" '
        f'text-anchor="middle">{escape(art.issuer)}</text>'
        "</svg>\n"
    )


@lru_cache(maxsize=256)
def default_png(achievement_id: str, name: str, issuer: str) -> bytes:
    """The same badge image as a PNG (drawn, not rasterised from the SVG)."""
    art = layout(achievement_id, name, issuer)
    colours = art.palette
    k = _SUPERSAMPLE
    image = Image.new("RGBA", (SIZE * k, SIZE * k), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse([4 * k, 4 * k, 396 * k, 396 * k], fill=colours.background)
    draw.ellipse([22 * k, 22 * k, 378 * k, 378 * k], outline=colours.ring, width=6 * k)
    draw.polygon([(x * k, y * k) for x, y in STAR], fill=colours.ring)
    name_font = _pillow_font(art.name_size * k)
    for line, y in zip(art.name_lines, art.name_baselines, strict=True):
        # A thin outline in the text's own colour stands in for the SVG's bold weight.
        draw.text(
            (200 * k, y * k),
            line,
            font=name_font,
            fill=colours.text,
            anchor="ms",
            stroke_width=k - 1,
            stroke_fill=colours.text,
        )
    draw.line([140 * k, 296 * k, 260 * k, 296 * k], fill=colours.ring, width=2 * k)
    draw.text(
        (200 * k, 328 * k),
        art.issuer,
        font=_pillow_font(art.issuer_size * k),
        fill=colours.issuer_text,
        anchor="ms",
    )
    output = io.BytesIO()
    image.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(output, "PNG", optimize=True)
    return output.getvalue()


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two `#rrggbb` colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)
