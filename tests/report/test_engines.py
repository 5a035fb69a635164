"""The same metric definitions on DuckDB and on Apache Spark (local mode) give the same figures.

Both engines run the SQL of `adguard_mw.report.query`, written once. The events mix the two kinds of Parquet a
dataset holds: days compacted from JSON lines, and objects written by the S3 sink (with a re-shipped copy of
some events, which both must count once). Spark starts slowly: the tests share one session, and are marked
`spark` so that a quick local run can leave them out (`-m "not spark"`); CI runs them.

The shared session is tuned for a handful of rows (`quick_spark`): Spark's code generation compiles Java for
every query, which takes longer than running a tiny query interpreted, and the JVM's optimising compiler never
pays for itself in a run this short. Neither changes what a query returns.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adguard_mw.events import uuid7
from adguard_mw.report.query import ReportError, build_report, find_inputs
from adguard_mw.report.render import render_json, render_table
from adguard_mw.report.storage import compact

from .test_event_ids import with_ids
from .test_metrics import small_site

pytestmark = pytest.mark.spark
pytest.importorskip("duckdb")
pytest.importorskip("pyspark")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
if shutil.which("java") is None:
    pytest.skip("the Spark tests need Java 17+ (scripts/test.sh installs Debian's)", allow_module_level=True)


# Set when the JVM starts, so before the first session: SparkSession.builder passes them to spark-submit.
QUICK_SPARK = {
    "spark.master": "local[2]",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


@pytest.fixture(scope="module", autouse=True)
def quick_spark() -> Iterator[None]:
    """One Spark session for the module, made before the engine asks for one (it then reuses it), tuned as above;
    stopped at the end so its JVM does not hold memory through the rest of the worker's tests."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("adguard-mw tests")
    for key, value in QUICK_SPARK.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield
    session.stop()


def sink_object(path: Path, rows: list[dict[str, Any]]) -> None:
    """A Parquet object exactly as the S3 sink writes it."""
    from adguard_mw.events_s3 import arrow_schema, columns

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pydict(columns(rows, arrow_schema()), schema=arrow_schema()), path)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = with_ids(small_site(tmp_path_factory.mktemp("engines") / "events"))
    compact(root, 1, today=dt.date(2026, 11, 22), quiet_seconds=0)
    reader = {"v": 1, "site": "lantern", "instance": "web-3", "locale": "fr", "mode": "hard", "os": "Linux"}
    rows = [
        {**reader, "id": uuid7(), "time": "2026-11-21T09:00:00.000Z", "event": "page_view", "visitor": "v9",
         "variant": "c", "path": "/culture/film", "browser": "Firefox", "device": "desktop", "verdict": "blocked",
         "kind": "network", "sample_rate": 0.5},
        {**reader, "id": uuid7(), "time": "2026-11-21T09:00:01.000Z", "event": "message_shown", "visitor": "v9",
         "variant": "c", "path": "/culture/film", "browser": "Firefox", "device": "desktop", "verdict": "blocked",
         "kind": "network"},
        {**reader, "id": uuid7(), "time": "2026-11-21T09:02:00.000Z", "event": "recovered", "visitor": "v9",
         "variant": "c", "path": "/culture/film", "browser": "Firefox", "device": "desktop",
         "signals": {"script": "not_blocked"}},
        {**reader, "id": uuid7(), "time": "2026-11-21T09:00:03.000Z", "event": "slot_filled", "visitor": "v9",
         "variant": "c", "path": "/culture/film", "browser": "Firefox", "device": "desktop", "verdict": "blocked",
         "kind": "network", "slots": 2},
    ]  # fmt: skip
    sink_object(root / "dt=2026-11-21" / "web-3-a.parquet", rows)
    sink_object(root / "dt=2026-11-21" / "web-3-b.parquet", rows[1:])  # shipped twice
    return root


def test_spark_prints_exactly_what_duckdb_prints(dataset: Path) -> None:
    """One report each (Spark's jobs are slow to start): by section, with the charts' groupings by day and by
    browser and the variants, so every dimension's SQL but the week's runs on both."""
    inputs = find_inputs([dataset])
    assert len(inputs.parquet) == 4 and not inputs.jsonl
    duck = build_report(inputs, by="section", charts=True)
    spark = build_report(inputs, by="section", charts=True, engine="spark")
    assert duck.total.events == 24  # the small site's 20, and 4 more, each id once
    assert duck.total.funnel.recovered == 2 and duck.total.blocked_visitors.numerator == 4
    assert (duck.total.slots_filled, duck.total.slot_readers) == (2, 1)
    assert json.loads(render_json(spark)) == json.loads(render_json(duck))  # every figure, every group
    assert render_table(spark) == render_table(duck)
    assert spark.days == duck.days and spark.browsers == duck.browsers


def test_spark_groups_by_week_as_duckdb_does_and_reads_only_the_days_asked_for(dataset: Path, tmp_path: Path) -> None:
    """ISO weeks start on Monday on both engines (the last second of a Sunday and the first of a Monday fall in
    different weeks); a corrupt file in a day outside `--since` is never opened by either."""
    root = tmp_path / "events"
    shutil.copytree(dataset, root)
    reader = {"v": 1, "site": "lantern", "instance": "web-4", "variant": "a", "browser": "Edge", "os": "Windows"}
    for time, day in (("2026-11-22T23:59:59.999Z", "2026-11-22"), ("2026-11-23T00:00:00.000Z", "2026-11-23")):
        view = {**reader, "id": uuid7(), "time": time, "event": "page_view", "visitor": f"w{day}",
                "verdict": "not_blocked", "sample_rate": 1.0, "path": "/"}  # fmt: skip
        sink_object(root / f"dt={day}" / "web-4-a.parquet", [view])
    torn = root / "dt=2026-11-01" / "events.parquet"
    torn.parent.mkdir()
    torn.write_bytes(b"PAR1 torn in the middle of a copy")

    with pytest.raises(ReportError):  # the corrupt file is read when its day is in range: it can fail the report
        build_report(find_inputs([root]), by="week")
    inputs = find_inputs([root], since=dt.date(2026, 11, 20))
    duck = build_report(inputs, since=dt.date(2026, 11, 20), by="week")
    spark = build_report(inputs, since=dt.date(2026, 11, 20), by="week", engine="spark")
    assert [group.key for group in duck.groups] == ["2026-W47", "2026-W48"]
    fixture = build_report(find_inputs([dataset])).total.events  # all in the week of Friday 2026-11-20
    assert [group.metrics.events for group in duck.groups] == [fixture + 1, 1]  # and Sunday's last millisecond
    assert json.loads(render_json(spark)) == json.loads(render_json(duck))


def test_spark_on_s3_without_the_s3a_connector_says_what_to_install(capsys: pytest.CaptureFixture[str]) -> None:
    """PyPI's PySpark has no S3A connector and nothing is downloaded at run time: one line says what to add."""
    from adguard_mw.cli import main
    from adguard_mw.report.engines import s3a_available, spark_session

    try:
        s3a_available(spark_session())
    except ReportError:
        pass
    else:
        pytest.skip("this Spark has Hadoop's S3A connector on its classpath")
    assert main(["report", "s3://amw/events", "--since", "2026-11-20", "--engine", "spark"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("adguard-mw report: reading s3:// with --engine spark needs")
    assert "hadoop-aws-3." in error and "--packages org.apache.hadoop:hadoop-aws:3." in error


def rows(folder: Path) -> int:
    return sum(pq.read_metadata(path).num_rows for path in folder.rglob("*.parquet"))


def test_spark_reads_only_the_day_partitions_asked_for(dataset: Path, tmp_path: Path) -> None:
    """How Spark reads an s3:// dataset (here a local copy: PyPI's PySpark has no S3A): with the schema given and
    a filter on `dt` alone, a corrupt file in another day is never opened."""
    from adguard_mw.report.engines import SparkEngine

    root = tmp_path / "events"
    shutil.copytree(dataset, root)
    torn = root / "dt=2026-11-19" / "web-9-torn.parquet"
    torn.parent.mkdir()
    torn.write_bytes(b"PAR1 torn in the middle of an upload")
    engine = SparkEngine()
    try:
        day = engine.partitioned(str(root), dt.date(2026, 11, 21), dt.date(2026, 11, 21))
        assert day.count() == rows(dataset / "dt=2026-11-21") > 5  # every row of the day, copies included
        assert engine.partitioned(str(root), dt.date(2026, 11, 20), None).count() == rows(dataset)
        with pytest.raises(Exception, match=r"(?i)parquet|footer|magic"):  # asked for, the torn file is read
            engine.partitioned(str(root), None, dt.date(2026, 11, 19)).count()
    finally:
        engine.close()
