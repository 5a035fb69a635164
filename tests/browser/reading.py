"""A reader browsing a site, and what their browser holds of the server's conclusion: shared by the browser tests.

The server's conclusion is in its summary cookie (`names.companion`: "b", "n" or "u", then a time). The detector
tells the page it has finished with an event on `document` whose detail carries a verdict (the baits' echoes use
the same event name without one); it fires after the server answered its report, so once it has fired the server
knows everything this page view will tell it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Locator, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from adguard_mw import AdGuardMiddleware
from adguard_mw.names import Names

VERDICTS = {"b": "blocked", "n": "not_blocked", "u": "unknown"}
# How long a page view waits for its detector to finish before the next one. A blocked detector never finishes,
# and under no silence grace (as these tests run) the next page view may come at once; this only bounds that wait.
DETECTOR_WAIT_MS = 1500
# A clean reader's detector always finishes, and leaving before it reported would count the page as silent: tests
# of clean readers wait for it however slow the machine.
CLEAN_READER_WAIT_MS = 15_000


def detector_done_script(names: Names) -> str:
    """An init script that sets `window.__verdict` to the verdict the page's detector announced when it finished."""
    return (
        f"document.addEventListener({names.event!r}, e => {{"
        " if (e.detail && e.detail.verdict) window.__verdict = e.detail.verdict; });"
    )


def verdict_in(cookies: list[Any], names: Names, host: str | None = None) -> str:
    """The server's conclusion in the summary cookie ("blocked", "not_blocked", "unknown"), or "none"."""
    summary = {c["name"]: c["value"] for c in cookies if host is None or host.endswith(c["domain"].lstrip("."))}
    return VERDICTS.get(summary.get(names.companion, "")[:1], "none")


async def detector_finished(page: Page, timeout: float, gave_up: asyncio.Event | None = None) -> bool:
    """Waits until the page's detector has finished (see `detector_done_script`); False if it did not in time, or
    as soon as `gave_up` is set (its script or its report failed: it will never finish)."""
    finished = asyncio.ensure_future(page.wait_for_function("window.__verdict", timeout=timeout))
    waits = {finished, asyncio.ensure_future((gave_up or asyncio.Event()).wait())}
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in pending:
        wait.cancel()
    with contextlib.suppress(PlaywrightTimeoutError, PlaywrightError, asyncio.CancelledError):
        await asyncio.gather(*pending, return_exceptions=True)
        return finished in done and finished.exception() is None
    return False


async def browse(
    context: BrowserContext,
    base: str,
    names: Names,
    views: int = 3,
    tab: Page | None = None,
    detector_wait_ms: float = DETECTOR_WAIT_MS,
) -> tuple[str, str]:
    """Read `views` articles, each until its detector has finished (or `detector_wait_ms`, for a blocked one); return
    the server's verdict (its summary cookie) and the last page's text. Meant for sites run without a silence grace
    (`adguard_mw.pageview.SILENCE_GRACE = 0`), where a page view left unreported counts as silent at once."""
    tab = tab or await context.new_page()
    await tab.add_init_script(detector_done_script(names))
    # A detector whose script or report the blocker stopped never finishes: no need to wait it out.
    ours = {f"{names.prefix}/{names.script}", f"{names.prefix}/{names.beacon}"}
    gave_up = asyncio.Event()
    tab.on(
        "requestfailed",
        lambda request: (
            "BLOCKED_BY_CLIENT" in (request.failure or "") and urlsplit(request.url).path in ours and gave_up.set()
        ),
    )
    for view in range(views):
        gave_up.clear()
        await tab.goto(f"{base}/story-{view}")
        await detector_finished(tab, detector_wait_ms, gave_up)
    host = base.split("//")[1].split(":")[0]
    return verdict_in(await context.cookies(), names, host), await tab.inner_text("body")


async def read(page: Page, url: str, names: Names, timeout: float = 15_000) -> str:
    """Open a page and wait until its detector has finished (reported, or found nothing new to report); returns the
    verdict it announced."""
    await page.add_init_script(detector_done_script(names))
    await page.goto(url)
    verdict = await page.wait_for_function("window.__verdict", timeout=timeout)
    return str(await verdict.json_value())


def message_selector(names: Names) -> str:
    """The message (banner, dialog or wall) as the message script shows it."""
    return f".{names.css_class}[{names.data}]"


def message(page: Page, names: Names) -> Locator:
    return page.locator(message_selector(names))


def events(app: AdGuardMiddleware, log: Path) -> list[dict[str, Any]]:
    """Every event the app has written to its JSON-lines folder `log`, in order."""
    app.events.flush()
    return [json.loads(line) for file in sorted(log.glob("*/*.jsonl")) for line in file.read_text().splitlines()]
