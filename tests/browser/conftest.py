"""Fixtures for end-to-end tests in a real headless Chromium, with and without a real ad blocker.

Fixtures (see ``test_blocker_harness.py`` for a complete example)::

    chromium          session   one headless Chromium per run (per xdist worker); skips when Chromium is missing
    serve             module    serve(app) -> "http://news.test:<port>": runs an ASGI app with uvicorn in a thread
    adblock_engine    session   Brave's engine with the real lists (skips when ../shared/filterlists is missing)
    blocker           function  a fresh Blocker; assert on blocker.blocked / .redirected / .decisions
    clean_context     function  a browser context without any blocker
    blocking_context  function  a browser context with ``blocker`` attached
    patient_probes    function  the detector's probes wait 10 s (modules that use the Python blocker ask for it)
    contexts          function  a list: browser contexts a test makes and appends, closed after it
    axe               function  axe-core's source (skips, naming scripts/test.sh, when it has not been fetched)

Event loops: Playwright's objects belong to the event loop that started it, so the session-wide ``chromium``
(one browser per worker: starting one per module cost a second or more each time, twice under xdist) and every
test and fixture using it run in one loop per session. The async fixtures here are declared with
``loop_scope="session"``, and the hook at the bottom of this file marks every async test under ``tests/browser``
with ``pytest.mark.asyncio(loop_scope="session")`` (and with ``pytest.mark.browser``), so test modules need no
marks of their own. Tests make their own browser contexts: only the browser process is shared. A test that
explicitly asks for another loop scope gets it, and then cannot use these fixtures.

Host names: Chromium resolves every ``*.test`` name to 127.0.0.1, and ``serve`` returns ``http://news.test:…``
URLs. Browsing a non-local name matters: EasyList turns generic cosmetic filtering off on ``localhost`` and
``127.0.0.1`` (``@@://127.0.0.1$generichide``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import adblock
import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from adguard_mw import assets

from .axe import axe_source
from .blocker import SKIP_REASON, Blocker, filterlists_dir, load_engine

HOST = "news.test"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]

Serve = Callable[..., str]


def _chromium_executable() -> str | None:
    for candidate in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    """One Playwright driver per worker, for the shared browser and for the tests that launch their own."""
    driver = await async_playwright().start()
    try:
        yield driver
    finally:
        await driver.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium(playwright: Playwright) -> AsyncIterator[Browser]:
    executable = _chromium_executable()
    if executable is None:
        pytest.skip("no Chromium executable on PATH (looked for chromium, chromium-browser, google-chrome)")
    browser = await playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        await browser.close()


@pytest.fixture(scope="session")
def adblock_engine() -> adblock.Engine:
    directory = filterlists_dir()
    if directory is None:
        pytest.skip(SKIP_REASON)
    return load_engine(directory)


@pytest.fixture
def blocker(adblock_engine: adblock.Engine) -> Blocker:
    return Blocker(adblock_engine)


@pytest_asyncio.fixture(loop_scope="session")
async def clean_context(chromium: Browser) -> AsyncIterator[BrowserContext]:
    context = await chromium.new_context(service_workers="block")
    try:
        yield context
    finally:
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def blocking_context(chromium: Browser, blocker: Blocker) -> AsyncIterator[BrowserContext]:
    context = await chromium.new_context(service_workers="block")
    try:
        await blocker.attach(context)
        yield context
    finally:
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def contexts() -> AsyncIterator[list[BrowserContext]]:
    """Contexts made by a test, closed after it."""
    made: list[BrowserContext] = []
    yield made
    for context in made:
        await context.close()


@pytest.fixture
def axe() -> str:
    return axe_source()  # skips, naming scripts/test.sh, when axe-core has not been fetched


PATIENT_PROBE_MS = 10_000


@pytest.fixture
def patient_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test blocker decides each request in Python, through Playwright: on a loaded machine its answer can take
    longer than the detector's probe timeout (1.5 s), which a real blocker, deciding inside the browser, never
    does. A longer timeout costs nothing when answers come quickly: a probe ends when its request does. The
    timeout is read when a middleware is built: for sites a test builds; module-scoped sites use `patient`."""
    monkeypatch.setattr("adguard_mw.assets.PROBE_TIMEOUT_MS", PATIENT_PROBE_MS)


@contextlib.contextmanager
def patient() -> Iterator[None]:
    """`patient_probes` for the middlewares built inside (module-scoped sites, built before any test's fixtures)."""
    kept, assets.PROBE_TIMEOUT_MS = assets.PROBE_TIMEOUT_MS, PATIENT_PROBE_MS
    try:
        yield
    finally:
        assets.PROBE_TIMEOUT_MS = kept


@pytest.fixture(scope="module")
def serve() -> Iterator[Serve]:
    """``serve(app)`` starts ``app`` on 127.0.0.1 and returns its base URL on ``news.test``; stops at module end."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: object, host_name: str = HOST) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="auto")
        server = uvicorn.Server(config)
        # Outside the main thread uvicorn leaves signal handlers alone.
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {port}")
            time.sleep(0.01)
        servers.append((server, thread))
        return f"http://{host_name}:{port}"

    yield start
    for server, _ in servers:
        server.should_exit = True
    for _, thread in servers:
        thread.join(timeout=10)


_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE not in Path(item.path).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        marker = item.get_closest_marker("asyncio")
        if marker is not None and not (marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")):
            # Prepend, so that this marker wins over the bare one asyncio_mode=auto added at collection.
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)
