"""The blocker harness is real, and can fail: one page, seen with and without the blocker.

Every path and class here is one the real lists target (checked with the engine in ``test_rules_*``), except the
controls (``.story``, ``/js/site.js``), which nothing may touch.
"""

from __future__ import annotations

import adblock
import pytest
from playwright.async_api import BrowserContext, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .blocker import Blocker
from .conftest import Serve

# A 1x1 transparent GIF.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News</title>
<script src="/js/site.js"></script>
<script src="/js/adserver.js"></script>
<script src="/assets/prebid-ads.js"></script>
<script src="/js/prebid-ads.js"></script>
</head><body>
<div class="ad-banner-x ad_banner" id="banner">Advertisement</div>
<div class="ad-unit" id="unit">Advertisement</div>
<p class="story" id="story">The news of the day.</p>
<img src="/img/adserver.png" id="pixel" alt="">
<div id="late">Becomes an ad after load</div>
<script>setTimeout(() => document.getElementById("late").classList.add("banner-ad"), 300);</script>
</body></html>
"""

SCRIPTS = {
    "site.js": 'window.__site = "site-token";',
    "adserver.js": 'window.__ran = "genuine-token";',
    "prebid-ads.js": 'window.__prebid = "genuine-token"; window.__prebidPaths = (window.__prebidPaths || 0) + 1;',
}


async def page_html(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


async def script(request: Request) -> Response:
    return Response(SCRIPTS[request.path_params["name"]], media_type="text/javascript")


async def image(request: Request) -> Response:
    return Response(PIXEL, media_type="image/gif")


app = Starlette(
    routes=[
        Route("/", page_html),
        Route("/js/{name}", script),
        Route("/assets/{name}", script),
        Route("/img/{name}", image),
    ]
)


@pytest.fixture(scope="module")
def site(serve: Serve) -> str:
    return serve(app)


async def open_page(context: BrowserContext, url: str) -> Page:
    page = await context.new_page()
    await page.goto(url, wait_until="load")
    return page


async def test_clean_browser_sees_everything(site: str, clean_context: BrowserContext) -> None:
    page = await open_page(clean_context, site + "/")
    for selector in ("#banner", "#unit", "#story", "#pixel"):
        await expect(page.locator(selector)).to_be_visible()
    assert await page.evaluate("[window.__site, window.__ran, window.__prebid, window.__prebidPaths]") == [
        "site-token",
        "genuine-token",
        "genuine-token",
        2,
    ]
    assert await page.evaluate("document.getElementById('pixel').naturalWidth") == 1
    assert await page.evaluate("window.canRunAds") is None
    await page.wait_for_timeout(500)
    await expect(page.locator("#late")).to_be_visible()


async def test_blocker_hides_blocks_and_substitutes(
    site: str, blocking_context: BrowserContext, blocker: Blocker
) -> None:
    page = await open_page(blocking_context, site + "/")

    # Cosmetic filtering: EasyList's generic ##.ad_banner and ##.ad-unit, not the story.
    await expect(page.locator("#banner")).to_be_hidden()
    await expect(page.locator("#unit")).to_be_hidden()
    await expect(page.locator("#story")).to_be_visible()
    assert await page.evaluate("document.getElementById('banner').offsetHeight") == 0
    assert await page.evaluate("document.querySelectorAll('style').length") == 0  # an adopted sheet, not a tag

    # Network filtering: EasyList's /adserver. blocks the script and the image.
    assert await page.evaluate("[window.__site, window.__ran]") == ["site-token", None]
    assert await page.evaluate("document.getElementById('pixel').naturalWidth") == 0
    assert site + "/js/adserver.js" in blocker.blocked
    assert site + "/img/adserver.png" in blocker.blocked
    assert site + "/js/site.js" not in blocker.blocked + blocker.redirected

    # uBlock's /prebid-ads.js$script,redirect=prebid-ads.js: the genuine file never runs, the surrogate does.
    assert blocker.redirected == [site + "/assets/prebid-ads.js"]
    assert await page.evaluate("[window.canRunAds, window.isAdBlockActive]") == [True, False]
    # ... but uBlock filters also say @@/js/prebid-ads.js$script,1p: that one loads untouched.
    assert await page.evaluate("[window.__prebid, window.__prebidPaths]") == ["genuine-token", 1]

    # Generic hiding is lazy: a class added 300 ms after load is hidden once the blocker sees it.
    await expect(page.locator("#late")).to_be_hidden()
    assert ".banner-ad" in blocker.generic_selectors


async def test_blocker_leaves_localhost_alone(serve: Serve, blocking_context: BrowserContext) -> None:
    """EasyList's @@://127.0.0.1$generichide: why the fixtures browse news.test."""
    page = await open_page(blocking_context, serve(app, host_name="127.0.0.1") + "/")
    await page.wait_for_timeout(200)
    await expect(page.locator("#banner")).to_be_visible()
    assert await page.evaluate("window.__ran") is None  # network rules still apply


@pytest.mark.parametrize(
    ("path", "request_type", "action"),
    [
        ("/js/adserver.js", "script", "blocked"),
        ("/img/adserver.png", "image", "blocked"),
        ("/assets/prebid-ads.js", "script", "redirected"),
        ("/js/prebid-ads.js", "script", "allowed"),  # @@/js/prebid-ads.js$script,1p
        ("/ads.js", "script", "allowed"),  # folklore: no current list blocks it
        ("/js/site.js", "script", "allowed"),
    ],
)
def test_rules_network(adblock_engine: adblock.Engine, path: str, request_type: str, action: str) -> None:
    blocker = Blocker(adblock_engine)
    decision = blocker.check("http://news.test" + path, "http://news.test/", request_type)
    assert decision.action == action, decision
