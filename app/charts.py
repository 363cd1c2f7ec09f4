"""Charts drawn on the server as standalone SVG: no script, no font or library fetched.

Made to be read by everyone: the SVG is an image with a title and a description that says
what the chart shows and the last value of each line (`role="img"`, `aria-labelledby`);
every point carries its own title (its series, period and value); axes, ticks and legend
are text; lines differ by dash as well as by colour (the Okabe-Ito palette, told apart
with any colour vision).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape, quoteattr

WIDTH: Final = 760
PLOT_TOP: Final = 64
PLOT_HEIGHT: Final = 280
LEFT: Final = 72
RIGHT: Final = 44  # room for the last period's label, centred on its point
LEGEND_ROW: Final = 22
TICKS: Final = 4
MAX_TICK_LABELS: Final = 12
COLOURS: Final = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES: Final = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4")
# XML 1.0 cannot hold C0 controls (but tab, LF, CR), surrogates, U+FFFE or U+FFFF; names
# drawn here come from stored data that may (a membership's district is free text).
_NOT_XML: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
SVG_MEDIA_TYPE: Final = "image/svg+xml"
_Position = Callable[[int], float]  # a label's index -> x
_Scale = Callable[[float], float]  # a value -> y


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per label; None: no value there (a gap)


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", value))


def _number(value: float, unit: str) -> str:
    return f"{value:.1f}".removesuffix(".0") + unit


def _axis_top(values: Sequence[float]) -> float:
    """A round axis maximum at or above every value, in four steps of 1, 2, 2.5 or 5 times
    a power of ten (whole steps when the values are whole: no half an educator)."""
    top = max(values, default=0.0) / TICKS
    if top <= 0:
        return float(TICKS)
    power = 10.0 ** math.floor(math.log10(top))
    step = next(float(s * power) for s in (1, 2, 2.5, 5, 10) if s * power >= top)
    if all(value == int(value) for value in values):
        step = float(max(1, math.ceil(step)))
    return step * TICKS


def line_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    y_label: str,
    *,
    unit: str = "",
    y_max: float | None = None,
) -> str:
    """An SVG line chart of `series` over `labels` (periods)."""
    drawn = [value for item in series for value in item.values if value is not None]
    top = y_max if y_max is not None else _axis_top(drawn)
    height = PLOT_TOP + PLOT_HEIGHT + 56 + LEGEND_ROW * max(len(series), 1)
    plot_width = WIDTH - LEFT - RIGHT
    step = plot_width / max(len(labels) - 1, 1)

    def x(index: int) -> float:
        return LEFT + (step * index if len(labels) > 1 else plot_width / 2)

    def y(value: float) -> float:
        return PLOT_TOP + PLOT_HEIGHT * (1 - min(value, top) / top)

    summary = _summary(description, labels, series, unit, bool(drawn))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="chart-title chart-desc" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">',
        f'<title id="chart-title">{_text(title)}</title>',
        f'<desc id="chart-desc">{_text(summary)}</desc>',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="28" font-size="16" font-weight="bold" fill="#111">'
        f"{_text(title)}</text>",
        *_axes(labels, top, unit, y_label, x, y),
    ]
    for index, item in enumerate(series):
        parts += _line(index, item, labels, unit, x, y)
    if not drawn:
        parts.append(
            f'<text x="{LEFT + plot_width / 2}" y="{PLOT_TOP + PLOT_HEIGHT / 2}" '
            'text-anchor="middle" fill="#333">No values to draw for this range.</text>'
        )
    parts += _legend(series, PLOT_TOP + PLOT_HEIGHT + 52)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _summary(
    description: str, labels: Sequence[str], series: Sequence[Series], unit: str, drawn: bool
) -> str:
    if not labels or not drawn:
        return f"{description} No values to draw for this range."
    span = f"{labels[0]} to {labels[-1]}" if len(labels) > 1 else labels[0]
    lasts = []
    for item in series:
        last = next(
            (
                (label, value)
                for label, value in zip(reversed(labels), reversed(item.values), strict=True)
                if value is not None
            ),
            None,
        )
        shown = f"{_number(last[1], unit)} in {last[0]}" if last is not None else "no values"
        lasts.append(f"{item.name}: {shown}")
    return f"{description} Periods {span}. Latest values: {'; '.join(lasts)}."


def _axes(
    labels: Sequence[str],
    top: float,
    unit: str,
    y_label: str,
    x: _Position,
    y: _Scale,
) -> list[str]:
    parts = []
    for tick in range(TICKS + 1):
        value = top * tick / TICKS
        at = y(value)
        parts.append(
            f'<line x1="{LEFT}" y1="{at:.1f}" x2="{WIDTH - RIGHT}" y2="{at:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 8}" y="{at + 4:.1f}" text-anchor="end" fill="#333">'
            f"{_text(_number(value, unit))}</text>"
        )
    parts.append(
        f'<text transform="translate(16 {PLOT_TOP + PLOT_HEIGHT / 2}) rotate(-90)" '
        f'text-anchor="middle" fill="#333">{_text(y_label)}</text>'
    )
    bottom = PLOT_TOP + PLOT_HEIGHT
    parts.append(
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#555"/>'
    )
    every = max(1, math.ceil(len(labels) / MAX_TICK_LABELS))
    for index, label in enumerate(labels):
        if index % every and index != len(labels) - 1:
            continue
        parts.append(
            f'<text x="{x(index):.1f}" y="{bottom + 18}" text-anchor="middle" fill="#333">'
            f"{_text(label)}</text>"
        )
    return parts


def _line(
    index: int,
    item: Series,
    labels: Sequence[str],
    unit: str,
    x: _Position,
    y: _Scale,
) -> list[str]:
    colour = COLOURS[index % len(COLOURS)]
    dash = DASHES[index % len(DASHES)]
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    parts = [f"<g aria-label={_attr(item.name)}>"]
    # A gap (no value) breaks the line: each run of values is its own path.
    run: list[str] = []
    for position, value in enumerate(item.values):
        if value is None:
            parts += _path(run, colour, dashed)
            run = []
            continue
        run.append(f"{x(position):.1f},{y(value):.1f}")
    parts += _path(run, colour, dashed)
    for position, (label, value) in enumerate(zip(labels, item.values, strict=False)):
        if value is None:
            continue
        parts.append(
            f'<circle cx="{x(position):.1f}" cy="{y(value):.1f}" r="3.5" fill="{colour}">'
            f"<title>{_text(f'{item.name}, {label}: {_number(value, unit)}')}</title></circle>"
        )
    parts.append("</g>")
    return parts


def _path(points: list[str], colour: str, dashed: str) -> list[str]:
    if len(points) < 2:
        return []
    return [
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
        f'stroke-width="2"{dashed}/>'
    ]


def _legend(series: Sequence[Series], top: float) -> list[str]:
    parts = []
    for index, item in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        dash = DASHES[index % len(DASHES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        row = top + LEGEND_ROW * index
        parts.append(
            f'<line x1="{LEFT}" y1="{row:.1f}" x2="{LEFT + 28}" y2="{row:.1f}" '
            f'stroke="{colour}" stroke-width="2"{dashed}/>'
        )
        empty = all(value is None for value in item.values)
        name = f"{item.name} (no values)" if empty else item.name
        parts.append(f'<text x="{LEFT + 36}" y="{row + 4:.1f}" fill="#111">{_text(name)}</text>')
    return parts
