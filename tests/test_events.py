"""The event log: off the request path, bounded, never a torn line, and never personal data."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from adguard_mw.events import (
    EVENT_NAMES,
    CallableSink,
    EventLog,
    JsonLinesSink,
    LoggingSink,
    _dumps,
    _line,
    default_instance_id,
    primary_language,
    raw_reader_fields,
    reader_fields,
    uuid7,
)

from .site import CHROME

ROOT = Path(__file__).resolve().parents[1]


def lines(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for file in sorted(directory.rglob("*.jsonl")) for line in file.read_text().splitlines()]


def test_every_event_carries_the_common_fields(tmp_path: Path) -> None:
    log = EventLog([JsonLinesSink(tmp_path, "web-1")], site="lantern", instance="web-1")
    log.emit("recovered", path="/a", visitor="v1")
    log.flush()
    [event] = lines(tmp_path)
    assert event["v"] == 1 and event["event"] == "recovered" and event["site"] == "lantern"
    assert event["instance"] == "web-1" and event["time"].endswith("Z") and len(event["time"]) == 24


def test_files_are_partitioned_by_day_and_instance(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, "web-2")
    sink.write([{"time": "2026-11-24T23:59:59.999Z", "event": "a"}, {"time": "2026-11-25T00:00:00.000Z", "event": "b"}])
    sink.write([{"time": "2026-11-25T00:00:00.001Z", "event": "c"}, {"time": "2026-11-24T23:59:59.998Z", "event": "d"}])
    sink.close()  # the second batch: a clock set back across midnight
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jsonl")) == [
        "dt=2026-11-24/web-2.jsonl",
        "dt=2026-11-25/web-2.jsonl",
    ]
    by_day = {file.parent.name: [event["event"] for event in lines(file.parent)] for file in tmp_path.rglob("*.jsonl")}
    assert by_day == {"dt=2026-11-24": ["a", "d"], "dt=2026-11-25": ["b", "c"]}


def test_unknown_events_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown event 'pageview'"):
        EventLog([LoggingSink()]).emit("pageview")
    assert "page_view" in EVENT_NAMES


def test_a_full_queue_drops_and_counts_instead_of_waiting() -> None:
    slow_calls: list[dict[str, Any]] = []

    def slow(record: dict[str, Any]) -> None:
        time.sleep(0.05)
        slow_calls.append(record)

    log = EventLog([CallableSink(slow)], queue_size=5)
    started = time.perf_counter()
    for _ in range(200):
        log.emit("page_view", path="/")
    elapsed = time.perf_counter() - started
    assert elapsed < 5  # the request path never waited for the slow sink (that would take 200 x 0.05 s = 10 s)
    assert log.dropped > 150
    log.flush(timeout=10)
    assert len(slow_calls) + log.dropped == 200


def test_a_failing_sink_is_reported_once_and_the_others_still_get_events(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(record: dict[str, Any]) -> None:
        raise RuntimeError("analytics endpoint down")

    log = EventLog([CallableSink(broken), JsonLinesSink(tmp_path, "web-3")], instance="web-3")
    for _ in range(3):
        log.emit("verdict", verdict="blocked")
        log.flush()
    assert len(lines(tmp_path)) == 3
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_the_logging_sink_writes_one_json_line_per_event(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adguard_mw.events")
    log = EventLog([LoggingSink()])
    log.emit("message_shown", path="/a\nforged line")
    log.flush()
    # Only this log's line: other tests' event logs may still be writing to the same logger from their threads.
    [record] = [r for r in caplog.records if r.name == "adguard_mw.events" and "forged line" in r.getMessage()]
    assert "\n" not in record.getMessage()  # a newline in a field cannot forge a second record
    assert json.loads(record.getMessage())["path"] == "/a\nforged line"


def test_no_record_is_made_for_logging_below_info_and_records_come_back_with_info(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The default set-up (no `events=`, logging at WARNING) writes nothing: the writer then draws no id and makes
    no record; once the logger takes INFO, the next events are written whole."""
    import adguard_mw.events as events_module

    ids: list[str] = []
    real_uuid7 = events_module._uuid7
    monkeypatch.setattr(events_module, "_uuid7", lambda millis: ids.append("id") or real_uuid7(millis))
    quiet = logging.getLogger("adguard_mw.events.test-quiet")
    quiet.setLevel(logging.WARNING)
    log = EventLog([LoggingSink(quiet)])
    for _ in range(3):
        log.emit("page_view", path="/unheard")
    log.flush()
    assert ids == []
    quiet.setLevel(logging.INFO)
    caplog.set_level(logging.INFO, logger="adguard_mw.events.test-quiet")
    log.emit("page_view", path="/heard")
    log.flush()
    assert len(ids) == 1
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "adguard_mw.events.test-quiet"]
    assert line["path"] == "/heard" and line["event"] == "page_view" and line["id"]


def test_wanted_asks_the_sinks_at_most_once_a_second() -> None:
    """A page view asks before making its fields; a change of log level counts from the next whole second."""
    quiet = logging.getLogger("adguard_mw.events.test-wanted")
    quiet.setLevel(logging.WARNING)
    log = EventLog([LoggingSink(quiet)])
    assert log.wanted(1_000) is False
    quiet.setLevel(logging.INFO)
    assert log.wanted(1_000) is False  # the same second: the answer stands
    assert log.wanted(1_001) is True
    assert EventLog([LoggingSink(quiet), CallableSink(print)]).wanted(1_000) is True


def test_a_sink_without_active_always_gets_its_records() -> None:
    got: list[dict[str, Any]] = []
    log = EventLog([LoggingSink(logging.getLogger("adguard_mw.events.test-silent")), CallableSink(got.append)])
    log.emit("page_view", path="/a")
    log.flush()
    assert [record["path"] for record in got] == ["/a"]


def test_a_crash_loses_at_most_the_last_second_and_never_tears_a_line(tmp_path: Path) -> None:
    """A server killed with SIGKILL while logging: every line on disk is whole, and only the last second is lost."""
    script = textwrap.dedent(
        f"""
        import time
        from adguard_mw.events import EventLog, JsonLinesSink
        log = EventLog([JsonLinesSink({str(tmp_path)!r}, "web-9")], instance="web-9")
        n = 0
        while True:
            for _ in range(200):  # about 4,000 events a second: a busy site
                log.emit("page_view", path="/story/" + "x" * 200, n=n)
                n += 1
            print(n, flush=True)
            time.sleep(0.05)
        """
    )
    progress: list[tuple[float, int]] = []
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT) as process:
        assert process.stdout is not None
        progress.append((time.monotonic(), int(process.stdout.readline())))  # running: start the clock now
        started, deadline = progress[0][0], progress[0][0] + 60
        # Three seconds of logging, and at least one batch written (a loaded machine may be slow to get there).
        while time.monotonic() - started < 3 or not any(f.stat().st_size for f in tmp_path.rglob("*.jsonl")):
            assert time.monotonic() < deadline, "the event log wrote nothing in a minute"
            progress.append((time.monotonic(), int(process.stdout.readline())))
        killed_at = time.monotonic()
        process.send_signal(signal.SIGKILL)
        process.stdout.read()
    raw = "".join(file.read_text() for file in tmp_path.rglob("*.jsonl"))
    assert raw.endswith("\n")
    numbers = [json.loads(line)["n"] for line in raw.splitlines()]  # every line parses: none is torn
    assert numbers == sorted(set(numbers))  # nothing out of order, nothing twice
    emitted_a_second_and_a_half_before = max(n for at, n in progress if at <= killed_at - 1.5)
    assert set(range(emitted_a_second_and_a_half_before)) <= set(numbers)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("de-CH,de;q=0.9,en;q=0.8", "de"), ("EN", "en"), ("*", None), ("", None), ("x-klingon", None), ("fil-PH", "fil")],
)
def test_the_locale_is_the_first_language_only(header: str, expected: str | None) -> None:
    assert primary_language(header) == expected


def test_instance_ids_are_safe_file_names() -> None:
    instance = default_instance_id()
    assert instance and all(c.isalnum() or c in "-_" for c in instance)


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "ünïcödé and \u2028 and emoji \U0001f600",
        '\x00\x1f\x7f\n\t"\\ controls',
        "separators \x85 \u2029 \x1c \x0b \r",
        1.0,
        0.25,
        1e-4,
        9e-05,
        2.5e-7,
        1e-10,
        1.5e16,
        -3e-6,
        10**20,
        {"nested": [1, "é", 2.5e-7], "ok": None},
        {1: "int key"},
        ["1e-5,", "0.00001", "3e-4a"],
    ],
)
def test_a_line_is_one_ascii_json_line_that_reads_back_as_the_record(value: object) -> None:
    record = {"v": 1, "id": "01a23718-348f-710f-a026-49bf1e13d69a", "event": "page_view", "field": value}
    line = _dumps(record)
    assert line.isascii() and line.splitlines() == [line]  # no separator any reader splits lines on
    assert _line(record) == line.encode() + b"\n"  # what a file of JSON lines gets: the same line, as bytes
    assert json.loads(line) == json.loads(json.dumps(record))  # what json would read back (int keys as text)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {b"user-agent": CHROME.encode(), b"accept-language": b"de-CH,de;q=0.9", b"sec-ch-ua": b'"Brave";v="150"'},
        {b"user-agent": b"Mozilla/5.0 " + b"x" * 600 + b" Firefox/150.0", b"accept-language": b"fr" + b"," * 40},
        {b"user-agent": "Mozilla/5.0 (Linux; Android 14) Chrome/150.0 Mobile Safari/537.36 \xe9".encode("latin-1")},
    ],
)
def test_event_fields_from_raw_headers_are_those_of_the_decoded_headers(headers: dict[bytes, bytes]) -> None:
    """Page views read the reader's facts from the request's headers as they came; every other event from the
    decoded text: both must write the same fields."""
    decoded = {name: value.decode("latin-1") for name, value in headers.items()}
    expected = reader_fields(
        decoded.get(b"user-agent", ""),
        decoded.get(b"accept-language", ""),
        "v1",
        "/p",
        mode="soft",
        variant="b",
        brands=decoded.get(b"sec-ch-ua", ""),
    )
    for _ in range(2):  # and from the cache
        assert raw_reader_fields(headers, "v1", "/p", mode="soft", variant="b") == expected


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # Python 3.12+: this test process has threads
def test_ids_stay_unique_across_a_fork_of_a_worker_after_start() -> None:
    """A server that forks its workers after the app started: parent and child make ids in the same millisecond
    from the same state, and still never make the same id."""
    moment = time.time()
    uuid7(moment)  # the state a worker inherits
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and leaves at once
        try:
            os.write(write, "\n".join(uuid7(moment) for _ in range(200)).encode())
        finally:
            os._exit(0)
    os.close(write)
    ours = {uuid7(moment) for _ in range(200)}
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split("\n"))
    os.waitpid(child, 0)
    assert len(ours) == len(theirs) == 200 and not ours & theirs


def test_a_record_is_the_common_fields_then_the_events_own_in_order() -> None:
    fields = {"path": "/a", "visitor": "v1", "verdict": None}
    record = EventLog([], site="lantern", instance="web-1")._record(time.time(), "recovered", fields)
    assert list(record) == ["v", "id", "time", "event", "site", "instance", "path", "visitor", "verdict"]
    assert record["v"] == 1 and record["event"] == "recovered" and record["site"] == "lantern"
    assert record["instance"] == "web-1" and record["path"] == "/a" and record["verdict"] is None


def test_a_stamp_is_the_events_utc_time_to_the_millisecond() -> None:
    """Formatted once a second and kept: the next second, the next day and a clock set back each get their own."""
    log = EventLog([])
    second = dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=dt.UTC).timestamp()
    for when, stamp in [
        (second + 0.0004, "2026-11-24T23:59:59.000Z"),
        (second + 0.9994, "2026-11-24T23:59:59.999Z"),
        (second + 1.0004, "2026-11-25T00:00:00.000Z"),
        (second + 1.0074, "2026-11-25T00:00:00.007Z"),
        (second + 0.0204, "2026-11-24T23:59:59.020Z"),
    ]:
        assert log._record(when, "page_view", {})["time"] == stamp


def test_an_events_id_and_stamp_tell_the_same_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    import adguard_mw.events as events_module

    monkeypatch.setattr(events_module, "_uuid_last", 0)  # no id made yet in a later millisecond
    record = EventLog([])._record(time.time(), "page_view", {})
    millis = uuid.UUID(record["id"]).int >> 80
    assert record["time"] == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}Z"
