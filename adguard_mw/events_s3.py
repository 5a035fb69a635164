"""Events as one hive-partitioned Parquet dataset in any S3-compatible store, shared by every instance.

`events="s3://bucket/prefix"` writes `prefix/dt=YYYY-MM-DD/<instance>-<first event id>.parquet`, with the explicit
schema below (UTC timestamps marked as such). Rows are gathered on the event log's background thread and written
in bounded batches (at most `max_rows`, at least every `max_seconds`), never on the request path. Each object is
uploaded whole: a process killed mid-upload leaves no object, never half of one. When the store is down, rows
wait for the next attempt up to `max_buffered`; older ones are dropped and counted in `dropped`, and the failure
is logged once.

The endpoint and credentials come from the usual environment variables: `AWS_ENDPOINT_URL_S3` or
`AWS_ENDPOINT_URL` (for MinIO, SeaweedFS, R2, …), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_SESSION_TOKEN`, `AWS_REGION` or `AWS_DEFAULT_REGION`, or any other source of the AWS SDK's default chain.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._faults import report_fault
from .events import FIELD_TYPES, Record

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

INSTALL_HINT = "adguard_mw: events='s3://…' needs pyarrow: pip install 'adguard-mw[s3]'"
MAX_ROWS = 50_000
MAX_SECONDS = 60.0


def arrow_schema() -> pa.Schema:
    """The dataset's schema, derived from `FIELD_TYPES` (JSON fields are stored as JSON text)."""
    import pyarrow as pa

    kinds = {
        "BIGINT": pa.int64(),
        "DOUBLE": pa.float64(),
        "VARCHAR": pa.string(),
        "JSON": pa.string(),
        "TIMESTAMP": pa.timestamp("ms", tz="UTC"),
    }
    return pa.schema([pa.field(name, kinds[kind]) for name, kind in FIELD_TYPES.items()])


def split_url(url: str) -> tuple[str, str]:
    """ "s3://bucket/some/prefix" as ("bucket", "some/prefix"); a clear ValueError without a bucket."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "s3" or not parts.netloc:
        raise ValueError(f"adguard_mw: {url!r} is not an S3 URL such as s3://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


def s3_filesystem() -> pafs.S3FileSystem:
    """pyarrow's S3 client with the endpoint from the environment (the AWS SDK reads the rest itself)."""
    try:
        import pyarrow.fs as pafs
    except ImportError:
        raise RuntimeError(INSTALL_HINT) from None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    return pafs.S3FileSystem(
        endpoint_override=endpoint,
        region=region,
        connect_timeout=3,
        request_timeout=10,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=2),
    )


class S3ParquetSink:
    """An event sink writing Parquet objects; one per process, on the event log's writer thread."""

    def __init__(
        self,
        url: str,
        instance: str,
        *,
        max_rows: int = MAX_ROWS,
        max_seconds: float = MAX_SECONDS,
        max_buffered: int | None = None,
        filesystem: pafs.FileSystem | None = None,
    ) -> None:
        self.bucket, self.prefix = split_url(url)
        self.url = url
        self.instance = instance
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self.max_buffered = max_buffered if max_buffered is not None else 4 * max_rows
        self.filesystem = filesystem if filesystem is not None else s3_filesystem()
        self.schema = arrow_schema()
        self.written = 0  # rows now in the store
        self.objects = 0
        self.dropped = 0  # rows given up on (store down for too long)
        self._rows: list[Record] = []
        self._oldest = 0.0  # monotonic time the oldest buffered row arrived

    def write(self, records: list[Record]) -> None:
        if not self._rows:
            self._oldest = time.monotonic()
        self._rows.extend(records)
        if len(self._rows) >= self.max_rows:
            self._send(whole_batches_only=True)

    def tick(self) -> None:
        if self._rows and time.monotonic() - self._oldest >= self.max_seconds:
            self._send()

    def flush(self) -> None:
        """Upload every buffered row now (tests, shutdown)."""
        self._send()

    def _send(self, *, whole_batches_only: bool = False) -> None:
        """Upload buffered rows in objects of at most `max_rows`; keep them for later if the store fails."""
        while self._rows and (len(self._rows) >= self.max_rows or not whole_batches_only):
            batch = self._rows[: self.max_rows]
            try:
                self._upload(batch)
            except Exception as exc:
                report_fault(
                    f"writing events to {self.url}",
                    exc,
                    f"they are kept for the next attempt (at most {self.max_buffered:,}); older ones are dropped "
                    "and counted",
                )
                excess = len(self._rows) - self.max_buffered
                if excess > 0:
                    del self._rows[:excess]
                    self.dropped += excess
                self._oldest = time.monotonic()
                return
            del self._rows[: len(batch)]
            self._oldest = time.monotonic()

    def close(self) -> None:
        self.flush()
        self.dropped += len(self._rows)
        self._rows.clear()

    def _upload(self, batch: list[Record]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        by_day: dict[str, list[Record]] = {}
        for record in batch:
            by_day.setdefault(str(record["time"])[:10], []).append(record)
        for day, rows in sorted(by_day.items()):
            table = pa.Table.from_pydict(columns(rows, self.schema), schema=self.schema)
            buffer = pa.BufferOutputStream()
            pq.write_table(table, buffer, compression="zstd")
            name = f"{self.instance}-{rows[0].get('id') or time.time_ns()}.parquet"
            key = "/".join(part for part in (self.bucket, self.prefix, f"dt={day}", name) if part)
            # One stream, closed only after the last byte: the store shows the object whole or not at all.
            with self.filesystem.open_output_stream(key) as stream:
                stream.write(buffer.getvalue())
            self.written += len(rows)
            self.objects += 1


def columns(rows: list[Record], schema: pa.Schema) -> dict[str, list[Any]]:
    """The rows as typed columns; a value of the wrong type is stored as null, as readers read it."""
    result: dict[str, list[Any]] = {}
    for name, kind in FIELD_TYPES.items():
        result[name] = [_typed(row.get(name), kind) for row in rows]
    return result


def _typed(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "VARCHAR":
        return value if isinstance(value, str) else None
    if kind == "BIGINT":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "DOUBLE":
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if kind == "JSON":
        return json.dumps(value, separators=(",", ":"))
    if kind == "TIMESTAMP":
        try:
            return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return None  # pragma: no cover - every kind is above
