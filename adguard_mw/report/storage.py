"""Housekeeping of the partitioned event directory: compacting finished days into Parquet and pruning old days.

A day partition is `<dir>/dt=YYYY-MM-DD/`; its age is whole UTC days before today (yesterday is 1 day old). Today's
partition is never touched, whatever the age given: servers are still appending to it.

Compaction never loses a line: the Parquet file is written beside the JSON lines, synced to disk, checked and only
then renamed into place, and only then are the JSON lines it replaces removed. Lines that are not schema v1 (a
torn last line, a newer version) cannot go into the v1 Parquet file, so they are kept verbatim in
`unreadable.jsonl` in the same partition, where the report keeps counting them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..events import EVENT_NAMES, SCHEMA_VERSION
from .query import V1_COLUMNS, VERDICTS, ReportError, connect, problem_sql

PARQUET_NAME = "events.parquet"
UNREADABLE_NAME = "unreadable.jsonl"
QUIET_SECONDS = 120  # a JSON lines file written to this recently may still have a writer; leave its day alone


if TYPE_CHECKING:
    import duckdb

_AGE = re.compile(r"^\s*(\d+)\s*([dw])\s*$")


def parse_age(text: str) -> int:
    """ "90d" or "12w" as a number of days (at least 1)."""
    match = _AGE.match(text.lower())
    if not match:
        raise ValueError(f"expected a number of days or weeks such as 90d or 12w, not {text!r}")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if days < 1:
        raise ValueError("the age must be at least 1d: today's partition is still being written")
    return days


@dataclass(frozen=True, slots=True)
class Partition:
    day: dt.date
    path: Path


def partitions(root: Path) -> Iterator[Partition]:
    """Every `dt=YYYY-MM-DD` directory under root, oldest first."""
    found = []
    for path in root.rglob("dt=*"):
        if path.is_dir():
            try:
                found.append(Partition(dt.date.fromisoformat(path.name[3:]), path))
            except ValueError:
                continue
    yield from sorted(found, key=lambda p: (p.day, str(p.path)))


def old_partitions(root: Path, older_than_days: int, today: dt.date | None = None) -> list[Partition]:
    today = today or dt.datetime.now(dt.UTC).date()
    limit = today - dt.timedelta(days=older_than_days)
    return [p for p in partitions(root) if p.day <= limit and p.day < today]


# Pruning.


@dataclass(frozen=True, slots=True)
class Pruned:
    partition: Partition
    files: int
    size: int


def prune(root: Path, older_than_days: int, *, dry_run: bool = False, today: dt.date | None = None) -> list[Pruned]:
    """Delete whole day partitions at least `older_than_days` old (or only list them, with dry_run)."""
    removed = []
    for partition in old_partitions(root, older_than_days, today):
        files = [p for p in partition.path.rglob("*") if p.is_file()]
        removed.append(Pruned(partition, len(files), sum(p.stat().st_size for p in files)))
        if not dry_run:
            shutil.rmtree(partition.path)
    return removed


# Compaction.


@dataclass(frozen=True, slots=True)
class Compacted:
    partition: Partition
    events: int  # rows in the Parquet file now
    removed_files: int
    unreadable: int  # lines kept in unreadable.jsonl
    skipped_reason: str = ""  # why the day was left alone, if it was


def compact(
    root: Path,
    older_than_days: int = 1,
    *,
    today: dt.date | None = None,
    quiet_seconds: float = QUIET_SECONDS,
    on_day: Callable[[Compacted], None] | None = None,
) -> list[Compacted]:
    """Rewrite each finished day's JSON lines (and any earlier Parquet) into one `events.parquet`."""
    results = []
    con = connect("compact")
    try:
        for partition in old_partitions(root, older_than_days, today):
            result = _compact_day(con, partition, quiet_seconds)
            if result is not None:
                results.append(result)
                if on_day is not None:
                    on_day(result)
    finally:
        con.close()
    return results


# The steps of one day, each safe to be interrupted:
#   1. write .events.parquet.tmp (and .unreadable.jsonl.tmp), sync them, check the row count;
#   2. write .compact.json, the list of JSON lines files being replaced, and sync it;
#   3. rename .events.parquet.tmp to events.parquet: the commit;
#   4. remove the listed files, move .unreadable.jsonl.tmp into place, remove .compact.json.
# A crash before 3 leaves temporary files that the next run throws away; after 3, the next run finishes 4.
MANIFEST_NAME = ".compact.json"


def _compact_day(con: duckdb.DuckDBPyConnection, partition: Partition, quiet_seconds: float) -> Compacted | None:
    folder = partition.path
    _recover(folder)
    jsonl = sorted(p for p in folder.glob("*.jsonl") if p.is_file())
    if not any(p.name != UNREADABLE_NAME for p in jsonl):
        return None  # already compact (at most the kept unreadable lines remain)
    now = time.time()
    if any(now - p.stat().st_mtime < quiet_seconds for p in jsonl):
        return Compacted(partition, 0, 0, 0, skipped_reason="written to in the last two minutes")
    parquet = folder / PARQUET_NAME
    temporary = folder / f".{PARQUET_NAME}.tmp"
    schema = "{" + ", ".join(f"{name}: '{kind}'" for name, kind in V1_COLUMNS.items()) + "}"
    valid = f"({problem_sql()}) IS NULL"  # exactly the lines the report counts as events
    lines = (
        f"SELECT * FROM read_json({_sql_list(jsonl)}, columns = {schema}, format = 'newline_delimited', "
        "ignore_errors = true, hive_partitioning = false)"
    )
    counted = con.execute(
        f"SELECT count(*) FILTER (WHERE {valid}), count(*) FILTER (WHERE NOT {valid}) FROM ({lines})"
    ).fetchone()
    good, bad = (int(counted[0]), int(counted[1])) if counted else (0, 0)
    rows = f"SELECT * FROM ({lines}) WHERE {valid}"
    expected = good
    if parquet.exists():
        rows += f" UNION ALL BY NAME SELECT * FROM read_parquet({_sql_list([parquet])})"
        expected += _parquet_rows(con, parquet)
    con.execute(f"COPY ({rows} ORDER BY time) TO {_quoted(temporary)} (FORMAT parquet, COMPRESSION zstd)")
    written = _parquet_rows(con, temporary)
    if written != expected:
        temporary.unlink(missing_ok=True)
        raise ReportError(f"compacting {folder}: wrote {written} rows, expected {expected}; nothing removed")
    _fsync(temporary)
    kept = _keep_unreadable(folder, jsonl) if bad else 0
    _write_synced(folder / MANIFEST_NAME, json.dumps([p.name for p in jsonl]))
    _fsync_directory(folder)
    os.replace(temporary, parquet)
    _fsync_directory(folder)
    _finish(folder)
    return Compacted(partition, expected, sum(p.name != UNREADABLE_NAME for p in jsonl), kept)


def _recover(folder: Path) -> None:
    """Finish or undo a compaction that was interrupted (see the steps above)."""
    manifest = folder / MANIFEST_NAME
    temporary = folder / f".{PARQUET_NAME}.tmp"
    if manifest.exists() and not temporary.exists():
        _finish(folder)
        return
    for leftover in (temporary, folder / f".{UNREADABLE_NAME}.tmp", manifest):
        leftover.unlink(missing_ok=True)


def _finish(folder: Path) -> None:
    manifest = folder / MANIFEST_NAME
    for name in json.loads(manifest.read_text(encoding="utf-8")):
        (folder / Path(name).name).unlink(missing_ok=True)
    unreadable = folder / f".{UNREADABLE_NAME}.tmp"
    if unreadable.exists():
        os.replace(unreadable, folder / UNREADABLE_NAME)
    _fsync_directory(folder)
    manifest.unlink()
    _fsync_directory(folder)


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join(_quoted(p) for p in paths) + "]"


def _write_synced(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _parquet_rows(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    row = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()
    return int(row[0]) if row else 0


def is_v1_line(line: str) -> bool:
    """Whether compaction carried a line into Parquet; strict, so that a doubtful line is kept rather than lost."""
    try:
        record = json.loads(line)
    except ValueError:
        return False
    if not isinstance(record, dict) or record.get("v") != SCHEMA_VERSION or record.get("event") not in EVENT_NAMES:
        return False
    for name, kind in V1_COLUMNS.items():
        value = record.get(name)
        if value is None or kind == "JSON":
            continue
        if kind == "VARCHAR" and not isinstance(value, str):
            return False
        if kind in ("BIGINT", "DOUBLE") and (isinstance(value, bool) or not isinstance(value, int | float)):
            return False
        if kind == "BIGINT" and not isinstance(value, int):
            return False
        if kind == "TIMESTAMP" and not _is_timestamp(value):
            return False
    if record["event"] == "page_view":
        rate = record.get("sample_rate")
        if rate is None or not 0 < rate <= 1 or record.get("verdict") not in (None, *VERDICTS):
            return False
    return "time" in record


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _keep_unreadable(folder: Path, jsonl: list[Path]) -> int:
    """Copy every line that is not v1 (including those kept before) into .unreadable.jsonl.tmp, synced."""
    temporary = folder / f".{UNREADABLE_NAME}.tmp"
    kept = 0
    with open(temporary, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as out:
        for path in jsonl:
            with open(path, encoding="utf-8", errors="surrogateescape", newline="\n") as source:
                for line in source:
                    text = line.rstrip("\n")
                    if text.strip() and not is_v1_line(text):
                        out.write(text + "\n")
                        kept += 1
        out.flush()
        os.fsync(out.fileno())
    return kept


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
