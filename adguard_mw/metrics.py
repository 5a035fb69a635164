"""Optional Prometheus metrics: the event stream as counters, for deployments that already run Prometheus.

Counting happens in the event log's background thread, never on the request path. With several worker
processes, set `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multi-process mode) and every worker's counts are
summed when the metrics page is read.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

try:
    import prometheus_client
    from prometheus_client import CollectorRegistry, Counter, multiprocess
except ImportError:  # pragma: no cover - exercised only without the extra
    prometheus_client = None  # type: ignore[assignment]

INSTALL_HINT = "adguard_mw: metrics_path needs prometheus_client: pip install 'adguard-mw[prometheus]'"


class PrometheusSink:
    """An event sink that counts; one per process (the counters live in prometheus_client's registry)."""

    def __init__(self, registry: Any = None) -> None:
        if prometheus_client is None:
            raise RuntimeError(INSTALL_HINT)
        registry = registry if registry is not None else prometheus_client.REGISTRY
        self.registry = registry

        def counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(f"adguard_mw_{name}", documentation, labels, registry=registry)

        self.page_views = counter(
            "page_views",
            "HTML page views served with the detector, by last verdict and A/B variant",
            ("verdict", "kind", "variant"),
        )
        self.verdicts = counter("verdicts", "Verdicts reported by readers' browsers", ("verdict", "kind"))
        self.shown = counter("messages_shown", "Messages shown, by policy mode and variant", ("mode", "variant"))
        self.dismissed = counter("messages_dismissed", "Dismissals of notices and soft messages", ("variant",))
        self.ctas = counter("cta_clicks", "Calls to action followed, by action and variant", ("cta", "variant"))
        self.checks = counter("check_again", "'Check again' results", ("verdict",))
        self.recovered = counter("recoveries", "Readers whose verdict went from blocked to not blocked", ("variant",))
        self.exempted = counter("exempted", "Readers not asked although a message was due", ("reason",))
        self.slots = counter("slots_filled", "House messages seen in blocked ad slots", ("mode", "variant"))
        self.dropped_events = counter(
            "events_dropped", "Events lost before reaching every sink (queue full, or a store down too long)"
        )

    def write(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            event = record["event"]
            variant = _label(record.get("variant"))
            if event == "page_view":
                weight = 1 / record.get("sample_rate", 1) if record.get("sample_rate") else 1
                verdict, kind = _label(record.get("verdict")), _label(record.get("kind"))
                self.page_views.labels(verdict, kind, variant).inc(weight)
            elif event == "verdict":
                self.verdicts.labels(_label(record.get("verdict")), _label(record.get("kind"))).inc()
            elif event == "message_shown":
                self.shown.labels(_label(record.get("mode")), variant).inc()
            elif event == "message_dismissed":
                self.dismissed.labels(variant).inc()
            elif event == "cta_clicked":
                self.ctas.labels(_label(record.get("cta")), variant).inc()
            elif event == "check_again":
                self.checks.labels(_label(record.get("verdict"))).inc()
            elif event == "recovered":
                self.recovered.labels(variant).inc()
            elif event == "exempted":
                self.exempted.labels(_label(record.get("reason"))).inc()
            elif event == "slot_filled" and isinstance(record.get("slots"), int):
                self.slots.labels(_label(record.get("mode")), variant).inc(record["slots"])

    def count_dropped(self, events: int) -> None:
        """Called by the event log with the events it (or another sink) lost since the last call."""
        self.dropped_events.inc(events)


@functools.cache
def process_sink() -> PrometheusSink:
    """The counters of this process: prometheus_client refuses to register the same metric twice."""
    return PrometheusSink()


def _label(value: Any) -> str:
    return str(value) if value is not None else "none"


class MetricsEndpoint:
    """Serves the text exposition format; sums all workers' files in multi-process mode."""

    def __init__(self, registry: Any = None) -> None:
        if prometheus_client is None:
            raise RuntimeError(INSTALL_HINT)
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        registry = self.registry
        if registry is None:
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                registry = CollectorRegistry()
                multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            else:
                registry = prometheus_client.REGISTRY
        body = prometheus_client.generate_latest(registry)
        headers = {"Cache-Control": "no-store"}
        await Response(body, media_type=prometheus_client.CONTENT_TYPE_LATEST, headers=headers)(scope, receive, send)
