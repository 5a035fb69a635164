"""What adguard_mw costs a site, measured against the bare app and against well-known middleware.

    python bench/run.py [--quick | --full] [--no-http] [--no-report] [--case NAME ...] [--output FILE]

One run measures every case for the bare app, the app wrapped in `AdGuardMiddleware` and the yardsticks
(pure-ASGI no-ops, `GZipMiddleware`, a `BaseHTTPMiddleware` no-op), interleaved round by round, in two modes:
in-process (µs per request, the ASGI app called directly) and over HTTP (uvicorn in a subprocess, our own
keep-alive load generator). It prints Markdown tables of ratios with a ✓/✗ per budget of issue 7 and writes
the same as JSON to `bench/results/latest.json` (and the tables to `latest.md`). See docs/performance.md.

`--quick` is a smoke run for CI (about half a minute with `--no-http`); the default is the real measurement;
`--full` measures longer and runs the report over 10M events instead of 1M.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import importlib.metadata
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for folder in (str(BENCH), str(ROOT)):
    if folder not in sys.path:
        sys.path.insert(0, folder)

import apps  # noqa: E402
import inprocess  # noqa: E402
import loadgen  # noqa: E402
import summary  # noqa: E402

from adguard_mw.assets import Assets  # noqa: E402
from adguard_mw.names import Names  # noqa: E402

SETTINGS = {
    # in-process rounds and seconds per batch; HTTP rounds and seconds per run; report events
    "quick": {"rounds": 3, "batch_seconds": 0.01, "http_rounds": 1, "http_seconds": 0.5, "events": 20_000},
    "default": {"rounds": 11, "batch_seconds": 0.1, "http_rounds": 5, "http_seconds": 1.5, "events": 1_000_000},
    "full": {"rounds": 21, "batch_seconds": 0.2, "http_rounds": 5, "http_seconds": 3.0, "events": 10_000_000},
}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("starlette", "uvicorn", "httptools", "jinja2", "duckdb", "rjsmin"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.machine()}",
        "versions": versions,
        "http": loadgen.http_implementation(),
    }


def minify(source: str) -> tuple[str, str]:
    """rjsmin when installed; otherwise only whole-line comments and indentation go (always safe)."""
    try:
        import rjsmin  # type: ignore[import-not-found, unused-ignore]

        return rjsmin.jsmin(source), "rjsmin"
    except ImportError:
        lines = [line.strip() for line in source.splitlines()]
        kept = [line for line in lines if line and not line.startswith("//")]
        return "\n".join(kept), "whole-line comments and indentation stripped"


def detector_sizes() -> dict[str, Any]:
    """The detector exactly as this deployment serves it (its config filled in), then minified and gzipped."""
    body = Assets.build(Names.derive(apps.KEY)).detector.body
    minified, how = minify(body.decode())
    small = minified.encode()
    return {
        "raw": len(body),
        "raw_gzip": len(gzip.compress(body, 9, mtime=0)),
        "min": len(small),
        "min_gzip": len(gzip.compress(small, 9, mtime=0)),
        "minifier": how,
    }


def run_report(events: int) -> dict[str, Any]:
    script = BENCH / "report_bench.py"
    if not script.exists():
        log("report: skipped (bench/report_bench.py not present)")
        return {"skipped": "bench/report_bench.py not present"}
    log(f"report over {events:,} synthetic events ...")
    command = [sys.executable, str(script), "--events", str(events), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        log(f"report: failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        return {"error": f"report_bench.py exited with {done.returncode}", "stderr": done.stderr[-2000:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_http(cases: list[apps.Case], *, rounds: int, seconds: float) -> dict[str, Any]:
    variants = sorted({entry.variant for case in cases for entry in case.entries}, key=apps.VARIANTS.index)
    folder = tempfile.TemporaryDirectory(prefix="adguard-mw-bench-events-")  # uvicorn ends on a signal: no atexit
    os.environ[apps.EVENTS_DIR] = folder.name
    servers = {variant: loadgen.Server(variant) for variant in variants}
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {c.name: {e.label: [] for e in c.entries} for c in cases}
    try:
        for server in servers.values():
            server.wait_ready()
        for r in range(rounds):
            for case in cases:
                entries = case.entries[r % len(case.entries) :] + case.entries[: r % len(case.entries)]
                for entry in entries:
                    server, request = servers[entry.variant], entry.raw()
                    if r == 0:  # warm up this server on this request
                        loadgen.measure(server, request, concurrency=case.concurrency, seconds=min(0.5, seconds / 3))
                    result = loadgen.measure(
                        server, request, concurrency=case.concurrency, seconds=seconds, memory=case.name == "stream_5mb"
                    )
                    raw[case.name][entry.label].append(result)
                line = ", ".join(f"{label} {runs[-1]['rps']:,.0f}/s" for label, runs in raw[case.name].items())
                log(f"  http round {r + 1}/{rounds} {case.name}: {line}")
    finally:
        for server in servers.values():
            server.stop()
        del os.environ[apps.EVENTS_DIR]
        folder.cleanup()
    results: dict[str, Any] = {}
    for case in cases:
        runs = raw[case.name]
        bare = runs[case.entries[0].label]
        out: dict[str, Any] = {}
        for label, measured in runs.items():
            series = {key: [m[key] for m in measured] for key in measured[0]}
            out[label] = {key: statistics.median(values) for key, values in series.items()}
            out[label]["errors"] = sum(series["errors"])
            out[label]["rps_ratio"] = summary.paired(series["rps"], [m["rps"] for m in bare])
            out[label]["cpu_ratio"] = summary.paired(series["cpu_us"], [m["cpu_us"] for m in bare])
            out[label]["rounds_rps"] = [round(v, 1) for v in series["rps"]]
            out[label]["rounds_cpu_us"] = [round(v, 2) for v in series["cpu_us"]]
        results[case.name] = out
    return results


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the uvicorn servers are stopped
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a small smoke run (CI)")
    size.add_argument("--full", action="store_true", help="longer runs and the report over 10M events")
    parser.add_argument("--no-http", action="store_true", help="skip the over-HTTP mode")
    parser.add_argument("--no-report", action="store_true", help="skip the report benchmark")
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "latest.json")
    args = parser.parse_args(argv)
    level = "quick" if args.quick else "full" if args.full else "default"
    settings = SETTINGS[level]
    started = time.monotonic()

    all_cases = apps.cases(apps.blocked_cookie())
    names = [case.name for case in all_cases]
    unknown = set(args.case or ()) - set(names)
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}; cases: {', '.join(names)}")
    cases = [case for case in all_cases if not args.case or case.name in args.case]
    results: dict[str, Any] = {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "level": level,
        "settings": settings,
        "machine": machine(),
        "cases": {
            case.name: {
                "description": case.description,
                "labels": [entry.label for entry in case.entries],
                "variants": {entry.label: apps.DESCRIPTIONS.get(entry.label, entry.label) for entry in case.entries},
                "concurrency": case.concurrency,
            }
            for case in cases
        },
    }
    log(f"in-process: {settings['rounds']} rounds of ~{settings['batch_seconds']} s batches per variant")
    results["inprocess"] = inprocess.run(
        cases, rounds=settings["rounds"], batch_seconds=settings["batch_seconds"], log=log
    )
    if not args.no_http:
        rounds, seconds = settings["http_rounds"], settings["http_seconds"]
        log(f"over HTTP ({loadgen.http_implementation()}): {rounds} rounds of {seconds} s per variant")
        over_http = [case for case in cases if case.http]
        results["http"] = run_http(over_http, rounds=settings["http_rounds"], seconds=settings["http_seconds"])
    results["detector"] = detector_sizes()
    results["report"] = {"skipped": "--no-report"} if args.no_report else run_report(settings["events"])
    results["budgets"] = summary.budgets(results)
    results["seconds"] = round(time.monotonic() - started, 1)
    table = summary.markdown(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    args.output.with_suffix(".md").write_text(table)
    print(table)
    log(f"wrote {_shown(args.output)} in {results['seconds']} s")
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return re.sub(r".*/", "…/", str(path))


if __name__ == "__main__":
    sys.exit(main())
