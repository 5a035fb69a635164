"""Deterministic costs per request, for finding and checking hot spots on a machine too busy for timings.

    python bench/counts.py [--case NAME ...] [--variant LABEL ...] [--requests N] [--callgrind] [--json]

For each case and variant of `bench/apps.py`, in-process (the same requests as `inprocess.py`):

- Python function calls per request (cProfile's count, not its timings);
- peak Python memory allocated while answering one request (tracemalloc);
- with `--callgrind`, machine instructions per request, counted by valgrind's callgrind (each variant runs in
  its own process under valgrind; about half a minute each). The count is the same from run to run, which
  wall-clock and CPU time on a shared machine are not. Two biases to keep in mind: valgrind counts each byte
  a `rep movsb` copies as an instruction (so copying a page weighs more than it costs; the count without
  memcpy is shown too), and it hides CPU features from OpenSSL (so hashing weighs more than it costs).

Ratios are to the case's first variant (the bare app). Nothing here is a timing; `run.py` measures time.
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import cProfile
import gc
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for folder in (str(BENCH), str(ROOT)):
    if folder not in sys.path:
        sys.path.insert(0, folder)

import apps  # noqa: E402
import inprocess  # noqa: E402

import adguard_mw.events as events_module  # noqa: E402

WARM_UP = 50


def _marker() -> None:
    """callgrind dumps its counts when this C function is entered (--dump-before): the loop is the second dump."""
    binascii.crc_hqx(b"", 0)


def _entries(names: list[str] | None, labels: list[str] | None = None) -> list[tuple[apps.Case, apps.Entry]]:
    cases = apps.cases(apps.blocked_cookie())
    known = [case.name for case in cases]
    unknown = set(names or ()) - set(known)
    if unknown:
        raise SystemExit(f"unknown case(s) {sorted(unknown)}; cases: {', '.join(known)}")
    return [
        (case, entry)
        for case in cases
        if not names or case.name in names
        for index, entry in enumerate(case.entries)
        if not labels or index == 0 or entry.label in labels  # the bare app always, for the ratio
    ]


def python_counts(entry: apps.Entry, requests: int) -> dict[str, float]:
    call = inprocess._caller(apps.build(entry.variant), entry)

    async def measure() -> dict[str, float]:
        for _ in range(WARM_UP):
            await call()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(requests):
            await call()
        profile.disable()
        calls = pstats.Stats(profile).total_calls / requests  # type: ignore[attr-defined]
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            await call()
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        return {"calls": calls, "peak_kib": peak / 1024}

    return asyncio.run(measure())


def _inner(case_name: str, label: str, requests: int) -> None:
    """Runs under valgrind: warm up, then the measured loop between two markers."""
    [(_, entry)] = [(c, e) for c, e in _entries([case_name]) if e.label == label]
    # The only thread besides this one is the measured app's event writer (the apps that made the cookies keep no
    # events), and it wakes only when flushed, not once a second: under valgrind a second is a few requests, and
    # wake-ups by the clock (these apps' too) made the same code's JSON read 135.0k in one run and 138.5k in the
    # next. Flushed before and inside the window, every event of the measured requests is written within it.
    events_module.FLUSH_INTERVAL = 24 * 3600.0
    app = apps.build(entry.variant)
    call = inprocess._caller(app, entry)
    events = getattr(app, "events", None)
    flush = events.flush if events is not None else lambda: None

    async def loop() -> None:
        for _ in range(WARM_UP):
            await call()
        flush()
        gc.collect()
        gc.disable()
        _marker()
        for _ in range(requests):
            await call()
        flush()
        _marker()

    asyncio.run(loop())


def instructions(case: apps.Case, entry: apps.Entry, requests: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="adguard-mw-counts-") as temporary:
        out = Path(temporary) / "cg.out"
        command = [
            "valgrind", "--tool=callgrind", "--dump-before=binascii_crc_hqx*", f"--callgrind-out-file={out}",
            sys.executable, str(Path(__file__).resolve()), "--inner", case.name, entry.label, str(requests),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        loop = out.with_name(out.name + ".2")
        if done.returncode != 0 or not loop.exists():
            raise SystemExit(f"valgrind failed for {case.name}/{entry.label}: {done.stderr[-1000:]}")
        total = copied = 0
        for line in loop.read_text().splitlines():
            if line.startswith(("totals:", "summary:")):
                total = int(line.split()[1])
        annotated = subprocess.run(
            ["callgrind_annotate", "--threshold=100", str(loop)], capture_output=True, text=True, check=False
        ).stdout
        for line in annotated.splitlines():  # "  126,425 (44.61%)  .../memmove-vec-unaligned-erms.S:__memcpy_avx..."
            match = re.match(r"\s*([\d,]+)\s.*mem(cpy|move)", line)
            if match:
                copied += int(match.group(1).replace(",", ""))
    return {"instructions": total / requests, "instructions_no_memcpy": (total - copied) / requests}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument("--variant", action="append", help="only this variant, besides the bare app (repeatable)")
    parser.add_argument("--requests", type=int, default=300, help="requests counted per variant (default 300)")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions under valgrind")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--inner", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        _inner(args.inner[0], args.inner[1], int(args.inner[2]))
        return 0
    if args.callgrind and not (shutil.which("valgrind") and shutil.which("callgrind_annotate")):
        parser.error("--callgrind needs valgrind (apt-get install valgrind)")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for case, entry in _entries(args.case, args.variant):
        counts: dict[str, Any] = python_counts(entry, args.requests)
        if args.callgrind:
            counts.update(instructions(case, entry, args.requests))
        results.setdefault(case.name, {})[entry.label] = counts
        print(f"  {case.name}/{entry.label}: {counts}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    keys = ["calls", "peak_kib"] + (["instructions", "instructions_no_memcpy"] if args.callgrind else [])
    print("| case | variant | " + " | ".join(f"{key} | x" for key in keys) + " |")
    print("|" + "---|" * (2 + 2 * len(keys)))
    for case_name, entries in results.items():
        bare = next(iter(entries.values()))
        for label, counts in entries.items():
            cells = [
                f"{counts[key]:,.1f} | " + (f"{counts[key] / bare[key]:.3f}" if bare[key] else "-") for key in keys
            ]
            print(f"| {case_name} | {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
