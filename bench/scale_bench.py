"""The report at scale: 10 and 100 million synthetic events as a Parquet dataset, on DuckDB and on Spark.

    python bench/scale_bench.py [--events 10000000 100000000] [--spark] [--dir DIR] [--json]
    python bench/scale_bench.py --quick          # 200,000 events, DuckDB only: the path CI may run

For each size it generates a hive-partitioned Parquet dataset (`dt=YYYY-MM-DD/`, the S3 sink's schema, 30 days,
one visitor per 20 events, every event with an id) with DuckDB in a temporary directory (or under `--dir`), then
measures, in one run:

- the bare scan: DuckDB reading the columns the report reads (`count` of each), the floor for any reader;
- the report on DuckDB: the full `adguard-mw report --by day` pipeline (dedupe by id, facts, metrics, variants);
- with `--spark`, the same report on Spark in local mode (every core), session start-up excluded and shown apart.

It prints events per second of each and the report's ratio to the bare scan, then deletes the dataset. Disk: about
45 bytes an event (4.5 GB at 100 million); memory: DuckDB spills its sorts to disk beyond 80% of RAM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adguard_mw.report.query import READ_COLUMNS, build_report, connect, find_inputs  # noqa: E402

DAYS = 30
END = dt.date(2026, 11, 30)
EVENT_MIX = (  # (event, cumulative share in thousandths)
    ("page_view", 700),
    ("verdict", 800),
    ("message_shown", 880),
    ("message_dismissed", 920),
    ("cta_clicked", 930),
    ("check_again", 950),
    ("recovered", 960),
    ("exempted", 1000),
)


def generate(directory: Path, events: int) -> float:
    """Write `events` synthetic events as a hive-partitioned Parquet dataset; returns the seconds it took."""
    started = time.perf_counter()
    first = dt.datetime.combine(END - dt.timedelta(days=DAYS - 1), dt.time(), dt.UTC)
    event = "CASE " + " ".join(f"WHEN e < {limit} THEN '{name}'" for name, limit in EVENT_MIX) + " END"
    con = connect("bench")
    con.execute(f"""
        COPY (
            SELECT 1::BIGINT AS v, CAST(uuidv7() AS VARCHAR) AS id, time, {event} AS event, 'bench' AS site,
                'web-' || (i % 50) AS instance, '/s' || (i % 9) || '/story-' || (i % 997) AS path,
                ['en', 'de', 'fr', NULL][1 + i % 4] AS locale, ['a', 'b', NULL][1 + (i // 20) % 3] AS variant,
                'soft' AS mode, ['Chrome', 'Firefox', 'Safari', 'Edge', 'Brave'][1 + i % 5] AS browser,
                '131' AS browser_major, ['Windows', 'Android', 'iOS', 'Mac OS X'][1 + i % 4] AS os,
                ['desktop', 'mobile', 'tablet'][1 + i % 3] AS device, 'v' || (i // 20) AS visitor,
                ['blocked', 'not_blocked', 'not_blocked', 'not_blocked', 'unknown', NULL][(1 + hash(i) % 6)::BIGINT]
                    AS verdict,
                ['extension', 'network', NULL][(1 + hash(i + 1) % 3)::BIGINT] AS kind, 1.0::DOUBLE AS sample_rate,
                NULL::VARCHAR AS signals, NULL::VARCHAR AS previous, 'subscribe' AS cta, NULL::VARCHAR AS reason,
                NULL::BIGINT AS slots,
                strftime(time, '%Y-%m-%d') AS dt
            FROM (
                SELECT range AS i, (hash(range) % 1000)::BIGINT AS e,
                    TIMESTAMPTZ '{first.isoformat()}' + to_microseconds(
                        (range * {DAYS * 86_400_000_000 // max(events, 1)})::BIGINT) AS time
                FROM range({events})
            )
        ) TO '{directory}' (FORMAT parquet, PARTITION_BY (dt), COMPRESSION zstd)
    """)
    con.close()
    return time.perf_counter() - started


def bare_scan(directory: Path) -> float:
    con = connect("bench")
    counts = ", ".join(f"count({name})" for name in READ_COLUMNS)
    started = time.perf_counter()
    con.execute(f"SELECT {counts} FROM read_parquet('{directory}/**/*.parquet', hive_partitioning = false)").fetchall()
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def report_seconds(directory: Path, engine: str) -> float:
    inputs = find_inputs([directory])
    started = time.perf_counter()
    report = build_report(inputs, by="day", engine=engine)
    seconds = time.perf_counter() - started
    assert report.total.events > 0
    return seconds


def measure(events: int, parent: Path | None, spark: bool) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="amw-scale-", dir=parent))
    try:
        result: dict[str, Any] = {"events": events, "generate_seconds": round(generate(directory, events), 1)}
        result["disk_mb"] = round(sum(p.stat().st_size for p in directory.rglob("*.parquet")) / 2**20)
        scan = bare_scan(directory)
        duck = report_seconds(directory, "duckdb")
        result |= {
            "scan_seconds": round(scan, 2),
            "scan_events_per_second": round(events / scan),
            "duckdb_seconds": round(duck, 2),
            "duckdb_events_per_second": round(events / duck),
            "duckdb_ratio_to_scan": round(duck / scan, 1),
        }
        if spark:
            from adguard_mw.report.engines import spark_session

            started = time.perf_counter()
            spark_session()
            result["spark_startup_seconds"] = round(time.perf_counter() - started, 1)
            seconds = report_seconds(directory, "spark")
            result |= {"spark_seconds": round(seconds, 1), "spark_events_per_second": round(events / seconds)}
        return result
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--quick", action="store_true", help="200,000 events, DuckDB only")
    parser.add_argument("--spark", action="store_true", help="also time the report on Spark (local mode)")
    parser.add_argument("--dir", type=Path, help="where to put the datasets (default: the temporary directory)")
    parser.add_argument("--json", action="store_true", help="one JSON object per size instead of text")
    args = parser.parse_args(argv)
    sizes = [200_000] if args.quick else args.events
    for events in sizes:
        result = measure(events, args.dir, args.spark and not args.quick)
        if args.json:
            print(json.dumps(result), flush=True)
            continue
        print(
            f"{events:>13,} events  {result['disk_mb']:,} MB  bare scan {result['scan_events_per_second']:,}/s  "
            f"report (DuckDB) {result['duckdb_seconds']} s = {result['duckdb_events_per_second']:,}/s, "
            f"{result['duckdb_ratio_to_scan']}x the scan",
            flush=True,
        )
        if "spark_seconds" in result:
            print(
                f"{'':>13}         Spark (local) {result['spark_seconds']} s = "
                f"{result['spark_events_per_second']:,}/s (+{result['spark_startup_seconds']} s start-up)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
