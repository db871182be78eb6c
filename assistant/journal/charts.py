"""Small bar and line charts written directly as SVG, for the report.

The report's five charts are plain bars and one line: written here as SVG text they cost a few
milliseconds, where matplotlib took a second and a half to import and draw them at 1,000 sessions
(``BENCHMARKS.md``, section 6). Every label is text (it scales, prints and can be searched), every
text is XML-escaped, and the picture has a ``viewBox`` and no fixed size, so the page's CSS sizes
it to its box (phone or print). Sizes are in SVG units; text is ``FONT`` units high.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

FONT = 11.0
"""Text size (SVG units); the page draws a 600-unit wide chart about 600 px wide."""
CHAR = 0.58 * FONT
"""The width of an average character: enough to leave room for a label without measuring it."""
INK, MUTED, GRID = "#222", "#666", "#e3e3e3"


def text_width(text: str) -> float:
    return len(text) * CHAR


def short(text: str, most: int = 32) -> str:
    """A label cut to ``most`` characters (the whole text stays in the bar's tooltip and the page)."""
    return text if len(text) <= most else text[: most - 1] + "…"


@dataclass
class Canvas:
    """One SVG picture being drawn: elements are appended, ``svg()`` closes it."""

    width: float
    """Width of the picture (SVG units)."""
    height: float
    """Height of the picture (SVG units)."""
    label: str
    """What a screen reader says the picture is."""
    parts: list[str] = field(default_factory=list)
    """The SVG elements drawn so far, in order."""

    def rect(self, x: float, y: float, w: float, h: float, color: str, title: str | None = None) -> None:
        shape = f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{color}"'
        self.parts.append(f"{shape}><title>{escape(title)}</title></rect>" if title else shape + "/>")

    def line(self, x1: float, y1: float, x2: float, y2: float, color: str = MUTED, width: float = 1.0) -> None:
        self.parts.append(f'<path d="M{x1:.1f} {y1:.1f}L{x2:.1f} {y2:.1f}" stroke="{color}" '
                          f'stroke-width="{width}" fill="none"/>')

    def text(self, x: float, y: float, value: object, anchor: str = "start", size: float = FONT,
             color: str = INK, rotate: float = 0, bold: bool = False) -> None:
        turn = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        weight = ' font-weight="600"' if bold else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                          f'fill="{color}"{weight}{turn}>{escape(str(value))}</text>')

    def polyline(self, points: list[tuple[float, float]], color: str, dots: bool) -> None:
        path = "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in points)
        self.parts.append(f'<path d="{path}" stroke="{color}" stroke-width="1.6" fill="none"/>')
        if dots:
            self.parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{color}"/>' for x, y in points]

    def svg(self) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width:.0f} {self.height:.0f}" '
                f'role="img" aria-label="{escape(self.label)}" font-family="system-ui,sans-serif">'
                + "".join(self.parts) + "</svg>")


def nice_ticks(top: float, most: int = 5, integer: bool = False) -> list[float]:
    """0 and round steps (1, 2 or 5 times a power of ten) up to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass
class Series:
    """One set of bars (or a line): a value per category."""

    name: str
    """Shown in the legend."""
    values: list[float]
    """One value per category, in order."""
    color: str
    """Fill (bars) or stroke (line)."""
    thickness: float = 0.8
    """Bar thickness as a share of a category's slot (series with equal thickness are grouped side by
    side; a thinner one is drawn over the one before it, centred)."""
    colors: list[str] | None = None
    """A colour per value, when each bar is its own thing (a partner); else ``color`` for all."""
    one: str = ""
    """The name of one, for a series of counts ("session"): a bar's title reads "1 session"."""

    def color_of(self, i: int) -> str:
        return self.colors[i % len(self.colors)] if self.colors else self.color

    def named(self, value: float) -> str:
        """``value`` with the series' name, as a bar's title says it."""
        return f"{_number(value)} {self.one if value == 1 and self.one else self.name}"


def legend(c: Canvas, x: float, y: float, series: list[Series]) -> None:
    for s in series:
        c.rect(x, y - 8, 10, 10, s.color)
        c.text(x + 14, y + 1, s.name, size=FONT - 1)
        x += 26 + text_width(s.name)


def vertical_bars(c: Canvas, box: tuple[float, float, float, float], labels: list[str], series: list[Series],
                  axis: str, integer: bool = False, most_labels: int = 12) -> None:
    """Bars standing on an x axis of categories (every n-th labelled, slanted), with a y axis."""
    left, top, right, bottom = box
    ticks = nice_ticks(max((v for s in series for v in s.values), default=0), integer=integer)
    scale = (bottom - top) / ticks[-1]
    for t in ticks:
        y = bottom - t * scale
        c.line(left, y, right, y, GRID)
        c.text(left - 4, y + 4, _number(t), anchor="end", size=FONT - 1, color=MUTED)
    c.text(left - 36, (top + bottom) / 2, axis, anchor="middle", rotate=-90, color=MUTED)
    slot = (right - left) / max(1, len(labels))
    for s, off, width in _placed(series):
        for i, v in enumerate(s.values):
            c.rect(left + slot * (i + 0.5 + off - width / 2), bottom - v * scale, slot * width, v * scale, s.color_of(i),
                   f"{labels[i]}: {s.named(v)}")
    c.line(left, bottom, right, bottom, INK)
    step = max(1, -(-len(labels) // most_labels))
    for i in range(0, len(labels), step):
        x = left + slot * (i + 0.5)
        c.text(x + 3, bottom + 12, labels[i], anchor="end", size=FONT - 1, rotate=-40)


def horizontal_bars(c: Canvas, box: tuple[float, float, float, float], labels: list[str], series: list[Series],
                    axis: str, ends: list[list[str]] | None = None, top_value: float | None = None,
                    integer: bool = False) -> None:
    """Bars from a y axis of categories (first at the top); ``ends`` are texts after each bar."""
    left, top, right, bottom = box
    ticks = nice_ticks(top_value or max((v for s in series for v in s.values), default=0), integer=integer)
    scale = (right - left) / ticks[-1]
    for t in ticks:
        x = left + t * scale
        c.line(x, top, x, bottom, GRID)
        c.text(x, bottom + 13, _number(t), anchor="middle", size=FONT - 1, color=MUTED)
    c.text((left + right) / 2, bottom + 28, axis, anchor="middle", color=MUTED)
    slot = (bottom - top) / max(1, len(labels))
    group = [s for s in series if s.thickness == series[0].thickness]
    for i, label in enumerate(labels):
        c.text(left - 5, top + slot * (i + 0.5) + 4, label, anchor="end")
    for k, s in enumerate(group):
        height = 0.8 / len(group)
        for i, v in enumerate(s.values):
            y = top + slot * (i + 0.1 + k * height)
            # a bar's title says what its end says, or whose it is (a QA pass read "joyful: 7" twice)
            title = ends[k][i] if ends else _number(v) if len(group) == 1 else f"{s.name} {_number(v)}"
            c.rect(left, y, v * scale, slot * height, s.color_of(i), f"{labels[i]}: {title}")
            if ends:
                c.text(left + v * scale + 4, y + slot * height / 2 + 4, ends[k][i], size=FONT - 1)
    c.line(left, top, left, bottom, INK)


def _placed(series: list[Series]) -> list[tuple[Series, float, float]]:
    """(series, offset, thickness) in slot widths: series of equal thickness side by side; a thinner
    one over the one before it, centred (worked minutes over planned ones)."""
    groups: list[list[Series]] = []
    for s in series:
        if groups and s.thickness == groups[-1][0].thickness:
            groups[-1].append(s)
        else:
            groups.append([s])
    out = []
    for g in groups:
        width = g[0].thickness / len(g)
        out += [(s, (k - (len(g) - 1) / 2) * width, width) for k, s in enumerate(g)]
    return out


def line_chart(c: Canvas, box: tuple[float, float, float, float], labels: list[str], values: list[float],
               color: str, axis: str, low: float, high: float, most_labels: int = 8) -> None:
    """A line across categories on a fixed value range, with a zero line when the range holds 0."""
    left, top, right, bottom = box
    scale = (bottom - top) / (high - low)
    for t in (low, (low + high) / 2, high):
        y = bottom - (t - low) * scale
        c.line(left, y, right, y, GRID)
        c.text(left - 4, y + 4, _number(round(t, 2)), anchor="end", size=FONT - 1, color=MUTED)
    if low < 0 < high:
        c.line(left, bottom + low * scale, right, bottom + low * scale, "#999")
    c.text(left - 36, (top + bottom) / 2, axis, anchor="middle", rotate=-90, color=MUTED)
    slot = (right - left) / max(1, len(values))
    points = [(left + slot * (i + 0.5), bottom - (v - low) * scale) for i, v in enumerate(values)]
    c.polyline(points, color, dots=len(points) <= 60)
    c.line(left, bottom, right, bottom, INK)
    step = max(1, -(-len(labels) // most_labels))
    for i in range(0, len(labels), step):
        c.text(left + slot * (i + 0.5) + 3, bottom + 12, labels[i], anchor="end", size=FONT - 1, rotate=-40)
