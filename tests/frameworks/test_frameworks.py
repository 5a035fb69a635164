"""Each example app under each server: the middleware injects, stays out of the way, and the loop works in Chromium.

The examples live in ``examples/`` and share ``examples/adguard-mw.toml``, which is in force in every check here
(its policy, rule, meter and message); ``conftest.py`` starts one server subprocess per (framework, server) pair.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import tomllib
import uuid

import httpx
import pytest
from playwright.async_api import Browser, expect

from adguard_mw.names import Names

from ..asgi import call, http_scope
from .conftest import CONFIG_FILE, KEYS_ENV, ROOT, SECRET_KEY, Site

NAMES = Names.derive(SECRET_KEY)
TAG = f'<script src="{NAMES.prefix}/{NAMES.script}?{NAMES.version_param}='.encode()
MESSAGE_MARK = f'id="{NAMES.css_class}-message"'.encode()  # the message's <template>, in pages that carry it
CONFIG = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
TITLE = CONFIG["message"]["title"].replace("{site}", CONFIG["site"]["name"])
SOURCES = {
    "starlette": "examples/starlette_app.py",
    "fastapi": "examples/fastapi_app.py",
    "django": "examples/django_app/views.py",
    "litestar": "examples/litestar_app.py",
    "quart": "examples/quart_app.py",
}
NO_BACKGROUND_TASKS = {"django": "Django 5 has no background tasks in the request cycle"}
NO_WEBSOCKETS = {"django": "plain Django has no websockets (that takes Channels)"}


def get(site: Site, path: str, client: httpx.Client | None = None) -> httpx.Response:
    response = (client or httpx).get(site.url + path, timeout=10)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response


def assert_injected_once(response: httpx.Response) -> None:
    assert response.content.count(TAG) == 1
    assert response.content.index(TAG) < response.content.index(b"</head>")
    # One Content-Length, and the right one, whatever case the framework wrote the original in.
    lengths = response.headers.get_list("content-length")
    assert lengths in ([], [str(len(response.content))]), lengths


@pytest.mark.parametrize("path", ["/", "/articles/first"])
def test_html_pages_get_the_detector_once(site: Site, path: str) -> None:
    response = get(site, path)
    assert_injected_once(response)
    if path == "/articles/first":
        assert b"<article>" in response.content


def test_json_is_untouched(site: Site) -> None:
    response = get(site, "/api/data")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"framework": site.framework}


def test_a_stream_is_untouched(site: Site) -> None:
    response = get(site, "/stream")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "".join(f"line {number}\n" for number in range(5))


def test_a_file_is_untouched(site: Site) -> None:
    response = get(site, "/file")
    assert response.content == (ROOT / SOURCES[site.framework]).read_bytes()
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["content-length"] == str(len(response.content))


def test_sessions_still_work(site: Site) -> None:
    with httpx.Client() as client:
        first, second = get(site, "/visits", client), get(site, "/visits", client)
    assert b"id='visits'>1<" in first.content or b'id="visits">1<' in first.content
    assert b"id='visits'>2<" in second.content or b'id="visits">2<' in second.content
    assert_injected_once(second)


def test_background_tasks_still_run(site: Site) -> None:
    if site.framework in NO_BACKGROUND_TASKS:
        pytest.skip(NO_BACKGROUND_TASKS[site.framework])
    name = uuid.uuid4().hex
    assert_injected_once(get(site, f"/task?name={name}"))
    deadline = time.monotonic() + 5
    while name not in get(site, "/tasks").json():
        assert time.monotonic() < deadline, "the background task never ran"
        time.sleep(0.05)


def test_a_websocket_round_trips(site: Site) -> None:
    if site.framework in NO_WEBSOCKETS:
        pytest.skip(NO_WEBSOCKETS[site.framework])
    if importlib.util.find_spec("websockets") is None:
        pytest.skip("the websockets client is not installed (it comes with uvicorn[standard])")
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{site.port}/ws", open_timeout=10) as websocket:
        websocket.send("hello")
        assert websocket.recv(timeout=10) == "hello"


async def test_django_sends_capitalised_headers_and_the_middleware_copes(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, at the ASGI level: Django writes `Content-Type`, `Content-Length`; we replace the length."""
    if importlib.util.find_spec("django") is None:
        pytest.skip("django is not installed (pip install 'adguard-mw[frameworks]')")
    monkeypatch.setenv(KEYS_ENV, SECRET_KEY)  # before the import, whose demo-key fallback must not be used here
    from examples.django_app.asgi import application

    sent = await call(application, http_scope("/articles/first", headers=[("host", "127.0.0.1")]))
    assert sent.status == 200
    assert b"Content-Type" in [name for name, _ in sent.headers]  # capitalised, as Django sends them
    neutral = application.names
    assert sent.body.count(f'<script src="{neutral.prefix}/{neutral.script}?{neutral.version_param}='.encode()) == 1
    assert sent.header_values("content-length") == [str(len(sent.body))]


@pytest.mark.browser
@pytest.mark.asyncio(loop_scope="module")
async def test_the_detector_reports_to_the_beacon(site: Site, chromium: Browser) -> None:
    context = await chromium.new_context(service_workers="block")
    try:
        page = await context.new_page()
        async with page.expect_response(lambda r: r.url.endswith(f"{NAMES.prefix}/{NAMES.beacon}")) as beacon:
            await page.goto(site.browser_url + "/articles/first")
        response = await beacon.value
        assert response.ok
        assert (await response.json())["verdict"] == "not_blocked"
        await expect(page.locator("article")).to_be_visible()
    finally:
        await context.close()


@pytest.mark.browser
@pytest.mark.asyncio(loop_scope="module")
async def test_a_blocking_reader_meets_the_message_the_file_describes(site: Site, chromium: Browser) -> None:
    """The file's policy: the front page is observed, one free story per day, then its soft dialog with its title."""
    assert CONFIG["policy"]["free_page_views"] == 1 and CONFIG["policy"]["rules"][0] == {"path": "/", "mode": "observe"}
    # The context's request API resolves names itself (Chromium's *.test mapping does not apply): use 127.0.0.1.
    # It shares the context's cookies and runs no JavaScript, so no detector overwrites the reported verdict.
    context = await chromium.new_context(service_workers="block")
    try:
        report = {"signals": {"cosmetic": "blocked", "script": "blocked", "image": "blocked"}, "path": "/"}
        beacon = await context.request.post(
            f"{site.url}{NAMES.prefix}/{NAMES.beacon}", data=report, headers={"Origin": site.url}
        )
        assert beacon.ok, await beacon.text()
        assert (await beacon.json())["verdict"] == "blocked"
        front = await context.request.get(site.url + "/")
        assert MESSAGE_MARK not in await front.body(), "the [[policy.rules]] for / says observe"
        free = await context.request.get(site.url + "/articles/first")
        assert b"<article>" in await free.body()
        assert MESSAGE_MARK not in await free.body(), "free_page_views = 1: the first story is free"
        # The page's own check must confirm the verdict, as with a real blocker, not clear it (and the dialog) while
        # a slow machine is still looking: its bait requests fail as a blocker makes them fail.
        await context.route(f"**{NAMES.prefix}/{NAMES.bait_dir}/**", lambda route: route.abort("blockedbyclient"))
        page = await context.new_page()
        # This browser blocks the baits too, so the page's own check keeps the verdict (a clean one clears it).
        await context.route(f"**{NAMES.prefix}/{NAMES.bait_dir}/**", lambda route: route.abort("blockedbyclient"))
        await page.goto(site.url + "/articles/first")
        dialog = page.get_by_role("dialog", name=TITLE)
        await expect(dialog).to_be_visible()
        await expect(page.locator(f".{NAMES.css_class}[{NAMES.data}='soft']")).to_have_count(1)
        await expect(dialog.locator("a[href='/subscribe']").first).to_be_visible()  # the body's Markdown link
        await expect(page.locator("article")).to_be_attached()  # soft: the story is behind the dialog
    finally:
        await context.close()


def run_python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_example_configuration_passes_check_config() -> None:
    assert CONFIG["site"]["secret_keys_env"] == KEYS_ENV  # the variable the examples' demo-key fallback sets
    env = {**os.environ, KEYS_ENV: SECRET_KEY}
    checked = run_python("-m", "adguard_mw.cli", "check-config", str(CONFIG_FILE), env=env)
    assert checked.returncode == 0, checked.stderr
    assert ": ok" in checked.stdout, checked.stdout


def test_an_example_runs_with_no_setup_on_the_public_demo_key() -> None:
    """A newcomer sets nothing: the example fills in the demo key (only when the variable is unset)."""
    if importlib.util.find_spec("litestar") is None:
        pytest.skip("litestar is not installed (pip install 'adguard-mw[frameworks]')")
    env = {name: value for name, value in os.environ.items() if name != KEYS_ENV} | {"PYTHONPATH": str(ROOT)}
    code = f"import os, examples.litestar_app as m; print(m.app.site_name, os.environ[{KEYS_ENV!r}], sep='|')"
    ran = run_python("-c", code, env=env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == CONFIG["site"]["name"] + "|demo-only-key-replace-me-in-production"


def test_the_examples_load_the_file_and_hard_code_no_production_key() -> None:
    entry_points = [source for source in SOURCES.values() if not source.endswith("views.py")]
    for source in [*entry_points, "examples/django_app/asgi.py"]:
        text = (ROOT / source).read_text()
        assert "AdGuardMiddleware.from_config" in text and "CONFIG" in text, source
        assert f'os.environ.setdefault("{KEYS_ENV}", "demo-only-key-replace-me-in-production")' in text, source
        assert "secret_key=SECRET_KEY" not in text, source
