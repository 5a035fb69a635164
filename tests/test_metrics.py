"""Optional Prometheus metrics: events become counters, served on a path of the site owner's choosing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adguard_mw import AdGuardMiddleware

from .site import SAME_ORIGIN, bare_site, client, own_url, report, wrapped

pytest.importorskip("prometheus_client", reason="the [prometheus] extra is not installed")
ROOT = Path(__file__).resolve().parents[1]


async def test_events_are_counted_and_served() -> None:
    app = wrapped(policy="soft", metrics_path="/metrics")
    async with client(app) as c:
        await report(c, app, "blocked")
        await c.get("/news/1")
        seen = {"path": "/news/1", "mode": "soft"}  # the page confirms the message stayed on screen
        await c.post(own_url(app, app.names.seen), json=seen, headers=SAME_ORIGIN)
        app.events.flush()
        response = await c.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'adguard_mw_verdicts_total{kind="extension",verdict="blocked"}' in text
    assert 'adguard_mw_messages_shown_total{mode="soft",variant="none"}' in text
    assert 'adguard_mw_page_views_total{kind="extension",variant="none",verdict="blocked"}' in text


def test_variants_calls_to_action_and_lost_events_are_counted() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from adguard_mw.events import EventLog
    from adguard_mw.metrics import PrometheusSink

    registry = CollectorRegistry()
    log = EventLog([PrometheusSink(registry)], site="lantern", queue_size=4)
    log.emit("page_view", verdict="blocked", kind="network", sample_rate=0.5, variant="b")
    log.emit("cta_clicked", cta="subscribe", variant="b")
    log.emit("message_shown", mode="hard", variant="a")
    log.emit("slot_filled", mode="observe", variant="a", slots=3)
    for _ in range(4):
        log.emit("recovered", variant="a")  # the queue holds 4: these 4 are dropped
    log.flush()
    text = generate_latest(registry).decode()
    assert 'adguard_mw_page_views_total{kind="network",variant="b",verdict="blocked"} 2.0' in text
    assert 'adguard_mw_cta_clicks_total{cta="subscribe",variant="b"} 1.0' in text
    assert 'adguard_mw_messages_shown_total{mode="hard",variant="a"} 1.0' in text
    assert 'adguard_mw_slots_filled_total{mode="observe",variant="a"} 3.0' in text
    assert "adguard_mw_events_dropped_total 4.0" in text and log.dropped == 4


def test_a_second_middleware_in_the_same_process_shares_the_counters() -> None:
    first = wrapped(metrics_path="/metrics")
    second = wrapped(metrics_path="/metrics")
    assert first.events.sinks[-1] is second.events.sinks[-1]


def test_a_bad_metrics_path_is_a_start_up_error() -> None:
    with pytest.raises(ValueError, match="metrics_path 'metrics' must look like '/metrics'"):
        AdGuardMiddleware(bare_site(), secret_key="k" * 30, metrics_path="metrics")


def test_workers_counts_are_summed_in_multi_process_mode(tmp_path: Path) -> None:
    """Two worker processes count; a third reads the metrics page and sees both (PROMETHEUS_MULTIPROC_DIR)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = (
        "from adguard_mw.metrics import process_sink\n"
        "process_sink().write([{'event': 'verdict', 'verdict': 'blocked', 'kind': 'extension'}] * 3)\n"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], env=env, check=True, cwd=ROOT, timeout=60)
    reader = (
        "import asyncio, httpx\n"
        "from starlette.applications import Starlette\n"
        "from adguard_mw import AdGuardMiddleware\n"
        "app = AdGuardMiddleware(Starlette(), secret_key='k' * 30, metrics_path='/metrics')\n"
        "async def main():\n"
        "    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://x') as c:\n"
        "        print((await c.get('/metrics')).text)\n"
        "asyncio.run(main())\n"
    )
    page = subprocess.run(
        [sys.executable, "-c", reader], env=env, check=True, cwd=ROOT, timeout=60, capture_output=True
    )
    assert 'adguard_mw_verdicts_total{kind="extension",verdict="blocked"} 6.0' in page.stdout.decode()
