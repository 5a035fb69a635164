"""Events as OpenTelemetry log records over OTLP/HTTP, received by an endpoint on 127.0.0.1 that decodes them.

The endpoint is a plain HTTP server that parses each request with opentelemetry-proto's own classes, as the
OpenTelemetry Collector would; the middleware sends through the SDK's OTLP exporter.
"""

from __future__ import annotations

import gzip
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from adguard_mw import AdGuardMiddleware
from adguard_mw.events import EventLog

from .site import KEY, bare_site, client, report

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
logs_service = pytest.importorskip("opentelemetry.proto.collector.logs.v1.logs_service_pb2")


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, Any]] = []  # (path, ExportLogsServiceRequest)
        self.received = threading.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def records(self) -> list[tuple[dict[str, str], Any]]:
        """(resource attributes, LogRecord) for every record received so far."""
        found = []
        for _, request in self.requests:
            for resource_logs in request.resource_logs:
                resource = {kv.key: kv.value.string_value for kv in resource_logs.resource.attributes}
                for scope_logs in resource_logs.scope_logs:
                    found.extend((resource, record) for record in scope_logs.log_records)
        return found

    def wait_for(self, count: int, timeout: float = 20) -> list[tuple[dict[str, str], Any]]:
        deadline = time.monotonic() + timeout
        with self.received:
            while len(self.records()) < count and time.monotonic() < deadline:
                self.received.wait(0.2)
        return self.records()


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = logs_service.ExportLogsServiceRequest()
        request.ParseFromString(body)  # raises, and the exporter sees a 500, on anything but OTLP protobuf
        with self.server.received:
            self.server.requests.append((self.path, request))
            self.server.received.notify_all()
        answer = logs_service.ExportLogsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def attributes(record: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for kv in record.attributes:
        kind = kv.value.WhichOneof("value")
        values[kv.key] = getattr(kv.value, kind)
    return values


async def test_each_event_is_a_log_record_with_our_fields_as_attributes(receiver: Receiver) -> None:
    app = AdGuardMiddleware(bare_site(), secret_key=KEY, policy="soft", events=f"otlp+{receiver.url}")
    async with client(app) as c:
        await report(c, app, "blocked")
        await c.get("/news/1?utm_source=x", headers={"Accept-Language": "de-CH"})
    app.events.close()
    received = receiver.wait_for(3)
    assert {path for path, _ in receiver.requests} == {"/v1/logs"}
    names = [record.body.string_value for _, record in received]
    assert names == ["verdict", "page_view", "message_served"]
    resource, shown = received[2]
    assert resource["service.name"] == "adguard_mw"
    assert shown.event_name == "message_served"
    fields = attributes(shown)
    assert fields["event"] == "message_served" and fields["path"] == "/news/1" and fields["locale"] == "de"
    assert fields["mode"] == "soft" and fields["verdict"] == "blocked" and fields["v"] == 1
    assert fields["id"] and fields["site"] == "this site" and "time" not in fields
    assert "variant" not in fields  # nulls are left out
    verdict = attributes(received[0][1])
    assert verdict["signals"].startswith("{") and '"cosmetic":"blocked"' in verdict["signals"]
    # The record's timestamp is the event's time, to the millisecond.
    assert abs(shown.time_unix_nano / 1e9 - time.time()) < 60 and shown.time_unix_nano % 1_000_000 == 0


def test_a_collector_that_is_down_costs_readers_nothing() -> None:
    from adguard_mw.events_otel import OtlpLogSink

    # Nothing listens there; a short export timeout only shortens the close below, which is not what is measured.
    log = EventLog([OtlpLogSink(closed_port_url(), timeout=0.3)], site="lantern")
    started = time.thread_time()  # CPU time of the emitting thread alone, whatever else the machine does
    for _ in range(1000):
        log.emit("recovered", visitor="v1")
    assert time.thread_time() - started < 0.5  # a queue append each; no connection is waited for
    log.close()


def closed_port_url() -> str:
    """An OTLP/HTTP URL on 127.0.0.1 where nothing listens (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"otlp+http://127.0.0.1:{port}"


def test_events_a_collector_never_took_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    from adguard_mw.events_otel import OtlpLogSink

    sink = OtlpLogSink(closed_port_url(), timeout=0.3)
    log = EventLog([sink], site="lantern")
    with caplog.at_level(logging.ERROR, logger="adguard_mw"):
        for _ in range(30):
            log.emit("recovered", visitor="v1")
        log.flush(timeout=20)  # one export attempt, refused
        assert sink.dropped == 30 and sink.exported == 0
        for _ in range(20):
            log.emit("recovered", visitor="v1")
        log.close()
    assert sink.dropped == 50 and log.lost() == 50  # what the Prometheus counter of lost events is fed from
    failures = [r for r in caplog.records if sink.endpoint in r.getMessage()]
    assert len(failures) == 1  # logged once, however many batches failed


def test_events_the_collector_took_are_not_counted_as_lost(receiver: Receiver) -> None:
    from adguard_mw.events_otel import OtlpLogSink

    sink = OtlpLogSink(f"otlp+{receiver.url}", timeout=5)
    log = EventLog([sink], site="lantern")
    for _ in range(40):
        log.emit("recovered", visitor="v1")
    log.close()
    assert len(receiver.wait_for(40)) == 40
    assert sink.exported == 40 and sink.dropped == 0 and log.lost() == 0
