"""Where the report's SQL runs: DuckDB, embedded (the default), or Apache Spark for data one machine cannot hold.

An engine only knows how to present the input as a relation named `events` with the documented column types,
to keep a query's result as a named table, and to return rows. The metric definitions themselves are plain SQL
in `query.py` that both engines accept, written once.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from ..events import FIELD_TYPES
from .query import READ_COLUMNS, ReportError, _source_sql, connect, day_in_range

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from .query import Inputs

ENGINES = ("duckdb", "spark")
SPARK_MISSING = "adguard-mw report --engine spark needs PySpark and Java 17+: pip install 'adguard-mw[spark]'"


class Engine(Protocol):
    def load(self, inputs: Inputs, columns: Sequence[str]) -> None: ...
    def materialize(self, name: str, sql: str) -> None: ...
    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...
    def close(self) -> None: ...


def open_engine(name: str, *, master: str | None = None, progress: Callable[[float], None] | None = None) -> Engine:
    if name == "duckdb":
        return DuckDBEngine(progress)
    if name == "spark":
        return SparkEngine(master)
    raise ReportError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}", usage=True)


class DuckDBEngine:
    """An in-memory DuckDB; local files are read by DuckDB itself, s3:// datasets through pyarrow's S3 client."""

    def __init__(self, progress: Callable[[float], None] | None = None) -> None:
        self.con = connect()
        self.progress = progress

    def load(self, inputs: Inputs, columns: Sequence[str]) -> None:
        present = None
        if inputs.parquet:
            files = ", ".join("'" + str(path).replace("'", "''") + "'" for path in inputs.parquet)
            described = f"DESCRIBE SELECT * FROM read_parquet([{files}], union_by_name = true)"
            with _read_errors():  # every file's footer is read here: a torn one fails now
                present = {row[0] for row in self.con.execute(described).fetchall()}
        parts = [_source_sql(inputs, columns, present=present)] if inputs.jsonl or inputs.parquet else []
        for number, url in enumerate(inputs.datasets):
            dataset = s3_dataset(url, inputs.since, inputs.until)
            if dataset is None:  # no object in the days asked for
                parts.append(f"SELECT {', '.join(_casts(columns, set()))} WHERE false")
                continue
            name = f"dataset_{number}"
            self.con.register(name, dataset)
            present = {row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {name}").fetchall()}
            parts.append(f"SELECT {', '.join(_casts(columns, present))} FROM {name}")
        with _read_errors():
            self.con.execute(f"CREATE TEMP VIEW events AS {' UNION ALL '.join(parts)}")

    def materialize(self, name: str, sql: str) -> None:
        with _read_errors():
            self._run(f"CREATE TEMP TABLE {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()

    def _run(self, sql: str) -> None:
        """Execute, reporting DuckDB's progress (0-100) from a watcher thread while the scan runs."""
        progress = self.progress
        if progress is None:
            self.con.execute(sql)
            return
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.25):
                value = self.con.query_progress()
                if value >= 0:
                    progress(value)

        watcher = threading.Thread(target=watch, name="adguard_mw-report-progress", daemon=True)
        watcher.start()
        try:
            self.con.execute(sql)
        finally:
            done.set()
            watcher.join()


@contextmanager
def _read_errors() -> Iterator[None]:
    """A file DuckDB cannot read (a torn Parquet file, say) as a one-line ReportError."""
    import duckdb

    try:
        yield
    except duckdb.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ReportError(f"DuckDB could not read the event files: {first_line}") from error


def s3_dataset(url: str, since: dt.date | None = None, until: dt.date | None = None) -> Any:
    """A pyarrow dataset over the Parquet objects of `s3://bucket/prefix`, for DuckDB to scan, or None if it has
    none in [since, until]: objects in `dt=` partitions outside the range are listed but never opened."""
    from ..events_s3 import s3_filesystem, split_url

    try:
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs
    except ImportError:
        raise ReportError("adguard-mw report s3://… needs pyarrow: pip install 'adguard-mw[s3]'") from None
    bucket, prefix = split_url(url)
    filesystem = s3_filesystem()
    try:
        selector = pafs.FileSelector(f"{bucket}/{prefix}".rstrip("/"), recursive=True)
        keys = sorted(
            info.path
            for info in filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File
            and info.path.endswith(".parquet")
            and day_in_range(info.path, since, until)
        )
        return ds.dataset(keys, filesystem=filesystem, format="parquet") if keys else None
    except (OSError, pa.ArrowException) as error:  # the store's answer, or an object that is not Parquet
        raise ReportError(f"could not read {url}: {str(error).splitlines()[0]}") from error


def _casts(columns: Sequence[str], present: set[str]) -> list[str]:
    """Each column of its documented type; NULL for a column a file predates (e.g. `id` in old files)."""
    return [f"CAST({name if name in present else 'NULL'} AS {_storage_type(name)}) AS {name}" for name in columns]


def _storage_type(name: str, columns: dict[str, str] = READ_COLUMNS) -> str:
    kind = columns[name]
    return "STRING" if kind in ("VARCHAR", "JSON") else kind


class SparkEngine:
    """Spark SQL over Parquet: the s3:// dataset or compacted days (JSON lines: run `adguard-mw compact` first).

    One session per process (starting the JVM takes seconds); `master` as for spark-submit, default `local[*]`.
    On a cluster, s3:// is read through Hadoop's s3a connector, configured there."""

    _session: SparkSession | None = None

    def __init__(self, master: str | None = None) -> None:
        self.spark = spark_session(master)
        self._tables: list[str] = []

    def load(self, inputs: Inputs, columns: Sequence[str]) -> None:
        if inputs.jsonl:
            raise ReportError(
                f"the Spark engine reads Parquet; {len(inputs.jsonl):,} JSON lines file(s) given: "
                "run `adguard-mw compact` first, or use the DuckDB engine",
                usage=True,
            )
        frames: list[DataFrame] = []
        if inputs.parquet:  # local files, already chosen by day
            frames.append(self.spark.read.option("mergeSchema", "true").parquet(*map(str, inputs.parquet)))
        for url in inputs.datasets:
            frames.append(self._dataset(url, inputs.since, inputs.until))
        typed = [frame.selectExpr(*_casts(columns, set(frame.columns))) for frame in frames]
        union = typed[0]
        for frame in typed[1:]:
            union = union.unionByName(frame)
        union.createOrReplaceTempView("events")
        self._tables.append("events")

    def _dataset(self, url: str, since: dt.date | None, until: dt.date | None) -> DataFrame:
        """An s3:// dataset, read through Hadoop's S3A connector."""
        s3a_available(self.spark)
        return self.partitioned("s3a://" + url.split("://", 1)[1].rstrip("/"), since, until)

    def partitioned(self, root: str, since: dt.date | None, until: dt.date | None) -> DataFrame:
        """A hive-partitioned Parquet dataset, only the `dt=` partitions in [since, until] read.

        The schema is given, not inferred, so no file footer is read up front; the filter is on the partition
        column alone, so Spark drops the other days' files after listing them, before opening any."""
        frame: DataFrame = self.spark.read.schema(_spark_schema()).option("basePath", root).parquet(root)
        if since is not None:
            frame = frame.where(f"CAST(dt AS STRING) >= '{since.isoformat()}'")
        if until is not None:
            frame = frame.where(f"CAST(dt AS STRING) <= '{until.isoformat()}'")
        return frame

    def materialize(self, name: str, sql: str) -> None:
        frame = self.spark.sql(sql).cache()
        frame.count()
        frame.createOrReplaceTempView(name)
        self._tables.append(name)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(_utc(value) for value in row) for row in self.spark.sql(sql).collect()]

    def close(self) -> None:
        for name in self._tables:
            self.spark.catalog.dropTempView(name)
        self.spark.catalog.clearCache()


def _spark_schema() -> str:
    """The S3 sink's schema (`events.FIELD_TYPES`) in Spark's DDL; a column a file predates reads as null."""
    return ", ".join(f"{name} {_storage_type(name, FIELD_TYPES)}" for name in FIELD_TYPES)


S3A_CLASS = "org.apache.hadoop.fs.s3a.S3AFileSystem"


def s3a_available(spark: SparkSession) -> None:
    """Raise a one-line ReportError unless Hadoop's S3A connector is on Spark's classpath (PyPI's PySpark lacks
    it: hadoop-aws and the AWS SDK bundle come from Maven, which this command never downloads from)."""
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        version = str(jvm.org.apache.hadoop.util.VersionInfo.getVersion())
    except Exception:  # Spark Connect, or no JVM to ask: let the read itself say what is missing
        return
    try:
        jvm.java.lang.Class.forName(S3A_CLASS, False, jvm.java.lang.Thread.currentThread().getContextClassLoader())
    except Exception:
        raise ReportError(
            f"reading s3:// with --engine spark needs Hadoop's S3A connector, which PySpark from PyPI lacks: put "
            f"hadoop-aws-{version}.jar and its AWS SDK bundle on Spark's classpath (e.g. PYSPARK_SUBMIT_ARGS="
            f"'--packages org.apache.hadoop:hadoop-aws:{version} pyspark-shell'), or use --engine duckdb"
        ) from None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and not spark.conf.get("fs.s3a.endpoint", None):
        # The S3 sink's endpoint variable, for S3A too (MinIO, SeaweedFS, R2 need path-style requests).
        spark.conf.set("fs.s3a.endpoint", endpoint)
        spark.conf.set("fs.s3a.path.style.access", "true")


def spark_session(master: str | None = None) -> SparkSession:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ReportError(SPARK_MISSING) from None
    builder = SparkSession.builder.appName("adguard-mw report").config("spark.sql.session.timeZone", "UTC")
    builder = builder.config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
    if master:
        builder = builder.master(master)
    elif not _has_master():
        # One machine: few shuffle partitions (the facts table is small) and no web UI.
        builder = builder.master("local[*]").config("spark.sql.shuffle.partitions", "4")
        builder = builder.config("spark.ui.enabled", "false")
    try:
        session = builder.getOrCreate()
    except Exception as error:
        raise ReportError(f"{SPARK_MISSING} ({str(error).strip().splitlines()[0]})") from error
    session.sparkContext.setLogLevel("ERROR")
    return session


def _has_master() -> bool:
    return "spark.master" in os.environ.get("PYSPARK_SUBMIT_ARGS", "") or bool(os.environ.get("MASTER"))


def _utc(value: Any) -> Any:
    """PySpark hands timestamps back as naive datetimes in the Python process's local time zone (whatever `TZ` says,
    which a framework such as Django may change at run time): back to naive UTC, as DuckDB gives them."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
