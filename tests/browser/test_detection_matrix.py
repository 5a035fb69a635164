"""The detection matrix: every blocker set-up found, every innocent reader left alone.

Each row is one browser: a real engine (Brave's, from PyPI `adblock`) fed with a combination of the real lists,
sometimes with rules a list maintainer would add after reading our source, or a clean browser in a situation
that fools naive detectors. Each row records what the server concluded about the reader (from the summary cookie
it sets), the module prints the whole table, and any row that differs from its expectation fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Route
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route as Path

from adguard_mw import AdGuardMiddleware, Policy
from adguard_mw.names import Names

from .blocker import SKIP_REASON, Blocker, filterlists_dir, load_engine
from .conftest import Serve
from .reading import detector_done_script

KEY = "matrix-test-key-0123456789abcdefghij"
PAGE = (
    "<!doctype html><html><head><meta charset=utf-8><title>Story</title></head>"
    "<body><main><article><h1>Story</h1><p>Text.</p></article></main></body></html>"
)
ALL = ("*",)  # every list uBlock Origin ships by default
NONE = ()  # no list: only the row's own rules
EASYLIST = ("easylist.txt",)
UBLOCK = (
    "ublock-filters.txt",
    "ublock-badware.txt",
    "ublock-privacy.txt",
    "ublock-quick-fixes.txt",
    "ublock-unbreak.txt",
)
Setup = Callable[[BrowserContext], Awaitable[None]]


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


# Silent detectors count as blocked (the default), so rules that silence the detector or its report are caught too.
APP = AdGuardMiddleware(Starlette(routes=[Path("/{slug}", page)]), secret_key=KEY, policy=Policy(mode="soft"))
N: Names = APP.names


def maintainer(rule: str) -> str:
    """A rule written against this deployment's names, as a list maintainer would after reading our source."""
    return rule.format(
        prefix=N.prefix,
        script=N.script,
        beacon=N.beacon,
        control=N.control,
        bait=f"{N.prefix}/{N.bait_dir}",
        classes=N.bait_classes,
    )


def generic_selectors_for(classes: tuple[str, ...]) -> list[str]:
    """Every selector the real lists use to hide these classes: what a maintainer would exempt."""
    lists = filterlists_dir()
    if lists is None:
        return []
    return list(load_engine(lists).hidden_class_id_selectors(list(classes), [], set()))


def exempt_baits() -> str:
    return maintainer("@@{bait}/*$script,image,domain=news.test\n") + "".join(
        f"news.test#@#{selector}\n" for selector in generic_selectors_for(N.bait_classes)
    )


@dataclass(frozen=True)
class Row:
    name: str
    expected: str  # what the server should conclude: "blocked", "not_blocked", "unknown" or "none" (no verdict)
    lists: tuple[str, ...] | None = None  # None: no blocker at all
    rules: str | Callable[[], str] = ""  # extra filter rules (a function when they need the real lists)
    network: bool = True
    cosmetic: bool = True
    allowlisted: bool = False
    javascript: bool = True
    setup: Setup | None = field(default=None, compare=False)  # changes to the browser or the network
    views: int = 1  # page views before reading the verdict (the module runs without a grace for silent detectors)
    media: str | None = None  # emulated CSS media type, e.g. "print"


async def server_errors(context: BrowserContext) -> None:
    await context.route(f"**{N.prefix}/{N.bait_dir}/**", lambda route: route.fulfill(status=500, body="error"))


async def slow_baits(context: BrowserContext) -> None:
    async def slow(route: Route) -> None:
        await asyncio.sleep(4)
        with contextlib.suppress(PlaywrightError):  # the page may be gone by then
            await route.continue_()

    await context.route(f"**{N.prefix}/{N.bait_dir}/**", slow)


async def offline_after_load(context: BrowserContext) -> None:
    # Every request of ours after the page itself fails, as on a train going into a tunnel.
    await context.route(f"**{N.prefix}/**", lambda route: route.abort("internetdisconnected"))
    await context.unroute(f"**{N.prefix}/**")
    await context.route(
        f"**{N.prefix}/**",
        lambda route: (
            route.continue_()
            if route.request.url.split("?")[0].endswith(N.script) and route.request.resource_type == "script"
            else route.abort("internetdisconnected")
        ),
    )


async def global_privacy_control(context: BrowserContext) -> None:
    # As Brave (and DuckDuckGo's browser, Privacy Badger) do by default: the header on every request, and the API.
    await context.set_extra_http_headers({"Sec-GPC": "1"})
    await context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {value: true});")


async def hides_body_for_a_moment(context: BrowserContext) -> None:
    await context.add_init_script(
        "document.addEventListener('DOMContentLoaded', () => { document.body.style.visibility = 'hidden';"
        " setTimeout(() => { document.body.style.visibility = ''; }, 4000); });"
    )


async def zoomed(context: BrowserContext) -> None:
    await context.add_init_script(
        "document.addEventListener('DOMContentLoaded', () => { document.documentElement.style.zoom = '2'; });"
    )


ROWS = [
    Row("clean browser", "not_blocked"),
    Row("uBlock Origin default lists", "blocked", lists=ALL),
    Row("EasyList only", "blocked", lists=EASYLIST),
    Row("EasyList + EasyPrivacy", "blocked", lists=(*EASYLIST, "easyprivacy.txt")),
    Row("uBlock filters only (surrogates)", "blocked", lists=UBLOCK),
    Row("all lists, element hiding only", "blocked", lists=ALL, network=False),
    Row("all lists, request blocking only", "blocked", lists=ALL, cosmetic=False),
    Row("EasyPrivacy only (a tracker blocker, not an ad blocker)", "not_blocked", lists=("easyprivacy.txt",)),
    Row("all lists, this site allow-listed by the reader", "not_blocked", lists=ALL, allowlisted=True),
    Row(
        "Brave's default lists with Global Privacy Control",
        "blocked",
        lists=(*EASYLIST, "easyprivacy.txt", *UBLOCK),
        setup=global_privacy_control,
    ),
    Row("clean, with Global Privacy Control", "not_blocked", setup=global_privacy_control),
    Row(
        "maintainer: baits answered with noop surrogates",
        "blocked",
        lists=NONE,
        rules=maintainer(
            "{bait}/*$script,redirect=noopjs,domain=news.test\n{bait}/*$image,redirect=1x1.gif,domain=news.test"
        ),
    ),
    Row(
        "maintainer: detector script blocked by name",
        "blocked",
        lists=NONE,
        rules=maintainer("{prefix}/{script}$script,domain=news.test"),
        views=3,
    ),
    Row(
        "maintainer: report blocked",
        "blocked",
        lists=NONE,
        rules=maintainer("{prefix}/{beacon}$xmlhttprequest,ping,other,domain=news.test"),
        views=3,
    ),
    Row(
        "maintainer: report answered by a stand-in",
        "blocked",
        lists=NONE,
        rules=maintainer("{prefix}/{beacon}$xmlhttprequest,redirect=noop.json,domain=news.test"),
        views=3,
    ),
    Row(
        "maintainer: control blocked, every request type",
        "blocked",
        lists=ALL,
        rules=maintainer("{prefix}/{control}$domain=news.test"),
    ),
    # The known limit, shown rather than hidden: a maintainer who exempts this one site's baits (requests and
    # elements) blinds the detector for that site. Per-site names mean such rules must be written site by site.
    Row(
        "maintainer: this site's baits exempted (known limit)",
        "not_blocked",
        lists=ALL,
        rules=exempt_baits,
    ),
    Row("clean, bait server answers 500", "unknown", setup=server_errors),
    Row("clean, laid out for print", "not_blocked", media="print"),
    Row("clean, zoomed to 200%", "not_blocked", setup=zoomed),
    Row("clean, slow bait responses", "unknown", setup=slow_baits),
    Row("clean, offline after the page loaded", "none", setup=offline_after_load, views=2),
    Row("clean, page hides its body for a moment", "unknown", setup=hides_body_for_a_moment),
    Row("clean, no JavaScript", "none", javascript=False, views=3),
]

RESULTS: dict[str, str] = {}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(serve: Serve) -> AsyncIterator[str]:
    import adguard_mw.pageview as pageview

    # No grace: a page view whose detector has not reported by the next one counts as silent at once, so rows with
    # several page views need not wait a grace out between them.
    grace, pageview.SILENCE_GRACE = pageview.SILENCE_GRACE, 0
    yield serve(APP)
    pageview.SILENCE_GRACE = grace
    width = max(len(name) for name in RESULTS) + 2
    print("\n\nDetection matrix (set-up -> what the server concluded)")
    for row in ROWS:
        if row.name in RESULTS:
            mark = "ok  " if RESULTS[row.name] == row.expected else "FAIL"
            print(f"  {mark} {row.name:<{width}} {RESULTS[row.name]:<12} (expected {row.expected})")


# The server's conclusion is in the browser: its summary cookie, or the detector's end (whatever came of it).
CONCLUDED = f"() => window.__verdict || document.cookie.indexOf({N.companion + '='!r}) >= 0"


async def verdict_of(context: BrowserContext, base: str, views: int, media: str | None, javascript: bool) -> str:
    """Browse `views` pages, then read the server's conclusion in its summary cookie once there is nothing more to
    wait for: the cookie is set, or the last page's detector has finished, or (without JavaScript) the page has
    loaded, the `<noscript>` stylesheet with it. A detector that never finishes (its script blocked) and leaves no
    verdict is given 15 s."""
    page = await context.new_page()
    await page.add_init_script(detector_done_script(N))  # sets window.__verdict when the detector has finished
    if media is not None:
        await page.emulate_media(media=media)  # type: ignore[arg-type]
    for view in range(views - 1):
        await page.goto(f"{base}/story-{view}")
    await page.goto(f"{base}/story-last")
    if javascript:
        with contextlib.suppress(PlaywrightTimeoutError):
            await page.wait_for_function(CONCLUDED, timeout=15_000)
    summary = {c["name"]: c["value"] for c in await context.cookies()}.get(N.companion, "")
    return {"b": "blocked", "n": "not_blocked", "u": "unknown"}.get(summary.split(".")[0], "none")


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_matrix(row: Row, site: str, chromium: Browser) -> None:
    context = await chromium.new_context(java_script_enabled=row.javascript, service_workers="block")
    try:
        if row.lists is not None:
            lists = filterlists_dir()
            if lists is None:
                pytest.skip(SKIP_REASON)
            rules = row.rules() if callable(row.rules) else row.rules
            engine = load_engine(lists, None if row.lists == ALL else row.lists, rules)
            allowlisted = ("news.test",) if row.allowlisted else ()
            await Blocker(engine, network=row.network, cosmetic=row.cosmetic, allowlisted=allowlisted).attach(context)
        if row.setup is not None:
            await row.setup(context)
        RESULTS[row.name] = await verdict_of(context, site, row.views, row.media, row.javascript)
    finally:
        await context.close()
    assert RESULTS[row.name] == row.expected
