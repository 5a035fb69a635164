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
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..events import EVENT_NAMES, SCHEMA_VERSION
from .query import V1_COLUMNS, VERDICTS, ReportError, connect, jsonl_sql, unique_sql

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
#   1. sort the lines into .clean.jsonl.tmp and .unreadable.jsonl.tmp; write .events.parquet.tmp from the clean
#      lines and the day's earlier Parquet, each event id once; sync, check the row counts;
#   2. write .compact.json, the list of JSON lines files being replaced, and sync it;
#   3. rename .events.parquet.tmp to events.parquet: the commit;
#   4. remove the listed files, move .unreadable.jsonl.tmp into place, remove .compact.json.
# A crash before 3 leaves temporary files that the next run throws away; after 3, the next run finishes 4.
MANIFEST_NAME = ".compact.json"
CLEAN_NAME = ".clean.jsonl.tmp"  # the lines that go into Parquet, as judged by `v1_record`


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
    clean = folder / CLEAN_NAME
    # One judge per line: each goes either into the clean file (then Parquet) or into unreadable.jsonl, never
    # both and never neither (a line DuckDB would read differently, e.g. invalid UTF-8, is unreadable).
    good, kept = _sort_lines(folder, jsonl, clean)
    columns = list(V1_COLUMNS)
    parts = [jsonl_sql([clean], columns, V1_COLUMNS).replace("ignore_errors = true", "ignore_errors = false")]
    if parquet.exists():
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_quoted(parquet)})").fetchall()}
        casts = ", ".join(f"CAST({n if n in present else 'NULL'} AS {V1_COLUMNS[n]}) AS {n}" for n in columns)
        parts.append(f"SELECT {casts} FROM read_parquet({_quoted(parquet)})")
    rows = "(" + " UNION ALL ".join(parts) + ")"
    unique = f"SELECT * FROM ({unique_sql(rows, columns)})"
    counted = con.execute(f"SELECT count(*) FROM {rows}").fetchone()
    expected_in = good + (_parquet_rows(con, parquet) if parquet.exists() else 0)
    if not counted or int(counted[0]) != expected_in:
        raise ReportError(f"compacting {folder}: read {counted[0] if counted else 0} rows, expected {expected_in}")
    expected_row = con.execute(f"SELECT count(*) FROM ({unique})").fetchone()
    expected = int(expected_row[0]) if expected_row else 0
    # The same schema as the S3 sink's objects (times marked as UTC), so that one dataset can hold both.
    stored = f"SELECT * REPLACE (CAST(time AS TIMESTAMPTZ) AS time) FROM ({unique}) ORDER BY time, id"
    con.execute(f"COPY ({stored}) TO {_quoted(temporary)} (FORMAT parquet, COMPRESSION zstd)")
    clean.unlink()
    written = _parquet_rows(con, temporary)
    if written != expected:
        temporary.unlink(missing_ok=True)
        raise ReportError(f"compacting {folder}: wrote {written} rows, expected {expected}; nothing removed")
    _fsync(temporary)
    if not kept:
        (folder / f".{UNREADABLE_NAME}.tmp").unlink(missing_ok=True)
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
    (folder / CLEAN_NAME).unlink(missing_ok=True)
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
    """Whether compaction carries a line into Parquet (else it keeps it in unreadable.jsonl)."""
    return v1_record(line.encode("utf-8", "surrogateescape")) is not None


def v1_record(line: bytes) -> dict[str, object] | None:
    """A line as the report reads it: a valid v1 event with each field of the wrong type set to null, or None.

    The same rules as `query.problem_sql` and `query.typed_json_sql`, so that compaction never changes a figure."""
    try:
        record = json.loads(line.decode("utf-8"))
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        return None
    if not isinstance(record, dict):
        return None
    typed = {name: _typed(record.get(name), kind) for name, kind in V1_COLUMNS.items()}
    if typed["v"] != SCHEMA_VERSION or typed["time"] is None or typed["event"] not in EVENT_NAMES:
        return None
    if typed["event"] == "page_view":
        rate = typed["sample_rate"]
        if not isinstance(rate, float) or not 0 < rate <= 1 or typed["verdict"] not in (None, *VERDICTS):
            return None
    return typed


def _typed(value: object, kind: str) -> object:
    if value is None or kind == "JSON":
        return value
    if kind == "VARCHAR":
        return value if isinstance(value, str) else None
    if isinstance(value, bool):
        return None
    if kind == "BIGINT":
        return value if isinstance(value, int) and -(2**63) <= value < 2**63 else None
    if kind == "DOUBLE":
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
    return value if _is_timestamp(value) else None  # TIMESTAMP


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _sort_lines(folder: Path, jsonl: list[Path], clean: Path) -> tuple[int, int]:
    """Each line of the files (the kept unreadable ones included) into `clean`, typed, or, verbatim, into
    .unreadable.jsonl.tmp; both synced. Returns (clean lines, unreadable lines)."""
    good = kept = 0
    with open(clean, "wb") as valid, open(folder / f".{UNREADABLE_NAME}.tmp", "wb") as invalid:
        for path in jsonl:
            with open(path, "rb") as source:
                for line in source:
                    raw = line.rstrip(b"\n")
                    if not raw.strip():
                        continue
                    record = v1_record(raw)
                    if record is None:
                        invalid.write(raw + b"\n")
                        kept += 1
                    else:
                        valid.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
                        good += 1
        for out in (valid, invalid):
            out.flush()
            os.fsync(out.fileno())
    return good, kept


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
