"""The budgets of issue 7, checked against one run's results, and the tables that show them (Markdown)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from typing import Any

from apps import ADGUARD, ADGUARD_SOFT, BARE, BASEHTTP, GZIP, NOOP, NOOP_SEND, YARDSTICKS

Results = dict[str, Any]
HTML_ROWS = (("page", ADGUARD), ("page_blocked", ADGUARD), ("page_blocked", ADGUARD_SOFT), ("html_stream", ADGUARD))
PASSTHROUGH = ("json", "static")
VS_BASEHTTP = ("page", "json", "static", "stream_5mb", "html_stream")
DETECTOR_BUDGET = 2560
YARDSTICK_ORDER = (NOOP, NOOP_SEND, GZIP, BASEHTTP)


def paired(a: list[float], b: list[float]) -> float:
    """Median over rounds of a/b, each pair measured in the same round."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True) if y) if a and b else math.nan


def _get(results: Results, mode: str, case: str, label: str) -> dict[str, Any] | None:
    value: dict[str, Any] | None = results.get(mode, {}).get(case, {}).get(label)
    return value


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _digits(value: float | None) -> int:
    return 0 if value is not None and abs(value) >= 100 else 3


def _budget(name: str, measure: str, value: float | None, limit: str, ok: bool | None) -> dict[str, Any]:
    return {"budget": name, "measure": measure, "value": value, "limit": limit, "ok": ok}


def budgets(results: Results) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def ratio(mode: str, case: str, label: str, key: str = "ratio_to_bare") -> float | None:
        entry = _get(results, mode, case, label)
        return None if entry is None else entry.get(key)

    def check(name: str, measure: str, value: float | None, limit: str, test: Callable[[float], bool]) -> None:
        rows.append(_budget(name, measure, value, limit, None if value is None else test(value)))

    for case, label in HTML_ROWS:
        check("HTML injection", f"{case}/{label} in-process xbare", ratio("inprocess", case, label), "≤ 1.10",
              lambda v: v <= 1.10)  # fmt: skip
    for case, label in HTML_ROWS:
        check("HTML injection", f"{case}/{label} HTTP req/s xbare", ratio("http", case, label, "rps_ratio"),
              "≥ 0.95", lambda v: v >= 0.95)  # fmt: skip
    for case in ("page", "html_stream"):
        for mode, key, unit in (("inprocess", "us", "in-process µs"), ("http", "cpu_us", "HTTP CPU µs/req")):
            ours, gzip = _get(results, mode, case, ADGUARD), _get(results, mode, case, GZIP)
            value = None if ours is None or gzip is None else ours[key] / gzip[key]
            check("HTML cheaper than GZip", f"{case} {unit} xgzip", value, "< 1", lambda v: v < 1)
    for case in PASSTHROUGH:
        check("passthrough", f"{case} in-process xbare", ratio("inprocess", case, ADGUARD), "≤ 1.05",
              lambda v: v <= 1.05)  # fmt: skip
        check("passthrough", f"{case} HTTP req/s xbare", ratio("http", case, ADGUARD, "rps_ratio"),
              "≥ 0.95 (noise)", lambda v: v >= 0.95)  # fmt: skip
    for case in VS_BASEHTTP:
        for mode, key, unit in (("inprocess", "us", "in-process µs"), ("http", "cpu_us", "HTTP CPU µs/req")):
            ours, base = _get(results, mode, case, ADGUARD), _get(results, mode, case, BASEHTTP)
            value = None if ours is None or base is None else ours[key] / base[key]
            check("not slower than BaseHTTPMiddleware", f"{case} {unit} xbasehttp", value, "≤ 1", lambda v: v <= 1)
        ours, base = _get(results, "http", case, ADGUARD), _get(results, "http", case, BASEHTTP)
        value = None if ours is None or base is None else ours["rps"] / base["rps"]
        check("not slower than BaseHTTPMiddleware", f"{case} HTTP req/s xbasehttp", value, "≥ 1", lambda v: v >= 1)
    in_ratio = ratio("inprocess", "stream_5mb", ADGUARD)
    check("5 MB stream", "in-process throughput xbare", None if in_ratio is None else 1 / in_ratio, "≥ 0.97",
          lambda v: v >= 0.97)  # fmt: skip
    check("5 MB stream", "HTTP MB/s xbare", ratio("http", "stream_5mb", ADGUARD, "rps_ratio"), "≥ 0.97",
          lambda v: v >= 0.97)  # fmt: skip
    ours, bare = _get(results, "http", "stream_5mb", ADGUARD), _get(results, "http", "stream_5mb", BARE)
    value = None if ours is None or bare is None else ours["rss_growth_mb"] - bare["rss_growth_mb"]
    check("5 MB stream", "server peak RSS growth - bare (MB)", value, "≤ 2", lambda v: v <= 2)
    ours, bare = _get(results, "inprocess", "stream_5mb", ADGUARD), _get(results, "inprocess", "stream_5mb", BARE)
    value = None if ours is None or bare is None else (ours["peak_kib"] - bare["peak_kib"]) / 1024
    check("5 MB stream", "in-process peak allocation - bare (MB)", value, "≤ 2", lambda v: v <= 2)
    in_ratio = ratio("inprocess", "beacon", ADGUARD)
    check("beacon", "in-process throughput xbare JSON POST", None if in_ratio is None else 1 / in_ratio, "≥ 0.8",
          lambda v: v >= 0.8)  # fmt: skip
    check("beacon", "HTTP req/s xbare JSON POST", ratio("http", "beacon", ADGUARD, "rps_ratio"), "≥ 0.8",
          lambda v: v >= 0.8)  # fmt: skip
    detector = results.get("detector", {})
    check("detector", "minified + gzipped bytes", detector.get("min_gzip"), f"≤ {DETECTOR_BUDGET}",
          lambda v: v <= DETECTOR_BUDGET)  # fmt: skip
    report = results.get("report", {})
    check("report", "events/s", report.get("events_per_second"), "≥ 1,000,000", lambda v: v >= 1e6)
    check("report", "x bare DuckDB count", report.get("ratio_to_count"), "≤ 3", lambda v: v <= 3)
    return rows


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def markdown(results: Results) -> str:
    out: list[str] = []
    inprocess, http = results.get("inprocess", {}), results.get("http", {})
    rows = []
    for case in results["cases"]:
        for label in results["cases"][case]["labels"]:
            ip = inprocess.get(case, {}).get(label, {})
            hp = http.get(case, {}).get(label, {})
            rows.append([
                case, label, _fmt(ip.get("us"), 1), _fmt(ip.get("ratio_to_bare")),
                _fmt(hp.get("rps"), 0), _fmt(hp.get("rps_ratio")), _fmt(hp.get("p50_ms")), _fmt(hp.get("p99_ms")),
                _fmt(hp.get("cpu_us"), 0), _fmt(hp.get("cpu_ratio")),
            ])  # fmt: skip
    out.append("Medians over rounds; xbare is the median of the per-round ratios to the bare app (for `beacon`: to")
    out.append(
        "the bare app's JSON POST endpoint). HTTP: requests/s, latency percentiles, server CPU time per request."
    )
    out.append("")
    out += _table(
        ["case", "variant", "in-process µs", "xbare", "HTTP req/s", "xbare", "p50 ms", "p99 ms", "CPU µs/req", "xbare"],
        rows,
    )
    stream_ip, stream_http = inprocess.get("stream_5mb", {}), http.get("stream_5mb", {})
    if stream_ip or stream_http:
        out += ["", "5 MB stream: throughput and memory", ""]
        labels = results["cases"]["stream_5mb"]["labels"]
        out += _table(
            ["variant", "HTTP MB/s", "xbare", "server peak RSS MB", "RSS growth MB", "in-process peak KiB"],
            [
                [label, _fmt(stream_http.get(label, {}).get("mb_per_s"), 0),
                 _fmt(stream_http.get(label, {}).get("rps_ratio")),
                 _fmt(stream_http.get(label, {}).get("peak_rss_mb"), 1),
                 _fmt(stream_http.get(label, {}).get("rss_growth_mb"), 2),
                 _fmt(stream_ip.get(label, {}).get("peak_kib"), 1)]
                for label in labels
            ],
        )  # fmt: skip
    yard_rows = []
    for case, spec in results["cases"].items():
        if not set(YARDSTICKS) <= set(spec["labels"]):
            continue
        for mode, key, unit in (("inprocess", "rounds_us", "in-process µs"), ("http", "rounds_cpu_us", "HTTP CPU")):
            entries = results.get(mode, {}).get(case)
            if not entries:
                continue
            ours = entries[ADGUARD][key]
            yard_rows.append(
                [case, unit] + [_fmt(paired(ours, entries[y][key])) for y in (NOOP, NOOP_SEND, GZIP, BASEHTTP)]
            )
    if yard_rows:
        out += ["", "adguard against the yardsticks (median per-round ratio; < 1 means adguard is cheaper)", ""]
        out += _table(["case", "measure", "xnoop", "xnoop_send", "xgzip", "xbasehttp"], yard_rows)
    detector = results.get("detector")
    if detector:
        out += ["", f"Detector script ({detector['minifier']}): bytes", ""]
        out += _table(
            ["raw", "raw gzipped", "minified", "minified gzipped"],
            [[str(detector["raw"]), str(detector["raw_gzip"]), str(detector["min"]), str(detector["min_gzip"])]],
        )
    report = results.get("report", {})
    out += [""]
    if "skipped" in report:
        out.append(f"report: skipped ({report['skipped']})")
    elif report:
        out += ["Report over synthetic events", ""]
        out += _table(
            ["events", "report s", "bare count s", "events/s", "xcount", "peak RSS MB"],
            [[f"{report['events']:,}", _fmt(report["report_seconds"], 3), _fmt(report["count_seconds"], 3),
              f"{report['events_per_second']:,.0f}", _fmt(report["ratio_to_count"]), _fmt(report["peak_rss_mb"], 0)]],
        )  # fmt: skip
    out += ["", "Budgets", ""]
    marks = {True: "✓", False: "✗", None: "- (not measured)"}
    out += _table(
        ["budget", "measure", "value", "limit", ""],
        [
            [b["budget"], b["measure"], _fmt(b["value"], _digits(b["value"])), b["limit"], marks[b["ok"]]]
            for b in results["budgets"]
        ],
    )
    return "\n".join(out) + "\n"
