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
from adguard_mw.names import BAIT_IMAGE, BAIT_SCRIPT, BAIT_SURROGATE_SCRIPT, Names

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

    await clean_context.route(own(f"{NAMES.bait_dir}/{BAIT_SURROGATE_SCRIPT}"), stand_in)
    posted = await report(clean_context, site + "/")
    assert posted["signals"] == {"cosmetic": "not_blocked", "script": "blocked", "image": "not_blocked"}
    assert posted["verdict"] == "blocked" and posted["kind"] == "extension"


async def test_a_blocked_bait_request_counts_as_blocked(site: str, clean_context: BrowserContext) -> None:
    await clean_context.route(own(f"{NAMES.bait_dir}/{BAIT_SCRIPT}"), lambda route: route.abort("blockedbyclient"))
    posted = await report(clean_context, site + "/")
    assert posted["signals"]["script"] == "blocked" and posted["verdict"] == "blocked"


async def test_a_failing_network_is_unknown_never_blocked(site: str, clean_context: BrowserContext) -> None:
    """When the neutral control fails too, the bait's failure says nothing about a blocker."""
    for name in (NAMES.control, f"{NAMES.bait_dir}/{BAIT_SCRIPT}", f"{NAMES.bait_dir}/{BAIT_SURROGATE_SCRIPT}"):
        await clean_context.route(own(name), lambda route: route.abort("internetdisconnected"))
    posted = await report(clean_context, site + "/")
    assert posted["signals"]["script"] == posted["signals"]["image"] == "unknown"
    assert posted["verdict"] == "unknown"


async def test_a_server_error_on_every_request_is_unknown(site: str, clean_context: BrowserContext) -> None:
    for name in (NAMES.control, f"{NAMES.bait_dir}/{BAIT_SCRIPT}", f"{NAMES.bait_dir}/{BAIT_SURROGATE_SCRIPT}"):
        await clean_context.route(own(name), lambda route: route.fulfill(status=500, body="upstream error"))
    posted = await report(clean_context, site + "/")
    assert posted["verdict"] == "unknown"


async def test_a_slow_bait_is_unknown_never_blocked(site: str, clean_context: BrowserContext) -> None:
    async def slow(route: Route) -> None:
        await asyncio.sleep(4)  # longer than the detector waits
        with contextlib.suppress(PlaywrightError):  # the page may be gone by then
            await route.continue_()

    await clean_context.route(own(f"{NAMES.bait_dir}/{BAIT_SCRIPT}"), slow)
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
        own(f"{NAMES.bait_dir}/{BAIT_IMAGE}"), lambda route: route.fulfill(body=pixel, content_type="image/gif")
    )
    posted = await report(clean_context, site + "/")
    assert posted["signals"]["image"] == "blocked" and posted["verdict"] == "blocked"


async def test_a_reader_with_global_privacy_control_is_not_checked(site: str, chromium: Browser) -> None:
    context = await chromium.new_context(extra_http_headers={"Sec-GPC": "1"})
    try:
        await context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {value: true});")
        page = await context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        await page.goto(site + "/")
        await page.wait_for_timeout(2500)
        ours = [url for url in requests if NAMES.prefix in url]
        assert len(ours) == 1 and NAMES.script in ours[0]  # the script loads (pages stay cacheable) and stays idle
        assert await page.locator("div[aria-hidden=true]").count() == 0  # no bait placed
        assert await context.cookies() == []
    finally:
        await context.close()
