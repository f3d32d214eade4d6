"""Small server-side SVG charts for the dashboard: no JavaScript, no CDN."""

from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
HEIGHT = 160
MARGIN_LEFT = 44
MARGIN_BOTTOM = 22
MARGIN_TOP = 10


def _nice_maximum(value: int) -> int:
    """The smallest 1/2/5 × 10^n at or above ``value`` so the axis reads cleanly."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def bar_chart_svg(*, series: list[dict], key: str, title: str, colour: str) -> SafeString:
    """A bar per day of ``series`` (``[{"date": "YYYY-MM-DD", key: n}, ...]``) as inline SVG."""
    values = [int(row.get(key) or 0) for row in series]
    maximum = _nice_maximum(max(values, default=0))
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_width / max(len(values), 1)
    bar_width = max(slot * 0.7, 1)
    parts = [
        f'<svg class="bo-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    # A half-way line only where it falls on a whole number.
    for fraction in (0, 0.5, 1) if maximum % 2 == 0 else (0, 1):
        y = MARGIN_TOP + plot_height * (1 - fraction)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" stroke="#ddd" stroke-width="1"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#666">'
            f"{int(maximum * fraction)}</text>"
        )
    for index, (row, value) in enumerate(zip(series, values, strict=True)):
        bar_height = plot_height * value / maximum
        x = MARGIN_LEFT + index * slot + (slot - bar_width) / 2
        y = MARGIN_TOP + plot_height - bar_height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" height="{bar_height:.1f}" fill="{escape(colour)}">'
            f"<title>{escape(row['date'])}: {value}</title></rect>"
        )
    if series:
        for index in (0, len(series) // 2, len(series) - 1):
            label = date.fromisoformat(series[index]["date"]).strftime("%d %b")
            x = MARGIN_LEFT + index * slot + slot / 2
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11" fill="#666">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    # Every interpolated text above is escaped or a number we formatted.
    return mark_safe("".join(parts))  # noqa: S308
