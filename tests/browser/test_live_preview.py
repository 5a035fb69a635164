"""Preview on the real site, in Chromium: an editor with the token sees a real page in each mode; a reader without
it sees the page as always; nothing reaches the events sink (a JSON lines folder, read back here)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.async_api import BrowserContext, expect

from adguard_mw import AdGuardMiddleware, Policy
from adguard_mw.policy import Mode

from ..site import logged
from .conftest import Serve
from .test_accessibility import KEY, SITE_NAME, STORY, Site, riverside

TOKEN = "browser-preview-token-0123456789"
HEADLINE = "The old bridge reopens after two years of repairs"
MODES = [mode for mode in Mode if mode is not Mode.OBSERVE]


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("events")


@pytest.fixture(scope="module")
def site(serve: Serve, events: Path) -> Site:
    # observe: no reader is ever asked, so any message on screen is the preview's.
    app = AdGuardMiddleware(
        riverside(), secret_key=KEY, policy=Policy(mode=Mode.OBSERVE), site_name=SITE_NAME, preview_token=TOKEN,
        events=events,
    )  # fmt: skip
    return Site(app, serve(app))


def preview_url(site: Site, **query: str) -> str:
    return f"{site.base}{site.app.names.prefix}/{site.app.names.preview}?{urlencode(query)}"


def message(site: Site) -> str:
    return f".{site.app.names.css_class}[{site.app.names.data}]"


async def test_each_mode_on_a_real_page(site: Site, clean_context: BrowserContext) -> None:
    page = await clean_context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url.split("?")[0]))
    detector = f"{site.app.names.prefix}/{site.app.names.script}"
    for mode in MODES:
        response = await page.goto(preview_url(site, token=TOKEN, page=STORY, mode=mode.value))
        assert response is not None and response.status == 200 and page.url == site.base + STORY
        shown = page.locator(message(site))
        await expect(shown).to_be_visible()
        assert await shown.get_attribute(site.app.names.data) == mode.value
        assert TOKEN not in await page.content()
        if mode is Mode.HARD:
            await expect(page.get_by_role("heading", level=1)).to_be_focused()
            await expect(page.get_by_text("Engineers replaced the central arch")).to_have_count(0)
        else:
            await expect(page.get_by_role("heading", name=HEADLINE)).to_be_visible()  # the real page behind it
        if mode is Mode.SOFT:
            await expect(page.get_by_role("dialog")).to_be_visible()
        # It stays: no detector on the page to find this clean browser and take the message away.
        await page.wait_for_load_state("load")
        assert not [url for url in requested if url.endswith(detector)], "the preview page loaded the detector"
        await expect(shown).to_be_visible()
    # Following a link keeps the last preview (hard); ending it gives the page back.
    await page.goto(site.base + "/about")
    await expect(page.locator(message(site))).to_be_visible()
    await page.goto(preview_url(site, token=TOKEN, end="1", page=STORY))
    assert page.url == site.base + STORY
    await expect(page.get_by_role("heading", name=HEADLINE)).to_be_visible()
    await expect(page.locator(message(site))).to_have_count(0)


async def test_without_the_token_nothing_changes(site: Site, clean_context: BrowserContext) -> None:
    page = await clean_context.new_page()
    wrong = await page.goto(preview_url(site, token="not-the-token-0123456789", page=STORY, mode="hard"))
    assert wrong is not None and wrong.status == 403
    assert all(cookie["name"] != site.app.live_preview.cookie_name for cookie in await clean_context.cookies())
    await page.goto(site.base + STORY)
    await expect(page.get_by_role("heading", name=HEADLINE)).to_be_visible()
    await expect(page.locator(message(site))).to_have_count(0)  # served with the page, or not at all


async def test_no_event_is_written_while_previewing(site: Site, events: Path, clean_context: BrowserContext) -> None:
    page = await clean_context.new_page()
    before = len(logged(site.app, events))
    await page.goto(preview_url(site, token=TOKEN, page=STORY, mode="soft"))
    await expect(page.get_by_role("dialog")).to_be_visible()
    await page.get_by_role("button", name="Continue reading").last.click()  # the dismissal is answered, not kept
    await expect(page.get_by_role("dialog")).to_have_count(0)
    await page.goto(site.base + "/about")
    assert logged(site.app, events)[before:] == []
    # The sink works: the same browser, out of preview, is counted.
    await page.goto(preview_url(site, token=TOKEN, end="1", page=STORY))
    assert [event["event"] for event in logged(site.app, events)[before:]][:1] == ["page_view"]
