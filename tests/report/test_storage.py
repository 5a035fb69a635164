"""Compaction keeps every event and every unreadable line, never touches today; pruning deletes only old days."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest

from adguard_mw.cli import main
from adguard_mw.report.storage import (
    MANIFEST_NAME,
    compact,
    is_v1_line,
    old_partitions,
    parse_age,
    prune,
)

from .events import event, write_lines
from .test_metrics import small_site

pytest.importorskip("duckdb")

TODAY = dt.datetime.now(dt.UTC).date()


def day(offset: int) -> str:
    return (TODAY - dt.timedelta(days=offset)).isoformat()


def age_files(root: Path, seconds: float = 600) -> None:
    """Make every file look written `seconds` ago, past compaction's quiet period."""
    past = dt.datetime.now().timestamp() - seconds
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def report(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> dict[str, Any]:
    assert main(["report", str(root), "--format", "json", *args]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def without_input(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key != "input"}


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("12w", 84), ("1d", 1), (" 7D ", 7)])
def test_ages_are_days_or_weeks(text: str, days: int) -> None:
    assert parse_age(text) == days


@pytest.mark.parametrize("text", ["0d", "90", "3m", "-1d", "d"])
def test_other_ages_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_age(text)


def test_compacted_days_give_the_same_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = small_site(tmp_path / "events")  # days in November 2026
    before = report(capsys, root, "--by", "day")
    results = compact(root, 1, today=dt.date(2026, 11, 22), quiet_seconds=0)
    assert [(r.partition.day.isoformat(), r.events, r.removed_files) for r in results] == [
        ("2026-11-20", 14, 2),
        ("2026-11-21", 6, 1),
    ]
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["events.parquet", "events.parquet"]
    after = report(capsys, root, "--by", "day")
    assert after["input"]["parquet_files"] == 2 and after["input"]["jsonl_files"] == 0
    assert without_input(after) == without_input(before)


def test_late_lines_are_merged_into_the_existing_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = small_site(tmp_path / "events")
    before = report(capsys, root)
    late = root / "dt=2026-11-21" / "web-1.jsonl"
    lines = late.read_text().splitlines(keepends=True)
    late.write_text("".join(lines[:3]))
    compact(root, 1, today=dt.date(2026, 11, 22), quiet_seconds=0)
    late.write_text("".join(lines[3:]))  # a server that flushed after the first compaction
    compact(root, 1, today=dt.date(2026, 11, 22), quiet_seconds=0)
    assert not late.exists()
    assert without_input(report(capsys, root)) == without_input(before)


def test_unreadable_lines_are_kept_and_still_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "events"
    good = event("2026-11-20T10:00:00.000Z", "page_view", verdict="blocked", kind="extension", sample_rate=1.0)
    torn = '{"v":1,"time":"2026-11-20T10:00:01.000Z","ev'
    newer = {**good, "v": 2}
    write_lines(root / "dt=2026-11-20" / "web-1.jsonl", [good, torn, newer])
    before = report(capsys, root)
    capsys.readouterr()
    [result] = compact(root, 1, today=dt.date(2026, 11, 22), quiet_seconds=0)
    assert (result.events, result.unreadable) == (1, 2)
    kept = (root / "dt=2026-11-20" / "unreadable.jsonl").read_text().splitlines()
    assert kept == [torn, json.dumps(newer)]
    assert without_input(report(capsys, root)) == without_input(before)
    assert compact(root, 1, today=dt.date(2026, 11, 22), quiet_seconds=0) == []  # nothing left to do


def test_an_interrupted_compaction_is_finished_by_the_next(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = small_site(tmp_path / "events")
    before = report(capsys, root)
    folder = root / "dt=2026-11-21"
    compact(root, 1, today=dt.date(2026, 11, 22), quiet_seconds=0)
    # Put back the state right after the commit (Parquet renamed into place) and before the clean-up.
    write_lines(folder / "web-1.jsonl", ['{"v":1}'])
    (folder / MANIFEST_NAME).write_text(json.dumps(["web-1.jsonl"]))
    compact(root, 1, today=dt.date(2026, 11, 22), quiet_seconds=0)
    assert sorted(p.name for p in folder.iterdir()) == ["events.parquet"]
    assert without_input(report(capsys, root)) == without_input(before)


def test_compaction_refuses_today_and_recently_written_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "events"
    for offset in (0, 1, 2):
        stamp = f"{day(offset)}T00:00:00.000Z"
        write_lines(
            root / f"dt={day(offset)}" / "web-1.jsonl", [event(stamp, "page_view", verdict=None, sample_rate=1)]
        )
    age_files(root)
    today_file = root / f"dt={day(0)}" / "web-1.jsonl"
    os.utime(root / f"dt={day(1)}" / "web-1.jsonl")  # yesterday's file was just appended to
    snapshot = (today_file.read_bytes(), today_file.stat().st_mtime_ns)

    assert main(["compact", str(root), "--older-than", "1d"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"dt={day(2)}: 1 JSON lines file(s) -> events.parquet (1 events)",
        f"dt={day(1)}: left alone, written to in the last two minutes",
    ]
    assert (today_file.read_bytes(), today_file.stat().st_mtime_ns) == snapshot
    assert not (root / f"dt={day(0)}" / "events.parquet").exists()
    assert (root / f"dt={day(1)}" / "web-1.jsonl").exists()


def test_compact_with_nothing_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compact", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "nothing to compact: no JSON lines in day partitions at least 1 day(s) old\n"
    assert main(["compact", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err == f"adguard-mw compact: not a directory: {tmp_path / 'missing'}\n"


def partitions_of(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_prune_dry_run_then_for_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "events"
    for offset in (0, 1, 89, 90, 120):
        write_lines(root / f"dt={day(offset)}" / "web-1.jsonl", ['{"v":1}'])
    everything = partitions_of(root)

    assert main(["prune", str(root), "--older-than", "90d", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"would remove dt={day(120)} (1 file, 8 B)",
        f"would remove dt={day(90)} (1 file, 8 B)",
        "would remove 2 day partitions, 16 B",
    ]
    assert partitions_of(root) == everything

    assert main(["prune", str(root), "--older-than", "90d"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "removed 2 day partitions, 16 B"
    assert set(partitions_of(root)) == {f"dt={day(0)}", f"dt={day(1)}", f"dt={day(89)}"}

    assert main(["prune", str(root), "--older-than", "90d"]) == 0
    assert capsys.readouterr().out == "nothing to prune: no day partitions at least 90 days old\n"


def test_prune_in_weeks_and_never_today(tmp_path: Path) -> None:
    root = tmp_path / "events"
    for offset in (0, 6, 7, 8):
        (root / f"dt={day(offset)}").mkdir(parents=True)
    (root / "not-a-partition").mkdir()
    removed = prune(root, parse_age("1w"))
    assert [item.partition.day for item in removed] == [TODAY - dt.timedelta(days=8), TODAY - dt.timedelta(days=7)]
    assert {p.day for p in old_partitions(root, 1)} == {TODAY - dt.timedelta(days=6)}
    assert (root / "not-a-partition").exists()


@pytest.mark.parametrize(
    ("line", "v1"),
    [
        ('{"v":1,"time":"2026-11-20T10:00:00.000Z","event":"recovered"}', True),
        ('{"v":1,"time":"2026-11-20T10:00:00.000Z","event":"recovered","extra":[1]}', True),
        ('{"v":2,"time":"2026-11-20T10:00:00.000Z","event":"recovered"}', False),
        ('{"v":1,"time":"yesterday","event":"recovered"}', False),
        ('{"v":1,"time":"2026-11-20T10:00:00.000Z","event":"page_view","sample_rate":"all"}', False),
        ('{"v":1,"time":"2026-11-20T10:00:00.000Z","ev', False),
        ("[1]", False),
    ],
)
def test_which_lines_compaction_carries_over(line: str, v1: bool) -> None:
    assert is_v1_line(line) is v1
