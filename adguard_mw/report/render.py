"""The report as a terminal table, CSV or JSON. Every rate carries its numerator and denominator; a rate with an
empty denominator is shown as "—" (empty in CSV, null in JSON), never as 0%. The JSON schema is in docs/report.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

from .query import Comparison, Group, Metrics, Rate, Report
from .stats import Interval

JSON_SCHEMA = "adguard-mw.report/1"
CI_METHOD = "newcombe-hybrid-score-95"
DASH = "—"


# Formatting shared by the table and the HTML page.


def count(value: float) -> str:
    return f"{round(value):,}"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def rate(value: Rate) -> str:
    """E.g. "21.3% (2,130/10,000)", or "—" when the denominator is empty."""
    if value.value is None:
        return DASH
    return f"{percent(value.value)} ({count(value.numerator)}/{count(value.denominator)})"


def difference(interval: Interval | None) -> str:
    """E.g. "+2.1 pp [-0.4, +4.6]": percentage points, variant minus baseline, with the 95% interval."""
    if interval is None:
        return DASH
    return f"{interval.estimate * 100:+.1f} pp [{interval.low * 100:+.1f}, {interval.high * 100:+.1f}]"


def timestamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def summary_line(report: Report) -> str:
    span = ""
    if report.first and report.last:
        span = f", {report.first:%Y-%m-%d %H:%M} to {report.last:%Y-%m-%d %H:%M} UTC"
    files = report.inputs.files
    return f"{report.total.events:,} events from {files:,} file{'s' if files != 1 else ''}{span}"


def why_dashes(m: Metrics) -> list[str]:
    """Why a rate is "—", in words: a demo session or a quiet day gives a few events and many empty denominators."""
    reasons = []
    if m.blocked.value is None:
        reasons.append(
            "the blocking rates: no page view with a verdict yet (a reader's first page view runs the check; "
            f"the rates count the page views after it; {count(m.page_views)} page view(s) had no verdict)"
        )
    if m.dismissal.value is None or m.recovery.value is None:
        reasons.append(
            "the message rates: no message shown to a known reader yet (the policy observes, the reader still "
            "has free page views, or nobody blocked)"
        )
    if not reasons:
        return []
    return ["", '"—" marks a rate with nothing to divide by:', *(f"- {reason}" for reason in reasons)]


# Terminal table.

BLOCKING_HEADERS = ("eligible page views", "block rate", "extension", "network", "unknown")
MESSAGE_HEADERS = ("shown", "dismissal rate", "CTA clicks", "recoveries", "recovery rate", "failed verifications")


def _blocking_cells(m: Metrics) -> list[str]:
    return [count(m.eligible), rate(m.blocked), rate(m.extension), rate(m.network), rate(m.unknown)]


def _message_cells(m: Metrics) -> list[str]:
    shown, recoveries, ctas = count(m.messages_shown), count(m.recoveries), count(m.cta_clicks)
    return [shown, rate(m.dismissal), ctas, recoveries, rate(m.recovery), rate(m.failed_verification)]


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the numbers right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        padded = [cells[0].ljust(widths[0]), *rest]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * width for width in widths]), *map(line, rows)])


def render_table(report: Report) -> str:
    m = report.total
    out = [f"adguard-mw report: {summary_line(report)}"]
    if report.skipped.total:
        out.append(f"skipped {report.skipped.describe()}")
    out.append("")
    f = m.funnel
    summary = [
        ("eligible page views", count(m.eligible)),
        ("block rate", rate(m.blocked)),
        ("  extension", rate(m.extension)),
        ("  network", rate(m.network)),
        ("block rate (visitors)", rate(m.blocked_visitors)),
        ("unknown rate", rate(m.unknown)),
        ("messages shown", count(m.messages_shown)),
        ("  not seen on screen", count(m.unconfirmed)),
        ("dismissal rate", rate(m.dismissal)),
        ("CTA clicks", count(m.cta_clicks)),
        ("recoveries", count(m.recoveries)),
        ("recovery rate (visitors)", rate(m.recovery)),
        ("allow-ads page views", count(m.allow_ads_page_views)),
        ("failed verifications", rate(m.failed_verification)),
        ("ad slots filled", f"{m.slots_filled:,} (visitors {m.slot_readers:,})"),
        ("funnel (visitors)", f"shown {f.shown:,} → dismissed {f.dismissed:,} / CTA {f.cta:,} / "
         f"check again {f.checked:,} → recovered {f.recovered:,}"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in summary)
    out.extend(f"{name.ljust(width)}  {value}" for name, value in summary)
    out.extend(why_dashes(m))
    if report.by and report.groups:
        out += ["", f"Blocking by {report.by}"]
        out.append(
            text_table((report.by, *BLOCKING_HEADERS), [[g.key, *_blocking_cells(g.metrics)] for g in report.groups])
        )
        out += ["", f"Messages by {report.by}"]
        out.append(
            text_table((report.by, *MESSAGE_HEADERS), [[g.key, *_message_cells(g.metrics)] for g in report.groups])
        )
    if len(report.variants) > 1:
        out += ["", f"Variants against {report.baseline} (difference, 95% interval)"]
        out.append(text_table(*variant_table(report)))
    return "\n".join(out) + "\n"


def variant_table(report: Report) -> tuple[list[str], list[list[str]]]:
    versus = f"vs {report.baseline}"
    headers = ["variant", "eligible page views", "block rate", "dismissal rate", versus, "recovery rate", versus]
    by_variant = {c.variant: c for c in report.comparisons}
    rows = []
    for group in report.variants:
        m = group.metrics
        found = by_variant.get(group.key)
        is_baseline = group.key == report.baseline
        rows.append(
            [
                group.key,
                count(m.eligible),
                rate(m.blocked),
                rate(m.dismissal),
                "baseline" if is_baseline else difference(found.dismissal if found else None),
                rate(m.recovery),
                "baseline" if is_baseline else difference(found.recovery if found else None),
            ]
        )
    return headers, rows


# CSV: one row per group, the total first; `by` says which grouping a row belongs to.

CSV_COLUMNS = (
    "by",
    "group",
    "events",
    "page_views",
    "eligible_page_views",
    "blocked_page_views",
    "block_rate",
    "extension_page_views",
    "extension_rate",
    "network_page_views",
    "network_rate",
    "unknown_page_views",
    "unknown_rate",
    "messages_shown",
    "dismissals",
    "dismissal_rate",
    "recoveries",
    "recovered_visitors",
    "shown_visitors",
    "recovery_rate",
    "failed_verifications",
    "cta_clicks",
    "exempted",
    "blocked_visitors",
    "eligible_visitors",
    "block_rate_visitors",
    "allow_ads_page_views",
    "verifications",
    "failed_verification_rate",
    "funnel_shown",
    "funnel_dismissed",
    "funnel_cta",
    "funnel_check_again",
    "funnel_recovered",
    "dismissal_rate_diff",
    "dismissal_rate_diff_low",
    "dismissal_rate_diff_high",
    "recovery_rate_diff",
    "recovery_rate_diff_low",
    "recovery_rate_diff_high",
    "slots_filled",
    "slot_visitors",
)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(round(float(value), 10))


def _csv_row(by: str, key: str, m: Metrics, comparison: Comparison | None) -> list[str]:
    row = [by, key, _number(m.events), _number(m.page_views), _number(m.eligible)]
    for part in (m.blocked, m.extension, m.network, m.unknown):
        row += [_number(part.numerator), _number(part.value)]
    row += [_number(m.messages_shown), _number(m.dismissal.numerator), _number(m.dismissal.value)]
    row += [_number(m.recoveries), _number(m.recovery.numerator), _number(m.recovery.denominator)]
    row += [_number(m.recovery.value), _number(m.failed_verifications), _number(m.cta_clicks), _number(m.exempted)]
    v, f = m.blocked_visitors, m.funnel
    row += [_number(v.numerator), _number(v.denominator), _number(v.value), _number(m.allow_ads_page_views)]
    row += [_number(m.failed_verification.denominator), _number(m.failed_verification.value)]
    row += [_number(n) for n in (f.shown, f.dismissed, f.cta, f.checked, f.recovered)]
    for interval in (comparison.dismissal, comparison.recovery) if comparison else (None, None):
        row += [_number(interval.estimate), _number(interval.low), _number(interval.high)] if interval else ["", "", ""]
    return [*row, _number(m.slots_filled), _number(m.slot_readers)]


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow(_csv_row("all", "", report.total, None))
    comparisons = {c.variant: c for c in report.comparisons}
    for group in report.groups:
        found = comparisons.get(group.key) if report.by == "variant" else None
        writer.writerow(_csv_row(report.by or "", group.key, group.metrics, found))
    if report.by != "variant":
        for group in report.variants:
            writer.writerow(_csv_row("variant", group.key, group.metrics, comparisons.get(group.key)))
    return buffer.getvalue()


# JSON.


def _rate_json(value: Rate) -> dict[str, float | None]:
    return {"numerator": value.numerator, "denominator": value.denominator, "value": value.value}


def metrics_json(m: Metrics) -> dict[str, Any]:
    return {
        "events": m.events,
        "page_views": m.page_views,
        "eligible_page_views": m.eligible,
        "block_rate": _rate_json(m.blocked),
        "extension_rate": _rate_json(m.extension),
        "network_rate": _rate_json(m.network),
        "unknown_rate": _rate_json(m.unknown),
        "messages_shown": m.messages_shown,
        "messages_served": m.messages_served,
        "messages_not_seen": m.unconfirmed,
        "slots_filled": m.slots_filled,
        "slot_visitors": m.slot_readers,
        "dismissal_rate": _rate_json(m.dismissal),
        "recoveries": m.recoveries,
        "recovery_rate": _rate_json(m.recovery),
        "failed_verifications": m.failed_verifications,
        "cta_clicks": m.cta_clicks,
        "exempted": m.exempted,
        "block_rate_visitors": _rate_json(m.blocked_visitors),
        "allow_ads_page_views": m.allow_ads_page_views,
        "failed_verification_rate": _rate_json(m.failed_verification),
        "funnel": {
            "shown": m.funnel.shown,
            "dismissed": m.funnel.dismissed,
            "cta": m.funnel.cta,
            "check_again": m.funnel.checked,
            "recovered": m.funnel.recovered,
        },
    }


def _interval_json(interval: Interval | None) -> dict[str, float] | None:
    if interval is None:
        return None
    return {"difference": interval.estimate, "low": interval.low, "high": interval.high}


def _group_json(group: Group) -> dict[str, Any]:
    return {"key": group.key, **metrics_json(group.metrics)}


def report_json(report: Report) -> dict[str, Any]:
    comparisons = {c.variant: c for c in report.comparisons}
    variants = []
    for group in report.variants:
        found = comparisons.get(group.key)
        versus = None
        if found is not None:
            versus = {
                "dismissal_rate": _interval_json(found.dismissal),
                "recovery_rate": _interval_json(found.recovery),
            }
        variants.append({**_group_json(group), "vs_baseline": versus})
    skipped = report.skipped
    return {
        "schema": JSON_SCHEMA,
        "input": {
            "jsonl_files": len(report.inputs.jsonl),
            "parquet_files": len(report.inputs.parquet),
            "missing_paths": list(report.inputs.missing),
            "lines": report.lines,
            "events": report.total.events,
            "skipped": {
                "total": skipped.total,
                "malformed": skipped.malformed,
                "invalid": skipped.invalid,
                "other_versions": {str(version): n for version, n in sorted(skipped.versions.items())},
            },
        },
        "period": {
            "since": report.since.isoformat() if report.since else None,
            "until": report.until.isoformat() if report.until else None,
            "first_event": timestamp(report.first),
            "last_event": timestamp(report.last),
        },
        "total": metrics_json(report.total),
        "by": report.by,
        "groups": [_group_json(group) for group in report.groups],
        "variants": {"baseline": report.baseline, "interval": CI_METHOD, "groups": variants},
    }


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n"
