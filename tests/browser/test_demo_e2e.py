"""The whole loop in a real Chromium, against the demo site served by uvicorn.

A clean browser is never asked; a browser whose requests and element hiding go through a real ad-blocking
engine fed with the real lists is detected and sees the message from its second article view; once it stops
blocking and checks again, it reads freely. "Stops blocking" is modelled the way it happens: the same browser
profile (the same cookies) without the blocker.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, expect

from adguard_mw import Policy
from adguard_mw.cli import demo_app

from .conftest import Serve
from .reading import events, message, read

pytestmark = pytest.mark.usefixtures("patient_probes")


async def article_links(base: str) -> list[str]:
    """The front page's article links, read without running its detector: a check there (which a slow machine
    can finish before the next navigation) would make the first article a second page view."""
    host_and_port = base.split("://", 1)[1]
    async with httpx.AsyncClient() as client:  # Chromium maps news.test to 127.0.0.1; httpx asks with its name
        front = await client.get(base.replace(host_and_port.split(":")[0], "127.0.0.1") + "/")
    return list(dict.fromkeys(re.findall(r"""href=["'](/articles/[^"']+)["']""", front.text)))


async def same_profile_without_blocker(chromium: Browser, blocking: BrowserContext) -> BrowserContext:
    clean = await chromium.new_context(service_workers="block")
    await clean.add_cookies(await blocking.cookies())  # type: ignore[arg-type]
    return clean


async def test_a_clean_browser_is_never_asked(serve: Serve, clean_context: BrowserContext, tmp_path: Path) -> None:
    log = tmp_path / "events"
    app = demo_app(log, Policy(mode="hard"))
    base = serve(app)
    page = await clean_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    links = await article_links(base)
    assert len(links) >= 3
    for link in links[:3]:
        assert await read(page, base + link, app.names) == "not_blocked"
        await expect(page.locator("article")).to_be_visible()
        await expect(message(page, app.names)).to_have_count(0)
    verdicts = [e for e in events(app, log) if e["event"] == "verdict"]
    assert [v["verdict"] for v in verdicts] == ["not_blocked"]  # one report per verdict, not one per page
    assert verdicts[0]["signals"] == {"cosmetic": "not_blocked", "script": "not_blocked", "image": "not_blocked"}
    assert not [e for e in events(app, log) if e["event"] == "message_shown"]
    assert errors == []


async def test_a_blocking_browser_is_asked_from_its_second_article_and_recovers(
    serve: Serve, chromium: Browser, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    log = tmp_path / "events"
    app = demo_app(log, Policy(mode="soft"))
    base = serve(app)
    page = await blocking_context.new_page()
    links = await article_links(base)

    assert await read(page, base + links[0], app.names) == "blocked"
    await expect(message(page, app.names)).to_have_count(0)  # the first view is free: that is where the check runs
    verdict = events(app, log)[-1]
    assert verdict["event"] == "verdict"
    assert verdict["signals"] == {"cosmetic": "blocked", "script": "blocked", "image": "blocked"}  # each on its own
    assert verdict["kind"] == "extension"
    assert verdict["browser"] == "HeadlessChrome" or verdict["browser"].startswith("Chrom")

    await read(page, base + links[1], app.names)
    await expect(message(page, app.names)).to_be_visible()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await expect(page.locator("article")).to_be_attached()  # soft: the article is behind the dialog
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.beacon)):
        await page.get_by_role("button", name="check again").click()
    await expect(page.get_by_role("status")).to_contain_text("still detect")  # still blocking: told so, politely
    await expect(message(page, app.names)).to_be_visible()

    clean = await same_profile_without_blocker(chromium, blocking_context)
    try:
        page = await clean.new_page()
        # The server still knows the old verdict and shows the message; the check on this page clears it.
        await page.goto(base + links[2])
        await expect(message(page, app.names)).to_have_count(0, timeout=10_000)
        await read(page, base + links[0], app.names)
        await expect(message(page, app.names)).to_have_count(0)
        await expect(page.locator("article")).to_be_visible()
    finally:
        await clean.close()
    recorded = events(app, log)
    names = [e["event"] for e in recorded]
    assert "message_shown" in names and "recovered" in names
    assert [e["verdict"] for e in recorded if e["event"] == "check_again"] == ["blocked"]  # a failed verification


async def test_hard_wall_checks_again_in_place_or_with_a_plain_form(
    serve: Serve, chromium: Browser, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    app = demo_app(tmp_path / "events", Policy(mode="hard"))
    base = serve(app)
    page = await blocking_context.new_page()
    links = await article_links(base)
    await read(page, base + links[0], app.names)
    await read(page, base + links[1], app.names)
    await expect(page.locator("article")).to_have_count(0)  # the content is not in the page at all
    await expect(page.get_by_role("heading", level=1)).to_be_focused()

    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.beacon)):
        await page.get_by_role("button", name="check again").click()
    await expect(page.get_by_role("status")).to_contain_text("still detect")  # still blocking: told so, politely

    # Without JavaScript the same button is a form: it forgets the verdict and comes back to the page.
    no_script = await chromium.new_context(java_script_enabled=False)
    try:
        await no_script.add_cookies(await blocking_context.cookies())  # type: ignore[arg-type]
        page = await no_script.new_page()
        await page.goto(base + links[1])
        await expect(page.locator("article")).to_have_count(0)
        async with page.expect_navigation():
            await page.get_by_role("button", name="check again").click()
        await expect(page.locator("article")).to_be_visible()
        assert page.url == base + links[1]
    finally:
        await no_script.close()


async def test_soft_dialog_is_accessible(serve: Serve, blocking_context: BrowserContext, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "events", Policy(mode="soft"))
    base = serve(app)
    page = await blocking_context.new_page()
    links = await article_links(base)
    await read(page, base + links[0], app.names)
    await read(page, base + links[1], app.names)
    dialog_box = page.get_by_role("dialog")
    await expect(dialog_box).to_be_visible()
    await expect(page.locator(f"#{app.names.css_class}-title")).to_be_focused()
    assert await page.locator("main").evaluate("el => el.closest('[inert]') !== null")  # background inert
    for _ in range(8):  # Tab stays inside
        await page.keyboard.press("Tab")
        assert await dialog_box.evaluate("d => d.contains(document.activeElement)")
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.dismiss)) as dismissal:
        await page.keyboard.press("Escape")
    assert (await dismissal.value).status == 204
    await expect(dialog_box).to_have_count(0)
    assert not await page.locator("main").evaluate("el => el.closest('[inert]') !== null")
    await read(page, base + links[2], app.names)
    await expect(dialog_box).to_have_count(0)  # the dismissal is remembered


async def test_notice_leaves_the_page_usable(serve: Serve, blocking_context: BrowserContext, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "events", Policy(mode="notice"))
    base = serve(app)
    page = await blocking_context.new_page()
    links = await article_links(base)
    await read(page, base + links[0], app.names)
    await read(page, base + links[1], app.names)
    # The notice (the articles' blocked ad slots are regions too, each with its own name).
    await expect(page.get_by_role("region", name="Please support The Daily Lantern")).to_be_visible()
    await expect(page.get_by_role("dialog")).to_have_count(0)
    assert not await page.evaluate(
        "sel => document.activeElement && document.activeElement.closest(sel)", f"[{app.names.data}]"
    )
    await page.get_by_role("link", name="About").first.click()  # the page behind stays usable
    await expect(page).to_have_url(base + "/about")


async def test_no_javascript_means_never_asked(serve: Serve, chromium: Browser, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "events", Policy(mode="hard"))
    base = serve(app)
    context = await chromium.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        links = await article_links(base)
        for link in links[:3]:
            await page.goto(base + link)
            await expect(page.locator("article")).to_be_visible()
        # The only cookie says "this browser runs no JavaScript" (its <noscript> stylesheet): no verdict, ever.
        cookies = {cookie["name"]: cookie["value"] for cookie in await context.cookies()}
        assert app.names.companion not in cookies and set(cookies) <= {app.names.cookie}
    finally:
        await context.close()


async def test_the_detector_causes_no_layout_shift(
    serve: Serve, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    app = demo_app(tmp_path / "events", Policy(mode="observe"))
    base = serve(app)
    page = await blocking_context.new_page()
    await page.add_init_script(
        "window.__shift = 0; new PerformanceObserver(l => l.getEntries().forEach(e => { window.__shift += e.value; }))"
        ".observe({type: 'layout-shift', buffered: true});"
    )
    links = await article_links(base)
    await read(page, base + links[0], app.names)
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.__shift") == 0


async def test_a_reader_who_turns_the_blocker_off_and_reloads_reads_at_once(
    serve: Serve, chromium: Browser, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    app = demo_app(tmp_path / "events", Policy(mode="hard"))
    base = serve(app)
    page = await blocking_context.new_page()
    links = await article_links(base)
    await read(page, base + links[0], app.names)
    await read(page, base + links[1], app.names)
    await expect(page.locator("article")).to_have_count(0)
    clean = await same_profile_without_blocker(chromium, blocking_context)
    try:
        page = await clean.new_page()
        await page.goto(base + links[1])  # still walled: the server only knows the old verdict
        await expect(page.locator("article")).to_be_visible(timeout=10_000)  # no click needed
    finally:
        await clean.close()
