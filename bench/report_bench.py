"""How fast `adguard-mw report` reads events, against the cheapest possible read of the same files.

    python bench/report_bench.py [--events 1000000] [--seed 0] [--rounds 3] [--json]

Generates synthetic events (bench/synthetic_events.py, in a child process so its memory is not counted) into a
temporary directory, then times, in this process and with the files in the page cache, round by round:

- the bare count: a DuckDB connection, `SELECT count(*)` over the same files with the same `read_json` call
  (same column schema) the report makes, and closing it; DuckDB only has to split lines for it, so it is the
  floor for any JSON lines reader;
- the report: the full `adguard-mw report` pipeline (its connection, the scan, metrics, variant intervals,
  charts' groupings, the rendered table), as the command runs it.

Both include opening and closing their DuckDB connection (about 13 ms), so the ratio compares like with like.
Prints the median seconds of each, events per second of the report, the median of the per-round ratios, and the
peak RSS of this process (DuckDB and Python, the generator excluded). `--json` prints one object instead:
`{"events", "report_seconds", "count_seconds", "events_per_second", "ratio_to_count", "peak_rss_mb", "rounds"}`.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adguard_mw.report.query import READ_COLUMNS, build_report, connect, find_inputs  # noqa: E402
from adguard_mw.report.render import render_table  # noqa: E402


def bare_count(directory: Path) -> tuple[int, float]:
    inputs = find_inputs([directory])
    files = "[" + ", ".join(f"'{path}'" for path in inputs.jsonl) + "]"
    schema = "{" + ", ".join(f"{name}: '{kind}'" for name, kind in READ_COLUMNS.items()) + "}"
    started = time.perf_counter()
    con = connect()
    try:
        row = con.execute(
            f"SELECT count(*) FROM read_json({files}, columns = {schema}, format = 'newline_delimited', "
            "ignore_errors = true, hive_partitioning = false)"
        ).fetchone()
    finally:
        con.close()
    return (int(row[0]) if row else 0), time.perf_counter() - started


def run_report(directory: Path) -> tuple[int, float]:
    started = time.perf_counter()
    report = build_report(find_inputs([directory]), charts=True)
    render_table(report)
    return report.lines, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="count and report this many times each, interleaved")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="adguard-mw-bench-") as temporary:
        directory = Path(temporary)
        started = time.perf_counter()
        generator = Path(__file__).with_name("synthetic_events.py")
        subprocess.run(
            [sys.executable, str(generator), str(directory), "--events", str(args.events), "--seed", str(args.seed)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        generated = time.perf_counter() - started
        bare_count(directory)  # warm the page cache, so both timings measure reading, not the disk
        counts: list[float] = []
        reports: list[float] = []
        for _ in range(max(1, args.rounds)):
            counted, count_seconds = bare_count(directory)
            lines, report_seconds = run_report(directory)
            if counted != args.events or lines != args.events:
                print(f"expected {args.events} events, counted {counted}, reported {lines}", file=sys.stderr)
                return 1
            counts.append(count_seconds)
            reports.append(report_seconds)
    report_seconds = statistics.median(reports)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    result = {
        "events": args.events,
        "report_seconds": round(report_seconds, 4),
        "count_seconds": round(statistics.median(counts), 4),
        "events_per_second": round(args.events / report_seconds),
        "ratio_to_count": round(statistics.median(r / c for r, c in zip(reports, counts, strict=True)), 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "rounds": len(reports),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"generated {args.events:,} events in {generated:.1f} s")
        print(f"bare count: {result['count_seconds']:.3f} s (median of {len(reports)})")
        print(f"report:     {report_seconds:.3f} s, {result['events_per_second']:,} events/s")
        ratio, rss = result["ratio_to_count"], result["peak_rss_mb"]
        print(f"ratio to the bare count: {ratio}x (median per round); peak RSS {rss} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
