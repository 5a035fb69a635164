"""Network-level filtering told apart from extensions, and a silenced detector counted as a signal when asked to.

A DNS filter (Pi-hole, NextDNS) answers "no such host" for the hosts on its lists and cannot see paths: here it
is a browser context whose requests to the third-party bait host fail with `namenotresolved`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adguard_mw import AdGuardMiddleware, Policy

from .conftest import Serve

KEY = "network-test-key-0123456789abcdef"
PAGE = (
    "<!doctype html><html><head><meta charset=utf-8><title>T</title></head>"
    "<body><main><article>Story</article></main></body></html>"
)


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


def site() -> Starlette:
    return Starlette(routes=[Route("/", page), Route("/{slug}", page)])


def serve_with(serve: Serve, build: Callable[[int], AdGuardMiddleware]) -> tuple[str, AdGuardMiddleware]:
    """Serve an app that needs its own port in its configuration (the third-party host runs on it too)."""
    holder: dict[str, ASGIApp] = {}

    async def late(scope: Scope, receive: Receive, send: Send) -> None:
        await holder["app"](scope, receive, send)

    base = serve(late)
    app = build(int(base.rsplit(":", 1)[1]))
    holder["app"] = app
    return base, app


async def beacon_answer(page: Page, url: str, app: AdGuardMiddleware) -> dict[str, Any]:
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.beacon), timeout=15_000) as beacon:
        await page.goto(url)
    response = await beacon.value
    return {"signals": response.request.post_data_json["signals"], **(await response.json())}


@pytest.fixture(scope="module")
def network_site(serve: Serve) -> tuple[str, AdGuardMiddleware]:
    return serve_with(
        serve,
        lambda port: AdGuardMiddleware(
            site(), secret_key=KEY, policy=Policy(mode="hard"), third_party_bait=f"http://ads.news.test:{port}"
        ),
    )


async def test_third_party_bait_loads_in_a_clean_browser(
    network_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext
) -> None:
    base, app = network_site
    answer = await beacon_answer(await clean_context.new_page(), base + "/", app)
    assert answer["signals"]["third_party"] == "not_blocked" and answer["verdict"] == "not_blocked"


async def test_a_dns_filter_is_network_level_blocking(
    network_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext
) -> None:
    base, app = network_site
    await clean_context.route("http://ads.news.test:*/**", lambda route: route.abort("namenotresolved"))
    page = await clean_context.new_page()
    answer = await beacon_answer(page, base + "/", app)
    assert answer["signals"] == {
        "cosmetic": "not_blocked",
        "script": "not_blocked",
        "image": "not_blocked",
        "third_party": "blocked",
    }
    assert answer["verdict"] == "blocked" and answer["kind"] == "network"
    await page.goto(base + "/second")
    # The reader cannot allow-list us from the browser: a notice (never a wall) that says so.
    await expect(page.locator("article")).to_be_visible()
    await expect(page.get_by_role("region")).to_contain_text("filtered by your network")


async def test_an_extension_with_a_dns_filter_is_an_extension(
    network_site: tuple[str, AdGuardMiddleware], blocking_context: BrowserContext
) -> None:
    base, app = network_site
    await blocking_context.route("http://ads.news.test:*/**", lambda route: route.abort("namenotresolved"))
    answer = await beacon_answer(await blocking_context.new_page(), base + "/", app)
    assert answer["verdict"] == "blocked" and answer["kind"] == "extension"


@pytest.fixture(scope="module")
def silence_site(serve: Serve) -> tuple[str, AdGuardMiddleware]:
    app = AdGuardMiddleware(site(), secret_key=KEY, policy=Policy(mode="hard"), events=lambda record: None)
    return serve(app, "silence.test"), app


@pytest.fixture
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page view whose detector has not reported by the next page view counts as silent at once. The tests need
    not wait out a real grace, and are stricter for it: a detector that reports late cannot hide behind one."""
    monkeypatch.setattr("adguard_mw.pageview.SILENCE_GRACE", 0)


def verdict_cookie(cookies: list[Any], app: AdGuardMiddleware) -> str:
    return {c["name"]: c["value"] for c in cookies}.get(app.names.companion, "")[:1]


async def nothing_pending(context: BrowserContext, app: AdGuardMiddleware) -> None:
    """Waits until the server's own record (the signed, HttpOnly cookie) holds no unreported page view: the
    detector of the page just served has reported, or the page was not watched at all."""
    deadline = time.monotonic() + 15
    while True:
        header = "; ".join(f"{c['name']}={c['value']}" for c in await context.cookies())
        state = app.cookie.load(header.encode("latin-1"))
        if state is not None and state.pending_at is None:
            return
        assert time.monotonic() < deadline, f"a page view is still unreported after 15 s: {state}"
        await asyncio.sleep(0.05)


async def test_a_detector_blocked_by_name_counts_as_blocked_after_two_silent_page_views(
    silence_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext, no_grace: None
) -> None:
    base, app = silence_site
    # What a list maintainer would write after finding this site's detector: block it by its exact path.
    await clean_context.route(f"**{app.names.prefix}/{app.names.script}*", lambda route: route.abort("blockedbyclient"))
    page = await clean_context.new_page()
    for path in ("/one", "/two"):
        await page.goto(base + path)
        await expect(page.locator("article")).to_be_visible()
    await page.goto(base + "/three")  # two page views in a row never reported: blocked, as a report would say
    await expect(page.locator("article")).to_have_count(0)


async def test_a_working_detector_is_never_counted_silent(
    silence_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext, no_grace: None
) -> None:
    base, app = silence_site
    page = await clean_context.new_page()
    for path in ("/one", "/two", "/three", "/four"):
        await page.goto(base + path)
        await nothing_pending(clean_context, app)
        await expect(page.locator("article")).to_be_visible()
    assert verdict_cookie(await clean_context.cookies(), app) == "n"


async def test_a_browser_without_javascript_is_never_counted_silent(
    silence_site: tuple[str, AdGuardMiddleware], chromium: Browser, no_grace: None
) -> None:
    base, app = silence_site
    context = await chromium.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        for path in ("/one", "/two", "/three", "/four"):
            await page.goto(base + path)  # which waits for the page's stylesheets, the <noscript> one too
            await expect(page.locator("article")).to_be_visible()
        assert verdict_cookie(await context.cookies(), app) == ""
    finally:
        await context.close()


async def test_a_reader_who_clicks_on_before_each_check_ends_is_never_counted(
    silence_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext
) -> None:
    """Four articles, each left as soon as its detector has tried to report (the report is held back here): with
    the real ten-second grace none of them counts, however slow the machine."""
    base, app = silence_site
    beacon = f"{app.names.prefix}/{app.names.beacon}"
    await clean_context.route(f"**{beacon}", lambda route: route.abort("aborted"))
    page = await clean_context.new_page()
    for path in ("/one", "/two", "/three", "/four"):
        async with page.expect_event("requestfailed", lambda request: request.url.endswith(beacon), timeout=15_000):
            await page.goto(base + path)
        await expect(page.locator("article")).to_be_visible()
    assert verdict_cookie(await clean_context.cookies(), app) == ""


async def test_prefetches_and_prerenders_are_never_counted(
    silence_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext, no_grace: None
) -> None:
    base, app = silence_site
    page = await clean_context.new_page()
    await page.goto(base + "/one")
    await page.wait_for_function(
        "name => document.cookie.indexOf(name + '=n') >= 0", arg=app.names.companion, timeout=10_000
    )
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in await clean_context.cookies())
    port = base.rsplit(":", 1)[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Host": f"silence.test:{port}"}) as c:
        for purpose in ("prefetch", "prefetch;prerender"):
            for path in ("/two", "/three", "/four"):  # fetched as a browser does ahead of a click, never shown
                headers = {"Sec-Purpose": purpose, "Sec-Fetch-Dest": "document", "Cookie": cookie}
                response = await c.get(path, headers=headers)
                assert response.status_code == 200 and "set-cookie" not in response.headers


async def test_a_page_restored_from_the_back_forward_cache_accuses_nobody(
    silence_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext, no_grace: None
) -> None:
    base, app = silence_site
    page = await clean_context.new_page()
    for path in ("/one", "/two"):
        await page.goto(base + path)
        await nothing_pending(clean_context, app)
    for _ in range(3):
        await page.go_back()
        await nothing_pending(clean_context, app)
        await page.go_forward()
        await nothing_pending(clean_context, app)
    await page.goto(base + "/three")
    await expect(page.locator("article")).to_be_visible()
    assert verdict_cookie(await clean_context.cookies(), app) == "n"
