"""The message is usable by everyone: axe-core finds nothing, it reflows, it works by keyboard, it keeps still.

Every mode that shows something (each `Mode` but observe, so a new mode is picked up here without a change) is
served by a small Starlette site wrapped in `AdGuardMiddleware`, to a reader whose signed cookie carries a fresh
`blocked` verdict, once for each kind of blocking (an extension, a network filter). The reader's browser blocks
the detector's bait requests, as a blocker does, so that the detector, which still runs on every page, confirms
the verdict instead of clearing it; the companion cookie says the verdict is known, so no beacon rewrites it.

Checks, each on the whole page with the message shown and after the message script has run:

- axe-core (WCAG 2.0 and 2.1, A and AA, plus best practices) finds no violation, in the light and the dark
  colour scheme, 1280 and 320 CSS pixels wide;
- at 320 px and at 200% zoom nothing scrolls sideways and every control is visible and reachable;
- keyboard only: Tab reaches the message's controls in reading order, Enter and Space work them, the soft
  dialog keeps focus inside and Escape closes it, banners never take focus, the hard wall focuses its heading;
- with `prefers-reduced-motion: reduce` nothing in the message moves.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect
from playwright.async_api import Route as BrowserRoute
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware, Message, Policy, assets
from adguard_mw.message import CallToAction
from adguard_mw.policy import Mode
from adguard_mw.state import Verdict, VisitorState, companion_value, new_visitor_id

from . import reading
from .axe import report, run_axe
from .conftest import Serve, patient
from .reading import detector_done_script

KEY = "accessibility-test-key-0123456789abcdef"
SITE_NAME = "The Riverside Courier"

MODES = [mode for mode in Mode if mode is not Mode.OBSERVE]
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")
_MODE_LABELS = {
    "notice": "notice banner",
    "instructions": "instructions banner",
    "soft": "soft dialog",
    "hard": "hard wall",
}
# Banners sit at the bottom of the page and never take focus.
BANNERS = [mode for mode in MODES if mode.value in ("notice", "instructions")]


def mode_label(mode: Mode) -> str:
    return _MODE_LABELS.get(mode.value, f"{mode.value} message")


# What the editors may add to the message: a logo, calls to action, a link in the body.
EDITORIAL = Message(
    body=(
        "{site} is free to read because advertising pays for the reporting ([how we are funded](/about)). "
        "It looks like an ad blocker is hiding our ads: please allow ads on this site, or support us directly."
    ),
    logo="/static/logo.svg",
    logo_alt="The Riverside Courier",
    ctas=(CallToAction("Become a member", "/subscribe"), CallToAction("Donate", "/donate")),
)
MESSAGES: dict[str, Message | None] = {"built-in": None, "editorial": EDITORIAL}


@dataclass(frozen=True)
class Reader:
    """Who reads, and which message the site shows them."""

    label: str
    kind: str  # of blocking: "extension" or "network"
    message: str = "built-in"  # a key of MESSAGES


BLOCKED_BY_EXTENSION = Reader("blocked by an extension", "extension")
BLOCKED_BY_NETWORK = Reader("blocked by a network filter", "network")
EDITORS_MESSAGE = Reader("editor's message with a logo, calls to action and a link", "extension", "editorial")
READERS = (BLOCKED_BY_EXTENSION, BLOCKED_BY_NETWORK, EDITORS_MESSAGE)
BOTH_MESSAGES = (BLOCKED_BY_EXTENSION, EDITORS_MESSAGE)  # where the kind of blocking makes no difference


def reader_label(reader: Reader) -> str:
    return reader.label


@dataclass(frozen=True)
class Screen:
    label: str
    width: int  # CSS pixels
    height: int
    scale: float = 1


DESKTOP = Screen("1280px wide", 1280, 800)
PHONE = Screen("320px wide", 320, 640)
# 200% browser zoom halves the CSS pixels across the window: a 1280x800 window at 200% lays the page out in a
# 640x400 CSS-pixel viewport (media queries, vw and vh included) and draws each CSS pixel as 2x2 device pixels.
# Playwright's viewport is in CSS pixels, so a 640x400 viewport with device_scale_factor=2 is exactly that layout.
# CSS `zoom` on the root would not do: the viewport stays 1280 CSS px wide, so media queries, vw/vh and fixed
# positioning would not respond as they do for a reader who zooms.
ZOOMED = Screen("1280px window at 200% zoom", 640, 400, 2)


# The site: an ordinary, accessible article page, so that whatever axe finds is the message's doing.

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>The old bridge reopens - The Riverside Courier</title>
<style>
  :root { color-scheme: light dark; }
  body { margin: 0; font: 18px/1.6 Georgia, serif; background: #fdfcf9; color: #1b1b1b; }
  header, main, footer { max-width: 40rem; margin: 0 auto; padding: 1rem; }
  nav ul { list-style: none; display: flex; gap: 1rem; margin: 0; padding: 0; }
  a { color: #0a4d8c; }
  @media (prefers-color-scheme: dark) {
    body { background: #151515; color: #ececec; }
    a { color: #9cc9ff; }
  }
</style>
</head>
<body>
<header>
  <p><a href="/">The Riverside Courier</a></p>
  <nav aria-label="Main"><ul><li><a href="/">Home</a></li><li><a href="/about">About</a></li></ul></nav>
</header>
<main>
  <article>
    <h1>The old bridge reopens after two years of repairs</h1>
    <p>The stone bridge over the Wren opened to walkers and cyclists on Saturday morning, two years after the
    floods that closed it. Engineers replaced the central arch and rebuilt the footings on both banks.</p>
    <h2>What changes for drivers</h2>
    <p>Cars stay on the bypass for now: the council will decide in the spring whether the bridge takes traffic
    again. Until then the bus stops on either side keep their temporary places.</p>
    <p>More in <a href="/articles/bridge-history">the bridge's history</a>.</p>
    <p>Residents gathered at both ends long before the barriers came down, and the first across was a
    ninety-year-old who had crossed it on her way to school. The parish council thanked the volunteers who kept
    the riverside path open throughout the works, and the stonemasons who matched the new arch to the old.</p>
    <p>The repairs cost a little under two million pounds, most of it from the national flood recovery fund.
    The rest came from the county and from a public appeal that raised more than its target in six weeks.</p>
  </article>
</main>
<footer><p><a href="/about">About the Courier</a></p></footer>
</body>
</html>
"""


LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="32" viewBox="0 0 160 32">'
    '<rect width="160" height="32" rx="4" fill="#0a4d8c"/>'
    '<text x="80" y="21" fill="#fff" font-family="Georgia, serif" font-size="15" text-anchor="middle">'
    "Riverside Courier</text></svg>"
)


def riverside() -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def logo(request: Request) -> Response:
        return Response(LOGO, media_type="image/svg+xml")

    pages = ("/", "/about", "/subscribe", "/donate", "/articles/{slug}")
    return Starlette(routes=[*(Route(path, page) for path in pages), Route("/static/logo.svg", logo)])


STORY = "/articles/the-old-bridge-reopens"
PAGE_LINKS = 5  # focusable things on the page itself, in order: masthead, Home, About, story link, footer link


@dataclass(frozen=True)
class Site:
    app: AdGuardMiddleware
    base: str


Sites = dict[tuple[Mode, str], Site]


@pytest.fixture(scope="module")
def sites(serve: Serve) -> Iterator[Sites]:
    """The site for each mode and message, started once per module. These readers' baits fail at the network (no
    cosmetic filter to wait for), so the detector's wait for late cosmetic filters is cut from 2 x 400 ms to 2 x 20:
    it only delays the verdict each test waits for before it starts (about 150 page loads in this module). Their
    baits are failed by a Playwright route, decided in Python: the probes are `patient` with a loaded machine."""
    built: Sites = {}
    settle, assets.SETTLE_MS = assets.SETTLE_MS, 20  # read when the middleware builds its detector
    try:
        for mode in MODES:
            for name, message in MESSAGES.items():
                # network_mode=mode: a reader behind a network filter gets the same mode, so each kind's text is seen.
                policy = Policy(mode=mode, network_mode=mode)
                with patient():
                    app = AdGuardMiddleware(
                        riverside(), secret_key=KEY, policy=policy, site_name=SITE_NAME, message=message
                    )
                built[mode, name] = Site(app, serve(app))
    finally:
        assets.SETTLE_MS = settle
    yield built


async def blocked_reader(
    chromium: Browser,
    site: Site,
    kind: str,
    *,
    screen: Screen = DESKTOP,
    scheme: Literal["light", "dark"] = "light",
    reduced_motion: Literal["reduce", "no-preference"] = "no-preference",
) -> BrowserContext:
    """A browser whose cookie says `blocked` (of this kind, just now) and which blocks the detector's baits."""
    context = await chromium.new_context(
        viewport={"width": screen.width, "height": screen.height},
        device_scale_factor=screen.scale,
        color_scheme=scheme,
        reduced_motion=reduced_motion,
        service_workers="block",
    )
    app = site.app
    state = VisitorState(new_visitor_id(), Verdict.BLOCKED, checked_at=int(time.time()), kind=kind)
    await context.add_cookies(
        [
            {"name": app.cookie.name, "value": app.cookie.dump(state), "url": site.base},
            {"name": app.cookie.companion_name, "value": companion_value(state), "url": site.base},
        ]
    )
    await context.route(f"**{app.names.prefix}/{app.names.bait_dir}/**", lambda route: route.abort("blockedbyclient"))
    return context


async def open_message(context: BrowserContext, site: Site) -> Page:
    """Opens the story and waits until the message script has shown the message and the detector has finished."""
    app = site.app
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.add_init_script(detector_done_script(app.names))
    await page.goto(site.base + STORY)
    # Banners and dialogs start in a <template> that the message script moves into the page.
    try:
        await page.wait_for_function(
            f"document.body.querySelector('{message_selector(site)}') !== null", timeout=10_000
        )
    except PlaywrightTimeoutError:
        raise AssertionError(
            f"no message in the page at {page.url} ({app.policy.mode.value}): the middleware served the page without"
            " it (see the adguard_mw log) or the message script did not show it"
        ) from None
    verdict = await page.wait_for_function("window.__verdict", timeout=15_000)
    assert await verdict.json_value() == "blocked", "the detector cleared the verdict: the test set-up is wrong"
    assert errors == [], errors
    return page


def message_selector(site: Site) -> str:
    return reading.message_selector(site.app.names)


async def new_page(
    chromium: Browser, contexts: list[BrowserContext], site: Site, reader: Reader = BLOCKED_BY_EXTENSION, **options: Any
) -> Page:
    context = await blocked_reader(chromium, site, reader.kind, **options)
    contexts.append(context)
    return await open_message(context, site)


# How the tests name an element: where it is, its tag, its data-action, its accessible name and its visible text
# when they differ (an icon button), e.g. `message: <button>[dismiss] "Continue reading" showing "\u00d7"`.
DESCRIBE = """(el, selector) => {
  const squash = (text) => (text || "").trim().replace(/\\s+/g, " ").slice(0, 40);
  const where = el.closest(selector) !== null ? "message: " : "page: ";
  const marked = [...el.attributes].find((a) => a.name.endsWith("-action"));  // the site's own data attribute
  const action = marked && marked.value;
  const text = squash(el.textContent), name = squash(el.getAttribute("aria-label")) || text;
  return where + "<" + el.tagName.toLowerCase() + ">" + (action ? "[" + action + "]" : "") + ` "${name}"`
    + (name !== text ? ` showing "${text}"` : "");
}"""
CONTROL_SELECTOR = "a[href], button:not([disabled]), input:not([type=hidden]), select, textarea, summary"

# Where the keyboard is, described as above.
FOCUSED = f"""(selector) => {{
  const describe = {DESCRIBE};
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return "page: <body>";
  return describe(el, selector);
}}"""

# The message's controls in reading (DOM) order, skipping hidden ones, each described as above and marked
# when it comes after the focused element (so that Tab from there should reach it first).
CONTROLS = f"""(selector) => {{
  const describe = {DESCRIBE};
  const root = document.querySelector(selector), focus = document.activeElement;
  const focusInside = focus !== null && root.contains(focus);
  return Array.from(root.querySelectorAll({CONTROL_SELECTOR!r}))
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => [describe(el, selector),
      focusInside && (focus.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0]);
}}"""


async def focused(page: Page, site: Site) -> str:
    return str(await page.evaluate(FOCUSED, message_selector(site)))


async def controls(page: Page, site: Site) -> list[str]:
    """The message's controls in reading order."""
    return [description for description, _ in await page.evaluate(CONTROLS, message_selector(site))]


async def controls_from_focus(page: Page, site: Site) -> list[str]:
    """The message's controls in the order Tab should reach them from where focus is: reading order, starting
    after the focused element when that is in the message (a focused heading), and going round."""
    found = await page.evaluate(CONTROLS, message_selector(site))
    start = next((i for i, (_, after) in enumerate(found) if after), 0)
    return [description for description, _ in found[start:] + found[:start]]


async def tab_sequence(page: Page, site: Site, presses: int, key: str = "Tab") -> list[str]:
    sequence = []
    for _ in range(presses):
        await page.keyboard.press(key)
        sequence.append(await focused(page, site))
    return sequence


# 1. axe-core

Shown = dict[tuple[Mode, str], Page]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shown() -> AsyncIterator[Shown]:
    """Pages showing a message, kept for the checks that only look: axe reads the page and changes nothing, so
    one page per mode and reader serves every colour scheme and screen width (each check sets its own first)
    instead of one page load per check."""
    pages: Shown = {}
    yield pages
    for page in pages.values():
        await page.context.close()


async def showing(shown: Shown, chromium: Browser, site: Site, mode: Mode, reader: Reader) -> Page:
    page = shown.get((mode, reader.label))
    if page is None:
        page = shown[mode, reader.label] = await open_message(await blocked_reader(chromium, site, reader.kind), site)
    return page


@pytest.mark.parametrize("screen", [DESKTOP, PHONE], ids=lambda s: s.label)
@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: f"{s} colour scheme")
@pytest.mark.parametrize("reader", READERS, ids=reader_label)
@pytest.mark.parametrize("mode", MODES, ids=mode_label)
async def test_axe_core_finds_no_violation_on_a_page_showing_the(
    mode: Mode,
    reader: Reader,
    scheme: Literal["light", "dark"],
    screen: Screen,
    axe: str,
    sites: Sites,
    chromium: Browser,
    shown: Shown,
) -> None:
    assert screen.scale == 1, "a page's device scale is set when its context is made: open a page per scale"
    page = await showing(shown, chromium, sites[mode, reader.message], mode, reader)
    await page.set_viewport_size({"width": screen.width, "height": screen.height})
    await page.emulate_media(color_scheme=scheme)
    violations = await run_axe(page)
    where = f"the {mode_label(mode)} ({reader.label}, {scheme}, {screen.label})"
    assert violations == [], report(violations, where)


# 2. Reflow: 320 px and 200% zoom

LAYOUT = """([selector, controls]) => {
  const root = document.querySelector(selector);
  const width = window.innerWidth, height = window.innerHeight;
  const problems = [];
  const scrollWidth = document.documentElement.scrollWidth;
  if (scrollWidth > width) problems.push(`the page scrolls sideways: scrollWidth ${scrollWidth} > innerWidth ${width}`);
  const describe = (el) => `<${el.tagName.toLowerCase()} class="${el.className}"> `
    + (el.getAttribute("aria-label") || el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 30);
  const box = (r) => `x ${Math.round(r.left)}..${Math.round(r.right)}, y ${Math.round(r.top)}..${Math.round(r.bottom)}`;
  // Fixed-position content never widens the page, but what sticks out of the viewport is cut off all the same.
  for (const el of [root, ...root.querySelectorAll("*")]) {
    for (const r of el.getClientRects()) {
      if (r.width && (r.left < -0.5 || r.right > width + 0.5)) {
        problems.push(`cut off sideways: ${describe(el)} at ${box(r)}`);
      }
    }
  }
  for (const el of root.querySelectorAll(controls)) {
    if (!el.getClientRects().length) continue;
    el.focus();  // what the keyboard does: focusing scrolls it into view, in the page or in a scrolling box
    if (document.activeElement !== el) { problems.push(`cannot take focus: ${describe(el)}`); continue; }
    const r = el.getBoundingClientRect();
    // Half a pixel of slack: focus() aligns to the viewport's edge, and layout works in fractions of a pixel.
    const outside = r.left < -0.5 || r.top < -0.5 || r.right > width + 0.5 || r.bottom > height + 0.5;
    if (r.width < 1 || r.height < 1 || outside) {
      problems.push(`not fully in view once focused: ${describe(el)} at ${box(r)} in a ${width}x${height} viewport`);
      continue;
    }
    // On top, not under something else: the middle of one of its boxes (a link may wrap over two lines).
    const middle = (b) => document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
    const hits = Array.from(el.getClientRects(), middle);
    if (!hits.some((hit) => hit && (el === hit || el.contains(hit)))) {
      problems.push(`covered: ${describe(el)} lies under ${hits[0] ? describe(hits[0]) : "nothing"}`);
    }
  }
  return problems;
}"""


@pytest.mark.parametrize("screen", [PHONE, ZOOMED], ids=lambda s: s.label)
@pytest.mark.parametrize("reader", READERS, ids=reader_label)
@pytest.mark.parametrize("mode", MODES, ids=mode_label)
async def test_nothing_scrolls_sideways_and_every_control_can_be_seen_and_reached_in_the(
    mode: Mode, reader: Reader, screen: Screen, sites: Sites, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    site = sites[mode, reader.message]
    page = await new_page(chromium, contexts, site, reader, screen=screen)
    problems = await page.evaluate(LAYOUT, [message_selector(site), CONTROL_SELECTOR])
    assert problems == [], f"the {mode_label(mode)} ({reader.label}, {screen.label}):\n" + "\n".join(problems)


# 3. Keyboard only


@pytest.mark.parametrize("reader", BOTH_MESSAGES, ids=reader_label)
@pytest.mark.parametrize("mode", MODES, ids=mode_label)
async def test_tab_from_page_load_reaches_every_control_in_reading_order_in_the(
    mode: Mode, reader: Reader, sites: Sites, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    site = sites[mode, reader.message]
    page = await new_page(chromium, contexts, site, reader)
    expected = await controls_from_focus(page, site)
    assert expected, f"the {mode_label(mode)} has no control at all"
    starts_in_page = await focused(page, site) == "page: <body>"
    sequence = await tab_sequence(page, site, PAGE_LINKS + len(expected) + 1)
    reached = [item for item in sequence if item.startswith("message: ")]
    first_pass = reached[: len(expected)]
    assert first_pass == expected, f"Tab order in the {mode_label(mode)}: {sequence}; reading order: {expected}"
    if starts_in_page:
        # A message that leaves focus alone comes after the page in the document: the page's own links come first.
        assert all(s.startswith("page: <a>") for s in sequence[:PAGE_LINKS]), sequence


async def tab_to(page: Page, site: Site, target: str) -> None:
    for _ in range(PAGE_LINKS + len(await controls(page, site)) + 2):
        if await focused(page, site) == target:
            return
        await page.keyboard.press("Tab")
    assert await focused(page, site) == target, f"Tab never reached {target}"


@pytest.mark.parametrize("key", ["Enter", "Space"], ids=lambda k: f"with {k}")
@pytest.mark.parametrize("reader", BOTH_MESSAGES, ids=reader_label)
@pytest.mark.parametrize("mode", MODES, ids=mode_label)
async def test_every_control_works_from_the_keyboard_in_the(
    mode: Mode, reader: Reader, key: str, sites: Sites, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    site = sites[mode, reader.message]
    message = message_selector(site)

    async def stay(route: BrowserRoute) -> None:
        """A link followed from the story is answered "204 No Content": the browser stays on the story, message
        and all, so one page serves every control."""
        if route.request.is_navigation_request() and not route.request.url.endswith(STORY):
            await route.fulfill(status=204)
        else:
            await route.fallback()  # to the context's own routes (the blocked baits)

    async def story() -> Page:
        page = await new_page(chromium, contexts, site, reader)
        await page.route("**/*", stay)
        return page

    page = await story()
    targets = await controls(page, site)
    for target in targets:
        await tab_to(page, site, target)
        details_open = await page.evaluate("(s) => document.querySelector(s + ' details')?.open ?? null", message)
        link = await page.evaluate("() => document.activeElement.href") if target.startswith("message: <a>") else None
        if link and key == "Enter":
            navigation = page.expect_request(lambda r, url=link: r.is_navigation_request() and r.url == url)
            async with navigation:  # Enter follows a link
                await page.keyboard.press(key)
        else:
            await page.keyboard.press(key)
        leaves_page = False
        if "[dismiss]" in target:
            await expect(page.locator(message), f"{key} on {target} closes the message").to_have_count(0)
            leaves_page = True
        elif "[check]" in target:
            # The status line says what the new check found: still blocked (this browser blocks the baits).
            status = page.locator(message).get_by_role("status")
            still = await status.evaluate("el => [...el.attributes].find((a) => a.name.endsWith('-still')).value")
            await expect(status, f"{key} on {target} checks again").to_have_text(still or "", timeout=10_000)
        elif target.startswith("message: <summary>"):
            now_open = await page.evaluate("(s) => document.querySelector(s + ' details').open", message)
            assert now_open is not details_open, f"{key} on {target} opens or closes the steps"
        elif target.startswith("message: <a>"):
            # Links follow on Enter; Space scrolls the page, as on every link (it is not meant to follow them).
            # Enter's navigation to the link's own address was awaited above (or this test failed there).
            assert link, f"{target} has no address"
        else:
            pytest.fail(f"no expectation for {target}: teach this test what it does")
        if leaves_page and target != targets[-1]:
            page = await story()


@pytest.mark.parametrize(
    "key",
    ["Escape", "the close button", "Continue reading"],
    ids=lambda k: f"pressing {k}" if k == "Escape" else f"Enter on {k}",
)
async def test_the_soft_dialog_keeps_focus_inside_until_closed_by(
    key: str, sites: Sites, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    site = sites[Mode.SOFT, "built-in"]
    page = await new_page(chromium, contexts, site)
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator(f"#{site.app.names.css_class}-title")).to_be_focused()  # focus moved in
    count = len(await controls(page, site))
    for direction in ("Tab", "Shift+Tab"):
        for item in await tab_sequence(page, site, 2 * count + 1, direction):
            assert item.startswith("message: "), f"{direction} left the dialog for {item}"
    assert await page.locator("main").evaluate("el => el.closest('[inert]') !== null"), "the page behind is not inert"

    if key == "Escape":
        await page.keyboard.press("Escape")
    else:  # the icon button comes first in the dialog, "Continue reading" last
        dismissers = dialog.locator(f"button[{site.app.names.data}-action=dismiss]")
        button = dismissers.first if key == "the close button" else dismissers.last
        for _ in range(count + 1):
            if await button.evaluate("el => el === document.activeElement"):
                break
            await page.keyboard.press("Tab")
        await expect(button).to_be_focused()
        await page.keyboard.press("Enter")
    await expect(dialog).to_have_count(0)
    assert not await page.locator("main").evaluate("el => el.closest('[inert]') !== null"), "the page stays inert"
    # Focus goes back where it was when the dialog opened: the page itself (it opened on page load), so the next
    # Tab starts at the top of the page, not somewhere in a removed dialog.
    assert await focused(page, site) == "page: <body>"
    await page.keyboard.press("Tab")
    assert (await focused(page, site)).startswith("page: <a>"), "after the dialog, Tab goes on in the page"


@pytest.mark.parametrize("mode", BANNERS, ids=mode_label)
async def test_a_banner_never_takes_focus(
    mode: Mode, sites: Sites, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    site = sites[mode, "built-in"]
    page = await new_page(chromium, contexts, site)
    await expect(page.locator(message_selector(site))).to_be_visible()
    await page.wait_for_timeout(300)  # nothing comes late either
    assert await focused(page, site) == "page: <body>"
    await page.keyboard.press("Tab")
    assert (await focused(page, site)).startswith("page: <a>"), "the first Tab goes to the page, not the banner"


async def test_the_hard_wall_focuses_its_heading(
    sites: Sites, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    site = sites[Mode.HARD, "built-in"]
    page = await new_page(chromium, contexts, site)
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_count(1)
    await expect(heading).to_be_focused()
    assert await heading.evaluate("(h, s) => h.closest(s) !== null", message_selector(site)), "not the wall's heading"
    await expect(page.get_by_role("dialog")).to_have_count(0)  # ordinary page content, not a fake modal


# 4. Reduced motion

MOTION = """(selector) => {
  const root = document.querySelector(selector);
  const moving = [];
  const nonzero = (value) => value.split(",").some((v) => parseFloat(v) !== 0);
  for (const el of [document.documentElement, root, ...root.querySelectorAll("*")]) {
    for (const pseudo of [null, "::before", "::after", "::backdrop"]) {
      const style = getComputedStyle(el, pseudo);
      for (const property of ["transition-duration", "animation-duration"]) {
        const value = style.getPropertyValue(property);
        if (value && nonzero(value)) {
          moving.push(`<${el.tagName.toLowerCase()} class="${el.className}">${pseudo || ""} ${property}: ${value}`);
        }
      }
    }
  }
  return moving;
}"""


@pytest.mark.parametrize("reader", BOTH_MESSAGES, ids=reader_label)
@pytest.mark.parametrize("mode", MODES, ids=mode_label)
async def test_with_reduced_motion_nothing_moves_in_the(
    mode: Mode, reader: Reader, sites: Sites, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    site = sites[mode, reader.message]
    page = await new_page(chromium, contexts, site, reader, reduced_motion="reduce")
    moving = await page.evaluate(MOTION, message_selector(site))
    where = f"the {mode_label(mode)} ({reader.label})"
    assert moving == [], f"{where} moves despite prefers-reduced-motion: reduce:\n" + "\n".join(moving)
