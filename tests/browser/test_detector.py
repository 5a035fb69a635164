"""The detector in a real Chromium: blockers cannot fool it, and a bad network or a busy page never accuses.

Each test changes one thing between the page and the server (with Playwright's routing) and reads the report the
detector posted: its verdict and each signal on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Route
from playwright.async_api import Error as PlaywrightError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route as Path

from adguard_mw import AdGuardMiddleware
from adguard_mw.names import Names

from .blocker import filterlists_dir
from .conftest import Serve

KEY = "detector-test-key-0123456789abcdef"
PAGE = (
    "<!doctype html><html><head><meta charset=utf-8><title>T</title>{style}</head>"
    "<body><main>{text}</main></body></html>"
)


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE.format(style="", text="A story."))


async def hidden_page(request: Request) -> HTMLResponse:
    # A fade-in effect: the page hides its body until its own script shows it, well after our check.
    style = "<style>body{visibility:hidden}</style>"
    script = "<script>setTimeout(() => { document.body.style.visibility = 'visible'; }, 5000)</script>"
    return HTMLResponse(PAGE.format(style=style, text="A story." + script))


APP = AdGuardMiddleware(
    Starlette(routes=[Path("/", page), Path("/hidden", hidden_page)]), secret_key=KEY, policy="hard"
)
NAMES = APP.names


@pytest.fixture(scope="module")
def site(serve: Serve) -> str:
    return serve(APP)


async def report(context: BrowserContext, url: str, names: Names = NAMES) -> dict[str, Any]:
    """Load a page; return the signals its detector posted and the verdict and kind the server made of them."""
    page = await context.new_page()
    async with page.expect_response(lambda r: r.url.endswith("/" + names.beacon), timeout=15_000) as beacon:
        await page.goto(url)
    response = await beacon.value
    answer = await response.json()
    await page.close()
    return {"signals": response.request.post_data_json["signals"], **answer}


def own(name: str) -> str:
    return f"**{NAMES.prefix}/{name}?*"


async def test_a_clean_browser_reports_not_blocked(site: str, clean_context: BrowserContext) -> None:
    posted = await report(clean_context, site + "/")
    assert posted == {
        "signals": {"cosmetic": "not_blocked", "script": "not_blocked", "image": "not_blocked"},
        "verdict": "not_blocked",
        "kind": None,
    }


async def test_a_surrogate_script_counts_as_blocked(site: str, clean_context: BrowserContext) -> None:
    """The blocker answers the bait with a stand-in that "loads" fine: it cannot echo the one-time value."""
    lists = filterlists_dir()
    if lists is None:
        pytest.skip("uBlock's surrogate resources not found at ../shared/filterlists")
    surrogate = (lists / "redirect-resources" / "prebid-ads.js").read_text()

    async def stand_in(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/javascript", body=surrogate)

    await clean_context.route(own(f"{NAMES.bait_dir}/{NAMES.bait_surrogate}"), stand_in)
    posted = await report(clean_context, site + "/")
    assert posted["signals"] == {"cosmetic": "not_blocked", "script": "blocked", "image": "not_blocked"}
    assert posted["verdict"] == "blocked" and posted["kind"] == "extension"


async def test_a_blocked_bait_request_counts_as_blocked(site: str, clean_context: BrowserContext) -> None:
    await clean_context.route(
        own(f"{NAMES.bait_dir}/{NAMES.bait_script}"), lambda route: route.abort("blockedbyclient")
    )
    posted = await report(clean_context, site + "/")
    assert posted["signals"]["script"] == "blocked" and posted["verdict"] == "blocked"


async def test_a_failing_network_is_unknown_never_blocked(site: str, clean_context: BrowserContext) -> None:
    """When even a fetch of the detector itself fails, the network is down: no failure says anything."""
    for name in (NAMES.control, f"{NAMES.bait_dir}/{NAMES.bait_script}", f"{NAMES.bait_dir}/{NAMES.bait_surrogate}"):
        await clean_context.route(own(name), lambda route: route.abort("internetdisconnected"))

    async def offline_for_fetches(route: Route) -> None:
        if route.request.resource_type == "fetch":
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    await clean_context.route(own(NAMES.script), offline_for_fetches)
    posted = await report(clean_context, site + "/")
    assert posted["signals"]["script"] == posted["signals"]["image"] == "unknown"
    assert posted["verdict"] == "unknown"


async def test_a_control_singled_out_while_the_network_works_is_blocking(
    site: str, clean_context: BrowserContext
) -> None:
    """Blocking the neutral control (every request type) no longer buys "unknown": the detector's own URL still
    loads, so the network works and the control was blocked on purpose."""
    await clean_context.route(own(NAMES.control), lambda route: route.abort("blockedbyclient"))
    posted = await report(clean_context, site + "/")
    assert posted["signals"]["script"] == "blocked" and posted["verdict"] == "blocked"


async def test_a_server_error_on_every_request_is_unknown(site: str, clean_context: BrowserContext) -> None:
    for name in (NAMES.control, f"{NAMES.bait_dir}/{NAMES.bait_script}", f"{NAMES.bait_dir}/{NAMES.bait_surrogate}"):
        await clean_context.route(own(name), lambda route: route.fulfill(status=500, body="upstream error"))
    posted = await report(clean_context, site + "/")
    assert posted["verdict"] == "unknown"


async def test_a_slow_bait_is_unknown_never_blocked(site: str, clean_context: BrowserContext) -> None:
    async def slow(route: Route) -> None:
        await asyncio.sleep(4)  # longer than the detector waits
        with contextlib.suppress(PlaywrightError):  # the page may be gone by then
            await route.continue_()

    await clean_context.route(own(f"{NAMES.bait_dir}/{NAMES.bait_script}"), slow)
    posted = await report(clean_context, site + "/")
    assert posted["signals"]["script"] == "unknown" and posted["verdict"] == "unknown"


async def test_a_page_that_hides_itself_is_not_accused(site: str, clean_context: BrowserContext) -> None:
    posted = await report(clean_context, site + "/hidden")
    assert posted["signals"]["cosmetic"] == "unknown" and posted["verdict"] == "unknown"


async def test_cosmetic_filtering_alone_is_detected(site: str, blocking_context: BrowserContext) -> None:
    """A blocker that hides elements but lets our bait requests through (cosmetic-only) is still found."""
    await blocking_context.route(own("**"), lambda route: route.continue_())  # ours win over the blocker's route
    posted = await report(blocking_context, site + "/")
    assert posted["signals"] == {"cosmetic": "blocked", "script": "not_blocked", "image": "not_blocked"}
    assert posted["verdict"] == "blocked"


async def test_the_detector_never_throws_into_the_page(site: str, blocking_context: BrowserContext) -> None:
    page = await blocking_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    async with page.expect_request(lambda r: r.url.endswith("/" + NAMES.beacon)):
        await page.goto(site + "/")
    await page.wait_for_timeout(200)
    assert errors == []


async def test_a_stand_in_image_counts_as_blocked(site: str, clean_context: BrowserContext) -> None:
    """uBlock answers blocked images with a 1x1 pixel; ours is 2x1."""
    pixel = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
    await clean_context.route(
        own(f"{NAMES.bait_dir}/{NAMES.bait_image}"), lambda route: route.fulfill(body=pixel, content_type="image/gif")
    )
    posted = await report(clean_context, site + "/")
    assert posted["signals"]["image"] == "blocked" and posted["verdict"] == "blocked"


async def test_a_reader_with_global_privacy_control_is_checked_and_the_page_cannot_pretend(
    site: str, chromium: Browser
) -> None:
    """By default GPC readers are checked (a first-party check is no sale or share), and a page that merely
    claims GPC (a scriptlet setting navigator.globalPrivacyControl) does not stop the detector either."""
    context = await chromium.new_context(extra_http_headers={"Sec-GPC": "1"})
    try:
        await context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {value: true});")
        posted = await report(context, site + "/")
        assert posted["verdict"] == "not_blocked"
    finally:
        await context.close()


async def test_where_the_site_leaves_gpc_readers_alone_they_are_not_checked(serve: Serve, chromium: Browser) -> None:
    app = AdGuardMiddleware(Starlette(routes=[Path("/", page)]), secret_key=KEY, policy="hard", gpc="skip")
    base = serve(app, "gpc.test")
    context = await chromium.new_context(extra_http_headers={"Sec-GPC": "1"})
    try:
        await context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {value: true});")
        tab = await context.new_page()
        requests: list[str] = []
        tab.on("request", lambda request: requests.append(request.url))
        await tab.goto(base + "/")
        await tab.wait_for_timeout(2500)
        ours = [url for url in requests if app.names.prefix + "/" in url and url.split("?")[0] != base + "/"]
        assert len(ours) == 1 and app.names.script in ours[0]  # the script loads (pages stay cacheable), stays idle
        assert await tab.locator(f"{app.names.probe_tag}[aria-hidden=true]").count() == 0  # no probe placed
        assert await context.cookies() == []
    finally:
        await context.close()
