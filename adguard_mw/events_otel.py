"""Events as OpenTelemetry log records over OTLP/HTTP, for sites that route telemetry through a Collector.

`events="otlp+http://collector:4318"` (or `otlp+https://`) sends each event as one log record: the event's name
as its body and `event_name`, its time as the record's timestamp, every field as an attribute (`signals` as JSON
text). The OpenTelemetry Collector, Vector or Fluent Bit take it from there to ClickHouse, BigQuery, Elastic or
Loki. The SDK's batch processor sends from its own thread with its own bounded queue; our writer thread only
hands records over, so a collector that is down costs events, never reader time. As with the other sinks, events
lost are counted in `dropped` (and so in `EventLog.lost()` and the Prometheus counter) and the failure is logged
once: a batch the collector did not take as they fail, those still queued or pushed out of the SDK's full
queue when the sink closes.
Headers (e.g. for authentication) come from `OTEL_EXPORTER_OTLP_HEADERS`, as the SDK reads them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ._faults import report_fault
from .events import Record

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

INSTALL_HINT = (
    "adguard_mw: events='otlp+http://…' needs the OpenTelemetry SDK and OTLP exporter: pip install 'adguard-mw[otel]'"
)


def logs_endpoint(url: str) -> str:
    """ "otlp+http://host:4318" as "http://host:4318/v1/logs"; a path given is kept."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower().removeprefix("otlp+")
    if scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"adguard_mw: {url!r} is not an OTLP/HTTP endpoint such as otlp+http://collector:4318")
    return urlunsplit((scheme, parts.netloc, parts.path if parts.path.strip("/") else "/v1/logs", "", ""))


class OtlpLogSink:
    """An event sink emitting OpenTelemetry log records through the SDK's batch processor."""

    def __init__(self, url: str, *, provider: LoggerProvider | None = None, timeout: float = 5.0) -> None:
        self.endpoint = logs_endpoint(url)
        self.handed = 0  # records given to the SDK
        self.exported = 0  # records the collector accepted
        self.dropped = 0  # records lost: refused or unreachable collector, full queue
        try:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
            from opentelemetry.sdk._logs import LoggerProvider
            from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
            from opentelemetry.sdk.resources import Resource
        except ImportError:
            raise RuntimeError(INSTALL_HINT) from None
        if provider is None:
            provider = LoggerProvider(resource=Resource.create({"service.name": "adguard_mw"}))
            provider.add_log_record_processor(
                BatchLogRecordProcessor(
                    _counting(self, OTLPLogExporter(endpoint=self.endpoint, timeout=timeout)),
                    schedule_delay_millis=1000,
                )
            )
        self.provider = provider
        self.logger = provider.get_logger("adguard_mw.events")

    def write(self, records: list[Record]) -> None:
        for record in records:
            self.logger.emit(
                timestamp=_nanoseconds(record.get("time")),
                body=record["event"],
                event_name=record["event"],
                attributes=attributes(record),
            )
            self.handed += 1

    def flush(self) -> None:
        self.provider.force_flush(5000)

    def close(self) -> None:
        self.provider.shutdown()
        # What never reached the exporter: pushed out of the SDK's full queue, or still queued at shutdown.
        self.dropped += max(self.handed - self.exported - self.dropped, 0)

    def _exported(self, count: int, error: BaseException | None) -> None:
        """The exporter's outcome for `count` records (on the SDK's thread)."""
        if error is None:
            self.exported += count
            return
        self.dropped += count
        report_fault(f"sending events to {self.endpoint}", error, "those events were dropped and counted")


def _counting(sink: OtlpLogSink, exporter: LogRecordExporter) -> LogRecordExporter:
    """The exporter, telling the sink how many records each export delivered or lost."""
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

    class Counting(LogRecordExporter):
        def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
            try:
                result = exporter.export(batch)
            except Exception as exc:
                sink._exported(len(batch), exc)
                return LogRecordExportResult.FAILURE
            failed = result is not LogRecordExportResult.SUCCESS
            sink._exported(
                len(batch), ConnectionError(f"the collector did not take {len(batch)} record(s)") if failed else None
            )
            return result

        def shutdown(self) -> None:
            exporter.shutdown()  # type: ignore[no-untyped-call]

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return exporter.force_flush(timeout_millis)

    return Counting()


def attributes(record: Record) -> dict[str, Any]:
    """Every field but `time` (the record's timestamp) as an OpenTelemetry attribute; nulls are left out."""
    result: dict[str, Any] = {}
    for name, value in record.items():
        if value is None or name == "time":
            continue
        if isinstance(value, str | bool | int | float):
            result[name] = value
        else:
            result[name] = json.dumps(value, separators=(",", ":"))
    return result


def _nanoseconds(stamp: Any) -> int | None:
    try:
        moment = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(moment.timestamp() * 1000) * 1_000_000
