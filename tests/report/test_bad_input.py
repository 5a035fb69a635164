"""Broken, foreign and missing input: one clear line on stderr, and a report of whatever could be read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from adguard_mw.cli import main

from .events import event, write_lines

pytest.importorskip("duckdb")

T = "2026-11-20T10:00:00.000Z"


def page_view(verdict: str = "blocked") -> dict[str, object]:
    return event(T, "page_view", verdict=verdict, kind=None, sample_rate=1.0)


def test_truncated_and_foreign_lines_are_skipped_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lines(
        tmp_path / "dt=2026-11-20" / "web-1.jsonl",
        [
            page_view("blocked"),
            "not json at all",
            '{"v":1,"time":"2026-11-20T10:00:01.000Z","event":"page_v',  # a torn last write
            {**page_view("not_blocked"), "v": 2, "new_field": True},
            page_view("not_blocked"),
            {**page_view(), "sample_rate": "half"},  # v1, but a page view must say how it was sampled
            event(T, "page_bounced"),  # an event v1 does not define
            "",
        ],
    )
    assert main(["report", str(tmp_path), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        "adguard-mw report: skipped 2 malformed lines, 1 line with schema v2, 2 invalid v1 lines (read 2 events)\n"
    )
    report = json.loads(captured.out)
    assert report["input"]["skipped"] == {"total": 5, "malformed": 2, "invalid": 2, "other_versions": {"2": 1}}
    assert report["total"]["block_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}


def test_the_table_repeats_what_was_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_lines(tmp_path / "e.jsonl", [page_view(), {**page_view(), "v": 2}])
    assert main(["report", str(tmp_path)]) == 0
    assert "skipped 1 line with schema v2" in capsys.readouterr().out


def test_only_unreadable_lines_read_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_lines(tmp_path / "e.jsonl", ["{oops", {**page_view(), "v": 3}])
    assert main(["report", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "adguard-mw report: no events could be read from 1 file: skipped 1 malformed line, 1 line with schema v3\n"
    )


def test_an_empty_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dt=2026-11-20").mkdir()
    assert main(["report", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"adguard-mw report: no event files (*.jsonl, *.parquet) in {tmp_path}\n"


def test_empty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.jsonl").write_text("")
    (tmp_path / "b.jsonl").write_text("\n\n")
    assert main(["report", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "adguard-mw report: no events could be read from 2 files\n"


def test_a_missing_path_is_named_and_the_rest_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_lines(tmp_path / "e.jsonl", [page_view()])
    assert main(["report", str(tmp_path / "nowhere"), str(log), "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"adguard-mw report: no such file or directory: {tmp_path / 'nowhere'}\n"
    assert captured.out.startswith("by,group,events")


def test_no_files_in_the_date_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_lines(tmp_path / "dt=2026-11-20" / "web-1.jsonl", [page_view()])
    assert main(["report", str(tmp_path), "--since", "2026-12-01"]) == 1
    assert capsys.readouterr().err == (
        f"adguard-mw report: no event files (*.jsonl, *.parquet) in {tmp_path} for days 2026-12-01 to …\n"
    )


def test_no_events_in_the_time_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_lines(tmp_path / "events.jsonl", [page_view()])
    assert main(["report", str(tmp_path), "--until", "2026-11-01"]) == 1
    assert capsys.readouterr().err == "adguard-mw report: no events could be read from 1 file until 2026-11-01\n"


@pytest.mark.parametrize(
    "args",
    [
        ["report"],
        ["report", ".", "--since", "yesterday"],
        ["report", ".", "--by", "colour"],
        ["report", ".", "--format", "pdf"],
        ["prune", ".", "--older-than", "3 months"],
        ["prune", "."],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert "usage: adguard-mw" in capsys.readouterr().err


def test_since_after_until_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_lines(tmp_path / "e.jsonl", [page_view()])
    assert main(["report", str(tmp_path), "--since", "2026-11-21", "--until", "2026-11-20"]) == 2
    assert capsys.readouterr().err == "adguard-mw report: --since 2026-11-21 is after --until 2026-11-20\n"


def test_without_duckdb_the_command_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_lines(tmp_path / "e.jsonl", [page_view()])
    monkeypatch.setitem(sys.modules, "duckdb", None)  # makes `import duckdb` raise ImportError
    assert main(["report", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "adguard-mw report needs DuckDB: pip install 'adguard-mw[report]'\n"
