"""Chromium's own blocking engine (an MV3 extension's declarativeNetRequest rules) against the detector.

The extension carries EasyList's network rules (as many as declarativeNetRequest can express) and, per test, a
family of generic rules a list maintainer could add after reading our source, using what MV3 engines can do and
Brave's engine in `test_adversary.py` cannot: add request headers (`Sec-GPC: 1`, as Brave sends it), strip query
parameters (`$removeparam`) and answer only POST requests with a stand-in (`$method=post`). A blocking reader must
end up blocked and asked within three page views; a clean reader with the same GPC header is never accused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, Playwright, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware, Policy
from adguard_mw.names import _TOKEN_PARAMS

from .blocker import SKIP_REASON, filterlists_dir
from .conftest import Serve, _chromium_executable
from .mv3 import Rule, mv3_context, network_filters_to_dnr, set_request_header
from .reading import CLEAN_READER_WAIT_MS, browse

STORY = "The river festival returns"
PAGE = (
    "<!doctype html><html><head><meta charset=utf-8><title>News</title></head>"
    f"<body><main><article><h1>{STORY}</h1></article></main></body></html>"
)
MAX_RULES, MAX_REGEX = 25_000, 900  # declarativeNetRequest's guaranteed static rules and regex rules, with room

FAMILIES = {
    # Brave's default: it sends Global Privacy Control with every request, and the page says so too.
    "Global Privacy Control sent with every request": [set_request_header("Sec-GPC", "1")],
    # Strip every parameter name our probes' one-time value may have, on every first-party script and image.
    "one-time values stripped": network_filters_to_dnr(
        "\n".join(f"*$script,image,~third-party,removeparam={name}" for name in _TOKEN_PARAMS)
    ),
    # Answer every same-origin POST with a stand-in: the report "goes through" and nothing reaches the server.
    "every POST answered by a stand-in": network_filters_to_dnr(
        "*$xmlhttprequest,method=post,~third-party,redirect=noop.json"
    ),
}


def easylist_rules() -> list[Rule]:
    """EasyList's generic network filters (those that act on any site's own paths, not on ad hosts) that
    declarativeNetRequest can express, within its limits. Host rules (`||adserver.example^`) never touch a
    first-party page and would only slow the extension's start."""
    lists = filterlists_dir()
    if lists is None:
        pytest.skip(SKIP_REASON)
    rules: list[Rule] = []
    regexes = 0
    for line in (lists / "easylist.txt").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith(("!", "[", "||", "@@||")) or "#" in line.split("$")[0]:
            continue  # comments, cosmetic filters and host rules
        try:
            (rule,) = network_filters_to_dnr(line, first_id=len(rules) + 1)
        except ValueError:
            continue  # syntax MV3 cannot express (uBlock-only options, look-arounds, entity domains)
        if "regexFilter" in rule["condition"]:
            if regexes >= MAX_REGEX:
                continue
            regexes += 1
        rules.append(rule)
        if len(rules) >= MAX_RULES:
            break
    return rules


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


@dataclass(frozen=True)
class Site:
    base: str
    app: AdGuardMiddleware


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sites(serve: Serve) -> AsyncIterator[dict[str, Site]]:
    import adguard_mw.pageview as pageview

    grace, pageview.SILENCE_GRACE = pageview.SILENCE_GRACE, 0  # an unreported page view is silent at once
    made = {}
    for number, (mode, options) in enumerate((("soft", {}), ("hard", {"path_prefix": "/static/js"}))):
        site = Starlette(routes=[Route("/{slug}", page)])
        app = AdGuardMiddleware(
            site, secret_key=f"mv3-secret-{number}-0123456789abcdefghij", policy=Policy(mode=mode), **options
        )  # type: ignore[arg-type]
        made[mode] = Site(serve(app, f"mv3-{mode}.test"), app)
    yield made
    pageview.SILENCE_GRACE = grace


@pytest.fixture(scope="module")
def easylist() -> list[Rule]:
    return easylist_rules()


def executable() -> str:
    found = _chromium_executable()
    if found is None:
        pytest.skip("no Chromium executable on PATH")
    return found


def first_tab(context: BrowserContext) -> Page | None:
    """The tab a persistent context opens with, where there is one."""
    return context.pages[0] if context.pages else None


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("mode", ["soft", "hard"])
async def test_chromiums_engine_with_easylist_and_each_family_still_asks(
    family: str, mode: str, sites: dict[str, Site], easylist: list[Rule], playwright: Playwright
) -> None:
    extra = [{key: value for key, value in rule.items() if key != "id"} for rule in FAMILIES[family]]  # renumbered
    async with mv3_context(executable(), [*easylist, *extra], playwright=playwright) as context:
        await context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {value: true});")
        verdict, text = await browse(context, sites[mode].base, sites[mode].app.names, tab=first_tab(context))
        assert verdict == "blocked"
        if mode == "hard":
            assert STORY not in text
        else:
            await expect(context.pages[0].get_by_role("dialog")).to_be_visible(timeout=10_000)


async def test_a_clean_reader_sending_global_privacy_control_is_never_accused(
    sites: dict[str, Site], playwright: Playwright
) -> None:
    gpc = FAMILIES["Global Privacy Control sent with every request"]
    async with mv3_context(executable(), gpc, playwright=playwright) as context:
        site, tab = sites["hard"], first_tab(context)
        verdict, text = await browse(context, site.base, site.app.names, tab=tab, detector_wait_ms=CLEAN_READER_WAIT_MS)
        assert verdict == "not_blocked" and STORY in text
