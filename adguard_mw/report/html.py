"""The report as one self-contained HTML file: inline CSS and SVG charts drawn here, no script, no network.

Analysts mail these files around and open them years later, so nothing may depend on a CDN or a JavaScript
library; a Content-Security-Policy in the page forbids any request at all. Every chart mark carries its numbers
in `data-*` attributes and a `<title>` tooltip, so the charts can be checked and read without the pixels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from html import escape

from .query import Group, Report
from .render import DASH, count, difference, percent, rate, summary_line, variant_table
from .stats import Interval

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
WIDTH = 760
MAX_BARS = 12

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330; margin: 2rem auto;
       max-width: 76rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2.2rem; }
.meta, .note { color: #5a6372; font-size: .9rem; }
.skipped { color: #8a4b00; }
dl.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(12.5rem, 1fr)); gap: .6rem; }
dl.cards div { border: 1px solid #d9dee7; border-radius: 6px; padding: .5rem .75rem; }
dl.cards dt { color: #5a6372; font-size: .85rem; } dl.cards dd { margin: 0; font-weight: 600; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: .9rem; }
th, td { padding: .25rem .5rem; border-bottom: 1px solid #e4e8ee; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; overflow-wrap: anywhere; min-width: 6rem; }
td .of { display: block; color: #5a6372; font-size: .8rem; }
.scroll { overflow-x: auto; }
svg { max-width: 100%; height: auto; font-size: 12px; }
svg .axis { stroke: #9aa3b1; } svg .grid { stroke: #e4e8ee; } svg text { fill: #3b4352; }
svg .line { fill: none; stroke: #1f5fbf; stroke-width: 2; } svg .point { fill: #1f5fbf; }
svg .extension { fill: #1f5fbf; } svg .network { fill: #8fb3ea; }
svg .ci { stroke: #1d2330; stroke-width: 2; } svg .zero { stroke: #b3261e; stroke-dasharray: 4 3; }
.legend span { display: inline-block; width: .8em; height: .8em; margin: 0 .3em 0 1em; vertical-align: -.05em; }
"""


def render_html(report: Report) -> str:
    m = report.total
    cards = [
        ("Eligible page views", count(m.eligible)),
        ("Block rate", rate(m.blocked)),
        ("Extension", rate(m.extension)),
        ("Network", rate(m.network)),
        ("Unknown", rate(m.unknown)),
        ("Messages shown", count(m.messages_shown)),
        ("Served, not seen", count(m.unconfirmed)),
        ("Dismissal rate", rate(m.dismissal)),
        ("Recoveries", count(m.recoveries)),
        ("Recovery rate (visitors)", rate(m.recovery)),
        ("Block rate (visitors)", rate(m.blocked_visitors)),
        ("Allow-ads page views", count(m.allow_ads_page_views)),
        ("CTA clicks", count(m.cta_clicks)),
        ("Failed verifications", rate(m.failed_verification)),
        ("Ad slots filled", f"{m.slots_filled:,} (visitors {m.slot_readers:,})"),
        (
            "Funnel (visitors)",
            f"shown {m.funnel.shown:,} → dismissed {m.funnel.dismissed:,} / CTA {m.funnel.cta:,} / "
            f"check again {m.funnel.checked:,} → recovered {m.funnel.recovered:,}",
        ),
    ]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>adguard-mw report</title><style>{STYLE}</style></head><body>",
        "<h1>Ad blocking and reader support</h1>",
        f'<p class="meta">{escape(summary_line(report))}</p>',
    ]
    if report.skipped.total:
        parts.append(f'<p class="skipped">Skipped {escape(report.skipped.describe())}.</p>')
    parts.append('<dl class="cards">')
    parts.extend(f"<div><dt>{escape(name)}</dt><dd>{escape(value)}</dd></div>" for name, value in cards)
    parts.append("</dl>")
    parts.append("<h2>Block rate by day</h2>")
    parts.append(line_chart(report.days))
    parts.append("<h2>Block rate by browser</h2>")
    parts.append(
        '<p class="legend note">Share of eligible page views: <span class="swatch" style="background:#1f5fbf">'
        '</span>extension <span style="background:#8fb3ea"></span>network</p>'
    )
    parts.append(browser_chart(report.browsers))
    parts.append("<h2>Variants</h2>")
    parts.append(variant_section(report))
    if report.by and report.groups:
        parts.append(f"<h2>By {escape(report.by)}</h2>")
        parts.append(groups_table(report.by, report.groups))
    parts.append(
        '<p class="note">Rates show numerator/denominator; "—" marks a rate with nothing to divide by. '
        "Page views are weighted by 1/sample_rate. Definitions: docs/events.md.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


_RATE = re.compile(r"^(\S+%) \((.+)/(.+)\)$")


def _cell(text: str) -> str:
    """A rate "21.3% (2,130/10,000)" as the percentage over its fraction, which may break after the slash: so
    that a table of every metric fits a 1280 px screen even with counts in the millions."""
    match = _RATE.match(text)
    if match is None:
        return escape(text)
    share, numerator, denominator = (escape(part) for part in match.groups())
    return f'{share}<span class="of">{numerator}/<wbr>{denominator}</span>'


def groups_table(by: str, groups: Sequence[Group]) -> str:
    headers = [by, "eligible", "block rate", "extension", "network", "unknown", "shown", "dismissal rate"]
    headers += ["CTA clicks", "recoveries", "recovery rate", "failed verifications"]
    rows = [
        [
            g.key,
            count(g.metrics.eligible),
            rate(g.metrics.blocked),
            rate(g.metrics.extension),
            rate(g.metrics.network),
            rate(g.metrics.unknown),
            count(g.metrics.messages_shown),
            rate(g.metrics.dismissal),
            count(g.metrics.cta_clicks),
            count(g.metrics.recoveries),
            rate(g.metrics.recovery),
            rate(g.metrics.failed_verification),
        ]
        for g in groups
    ]
    return _table(headers, rows)


def _nice_top(value: float) -> float:
    """The smallest round percentage (as a fraction) at or above `value`, for the y axis."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25):
        top = math.ceil(value / step - 1e-9) * step
        if top / step <= 6:
            return max(top, step)
    return 1.0


def line_chart(days: Sequence[Group]) -> str:
    """Block rate per day: a line through days with eligible page views; empty days leave a gap."""
    points = [(i, g) for i, g in enumerate(days)]
    values = [g.metrics.blocked.value for _, g in points]
    known = [v for v in values if v is not None]
    if not known:
        return '<p class="note">No eligible page views: nothing to chart.</p>'
    height, left, right, top_pad, bottom = 260, 52, 44, 14, 40
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom
    top = _nice_top(max(known))
    slots = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return left + (plot_w * i / slots if len(days) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - v / top)

    out = [
        f'<svg class="chart" data-chart="block-rate-by-day" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="Block rate by day" xmlns="http://www.w3.org/2000/svg">'
    ]
    ticks = 5
    for t in range(ticks + 1):
        tick = top * t / ticks
        out.append(f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        out.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{percent(tick)}</text>')
    out.append(f'<line class="axis" x1="{left}" x2="{WIDTH - right}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>')
    label_every = max(1, math.ceil(len(days) / 10))
    for i, group in points:
        if i % label_every == 0 or i == len(days) - 1:
            out.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle">{escape(group.key)}</text>'
            )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, group in points:
        value = group.metrics.blocked.value
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(value):.1f}")
    if segment:
        segments.append(segment)
    out.extend(f'<polyline class="line" points="{" ".join(s)}"/>' for s in segments if len(s) > 1)
    for i, group in points:
        blocked = group.metrics.blocked
        if blocked.value is None:
            continue
        out.append(
            f'<circle class="point" cx="{x(i):.1f}" cy="{y(blocked.value):.1f}" r="3.5" '
            f'data-label="{escape(group.key)}" data-value="{blocked.value:.6f}" '
            f'data-numerator="{blocked.numerator:g}" data-denominator="{blocked.denominator:g}">'
            f"<title>{escape(group.key)}: {escape(rate(blocked))}</title></circle>"
        )
    out.append("</svg>")
    return "".join(out)


def browser_chart(browsers: Sequence[Group]) -> str:
    """Horizontal bars, extension and network stacked, for the browsers with the most eligible page views."""
    shown = [g for g in browsers if g.metrics.blocked.value is not None][:MAX_BARS]
    if not shown:
        return '<p class="note">No eligible page views: nothing to chart.</p>'
    bar_h, gap, label_w, value_w, top_pad = 22, 8, 150, 190, 6
    height = top_pad * 2 + len(shown) * (bar_h + gap)
    plot_w = WIDTH - label_w - value_w
    top = _nice_top(max(g.metrics.blocked.value or 0.0 for g in shown))
    out = [
        f'<svg class="chart" data-chart="block-rate-by-browser" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="Block rate by browser" xmlns="http://www.w3.org/2000/svg">'
    ]
    for row, group in enumerate(shown):
        m = group.metrics
        y = top_pad + row * (bar_h + gap)
        text_y = y + bar_h / 2 + 4
        out.append(f'<text x="{label_w - 8}" y="{text_y:.1f}" text-anchor="end">{escape(group.key)}</text>')
        offset = float(label_w)
        for css, part in (("extension", m.extension), ("network", m.network)):
            width = plot_w * (part.value or 0.0) / top
            out.append(
                f'<rect class="bar {css}" x="{offset:.1f}" y="{y}" width="{width:.1f}" height="{bar_h}" '
                f'data-label="{escape(group.key)}" data-kind="{css}" data-value="{part.value or 0.0:.6f}" '
                f'data-numerator="{part.numerator:g}" data-denominator="{part.denominator:g}">'
                f"<title>{escape(group.key)}, {css}: {escape(rate(part))}</title></rect>"
            )
            offset += width
        out.append(f'<text x="{offset + 6:.1f}" y="{text_y:.1f}">{escape(rate(m.blocked))}</text>')
    out.append("</svg>")
    return "".join(out)


def variant_section(report: Report) -> str:
    if not report.variants:
        return '<p class="note">No variants in these events.</p>'
    headers, rows = variant_table(report)
    html = _table(headers, rows)
    if not report.comparisons:
        return html + '<p class="note">Only one variant: nothing to compare.</p>'
    html += (
        f'<p class="note">Differences are variant minus baseline ({escape(report.baseline or "")}), in percentage '
        "points, with 95% intervals (Newcombe's hybrid score). An interval that crosses the dashed zero line is "
        "compatible with no difference.</p>"
    )
    for title, name in (("Recovery rate", "recovery"), ("Dismissal rate", "dismissal")):
        intervals = [(c.variant, c.recovery if name == "recovery" else c.dismissal) for c in report.comparisons]
        html += f"<h3>{title}: difference against {escape(report.baseline or '')}</h3>"
        html += difference_chart(name, intervals)
    return html


def difference_chart(name: str, intervals: Sequence[tuple[str, Interval | None]]) -> str:
    """A forest plot: each variant's difference as a dot with its interval as a whisker, around zero."""
    known = [iv for _, iv in intervals if iv is not None]
    if not known:
        return f'<p class="note">{DASH} (no messages shown in some variant)</p>'
    span = max(max(abs(iv.low), abs(iv.high)) for iv in known) or 0.01
    span = _nice_top(span)
    row_h, label_w, value_w, top_pad = 28, 150, 230, 22
    height = top_pad + len(intervals) * row_h + 8
    plot_w = WIDTH - label_w - value_w

    def x(v: float) -> float:
        return label_w + plot_w * (v + span) / (2 * span)

    out = [
        f'<svg class="chart" data-chart="{name}-difference" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{name} rate difference against the baseline" xmlns="http://www.w3.org/2000/svg">',
        f'<line class="zero" x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top_pad - 6}" y2="{height - 4}"/>',
        f'<text x="{x(-span):.1f}" y="12" text-anchor="start">{-span * 100:+.0f} pp</text>',
        f'<text x="{x(0):.1f}" y="12" text-anchor="middle">0</text>',
        f'<text x="{x(span):.1f}" y="12" text-anchor="end">{span * 100:+.0f} pp</text>',
    ]
    for row, (variant, interval) in enumerate(intervals):
        cy = top_pad + row * row_h + row_h / 2
        out.append(f'<text x="{label_w - 8}" y="{cy + 4:.1f}" text-anchor="end">{escape(variant)}</text>')
        if interval is not None:
            out.append(
                f'<g class="interval" data-label="{escape(variant)}" data-value="{interval.estimate:.6f}" '
                f'data-low="{interval.low:.6f}" data-high="{interval.high:.6f}">'
                f"<title>{escape(variant)}: {escape(difference(interval))}</title>"
                f'<line class="ci" x1="{x(interval.low):.1f}" x2="{x(interval.high):.1f}" y1="{cy:.1f}" y2="{cy:.1f}"/>'
                f'<circle class="point" cx="{x(interval.estimate):.1f}" cy="{cy:.1f}" r="4.5"/></g>'
            )
        out.append(f'<text x="{WIDTH - value_w + 10}" y="{cy + 4:.1f}">{escape(difference(interval))}</text>')
    out.append("</svg>")
    return "".join(out)
