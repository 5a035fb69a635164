"""Over-HTTP mode: uvicorn servers in subprocesses and a small load generator of our own.

The load generator is a set of asyncio protocols on raw sockets, one per connection, each sending its next
request (HTTP/1.1, keep-alive, no pipelining) as soon as the previous response is complete. It parses only what
it must (status, Content-Length or chunked framing), so one client core outpaces one uvicorn worker. Besides
requests/s and latency percentiles it reads the server's CPU time (`getrusage` inside the server, through the
bench app's usage endpoint) before and after each run: CPU time per request is far steadier than requests/s on
a small shared machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from time import perf_counter_ns
from typing import Any

from apps import HOST, USAGE_PATH

BENCH_DIR = Path(__file__).resolve().parent
HEAD, FIXED, CHUNK_SIZE, CHUNK_DATA, CHUNK_END = range(5)


def http_implementation() -> str:
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


class Server:
    """One uvicorn worker serving one variant of the bench app on 127.0.0.1."""

    def __init__(self, variant: str) -> None:
        self.variant = variant
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = [
            sys.executable, "-m", "uvicorn", "apps:factory", "--factory", "--app-dir", str(BENCH_DIR),
            "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log", "--log-level", "warning",
            "--http", http_implementation(), "--loop", "asyncio",
        ]  # fmt: skip
        env = {**os.environ, "BENCH_VARIANT": variant, "PYTHONHASHSEED": "0"}
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn for {self.variant} exited with {self.process.returncode}")
            try:
                self.usage()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"uvicorn for {self.variant} did not start within {timeout} s")

    def usage(self) -> dict[str, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", USAGE_PATH, headers={"Host": HOST})
            return json.loads(connection.getresponse().read())  # type: ignore[no-any-return]
        finally:
            connection.close()

    def reset_peak_rss(self) -> bool:
        """Reset the kernel's peak-RSS mark of the server (Linux: write 5 to clear_refs)."""
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS since the last reset) of the server, in KiB."""
        values: dict[str, int] = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
        return values

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run) -> None:
        self.run = run
        self.buffer = bytearray()
        self.state = HEAD
        self.remaining = 0
        self.status = 0
        self.started = 0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.started:  # closed with a request in flight
            self.run.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)

    def _next(self) -> None:
        assert self.transport is not None
        if self.run.stopping:
            self.started = 0
            self.transport.close()
            return
        self.state = HEAD
        self.started = perf_counter_ns()
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        if (self.state == FIXED or self.state == CHUNK_DATA) and not self.buffer and len(data) < self.remaining:
            self.remaining -= len(data)  # the bulk of a large body: count it, keep nothing
            self.run.bytes += len(data)
            return
        self.buffer += data
        self._parse()

    def _parse(self) -> None:
        buffer = self.buffer
        while True:
            if self.state == HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buffer[:end]).lower()
                del buffer[: end + 4]
                self.status = int(head[9:12])
                length = head.find(b"\r\ncontent-length:")
                if length >= 0:
                    end = head.find(b"\r\n", length + 2)
                    self.remaining = int(head[length + 17 : end if end >= 0 else len(head)])
                    self.state = FIXED
                elif b"\r\ntransfer-encoding: chunked" in head:
                    self.state = CHUNK_SIZE
                else:
                    self.remaining = 0
                    self.state = FIXED
            elif self.state == FIXED or self.state == CHUNK_DATA:
                take = min(len(buffer), self.remaining)
                del buffer[:take]
                self.remaining -= take
                self.run.bytes += take
                if self.remaining:
                    return
                if self.state == FIXED:
                    self._done()
                    if not self.transport or self.transport.is_closing():
                        return
                else:
                    self.state = CHUNK_SIZE
            elif self.state == CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(buffer[:end]).split(b";", 1)[0], 16)
                del buffer[: end + 2]
                if size:
                    self.remaining = size + 2  # the data and its CRLF
                    self.state = CHUNK_DATA
                else:
                    self.state = CHUNK_END
            elif self.state == CHUNK_END:
                if len(buffer) < 2:
                    return
                del buffer[:2]
                self._done()
                if not self.transport or self.transport.is_closing():
                    return

    def _done(self) -> None:
        run = self.run
        run.latencies.append(perf_counter_ns() - self.started)
        if self.status != run.expect_status:
            run.errors += 1
        self.started = 0
        self._next()


class _Run:
    def __init__(self, request: bytes, expect_status: int) -> None:
        self.request = request
        self.expect_status = expect_status
        self.stopping = False
        self.latencies: list[int] = []
        self.bytes = 0
        self.errors = 0


async def load(port: int, request: bytes, *, concurrency: int, seconds: float, expect_status: int = 200) -> _Run:
    """Keep `concurrency` keep-alive connections busy for `seconds`; responses still in flight then complete."""
    loop = asyncio.get_running_loop()
    run = _Run(request, expect_status)
    connections: list[_Connection] = []
    for _ in range(concurrency):
        _, protocol = await loop.create_connection(lambda: _Connection(run), "127.0.0.1", port)
        connections.append(protocol)
    await asyncio.sleep(seconds)
    run.stopping = True
    await asyncio.wait_for(asyncio.gather(*(c.closed for c in connections)), timeout=60)
    return run


def percentile(sorted_values: list[int], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))] / 1e6


def measure(
    server: Server, request: bytes, *, concurrency: int, seconds: float, memory: bool = False
) -> dict[str, Any]:
    """One timed run against one server: requests/s, MB/s, p50/p99 (ms), server CPU µs per request."""
    if memory:
        server.reset_peak_rss()
        rss_before = server.memory_kib().get("VmRSS", 0)
    before = server.usage()["cpu"]
    t0 = time.perf_counter()
    run = asyncio.run(load(server.port, request, concurrency=concurrency, seconds=seconds))
    elapsed = time.perf_counter() - t0
    after = server.usage()
    latencies = sorted(run.latencies)
    done = max(1, len(latencies))
    result: dict[str, Any] = {
        "requests": len(latencies),
        "errors": run.errors,
        "rps": len(latencies) / elapsed,
        "mb_per_s": run.bytes / elapsed / 1e6,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "cpu_us": (after["cpu"] - before) * 1e6 / done,
    }
    if memory:
        memory_after = server.memory_kib()
        result["peak_rss_mb"] = memory_after.get("VmHWM", after["maxrss_kb"]) / 1024
        result["rss_growth_mb"] = (memory_after.get("VmHWM", 0) - rss_before) / 1024
    return result
