"""Every event has a time-ordered id, and everything that reads events counts each id once.

At-least-once shipping and files copied twice must never double a figure; events written before ids existed
still count. Values of the wrong type are read as the docs say, and compaction puts every line in exactly one
place.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from adguard_mw.events import EventLog, uuid7
from adguard_mw.report.storage import compact

from .events import event, write_lines
from .test_metrics import report_json, small_site

pytest.importorskip("duckdb")

DAY = dt.date(2026, 11, 22)  # "today" for compaction: the small site's days are finished


def with_ids(root: Path) -> Path:
    """Give every event of the small site an id, as the middleware now writes them."""
    for path in root.rglob("*.jsonl"):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        write_lines(path, [{"id": str(uuid7()), **line} for line in lines])
    return root


def test_ids_are_uuidv7_in_the_order_they_were_made() -> None:
    moment = time.time()
    ids = [uuid7(moment) for _ in range(5000)] + [uuid7(moment + 0.001)]
    parsed = [uuid.UUID(text) for text in ids]
    assert {u.version for u in parsed} == {7}
    assert {u.variant for u in parsed} == {uuid.RFC_4122}
    assert parsed == sorted(parsed, key=lambda u: u.int)  # strictly increasing, also within one millisecond
    assert len(set(ids)) == len(ids)
    # The first 48 bits are the event's Unix milliseconds (never earlier than an id this process made before).
    assert 0 <= (parsed[0].int >> 80) - int(moment * 1000) < 1000


def test_every_logged_event_carries_its_own_id() -> None:
    records: list[dict[str, Any]] = []
    log = EventLog.to(records.append, site="lantern")
    for _ in range(3):
        log.emit("recovered", visitor="v1")
    log.flush()
    ids = [record["id"] for record in records]
    assert len(set(ids)) == 3 and ids == sorted(ids)
    assert all(uuid.UUID(text).version == 7 for text in ids)


def test_a_copied_file_counts_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = with_ids(small_site(tmp_path / "events"))
    once = report_json(capsys, str(root), "--by", "variant")
    copy = root / "dt=2026-11-20" / "web-1-copy.jsonl"
    shutil.copy(root / "dt=2026-11-20" / "web-1.jsonl", copy)
    twice = report_json(capsys, str(root), "--by", "variant")
    assert twice["input"]["jsonl_files"] == once["input"]["jsonl_files"] + 1
    assert twice["total"] == once["total"] and twice["groups"] == once["groups"]


def test_events_without_an_id_still_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "events"
    old = event("2026-11-20T10:00:00.000Z", "message_shown", visitor="v1", verdict="blocked")
    new = {**old, "id": str(uuid7())}
    write_lines(root / "dt=2026-11-20" / "web-1.jsonl", [old, old, new, new])
    assert report_json(capsys, str(root))["total"]["messages_shown"] == 3  # two old lines, one id


def test_compaction_is_idempotent_and_merges_copies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = with_ids(small_site(tmp_path / "events"))
    before = report_json(capsys, str(root), "--by", "day")
    folder = root / "dt=2026-11-20"
    original = (folder / "web-1.jsonl").read_text()
    compact(root, 1, today=DAY, quiet_seconds=0)
    (folder / "web-1.jsonl").write_text(original)  # shipped again after compaction
    [again] = compact(root, 1, today=DAY, quiet_seconds=0)
    assert again.events == before["groups"][0]["events"]
    after = report_json(capsys, str(root), "--by", "day")
    assert after["total"] == before["total"] and after["groups"] == before["groups"]


def test_wrongly_typed_values_are_not_coerced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "events"
    shown = event("2026-11-20T10:00:00.000Z", "message_shown", verdict="blocked")
    write_lines(
        root / "dt=2026-11-20" / "web-1.jsonl",
        [
            {**shown, "visitor": "v1"},
            {**shown, "visitor": 123},  # a number is no visitor id: counts as a message, not as a visitor
            {**shown, "v": "1"},  # a string is no schema version: malformed
            {**shown, "v": 1.0},
        ],
    )
    result = report_json(capsys, str(root))
    assert result["total"]["messages_shown"] == 2
    assert result["total"]["recovery_rate"]["denominator"] == 1
    assert result["input"]["skipped"]["malformed"] == 2


def test_compaction_puts_every_line_in_exactly_one_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "events"
    folder = root / "dt=2026-11-20"
    shown = event("2026-11-20T10:00:00.000Z", "message_shown", verdict="blocked", visitor="v1")
    write_lines(folder / "web-1.jsonl", [shown, {**shown, "visitor": 123}, {**shown, "v": "1"}])
    bad_utf8 = b'{"v":1,"time":"2026-11-20T10:00:01.000Z","event":"recovered","visitor":"\xff\xfe"}'
    with open(folder / "web-1.jsonl", "ab") as file:
        file.write(bad_utf8 + b"\n")
    before = report_json(capsys, str(root))
    [result] = compact(root, 1, today=DAY, quiet_seconds=0)
    # The line DuckDB reads with a null visitor goes to Parquet only; the string version and the invalid UTF-8
    # line go to unreadable.jsonl only, byte for byte.
    assert (result.events, result.unreadable) == (2, 2)
    kept = (folder / "unreadable.jsonl").read_bytes().splitlines()
    assert kept == [json.dumps({**shown, "v": "1"}).encode(), bad_utf8]
    after = report_json(capsys, str(root))
    assert after["total"] == before["total"]
    assert (
        after["input"]["skipped"]
        == before["input"]["skipped"]
        == {
            "total": 2,
            "malformed": 2,
            "invalid": 0,
            "other_versions": {},
        }
    )
    assert after["total"]["events"] == 2 and after["total"]["messages_shown"] == 2
