"""Fixtures for running the framework examples under real ASGI servers, and one headless Chromium per module.

``site`` is module-scoped and parametrized over every (framework, server) pair: pytest groups the tests by pair,
so each server subprocess starts once, serves all the tests of its pair and is stopped before the next starts.
A framework or server that is not installed is skipped with a reason; one that is installed but fails to start
is an error, with the end of its log in the message.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "frameworks-test-key-not-a-secret-0123456789"
CONFIG_FILE = ROOT / "examples" / "adguard-mw.toml"  # every example loads it with AdGuardMiddleware.from_config
KEYS_ENV = "ADGUARD_MW_SECRET_KEYS"  # where the file says the keys are, and the examples' demo-key fallback
HOST_NAME = "news.test"  # Chromium maps *.test to 127.0.0.1 (see CHROMIUM_ARGS)

# framework -> (module that must be importable, ASGI target)
FRAMEWORKS = {
    "starlette": ("starlette", "examples.starlette_app:app"),
    "fastapi": ("fastapi", "examples.fastapi_app:app"),
    "django": ("django", "examples.django_app.asgi:application"),
    "litestar": ("litestar", "examples.litestar_app:app"),
    "quart": ("quart", "examples.quart_app:app"),
}
SERVERS = ("uvicorn", "hypercorn", "granian")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-proxy-server",
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]


@dataclass(frozen=True)
class Site:
    framework: str
    server: str
    port: int

    @property
    def url(self) -> str:
        """For httpx: the loopback address itself."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def browser_url(self) -> str:
        """For Chromium: a non-local name, as a real reader would use."""
        return f"http://{HOST_NAME}:{self.port}"


def server_command(server: str, target: str, port: int) -> list[str]:
    python = sys.executable
    if server == "uvicorn":
        return [python, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if server == "hypercorn":
        return [python, "-m", "hypercorn", target, "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    return [
        *(python, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)),
        *("--log-level", "warning", "--no-access-log", target),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{' '.join(process.args)} did not answer at {url} (exit {process.poll()}):\n{tail}")  # type: ignore[arg-type]


def stop(process: subprocess.Popen[bytes]) -> None:
    """The server and its workers (granian forks) share a process group of their own: stop that group."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


PAIRS = [(framework, server) for framework in FRAMEWORKS for server in SERVERS]


@pytest.fixture(scope="module", params=PAIRS, ids=[f"{framework}-{server}" for framework, server in PAIRS])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    framework, server = request.param
    module, target = FRAMEWORKS[framework]
    for needed in (module, server):
        if importlib.util.find_spec(needed) is None:
            pytest.skip(f"{needed} is not installed (pip install 'adguard-mw[frameworks]')")
    port = free_port()
    env = {**os.environ, KEYS_ENV: SECRET_KEY, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                server_command(server, target, port),
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_answering(process, f"http://127.0.0.1:{port}/api/data", log)
            yield Site(framework, server, port)
        finally:
            stop(process)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator[Browser]:
    executable = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    if executable is None:
        pytest.skip("no Chromium executable on PATH (looked for chromium, chromium-browser, google-chrome)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
