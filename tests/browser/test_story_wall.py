"""The hard wall inside the site's own page (`paywall_selector`), in real Chromium: the site stays, the story is
gone from the HTML, the message sits where it was, its heading takes focus, nothing is made inert, and axe-core
finds no violation in either colour scheme, wide and narrow."""

from __future__ import annotations

from typing import Literal

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route

from adguard_mw import AdGuardMiddleware, Policy
from adguard_mw.policy import Mode

from .axe import report, run_axe
from .conftest import Serve
from .test_accessibility import (
    DESKTOP,
    KEY,
    PAGE,
    PHONE,
    SCHEMES,
    SITE_NAME,
    STORY,
    Screen,
    Site,
    blocked_reader,
    message_selector,
    open_message,
    riverside,
)

STORY_TEXT = "The stone bridge over the Wren opened to walkers and cyclists"
# The article's body in an element of its own, as news sites have it: the headline stays, the body goes.
MARKED = PAGE.replace("</h1>\n", '</h1>\n<div class="story-body">', 1).replace("</article>", "</div></article>", 1)
assert MARKED.count("story-body") == 1


def marked_site() -> Starlette:
    """The accessibility tests' site, its articles with the body marked."""

    async def article(request: Request) -> Response:
        return HTMLResponse(MARKED)

    return Starlette(routes=[Route("/articles/{slug}", article), Mount("", riverside())])


@pytest.fixture(scope="module")
def site(serve: Serve) -> Site:
    app = AdGuardMiddleware(
        marked_site(),
        secret_key=KEY,
        policy=Policy(mode=Mode.HARD),
        site_name=SITE_NAME,
        paywall_selector=".story-body",
    )
    return Site(app, serve(app))


async def test_the_walled_page_is_the_site_s_own_without_the_story(
    site: Site, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    context = await blocked_reader(chromium, site, "extension")
    contexts.append(context)
    first = await context.new_page()
    response = await first.goto(site.base + STORY)
    assert response is not None
    html = await response.text()
    assert STORY_TEXT not in html and "What changes for drivers" not in html  # absent, not hidden
    page = await open_message(context, site)
    assert await page.title() == "The old bridge reopens - The Riverside Courier"
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    await expect(page.get_by_role("link", name="The Riverside Courier", exact=True)).to_be_visible()  # masthead
    await expect(page.get_by_role("heading", name="The old bridge reopens after two years of repairs")).to_be_visible()
    # The message is where the story was: right after the headline, inside the article.
    place = await page.evaluate(
        "(s) => { const m = document.querySelector(s); return [m.parentElement.tagName, "
        "m.previousElementSibling && m.previousElementSibling.tagName]; }",
        message_selector(site),
    )
    assert place == ["ARTICLE", "H1"]
    assert STORY_TEXT not in await page.content()


async def test_the_heading_takes_focus_and_the_site_stays_usable(
    site: Site, chromium: Browser, contexts: list[BrowserContext]
) -> None:
    context = await blocked_reader(chromium, site, "extension")
    contexts.append(context)
    page = await open_message(context, site)
    title = page.locator(f"#{site.app.names.css_class}-title")
    await expect(title).to_be_focused()
    assert await page.evaluate("document.querySelectorAll('[inert]').length") == 0
    await expect(page.get_by_role("dialog")).to_have_count(0)  # page content, not a fake modal
    # The reader can leave: the navigation takes the keyboard and its links work.
    about = page.get_by_role("navigation", name="Main").get_by_role("link", name="About")
    await about.focus()
    await expect(about).to_be_focused()


@pytest.mark.parametrize("screen", [DESKTOP, PHONE], ids=lambda s: s.label)
@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: f"{s} colour scheme")
async def test_axe_core_finds_no_violation(
    scheme: Literal["light", "dark"],
    screen: Screen,
    axe: str,
    site: Site,
    chromium: Browser,
    contexts: list[BrowserContext],
) -> None:
    context = await blocked_reader(chromium, site, "extension", screen=screen, scheme=scheme)
    contexts.append(context)
    page = await open_message(context, site)
    violations = await run_axe(page)
    assert violations == [], report(violations, f"the wall inside the site ({scheme}, {screen.label})")


async def test_a_reader_who_is_not_walled_gets_the_whole_story(site: Site) -> None:
    async with httpx.AsyncClient() as client:
        url = site.base.replace("news.test", "127.0.0.1") + STORY
        response = await client.get(url, headers={"Accept": "text/html"})
    assert STORY_TEXT in response.text
