"""Consent-gated detection and the no-beacon mode, in a real Chromium behind the real blocker.

Consent: until the site signals consent, the detector must not touch the reader's device beyond being downloaded:
no bait element, no bait/control/beacon request, no cookie read. Every request the page makes is recorded, and
`document.cookie` reads are counted; the same records must then show the whole check once consent arrives, so a
detector that never runs at all fails these tests too.

No beacon: the verdict stays in the browser. The server records every request it receives: there must be no
POST and no cookie, while the page still shows the message to a blocking browser and to nobody else.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Request, expect
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adguard_mw import AdGuardMiddleware, Mode, Policy

from .conftest import Serve, patient

KEY = "consent-test-key-0123456789abcdef"
EVENT = "reader-consent"
COOKIE = "reader_consent"
PAGE = (
    "<!doctype html><html{attributes}><head><meta charset=utf-8><title>T</title></head>"
    "<body><main><article>Story</article></main></body></html>"
)

# Counts the page's reads of document.cookie, and keeps the verdict the detector announces.
WATCH = """
(() => {
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  window.__cookieReads = 0;
  Object.defineProperty(Document.prototype, "cookie", {
    configurable: true,
    get() { window.__cookieReads++; return cookie.get.call(this); },
    set(value) { cookie.set.call(this, value); },
  });
  document.addEventListener(%r, (e) => {
    if (e.detail && e.detail.verdict) window.__verdicts = (window.__verdicts || []).concat([e.detail]);
  });
})();
"""


async def page_view(request: StarletteRequest) -> HTMLResponse:
    # /granted: a page whose <html> says consent was given before the detector ran (the documented contract).
    granted = request.url.path == "/granted"
    return HTMLResponse(PAGE.format(attributes=f" data-{EVENT}" if granted else ""))


class Recorder:
    """Records (method, path) of every request that reaches the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


def site() -> Starlette:
    return Starlette(routes=[Route("/", page_view), Route("/{slug}", page_view)])


@pytest.fixture(scope="module")
def event_site(serve: Serve) -> tuple[str, AdGuardMiddleware]:
    with patient():  # the real blocker decides in Python: slow on a loaded machine
        app = AdGuardMiddleware(site(), secret_key=KEY, consent_event=EVENT)
    return serve(app), app


@pytest.fixture(scope="module")
def cookie_site(serve: Serve) -> tuple[str, AdGuardMiddleware]:
    with patient():
        app = AdGuardMiddleware(site(), secret_key=KEY, consent_cookie=COOKIE)
    return serve(app), app


@pytest.fixture(scope="module")
def local_site(serve: Serve) -> tuple[str, AdGuardMiddleware, Recorder]:
    with patient():
        app = AdGuardMiddleware(site(), secret_key=KEY, policy=Policy(mode=Mode.SOFT), beacon=False)
    recorder = Recorder(app)
    return serve(recorder), app, recorder


async def open_page(context: BrowserContext, app: AdGuardMiddleware) -> tuple[Page, list[Request]]:
    page = await context.new_page()
    await page.add_init_script(WATCH % app.names.event)
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    return page, requests


def ours(requests: list[Request], app: AdGuardMiddleware) -> list[str]:
    """What the page asked of the middleware, as paths under its prefix (without the query)."""
    marker = app.names.prefix + "/"
    return [r.url.split(marker, 1)[1].split("?")[0] for r in requests if marker in r.url]


def check_requests(app: AdGuardMiddleware) -> set[str]:
    names = app.names
    baits = {f"{names.bait_dir}/{name}" for name in (names.bait_script, names.bait_surrogate, names.bait_image)}
    return {names.control, *baits}


async def assert_idle(page: Page, requests: list[Request], app: AdGuardMiddleware) -> None:
    """Longer than a whole check takes: only the detector itself was downloaded, and it touched nothing."""
    await page.wait_for_timeout(2500)
    assert ours(requests, app) == [app.names.script]
    assert await page.locator("div[aria-hidden=true]").count() == 0  # no bait placed
    assert await page.evaluate("window.__cookieReads") == 0
    assert await page.evaluate("window.__verdicts") is None
    assert await page.context.cookies() == []


async def assert_checked(page: Page, requests: list[Request], app: AdGuardMiddleware) -> None:
    made = ours(requests, app)
    assert check_requests(app) <= set(made) and app.names.beacon in made
    assert await page.evaluate("window.__cookieReads") > 0  # the summary cookie is read once the check runs
    assert {c["name"] for c in await page.context.cookies()} >= {app.names.cookie, app.names.companion}


async def test_before_the_consent_event_nothing_happens_and_after_it_the_check_runs(
    event_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext
) -> None:
    base, app = event_site
    page, requests = await open_page(clean_context, app)
    await page.goto(base + "/")
    await assert_idle(page, requests, app)
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.beacon), timeout=15_000) as beacon:
        await page.evaluate("name => document.dispatchEvent(new Event(name))", EVENT)
    assert (await (await beacon.value).json())["verdict"] == "not_blocked"
    await assert_checked(page, requests, app)


async def test_consent_given_before_the_detector_ran_is_read_from_the_html_element(
    event_site: tuple[str, AdGuardMiddleware], blocking_context: BrowserContext
) -> None:
    base, app = event_site
    page, _ = await open_page(blocking_context, app)
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.beacon), timeout=15_000) as beacon:
        await page.goto(base + "/granted")
    answer = await beacon.value
    assert (await answer.json())["verdict"] == "blocked"
    assert (answer.request.post_data_json or {})["signals"]["cosmetic"] == "blocked"


async def test_before_the_consent_cookie_nothing_happens_and_once_it_is_set_the_check_runs(
    cookie_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext
) -> None:
    base, app = cookie_site
    page, requests = await open_page(clean_context, app)
    await page.goto(base + "/")
    await page.wait_for_timeout(2500)
    assert ours(requests, app) == [app.names.script]
    assert await page.locator("div[aria-hidden=true]").count() == 0
    assert await page.evaluate("window.__verdicts") is None
    assert await clean_context.cookies() == []
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.beacon), timeout=15_000) as beacon:
        # What a consent tool does when the reader agrees; the detector looks for it once a second.
        await page.evaluate("name => { document.cookie = name + '=1; Path=/; SameSite=Lax'; }", COOKIE)
    assert (await (await beacon.value).json())["verdict"] == "not_blocked"
    await assert_checked(page, requests, app)


async def test_a_consent_cookie_from_an_earlier_visit_lets_the_check_run_at_once(
    cookie_site: tuple[str, AdGuardMiddleware], clean_context: BrowserContext
) -> None:
    base, app = cookie_site
    await clean_context.add_cookies([{"name": COOKIE, "value": "yes", "url": base}])
    page, requests = await open_page(clean_context, app)
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.beacon), timeout=15_000):
        await page.goto(base + "/")
    assert check_requests(app) <= set(ours(requests, app))


# -- no beacon -------------------------------------------------------------------------------------------------


async def verdict(page: Page) -> dict[str, Any]:
    """The detector's latest verdict in this page, once it has announced one."""
    await page.wait_for_function("window.__verdicts", timeout=15_000)
    announced: list[dict[str, Any]] = await page.evaluate("window.__verdicts")
    return announced[-1]


def dialog(page: Page) -> Any:
    return page.get_by_role("dialog")


def assert_nothing_sent(requests: list[Request], recorder: Recorder, app: AdGuardMiddleware) -> None:
    assert [r.url for r in requests if r.method != "GET"] == []
    assert [seen for seen in recorder.seen if seen[0] != "GET"] == []
    made = ours(requests, app)
    assert check_requests(app) <= set(made)  # the check did run in the page
    assert not {app.names.beacon, app.names.dismiss, app.names.recheck} & set(made)


async def test_without_a_beacon_a_blocking_browser_sees_the_message_and_nothing_reaches_the_server(
    local_site: tuple[str, AdGuardMiddleware, Recorder], blocking_context: BrowserContext
) -> None:
    base, app, recorder = local_site
    page, requests = await open_page(blocking_context, app)
    await page.goto(base + "/one")
    assert await verdict(page) == {"verdict": "blocked", "kind": "extension"}
    await expect(dialog(page)).to_be_visible()
    await expect(page.locator("article")).to_be_attached()  # soft: the article stays behind the dialog
    await page.wait_for_timeout(500)
    assert_nothing_sent(requests, recorder, app)
    assert await blocking_context.cookies() == []
    assert await page.evaluate("localStorage.length") == 0  # nothing stored before the reader chooses anything


async def test_without_a_beacon_a_clean_browser_sees_no_message(
    local_site: tuple[str, AdGuardMiddleware, Recorder], clean_context: BrowserContext
) -> None:
    base, app, recorder = local_site
    page, requests = await open_page(clean_context, app)
    await page.goto(base + "/one")
    assert await page.locator(f"template#{app.names.css_class}-message").count() == 1  # it was there to be shown
    assert await verdict(page) == {"verdict": "not_blocked", "kind": None}
    await page.wait_for_timeout(300)
    await expect(page.locator(f".{app.names.css_class}[{app.names.data}]")).to_have_count(0)
    await expect(page.locator("article")).to_be_visible()
    assert_nothing_sent(requests, recorder, app)
    assert await clean_context.cookies() == []


async def test_without_a_beacon_a_dismissal_is_remembered_across_a_reload(
    local_site: tuple[str, AdGuardMiddleware, Recorder], blocking_context: BrowserContext
) -> None:
    base, app, recorder = local_site
    page, requests = await open_page(blocking_context, app)
    await page.goto(base + "/one")
    await expect(dialog(page)).to_be_visible(timeout=15_000)
    await page.keyboard.press("Escape")
    await expect(dialog(page)).to_have_count(0)
    assert await page.evaluate("localStorage.length") == 1
    await page.reload()
    assert (await verdict(page))["verdict"] == "blocked"  # still blocking: only the dismissal keeps it away
    await page.wait_for_timeout(300)
    await expect(dialog(page)).to_have_count(0)
    # Once the cool-down is over, the message comes back.
    await page.evaluate(
        "key => localStorage.setItem(key, String(Date.now() - 2 * 86400 * 1000))", app.names.css_class + "-dismissed"
    )
    await page.reload()
    await expect(dialog(page)).to_be_visible(timeout=15_000)
    assert_nothing_sent(requests, recorder, app)
    assert await blocking_context.cookies() == []


async def test_without_a_beacon_check_again_reruns_in_the_page_and_keeps_the_message_while_blocking(
    local_site: tuple[str, AdGuardMiddleware, Recorder], blocking_context: BrowserContext
) -> None:
    base, app, recorder = local_site
    page, requests = await open_page(blocking_context, app)
    await page.goto(base + "/one")
    await expect(dialog(page)).to_be_visible(timeout=15_000)
    before = len(ours(requests, app))
    await page.get_by_role("button", name="check again").click()
    await expect(page.get_by_role("status")).to_contain_text("still detect", timeout=15_000)
    await expect(dialog(page)).to_be_visible()
    assert len(await page.evaluate("window.__verdicts")) == 2
    assert set(ours(requests, app)[before:]) >= check_requests(app)  # the whole check ran again, in the page
    assert page.url == base + "/one"  # no form post, no navigation
    assert_nothing_sent(requests, recorder, app)
