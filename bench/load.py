"""A bounded load test: the demo site with and without adguard_mw, under the same load, in the same run.

    python bench/load.py [--seconds 60] [--clients 50] [--json]

Starts two uvicorn servers on 127.0.0.1 (each in its own process): the bare demo news site
(`examples/news_site`) and the same site wrapped by the middleware as `adguard-mw demo` serves it (policy "soft",
events written to a temporary directory). Then `--clients` keep-alive connections drive a mix of article pages,
the site's stylesheet and, on the wrapped site, the detector script and beacons (a third of them "blocked", whose
readers then get the dialog on their next pages). The two servers take turns in slices of a few seconds, so a
noisy neighbour hurts both alike; each gets `--seconds` of load in all, and the run stops by itself.

It prints requests served, errors (anything but a 200, or a broken connection: must be 0), p50 and p99 latency
against the bare site, and each server's resident memory at the start and at the end. The exit status is 1 when
there was any error. Not run in CI, except as a short smoke test (`tests/security/test_instances.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLICE = 5.0  # seconds of load on one server before the other takes its turn

SERVER = """
import sys
from pathlib import Path

import uvicorn

from adguard_mw import Policy
from adguard_mw.cli import _news_site, demo_app

kind, port, events = sys.argv[1], int(sys.argv[2]), sys.argv[3]
app = demo_app(Path(events), Policy(mode="soft")) if kind == "adguard" else _news_site().create_app()
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""

PAGES = (
    "/",
    "/about",
    "/articles/alder-ford-library-reopens",
    "/articles/wren-river-clean-up",
    "/articles/crumb-and-crust-apprentices",
    "/articles/council-backs-station-road-bike-lanes",
    "/articles/wrenfield-robotics-regional-final",
)


@dataclass
class Target:
    name: str  # "bare" or "adguard"
    port: int
    process: subprocess.Popen[bytes]
    latencies: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds
    errors: list[str] = field(default_factory=list)
    rss_start_kb: int = 0
    rss_end_kb: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_server(kind: str, events: str) -> Target:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", SERVER, kind, str(port), events]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start on port {port}") from None
            time.sleep(0.05)
    return Target(kind, port, process)


class Connection:
    """One keep-alive HTTP/1.1 connection that knows just enough HTTP to read its responses."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        received: dict[str, list[str]] = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                received.setdefault(name.strip().lower(), []).append(value.strip())
        if "content-length" in received:
            await self.reader.readexactly(int(received["content-length"][0]))
        elif received.get("transfer-encoding", [""])[0].lower() == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if received.get("connection", [""])[0].lower() == "close":
            await self.close()
        return status, received

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class Reader:
    """One simulated reader on one keep-alive connection, with the cookies the site gave it."""

    def __init__(self, target: Target, names: dict[str, str], rng: random.Random) -> None:
        self.target = target
        self.names = names
        self.rng = rng
        self.connection = Connection(target.port)
        self.cookies: dict[str, str] = {}
        self.blocking = rng.random() < 1 / 3

    def next_request(self) -> tuple[str, str, str, dict[str, str], bytes]:
        """(kind, method, path, headers, body) drawn from the mix; the bare site gets pages and its stylesheet."""
        draw = self.rng.random()
        wrapped = self.target.name == "adguard"
        headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/150.0.0.0 Safari/537.36"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if draw < 0.6 or (not wrapped and draw < 0.8):
            headers["Accept"] = "text/html"
            return "page", "GET", self.rng.choice(PAGES), headers, b""
        if draw < 0.8 or not wrapped:
            return "stylesheet", "GET", "/static/site.css", headers, b""
        if draw < 0.9:
            return "detector", "GET", self.names["detector"], headers, b""
        verdict = "blocked" if self.blocking else "not_blocked"
        signals = {"cosmetic": verdict, "script": verdict, "image": verdict}
        body = json.dumps({"signals": signals, "path": self.rng.choice(PAGES)}).encode()
        headers |= {
            "Content-Type": "application/json",
            "Origin": f"http://127.0.0.1:{self.target.port}",
            "Sec-Fetch-Site": "same-origin",
        }
        return "beacon", "POST", self.names["beacon"], headers, body

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            kind, method, path, headers, body = self.next_request()
            began = time.perf_counter()
            try:
                status, received = await self.connection.request(method, path, headers, body)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                self.target.errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                await self.connection.close()
                continue
            self.target.latencies.setdefault(kind, []).append(time.perf_counter() - began)
            if status != 200:
                self.target.errors.append(f"{method} {path}: HTTP {status}")
            for cookie in received.get("set-cookie", []):
                name, _, rest = cookie.partition("=")
                value = rest.split(";", 1)[0]
                if value:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)

    async def close(self) -> None:
        await self.connection.close()


def middleware_names() -> dict[str, str]:
    """The wrapped demo's URLs, derived exactly as its server derives them."""
    sys.path.insert(0, str(ROOT))
    from adguard_mw import Policy
    from adguard_mw.cli import demo_app

    app = demo_app(None, Policy(mode="soft"))
    prefix = app.names.prefix
    return {
        "detector": f"{prefix}/{app.names.script}?v={app.assets.detector.version}",
        "beacon": f"{prefix}/{app.names.beacon}",
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def drive(targets: list[Target], seconds: float, clients: int, names: dict[str, str]) -> None:
    rng = random.Random(8)
    readers = {
        target.name: [Reader(target, names, random.Random(rng.random())) for _ in range(clients)] for target in targets
    }
    remaining = {target.name: seconds for target in targets}
    while any(left > 0 for left in remaining.values()):
        for target in targets:
            turn = min(SLICE, remaining[target.name])
            if turn <= 0:
                continue
            until = time.monotonic() + turn
            await asyncio.gather(*(reader.run(until) for reader in readers[target.name]))
            # Close before the other server's turn: an idle keep-alive connection outlives the server's patience
            # (uvicorn's keep-alive timeout is 5 s), and a browser would open a new one too.
            await asyncio.gather(*(reader.close() for reader in readers[target.name]))
            remaining[target.name] -= turn


def summary(targets: list[Target], seconds: float, clients: int) -> dict[str, object]:
    result: dict[str, object] = {"seconds": seconds, "clients": clients}
    for target in targets:
        every = [value for values in target.latencies.values() for value in values]
        result[target.name] = {
            "requests": len(every),
            "requests_per_second": round(len(every) / seconds, 1),
            "errors": len(target.errors),
            "first_errors": target.errors[:5],
            "p50_ms": round(percentile(every, 0.5) * 1000, 2),
            "p99_ms": round(percentile(every, 0.99) * 1000, 2),
            "by_kind": {
                kind: {
                    "requests": len(values),
                    "p50_ms": round(percentile(values, 0.5) * 1000, 2),
                    "p99_ms": round(percentile(values, 0.99) * 1000, 2),
                }
                for kind, values in sorted(target.latencies.items())
            },
            "rss_start_mb": round(target.rss_start_kb / 1024, 1),
            "rss_end_mb": round(target.rss_end_kb / 1024, 1),
        }
    return result


def print_table(result: dict[str, object]) -> None:
    print(f"{result['clients']} keep-alive clients, {result['seconds']:g} s of load on each server, 127.0.0.1\n")
    print("| server | kind | requests | errors | p50 ms | p99 ms | RSS start → end (MB) |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name in ("bare", "adguard"):
        entry = result[name]
        assert isinstance(entry, dict)
        rss = f"{entry['rss_start_mb']} → {entry['rss_end_mb']}"
        figures = f"{entry['requests']} | {entry['errors']} | {entry['p50_ms']} | {entry['p99_ms']}"
        print(f"| {name} | all | {figures} | {rss} |")
        for kind, row in entry["by_kind"].items():
            print(f"| {name} | {kind} | {row['requests']} | | {row['p50_ms']} | {row['p99_ms']} | |")
        for error in entry["first_errors"]:
            print(f"  error: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of load on each server (default 60)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent keep-alive clients (default 50)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object instead")
    args = parser.parse_args(argv)
    names = middleware_names()
    with tempfile.TemporaryDirectory(prefix="adguard-load-") as events:
        targets = [start_server("bare", events), start_server("adguard", events)]
        try:
            for target in targets:
                target.rss_start_kb = rss_kb(target.process.pid)
            asyncio.run(drive(targets, args.seconds, args.clients, names))
            for target in targets:
                target.rss_end_kb = rss_kb(target.process.pid)
        finally:
            for target in targets:
                target.process.terminate()
            for target in targets:
                try:
                    target.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    target.process.kill()
    result = summary(targets, args.seconds, args.clients)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 1 if any(target.errors for target in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
