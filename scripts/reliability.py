"""Re-run the reliability evidence and write docs/reliability.md.

Runs the fault-injection and hostile-input suites (counting the cases passed and the inputs Hypothesis tried), the
two-instance tests and the load test, then writes the figures. Usage, from the repository root:

    .venv/bin/python scripts/reliability.py [--seconds 60] [--clients 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUITES = {
    "fault injection (fail open)": "tests/security/test_fail_open.py",
    "hostile input (property-based)": "tests/security/test_hostile_input.py",
    "several instances, key rotation": "tests/security/test_instances.py",
    "strict Content-Security-Policy in Chromium": "tests/browser/test_csp.py",
    "URLs from the request (mount point, redirects)": "tests/security/test_urls.py",
    "a hostile mount point in Chromium": "tests/browser/test_mount_point.py",
    "query strings and numbers": "tests/security/test_queries.py",
    "memory kept from huge headers": "tests/security/test_header_memory.py",
    "cookies in several headers": "tests/security/test_cookie_crumbs.py",
    "a hanging exempt hook": "tests/security/test_exempt_hook.py",
    "behind proxies and CDNs (uvicorn)": "tests/test_proxies.py",
}
# Everything from this line on in docs/reliability.md is written by hand and kept when the figures are refreshed.
KEPT_FROM = "## How each kind of fault is kept out"


def run_suite(path: str) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", path, "-p", "no:cacheprovider", "--hypothesis-show-statistics"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|error)", output)}
    counts["inputs"] = sum(int(n) for n in re.findall(r"(\d+) passing(?: examples)?,", output))
    counts["exit"] = result.returncode
    return counts


def load_row(title: str, figures: dict[str, Any]) -> str:
    return (
        f"| {title} | {figures['requests']:,} | {figures['requests_per_second']:,.0f} | {figures['errors']} "
        f"| {figures['p50_ms']} | {figures['p99_ms']} | {figures['rss_start_mb']} → {figures['rss_end_mb']} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    rows = []
    failed = False
    for title, path in SUITES.items():
        counts = run_suite(path)
        failed |= counts["exit"] != 0
        inputs = f"{counts['inputs']:,}" if counts["inputs"] else "—"
        rows.append(f"| {title} | `{path}` | {counts.get('passed', 0)} | {counts.get('failed', 0)} | {inputs} |")
    load = json.loads(
        subprocess.run(
            [sys.executable, "bench/load.py", "--seconds", str(args.seconds), "--clients", str(args.clients), "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    bare, wrapped = load["bare"], load["adguard"]
    text = f"""# Reliability figures

Produced by `scripts/reliability.py` on {dt.date.today():%Y-%m-%d} (Python {platform.python_version()},
{platform.machine()}); re-run it to refresh this page. What each suite proves is described in
[security.md](security.md).

| suite | tests | passed | failed | inputs tried |
|---|---|---|---|---|
{chr(10).join(rows)}

## Load

{args.clients} concurrent keep-alive clients for {args.seconds:g} s against each server (uvicorn, one worker, on
127.0.0.1), mixing pages, the stylesheet and, for the wrapped site, the detector and beacons. Client and server
share the machine's cores, so latency is mostly queueing.

| | requests | requests/s | errors | p50 ms | p99 ms | RSS start → end (MB) |
|---|---:|---:|---:|---:|---:|---|
{load_row("bare demo site", bare)}
{load_row("with adguard_mw", wrapped)}
"""
    page = ROOT / "docs" / "reliability.md"
    existing = page.read_text() if page.exists() else ""
    if KEPT_FROM in existing:
        text += "\n" + existing[existing.index(KEPT_FROM) :]
    page.write_text(text)
    print(text)
    return 1 if failed or wrapped["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
