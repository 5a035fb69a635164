"""The analysts' commands: `adguard-mw report`, `compact` and `prune`.

Exit codes: 0 when something was reported (even if some lines were skipped: stderr says which), 1 when nothing
could be read, 2 for usage errors. Problems are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .query import DIMENSIONS, Report, ReportError

COMMANDS = ("report", "compact", "prune")
FORMATS = ("table", "csv", "json", "html")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date such as 2026-11-25, not {text!r}") from None


def _age(text: str) -> int:
    from .storage import parse_age

    try:
        return parse_age(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_commands(commands: Any) -> None:
    """Add the three subcommands to the `adguard-mw` parser's subparsers."""
    report = commands.add_parser(
        "report",
        help="block rate, messages and recoveries from event files",
        description="Read event files (JSON lines and compacted Parquet) and report the metrics of docs/events.md.",
    )
    report.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="event files or directories (searched recursively), or s3://bucket/prefix datasets",
    )
    report.add_argument("--since", type=_date, metavar="DATE", help="first UTC day to include (YYYY-MM-DD)")
    report.add_argument("--until", type=_date, metavar="DATE", help="last UTC day to include (YYYY-MM-DD)")
    report.add_argument("--by", choices=list(DIMENSIONS), help="also break every metric down by this")
    report.add_argument("--format", choices=FORMATS, default="table", help="output format (default: %(default)s)")
    report.add_argument("--output", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    report.add_argument("--baseline", metavar="VARIANT", help="variant to compare against (default: first by name)")
    report.add_argument(
        "--engine", choices=("duckdb", "spark"), default="duckdb", help="where the SQL runs (default: %(default)s)"
    )
    report.add_argument("--master", metavar="URL", help="Spark master, e.g. spark://host:7077 (default: local[*])")

    compact = commands.add_parser(
        "compact",
        help="rewrite finished days of JSON lines into one Parquet file per day",
        description="Rewrite each finished day partition's JSON lines into dt=YYYY-MM-DD/events.parquet. "
        "Today's partition is never touched.",
    )
    compact.add_argument("path", type=Path, metavar="PATH", help="the event directory (holding dt=YYYY-MM-DD/)")
    compact.add_argument(
        "--older-than", type=_age, default=1, metavar="AGE", help="only days at least this old, e.g. 1d (default)"
    )

    prune = commands.add_parser(
        "prune",
        help="delete day partitions older than a retention period",
        description="Delete dt=YYYY-MM-DD partitions at least AGE old (yesterday is 1 day old).",
    )
    prune.add_argument("path", type=Path, metavar="PATH", help="the event directory (holding dt=YYYY-MM-DD/)")
    prune.add_argument("--older-than", type=_age, required=True, metavar="AGE", help="e.g. 90d or 12w")
    prune.add_argument("--dry-run", action="store_true", help="only list what would be deleted")


def run(args: argparse.Namespace) -> int:
    command: str = args.command
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "report": run_report,
        "compact": run_compact,
        "prune": run_prune,
    }
    try:
        return handlers[command](args)
    except ReportError as error:
        _say(command, str(error))
        return 2 if error.usage else 1
    except OSError as error:
        _say(command, f"{error.strerror or error}: {error.filename}" if error.filename else str(error))
        return 1


def _say(command: str, message: str) -> None:
    prefix = "" if message.startswith("adguard-mw ") else f"adguard-mw {command}: "
    print(prefix + message, file=sys.stderr)


def run_report(args: argparse.Namespace) -> int:
    from .query import build_report, find_inputs, stderr_progress

    inputs = find_inputs(args.paths, args.since, args.until)
    for missing in inputs.missing:
        _say("report", f"no such file or directory: {missing}")
    if not inputs.files:
        where = ", ".join(str(p) for p in args.paths)
        raise ReportError(f"no event files (*.jsonl, *.parquet) in {where}{_period(args.since, args.until)}")
    progress = stderr_progress() if args.engine == "duckdb" else None
    try:
        report = build_report(
            inputs,
            since=args.since,
            until=args.until,
            by=args.by,
            baseline=args.baseline,
            charts=args.format == "html",
            progress=progress,
            engine=args.engine,
            master=args.master,
        )
    finally:
        if progress is not None:
            sys.stderr.write("\r\x1b[K")
    if report.skipped.total:
        _say("report", f"skipped {report.skipped.describe()} (read {report.total.events:,} events)")
    _write(args.output, _render(report, args.format))
    return 0


def _period(since: dt.date | None, until: dt.date | None) -> str:
    if since or until:
        return f" for days {since or '…'} to {until or '…'}"
    return ""


def _render(report: Report, form: str) -> str:
    if form == "html":
        from .html import render_html

        return render_html(report)
    from .render import render_csv, render_json, render_table

    renderers = {"table": render_table, "csv": render_csv, "json": render_json}
    return renderers[form](report)


def _write(output: Path | None, text: str) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    output.write_text(text, encoding="utf-8", newline="")


def run_compact(args: argparse.Namespace) -> int:
    from .storage import Compacted, compact

    root: Path = args.path
    if not root.is_dir():
        raise ReportError(f"not a directory: {root}")

    def tell(result: Compacted) -> None:
        name = result.partition.path.relative_to(root)
        if result.skipped_reason:
            print(f"{name}: left alone, {result.skipped_reason}")
            return
        line = f"{name}: {result.removed_files} JSON lines file(s) -> events.parquet ({result.events:,} events)"
        if result.unreadable:
            line += f"; kept {result.unreadable:,} unreadable line(s) in unreadable.jsonl"
        print(line)

    results = compact(root, args.older_than, on_day=tell)
    if not results:
        print(f"nothing to compact: no JSON lines in day partitions at least {args.older_than} day(s) old")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    from .storage import prune

    root: Path = args.path
    if not root.is_dir():
        raise ReportError(f"not a directory: {root}")
    removed = prune(root, args.older_than, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for item in removed:
        name = item.partition.path.relative_to(root)
        print(f"{verb} {name} ({item.files} file{'s' if item.files != 1 else ''}, {_size(item.size)})")
    if removed:
        total = sum(item.size for item in removed)
        print(f"{verb} {len(removed)} day partition{'s' if len(removed) != 1 else ''}, {_size(total)}")
    else:
        print(f"nothing to prune: no day partitions at least {args.older_than} days old")
    return 0


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover
