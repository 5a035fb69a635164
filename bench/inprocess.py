"""In-process mode: call each ASGI app directly with a hand-built scope, `receive` and `send`.

Each request gets a fresh shallow copy of its scope (the middleware and the router write into it), a `receive`
that hands over the body once and then waits, like a server's, and a `send` that drops everything. Batches run
with the garbage collector off; the time of a batch divided by its size is the time of one request.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import statistics
import tracemalloc
from collections.abc import Awaitable, Callable
from time import perf_counter_ns
from typing import Any

from apps import Case, Entry, build
from starlette.types import ASGIApp, Message, Receive

Call = Callable[[], Awaitable[None]]


def _receiver(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # until the response is done and whoever listens is cancelled
        raise AssertionError("unreachable")

    return receive


async def _drop(message: Message) -> None:
    return None


def _caller(app: ASGIApp, entry: Entry) -> Call:
    body = entry.body
    if entry.rotate:
        scopes = itertools.cycle(entry.scopes())

        def rotating() -> Awaitable[None]:
            return app(dict(next(scopes)), _receiver(body), _drop)

        return rotating
    scope = entry.scope()

    def call() -> Awaitable[None]:
        return app(dict(scope), _receiver(body), _drop)

    return call


async def check(app: ASGIApp, entry: Entry) -> dict[str, Any]:
    """One request with every message kept: status, body size, and whether the detector tag went in."""
    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    await app(entry.scope(), _receiver(entry.body), keep)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return {"status": start["status"], "bytes": len(body), "injected": b" defer" in body and b"<script" in body}


async def _batch(call: Call, n: int) -> float:
    """Microseconds per request over n requests, gc off."""
    gc.collect()
    gc.disable()
    try:
        t0 = perf_counter_ns()
        for _ in range(n):
            await call()
        elapsed = perf_counter_ns() - t0
    finally:
        gc.enable()
    return elapsed / n / 1000


async def _peak_kib(call: Call) -> float:
    """Peak Python memory allocated while answering one request (tracemalloc; not timed)."""
    await call()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        await call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / 1024


async def run_case(case: Case, *, rounds: int, batch_seconds: float, log: Callable[[str], None]) -> dict[str, Any]:
    """Every entry of a case, interleaved round by round (the order rotates each round)."""
    apps = {entry.variant: build(entry.variant) for entry in case.entries}
    calls = {entry.label: _caller(apps[entry.variant], entry) for entry in case.entries}
    checks = {entry.label: await check(apps[entry.variant], entry) for entry in case.entries}
    sizes: dict[str, int] = {}
    for label, call in calls.items():  # warm up, then size each batch to about batch_seconds
        await _batch(call, 3)
        probe = await _batch(call, 5)
        sizes[label] = max(3, min(200_000, int(batch_seconds * 1e6 / max(probe, 0.01))))
    times: dict[str, list[float]] = {label: [] for label in calls}
    labels = list(calls)
    for r in range(rounds):
        order = labels[r % len(labels) :] + labels[: r % len(labels)]
        for label in order:
            times[label].append(await _batch(calls[label], sizes[label]))
    results: dict[str, Any] = {}
    bare = times[labels[0]]
    for label in labels:
        ratios = [t / b for t, b in zip(times[label], bare, strict=True)]
        results[label] = {
            "us": statistics.median(times[label]),
            "ratio_to_bare": statistics.median(ratios),
            "ratio_spread": [round(min(ratios), 3), round(max(ratios), 3)],  # the rounds' lowest and highest
            "rounds_us": [round(t, 3) for t in times[label]],
            "batch": sizes[label],
            **checks[label],
        }
    if case.name == "stream_5mb":
        for label, call in calls.items():
            results[label]["peak_kib"] = await _peak_kib(call)
    log(f"  in-process {case.name}: " + ", ".join(f"{k} {v['us']:.1f} µs" for k, v in results.items()))
    return results


def run(cases: list[Case], *, rounds: int, batch_seconds: float, log: Callable[[str], None]) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        return {c.name: await run_case(c, rounds=rounds, batch_seconds=batch_seconds, log=log) for c in cases}

    return asyncio.run(main())
