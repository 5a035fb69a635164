"""Blocked ad slots get the site's house message instead of a hole, and only blocked ones do.

The demo's articles mark two ad slots with `class="ad-slot"` (`ad_slots = ".ad-slot"`); EasyList hides that class
on every site (`##.ad-slot`) and blocks the creative's URL. Through the real engine with the real lists (network
rules and generic cosmetic rules applied the lazy way uBlock Origin and Brave apply them), a blocking reader gets
the house message next to each hidden slot, never inside it, visible, counted once on the server, and axe-core
finds nothing on the page; a clean reader never even loads the slot script.

A page of our own covers the timing: a slot the site fills late keeps its ad, an empty slot gets the message once
it has waited its turn (and loses it when the ad comes after all), a removed slot gets it where it was, and a slot
the site's own style sheet hides (one for another screen size) is left alone.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, expect
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware, Policy
from adguard_mw.cli import demo_app
from adguard_mw.state import Verdict, VisitorState, companion_value, new_visitor_id

from .axe import axe_source, report, run_axe
from .conftest import Serve
from .reading import events, read
from .test_demo_e2e import article_links

KEY = "slots-test-key-0123456789abcdefghijkl"


pytestmark = pytest.mark.usefixtures("patient_probes")


def houses(page: Page, app: AdGuardMiddleware) -> Any:
    return page.locator(f".{app.names.slot_class}")


def slot_script_requests(page: Page, app: AdGuardMiddleware) -> list[str]:
    seen: list[str] = []

    def note(request: Request) -> None:
        if f"/{app.names.slot_script}?" in request.url:
            seen.append(request.url)

    page.on("request", note)
    return seen


async def test_each_blocked_slot_shows_the_house_message_next_to_it(
    serve: Serve, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    log = tmp_path / "events"
    app = demo_app(log, Policy(mode="observe"))  # the demo fills slots in observe mode too (ad_slots_in_observe)
    base = serve(app)
    page = await blocking_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    link = (await article_links(base))[0]
    posted: list[dict[str, Any]] = []  # the slot script's confirmations: one per tick that counted a slot or two
    page.on(
        "request",
        lambda r: (
            posted.append(json.loads(r.post_data or "{}"))
            if r.url.endswith("/" + app.names.seen) and '"slots"' in (r.post_data or "")
            else None
        ),
    )
    assert await read(page, base + link, app.names) == "blocked"
    slots = page.locator(".ad-slot")
    await expect(slots).to_have_count(2)
    await expect(houses(page, app)).to_have_count(2)
    for index in range(2):
        slot, house = slots.nth(index), houses(page, app).nth(index)
        await expect(slot).to_be_hidden()  # EasyList's ##.ad-slot, as the engine applied it
        await expect(house).to_be_visible()
        await expect(house).to_contain_text("Advertising helps pay for the reporting on The Daily Lantern")
        # Next to the hidden slot, not inside it (where the same rule would hide it too).
        assert await slot.evaluate("(el, cls) => el.nextElementSibling.classList.contains(cls)", app.names.slot_class)
        assert await house.evaluate("(el) => el.closest('.ad-slot') === null")
    regions = page.get_by_role("region", name="A note from The Daily Lantern")
    await expect(regions).to_have_count(2)  # each its own name: "... (2)" for the second
    # Each house message counted once, whether both were confirmed in one tick or, on a slow machine, in two.
    filled = [e for e in events(app, log) if e["event"] == "slot_filled"]
    for _ in range(300):  # a confirmation may still be in flight: wait (up to 15 s) for the server's events
        if sum(e["slots"] for e in filled) >= 2:
            break
        await page.wait_for_timeout(50)
        filled = [e for e in events(app, log) if e["event"] == "slot_filled"]
    assert sum(p["slots"] for p in posted) == 2 and {p["path"] for p in posted} == {link}
    assert sum(e["slots"] for e in filled) == 2
    assert {(e["path"], e["verdict"], e["mode"]) for e in filled} == {(link, "blocked", "observe")}
    assert errors == []


async def test_a_clean_reader_never_loads_the_slot_script(
    serve: Serve, clean_context: BrowserContext, tmp_path: Path
) -> None:
    app = demo_app(tmp_path / "events", Policy(mode="observe"))
    base = serve(app)
    page = await clean_context.new_page()
    requested = slot_script_requests(page, app)
    link = (await article_links(base))[0]
    assert await read(page, base + link, app.names) == "not_blocked"
    await expect(page.locator(".ad-slot img").first).to_be_visible()
    await expect(houses(page, app)).to_have_count(0)
    assert requested == []


async def test_axe_finds_no_violation_with_house_messages(
    serve: Serve, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    axe_source()  # skips, naming scripts/test.sh, when axe-core has not been fetched
    app = demo_app(tmp_path / "events", Policy(mode="observe"))
    base = serve(app)
    page = await blocking_context.new_page()
    link = (await article_links(base))[0]
    await read(page, base + link, app.names)
    await expect(houses(page, app)).to_have_count(2)
    for scheme in ("light", "dark"):  # the house message takes the theme's colours for each
        await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        violations = await run_axe(page)
        assert not violations, report(violations, f"{link} with house messages in its ad slots, {scheme} scheme")


# A page of our own for timing: four slots marked with this deployment's data attribute.
TIMING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Slots</title>
<style>
  .slot { min-height: 100px; }
  @media (min-width: 1px) { .wide-only { display: none; } }
</style></head>
<body><main>
<h1>Slots</h1>
<div id="gone" class="slot" ATTR></div>
<div id="late" class="slot" ATTR><span>Advertisement</span></div>
<div id="empty" class="slot" ATTR><span>Advertisement</span></div>
<div id="wide" class="slot wide-only" ATTR></div>
<p>The end.</p>
</main></body></html>
"""
# A native ad, as a site's ad code would put it in: text and a link, no frame or image.
NATIVE = """(id) => {
  const ad = document.createElement("div");
  ad.innerHTML = '<p>Sponsored: <a href="/offer">the Wren Valley bakery opens a second shop</a></p>';
  document.getElementById(id).appendChild(ad);
}"""
# An ad as a site's ad code would put it in: an image of its own size.
FILL = """(id) => {
  const img = document.createElement("img");
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100"/>';
  img.src = "data:image/svg+xml," + encodeURIComponent(svg);
  img.alt = "An advertiser's offer";
  document.getElementById(id).appendChild(img);
}"""


async def test_slots_are_judged_on_what_arrives_not_on_time_alone(
    serve: Serve, chromium: Browser, tmp_path: Path
) -> None:
    async def page_view(request: StarletteRequest) -> Response:
        return HTMLResponse(TIMING_PAGE.replace("ATTR", app.names.slot_attribute))

    app = AdGuardMiddleware(
        Starlette(routes=[Route("/story", page_view)]), secret_key=KEY, policy="notice", ad_slots=True
    )
    base = serve(app)
    context = await chromium.new_context(service_workers="block")
    try:
        # A reader the server knows is blocking, whose browser blocks the detector's baits (so it confirms that).
        state = VisitorState(new_visitor_id(), Verdict.BLOCKED, checked_at=int(time.time()), kind="extension")
        await context.add_cookies(
            [
                {"name": app.cookie.name, "value": app.cookie.dump(state), "url": base},
                {"name": app.cookie.companion_name, "value": companion_value(state), "url": base},
            ]
        )
        await context.route(f"**{app.names.prefix}/{app.names.bait_dir}/**", lambda r: r.abort("blockedbyclient"))
        page = await context.new_page()
        await page.add_init_script(  # whether a house message ever went into the slot filled late, even briefly
            "new MutationObserver(rs => rs.forEach(r => r.addedNodes.forEach(n => {"
            f" if (n.classList && n.classList.contains({app.names.slot_class!r}) && n.closest('#late'))"
            " window.__lateFilled = true; }))).observe(document, {childList: true, subtree: true});"
        )
        async with page.expect_response(lambda r: f"/{app.names.slot_script}?" in r.url) as loaded:
            await page.goto(base + "/story")
        await (await loaded.value).finished()
        await page.evaluate(NATIVE, "late")  # the site's auction ends late, well within the wait
        house = page.locator(f"#empty .{app.names.slot_class}")
        await expect(house).to_be_visible()  # the empty slot, once its wait is over: inside it, in its space
        await expect(page.locator(f"#late .{app.names.slot_class}")).to_have_count(0)
        await expect(page.locator(f"#wide + .{app.names.slot_class}")).to_have_count(0)  # the site hid that one
        await expect(page.locator(f"#gone .{app.names.slot_class}")).to_be_visible()  # empty as well
        await expect(houses(page, app)).to_have_count(2)
        assert not await page.evaluate("window.__lateFilled === true")
        await page.evaluate("document.getElementById('gone').remove()")  # a rule that removes the slot itself
        await expect(page.locator(f"h1 + .{app.names.slot_class}")).to_be_visible()  # where the slot was
        await page.evaluate(FILL, "empty")  # its ad comes after all: the house message makes way
        await expect(page.locator(f"#empty .{app.names.slot_class}")).to_have_count(0)
        await expect(houses(page, app)).to_have_count(1)
    finally:
        await context.close()


STRICT_CSP = "script-src 'nonce-{n}' 'strict-dynamic'; style-src 'self' 'nonce-{n}'; object-src 'none'; base-uri 'none'"
# An extension's cosmetic rule for the slot, as a style sheet the page cannot see (like the test blocker's).
HIDE_SLOTS = """(() => { const sheet = new CSSStyleSheet(); sheet.replaceSync("[ATTR] { display: none !important; }");
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; })();"""


async def test_a_strict_content_security_policy_lets_the_house_message_in(serve: Serve, chromium: Browser) -> None:
    async def page_view(request: StarletteRequest) -> Response:
        nonce = "n0nce" + str(time.time_ns())
        body = "<!doctype html><html lang='en'><head><title>Story</title></head><body><main><h1>Story</h1>"
        body += f"<div {app.names.slot_attribute}><p>Ad</p></div><p>Text.</p></main></body></html>"
        return HTMLResponse(body, headers={"Content-Security-Policy": STRICT_CSP.format(n=nonce)})

    app = AdGuardMiddleware(
        Starlette(routes=[Route("/story", page_view)]), secret_key=KEY, policy="observe", ad_slots=True,
        ad_slots_in_observe=True,
    )  # fmt: skip
    base = serve(app)
    context = await chromium.new_context(service_workers="block")
    try:
        state = VisitorState(new_visitor_id(), Verdict.BLOCKED, checked_at=int(time.time()), kind="extension")
        await context.add_cookies([{"name": app.cookie.name, "value": app.cookie.dump(state), "url": base}])
        await context.route(f"**{app.names.prefix}/{app.names.bait_dir}/**", lambda r: r.abort("blockedbyclient"))
        await context.add_init_script(HIDE_SLOTS.replace("ATTR", app.names.slot_attribute))
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(base + "/story")
        house = houses(page, app)
        await expect(house).to_be_visible()
        await expect(house).to_have_css("border-radius", "8px")  # its own style sheet applied
        assert problems == []
    finally:
        await context.close()
