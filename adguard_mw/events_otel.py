"""Events as OpenTelemetry log records over OTLP/HTTP, for sites that route telemetry through a Collector.

`events="otlp+http://collector:4318"` (or `otlp+https://`) sends each event as one log record: the event's name
as its body and `event_name`, its time as the record's timestamp, every field as an attribute (`signals` as JSON
text). The OpenTelemetry Collector, Vector or Fluent Bit take it from there to ClickHouse, BigQuery, Elastic or
Loki. The SDK's batch processor sends from its own thread with its own bounded queue; our writer thread only
hands records over, so a collector that is down costs events (logged by the SDK), never reader time.
Headers (e.g. for authentication) come from `OTEL_EXPORTER_OTLP_HEADERS`, as the SDK reads them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .events import Record

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider

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

    def __init__(self, url: str, *, provider: LoggerProvider | None = None) -> None:
        self.endpoint = logs_endpoint(url)
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
                BatchLogRecordProcessor(OTLPLogExporter(endpoint=self.endpoint, timeout=5), schedule_delay_millis=1000)
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

    def flush(self) -> None:
        self.provider.force_flush(5000)

    def close(self) -> None:
        self.provider.shutdown()


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
