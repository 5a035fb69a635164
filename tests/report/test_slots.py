"""The report counts house messages in blocked ad slots (`slot_filled`): slots filled, and the visitors who saw one.

Events written before the field existed still read: a Parquet file without a `slots` column counts none.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adguard_mw.report.query import build_report, find_inputs
from adguard_mw.report.render import render_csv, render_json, render_table

from .events import event, write_lines

duckdb = pytest.importorskip("duckdb")

DAY = "2026-11-20"


def slot_events(root: Path) -> Path:
    """v1 saw 2 house messages, then 1 more on a lazy slot of the same page; v2 saw 1; a GPC reader (no visitor)
    saw 3: 7 slots filled, 2 visitors. A page view and a shown message around them count as before."""
    lines = [
        event(f"{DAY}T08:00:00.000Z", "page_view", visitor="v1", path="/a", verdict="blocked", kind="extension",
              sample_rate=1.0),
        event(f"{DAY}T08:00:02.000Z", "slot_filled", visitor="v1", path="/a", verdict="blocked", slots=2),
        event(f"{DAY}T08:00:09.000Z", "slot_filled", visitor="v1", path="/a", verdict="blocked", slots=1),
        event(f"{DAY}T09:00:00.000Z", "slot_filled", visitor="v2", path="/b", verdict="blocked", slots=1),
        event(f"{DAY}T09:30:00.000Z", "slot_filled", visitor=None, path="/b", verdict="blocked", slots=3),
        event(f"{DAY}T09:30:01.000Z", "message_shown", visitor="v2", path="/b", verdict="blocked"),
    ]  # fmt: skip
    return write_lines(root / f"dt={DAY}" / "web-1.jsonl", lines)


def test_slots_filled_and_the_visitors_who_saw_one(tmp_path: Path) -> None:
    slot_events(tmp_path)
    report = build_report(find_inputs([tmp_path]), by="path")
    assert (report.total.slots_filled, report.total.slot_readers) == (7, 2)
    assert report.total.messages_shown == 1 and report.total.eligible == 1  # nothing else moved
    by_path = {group.key: group.metrics for group in report.groups}
    assert (by_path["/a"].slots_filled, by_path["/b"].slots_filled) == (3, 4)
    assert "ad slots filled" in render_table(report) and "7 (visitors 2)" in render_table(report)
    assert '"slots_filled": 7' in render_json(report)
    header, total, *_ = render_csv(report).splitlines()
    assert header.endswith(",slots_filled,slot_visitors") and total.endswith(",7,2")


def test_parquet_files_older_than_the_field_count_none(tmp_path: Path) -> None:
    """A day compacted before `slots` existed has no such column; with newer lines next to it, both read."""
    old = tmp_path / "dt=2026-11-19" / "events.parquet"
    old.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT 1::BIGINT AS v, 'x1' AS id, TIMESTAMP '2026-11-19 10:00:00' AS time, 'page_view' AS event, "
        "'/a' AS path, 'v9' AS visitor, 'blocked' AS verdict, 'extension' AS kind, 1.0::DOUBLE AS sample_rate) "
        f"TO '{old}' (FORMAT parquet)"
    )
    con.close()
    alone = build_report(find_inputs([old]))
    assert alone.total.eligible == 1 and alone.total.slots_filled == 0
    slot_events(tmp_path)
    both = build_report(find_inputs([tmp_path]))
    assert both.total.eligible == 2 and both.total.slots_filled == 7
