"""Client-side navigation in real Chromium: the demo's reader app (/app/) switches stories with pushState.

A blocking reader (Brave's engine with the real lists) who reads on client-side is counted (a page_view per
route change), metered (the free views run out at the right one) and asked there, without a reload; a clean reader
never is. The hard wall covers the page and no client-side link or router leads around it. The page API's
statuses arrive in order. A filter rule that blocks the navigation request makes the reader blocked, not clean.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware, Policy
from adguard_mw.cli import DEMO_SECRET_KEY, demo_app
from examples.news_site import create_app
from examples.news_site.articles import latest_first

from .axe import axe_source, report, run_axe
from .blocker import SKIP_REASON, Blocker, filterlists_dir, load_engine
from .conftest import Serve
from .reading import events, message, read

STORIES = [article.slug for article in latest_first()]


pytestmark = pytest.mark.usefixtures("patient_probes")


def page_views(app: AdGuardMiddleware, log: Path) -> list[str]:
    return [e["path"] for e in events(app, log) if e["event"] == "page_view"]


async def click_story(page: Page, app: AdGuardMiddleware, slug: str) -> dict[str, Any]:
    """Click a story in the app's list (a client-side link) and return the server's answer to the navigation."""
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.navigate)) as answer:
        await page.locator(f'a[data-app-link][href="/app/{slug}"]').click()
    await expect(page).to_have_url(f"{page.url.split('/app/')[0]}/app/{slug}")
    body: dict[str, Any] = await (await answer.value).json()
    return body


async def test_a_blocking_reader_is_counted_metered_and_asked_client_side(
    serve: Serve, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    log = tmp_path / "events"
    app = demo_app(log, Policy(mode="soft", free_page_views=2))
    base = serve(app)
    page = await blocking_context.new_page()
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))
    assert await read(page, f"{base}/app/{STORIES[0]}", app.names, timeout=20_000) == "blocked"

    shows = []
    for slug in STORIES[1:4]:
        shows.append((await click_story(page, app, slug))["show"])
        if shows[-1] is None:
            await expect(message(page, app.names)).to_have_count(0)
    assert shows == [None, None, "soft"]  # two free views, asked on the third
    dialog = page.get_by_role("dialog")
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.seen)):  # confirmed on screen
        await expect(dialog).to_be_visible()
    await expect(page.get_by_role("heading", level=2)).to_be_focused()
    assert await page.locator("#app-story").evaluate("el => el.closest('[inert]') !== null")  # behind: inert
    assert len(loads) == 1  # all of it without a reload
    assert page_views(app, log) == [f"/app/{slug}" for slug in STORIES[:4]]

    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.dismiss)):
        await page.get_by_role("button", name="Continue").first.click()
    await expect(dialog).to_have_count(0)
    assert (await click_story(page, app, STORIES[0]))["show"] is None  # dismissed: not asked again meanwhile
    names = [e["event"] for e in events(app, log)]
    assert "message_dismissed" in names and "message_shown" in names


async def test_a_clean_reader_navigating_client_side_is_counted_and_never_asked(
    serve: Serve, clean_context: BrowserContext, tmp_path: Path
) -> None:
    log = tmp_path / "events"
    app = demo_app(log, Policy(mode="hard"))
    base = serve(app)
    page = await clean_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    assert await read(page, f"{base}/app/{STORIES[0]}", app.names, timeout=20_000) == "not_blocked"
    for slug in STORIES[1:4]:
        answer = await click_story(page, app, slug)
        assert answer["show"] is None and answer["verdict"] == "not_blocked"
        await expect(page.locator("#app-story")).to_be_visible()
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.navigate)):
        await page.go_back()  # popstate: counted too
    await expect(page).to_have_url(f"{base}/app/{STORIES[2]}")
    assert page_views(app, log) == [f"/app/{slug}" for slug in [*STORIES[:4], STORIES[2]]]
    await expect(message(page, app.names)).to_have_count(0)
    assert not [e for e in events(app, log) if e["event"].startswith("message_")]
    assert errors == []


async def test_without_the_navigation_api_the_history_api_is_watched(
    serve: Serve, clean_context: BrowserContext, tmp_path: Path
) -> None:
    log = tmp_path / "events"
    app = demo_app(log, Policy(mode="soft"))
    base = serve(app)
    page = await clean_context.new_page()
    await page.add_init_script("Object.defineProperty(window, 'navigation', { value: undefined })")  # older browsers
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/" + app.names.navigate) else None)
    assert await read(page, f"{base}/app/{STORIES[0]}", app.names, timeout=20_000) == "not_blocked"
    await page.evaluate("history.replaceState({}, '', location.pathname + '?tab=2#top')")  # the same page
    assert (await click_story(page, app, STORIES[1]))["verdict"] == "not_blocked"
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.navigate)):
        await page.go_back()
    assert len(requests) == 2
    assert page_views(app, log) == [f"/app/{STORIES[0]}", f"/app/{STORIES[1]}", f"/app/{STORIES[0]}"]


async def test_a_site_that_renders_its_own_message_reads_it_from_the_api(
    serve: Serve, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    app = AdGuardMiddleware(create_app(), secret_key=DEMO_SECRET_KEY, policy="soft", render_message="site")
    base = serve(app)
    page = await blocking_context.new_page()
    first_view = await read(page, f"{base}/app/{STORIES[0]}", app.names, timeout=20_000)
    assert first_view == "blocked"  # the first view is free
    await page.goto(f"{base}/app/{STORIES[1]}")  # a full load: the server asks for the soft message
    await page.wait_for_function(
        f"""new Promise(resolve => {{
          var ask = {{}};
          document.dispatchEvent(new CustomEvent({app.names.event!r}, {{ detail: ask }}));
          if (ask.api) ask.api.subscribe(s => {{ if (s.show) resolve(window.__show = s.show); }});
        }})"""
    )
    assert await page.evaluate("window.__show") == "soft"
    await expect(message(page, app.names)).to_have_count(0)  # none of our markup: the site shows its own
    assert (await click_story(page, app, STORIES[2]))["show"] == "soft"
    assert "html" not in await click_story(page, app, STORIES[3])
    await expect(message(page, app.names)).to_have_count(0)
    status = await page.evaluate(
        f"""new Promise(resolve => {{
          var ask = {{}};
          document.dispatchEvent(new CustomEvent({app.names.event!r}, {{ detail: ask }}));
          ask.api.check().then(resolve);
        }})"""
    )
    assert status["verdict"] == "blocked" and status["show"] == "soft"  # a check again: still blocking


async def test_the_hard_wall_cannot_be_left_client_side(
    serve: Serve, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    log = tmp_path / "events"
    app = demo_app(log, Policy(mode="hard"))
    base = serve(app)
    page = await blocking_context.new_page()
    assert await read(page, f"{base}/app/{STORIES[0]}", app.names, timeout=20_000) == "blocked"
    assert (await click_story(page, app, STORIES[1]))["show"] == "hard"
    wall = message(page, app.names)
    await expect(wall).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_be_focused()
    story = page.locator("#app-story")
    await expect(story).to_be_hidden()  # out of sight, not just covered
    await expect(page.locator("a[data-app-link]").first).to_be_hidden()

    # A click where a story link was lands on the wall; Tab stays inside it.
    link = page.locator(f'a[data-app-link][href="/app/{STORIES[2]}"]')
    box = await link.bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + 5, box["y"] + box["height"] / 2)
    await expect(page).to_have_url(f"{base}/app/{STORIES[1]}")
    for _ in range(12):
        await page.keyboard.press("Tab")
        assert await wall.evaluate("el => el.contains(document.activeElement)")

    # The site's router moves on by itself, and re-renders the page under the wall: the wall stays.
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.navigate)) as answer:
        await page.evaluate(f"history.pushState({{}}, '', '/app/{STORIES[2]}')")
    assert (await (await answer.value).json())["show"] == "hard"
    await page.evaluate(f"document.querySelector('.{app.names.css_class}-layer').remove()")
    await expect(wall).to_be_visible()
    await expect(story).to_be_hidden()
    assert [e["path"] for e in events(app, log) if e["event"] == "message_shown"][-2:] == [
        f"/app/{STORIES[1]}",
        f"/app/{STORIES[2]}",
    ]


async def test_the_page_api_reports_statuses_in_order(
    serve: Serve, blocking_context: BrowserContext, tmp_path: Path
) -> None:
    log = tmp_path / "events"
    app = demo_app(log, Policy(mode="notice", free_page_views=1))
    base = serve(app)
    page = await blocking_context.new_page()
    # The documented helper (docs/page-api.md), given this deployment's name as the site's templates get it.
    await page.add_init_script(
        script=f"""
        window.__statuses = [];
        function readerSupport(name) {{
          return new Promise(function (resolve) {{
            var ask = {{}};
            document.dispatchEvent(new CustomEvent(name, {{ detail: ask }}));
            if (ask.api) return resolve(ask.api);
            document.addEventListener(name, function found(e) {{
              if (e.detail && e.detail.api) {{ document.removeEventListener(name, found); resolve(e.detail.api); }}
            }});
          }});
        }}
        readerSupport({app.names.event!r}).then(function (api) {{
          window.__api = api;
          api.subscribe(function (s) {{ window.__statuses.push([s.verdict, s.show, s.path]); }});
        }});
        """
    )
    assert await read(page, f"{base}/app/{STORIES[0]}", app.names, timeout=20_000) == "blocked"
    await page.wait_for_function("window.__api")
    await click_story(page, app, STORIES[1])
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.seen)):
        await click_story(page, app, STORIES[2])
        await expect(message(page, app.names)).to_be_visible()
    async with page.expect_response(lambda r: r.url.endswith("/" + app.names.seen)):
        await click_story(page, app, STORIES[1])  # the banner stays, and is confirmed for this view too
    shown = [e["path"] for e in events(app, log) if e["event"] == "message_shown"]
    assert shown == [f"/app/{STORIES[2]}", f"/app/{STORIES[1]}"]
    await click_story(page, app, STORIES[2])
    statuses = await page.evaluate("window.__statuses")
    first, second, third = (f"/app/{slug}" for slug in STORIES[:3])
    # Each change once, in the order it happened: the verdict, each path, then the server's answer for it.
    assert statuses[-9:] == [
        ["blocked", None, first],
        ["blocked", None, second],
        ["blocked", None, second],
        ["blocked", None, third],
        ["blocked", "notice", third],
        ["blocked", "notice", second],
        ["blocked", "notice", second],
        ["blocked", "notice", third],
        ["blocked", "notice", third],
    ]
    status = await page.evaluate("window.__api.status()")
    assert status == {"verdict": "blocked", "kind": "extension", "show": "notice", "path": third}
    # A subscriber, says the site; the server asks its exempt hook (the demo has none): nothing changes.
    assert (await page.evaluate("window.__api.subscriber()"))["show"] == "notice"


@pytest.mark.parametrize("how", ["", ",redirect=noop.json"], ids=["blocked", "answered by a stand-in"])
async def test_a_rule_against_the_navigation_request_makes_the_reader_blocked(
    serve: Serve, chromium: Browser, tmp_path: Path, how: str
) -> None:
    lists = filterlists_dir()
    if lists is None:
        pytest.skip(SKIP_REASON)
    log = tmp_path / "events"
    app = demo_app(log, Policy(mode="soft"))
    base = serve(app, "nav.test")
    # A maintainer who read this deployment's pages blocks (or fakes) its navigation requests and nothing else.
    rule = f"{app.names.prefix}/{app.names.navigate}$xmlhttprequest,domain=nav.test{how}"
    blocker = Blocker(load_engine(lists, (), rule))
    context = await chromium.new_context(service_workers="block")
    try:
        await blocker.attach(context)
        page = await context.new_page()
        assert await read(page, f"{base}/app/{STORIES[0]}", app.names, timeout=20_000) == "not_blocked"
        async with page.expect_event("load"):  # the route is loaded in full: the server decides there
            await page.locator(f'a[data-app-link][href="/app/{STORIES[1]}"]').click()
        await expect(page.get_by_role("dialog")).to_be_visible()
    finally:
        await context.close()
    assert any(url.endswith("/" + app.names.navigate) for url in blocker.blocked + blocker.redirected)
    verdicts = [(e["verdict"], e["signals"]) for e in events(app, log) if e["event"] == "verdict"]
    assert verdicts == [("not_blocked", {"cosmetic": "not_blocked", "script": "not_blocked", "image": "not_blocked"}),
                        ("blocked", {"script": "blocked"})]  # fmt: skip
    assert page_views(app, log) == [f"/app/{STORIES[0]}", f"/app/{STORIES[1]}"]


NONCE = "spa0nce0123456789abcdef"
CSP_APP_PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><title>App</title>
<style nonce="{NONCE}">body {{ font: 16px sans-serif; }}</style></head>
<body><nav><a href="/read/2" id="next">Next story</a></nav><article id="story">Story one.</article>
<script nonce="{NONCE}">
document.getElementById("next").addEventListener("click", function (e) {{
  e.preventDefault();
  document.getElementById("story").textContent = "Story two.";
  history.pushState({{}}, "", "/read/2");
}});
</script></body></html>"""


async def test_under_a_strict_content_security_policy_the_message_comes_styled(
    serve: Serve, blocking_context: BrowserContext
) -> None:
    """The page allows only its nonces: our script and stylesheet carry them, after a route change too."""
    csp = f"default-src 'self'; script-src 'nonce-{NONCE}' 'strict-dynamic'; style-src 'nonce-{NONCE}'"

    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse(CSP_APP_PAGE, headers={"Content-Security-Policy": csp})

    site = Starlette(routes=[Route("/read/{n}", page)])
    app = AdGuardMiddleware(site, secret_key=DEMO_SECRET_KEY, policy="soft")
    base = serve(app)
    page_ = await blocking_context.new_page()
    refused: list[str] = []
    page_.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    async with page_.expect_response(lambda r: r.url.endswith("/" + app.names.beacon)) as report:
        await page_.goto(f"{base}/read/1")
    assert (await (await report.value).json())["verdict"] == "blocked"
    async with page_.expect_response(lambda r: r.url.endswith("/" + app.names.navigate)):
        await page_.click("#next")
    dialog = page_.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    assert await dialog.evaluate("el => getComputedStyle(el).position") == "fixed"  # our stylesheet applied
    assert refused == []


@pytest.mark.parametrize("mode", ["notice", "soft", "hard"])
async def test_a_message_shown_after_a_route_change_passes_axe(
    serve: Serve, blocking_context: BrowserContext, tmp_path: Path, mode: str
) -> None:
    axe_source()  # skips, naming scripts/test.sh, when axe-core has not been fetched
    app = demo_app(tmp_path / "events", Policy(mode=mode))
    base = serve(app)
    page = await blocking_context.new_page()
    assert await read(page, f"{base}/app/{STORIES[0]}", app.names, timeout=20_000) == "blocked"
    assert (await click_story(page, app, STORIES[1]))["show"] == mode
    await expect(message(page, app.names)).to_be_visible()
    violations = await run_axe(page)
    assert not violations, report(violations, f"the {mode} message after a client-side navigation")


def test_the_detector_stays_small() -> None:
    """The detector only loads the message script, which does navigation and the page API: under 2.5 KB gzipped
    as served (minified, this deployment's settings in it)."""
    app = demo_app(None, Policy(mode="soft"))
    assert len(gzip.compress(app.assets.detector.body, 9, mtime=0)) < 2560
