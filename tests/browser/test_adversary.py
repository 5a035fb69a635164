"""A list maintainer who has read this repository, and what their generic rules achieve: nothing.

`ADVERSARY` is what such a maintainer would add to a list after reading `static/detector.js`, `names.py` and
`endpoints.py`: rules that name no site, one family per weakness an open-source detector usually has. Each family is
loaded into Brave's engine (PyPI `adblock`) next to every real list uBlock Origin ships, in real Chromium, against
deployments with different secrets, one of them under the site's own asset folder (`path_prefix="/static/js"`),
in soft and hard mode. A blocking reader must still end up blocked and asked within three page views; a clean reader
with the same rules loaded (they block no ad) is never accused.

Where a family needs something the Brave engine does not run (scriptlets, request headers), the browser is set up
as the scriptlet or the extension would leave it; Chromium's own engine runs header rules in `test_mv3.py`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware, Policy

from .blocker import SKIP_REASON, Blocker, filterlists_dir, load_engine
from .conftest import Serve, patient
from .reading import CLEAN_READER_WAIT_MS, browse

STORY = "The river festival returns"
PAGE = (
    "<!doctype html><html><head><meta charset=utf-8><title>News</title>"
    '<script src="/static/js/site.js"></script></head>'
    f"<body><header>Masthead</header><main><article><h1>{STORY}</h1><p>Text.</p></article></main></body></html>"
)

# One family of generic rules per weakness; `{}` in none of them: they name no site and no deployment.
FAMILIES = {
    # Our names by shape: the detector in every file-name pattern we draw from, with a cache-busting parameter,
    # and the shape the first release used for every deployment ("/_" and three consonant-vowel syllables).
    "names by shape": (
        r"/\/[a-z0-9-]+(\.[0-9a-f]{8,20}(\.chunk)?|-[A-Za-z0-9_-]{8}|-[0-9a-f]{16}|\.min|\.bundle)?\.js\?"
        r"(v|ver|version|rev|h|hash|build|t|_|cb|vsn|r)=[0-9a-f.]{5,}$/$script,~third-party"
        "\n"
        r"/\/_[bdfgklmnprstvz][aeiou][bdfgklmnprstvz][aeiou][bdfgklmnprstvz][aeiou]\//$~third-party"
    ),
    # Borrow the guards: block the control (and every probe: a first-party request with a one-time value) for
    # every request type, fetch() included, hoping for "unknown".
    "guards borrowed": r"/\?[a-z_]{1,3}=[0-9a-z]{8,13}$/$~third-party",
    # Trust the answer: every extension-less or .json same-origin endpoint answered by a stand-in.
    "report answered by a stand-in": (
        r"/\/(api\/|v[1-3]\/)?[a-z]+(-[a-z]+)?(\/[a-z]+(-[a-z]+)?)?(\.json)?$/"
        r"$xmlhttprequest,~third-party,redirect=noop.json"
    ),
    # Hide the probes by their make-up (the control with them), hoping for "unknown".
    "probes hidden by shape": (
        '##body > [aria-hidden="true"][style*="position:absolute"]\n'
        '##body > [aria-hidden="true"][style*="position: absolute"]\n'
        '##[aria-hidden="true"][style*="-9999px"]'
    ),
    # Hide the message by the names the first release used for every site.
    "message hidden by its old names": '##[data-mode]\n##[data-action="dismiss"]',
}
ALL_FAMILIES = "\n".join(FAMILIES.values())


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


async def site_script(request: Request) -> Response:
    """The site's own file in the folder one deployment shares with us: it must keep working."""
    return Response("document.documentElement.dataset.site = 'ok';", media_type="text/javascript")


def deployment(secret: str, mode: str, **options: object) -> AdGuardMiddleware:
    """A site behind the middleware, whose probes are `patient`: the Brave engine decides in Python."""
    site = Starlette(routes=[Route("/static/js/site.js", site_script), Route("/{slug}", page)])
    with patient():
        return AdGuardMiddleware(site, secret_key=secret, policy=Policy(mode=mode), **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Site:
    name: str
    base: str
    app: AdGuardMiddleware


DEPLOYMENTS = {
    "first secret, soft": ("first-secret-0123456789abcdefghij", "soft", {}),
    "first secret, hard": ("first-secret-0123456789abcdefghij", "hard", {}),
    "second secret, soft": ("other-secret-zyxwvutsrqponmlkjihg", "soft", {}),
    "second secret, hard": ("other-secret-zyxwvutsrqponmlkjihg", "hard", {}),
    "own asset folder, soft": ("third-secret-aabbccddeeffgghhiijj", "soft", {"path_prefix": "/static/js"}),
    "own asset folder, hard": ("third-secret-aabbccddeeffgghhiijj", "hard", {"path_prefix": "/static/js"}),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sites(serve: Serve) -> AsyncIterator[dict[str, Site]]:
    import adguard_mw.pageview as pageview

    grace, pageview.SILENCE_GRACE = pageview.SILENCE_GRACE, 0  # an unreported page view is silent at once
    served = {}
    for number, (name, (secret, mode, options)) in enumerate(DEPLOYMENTS.items()):
        app = deployment(secret, mode, **options)
        served[name] = Site(name, serve(app, f"site{number}.test"), app)
    yield served
    pageview.SILENCE_GRACE = grace


def engine_with(rules: str) -> Blocker:
    lists = filterlists_dir()
    if lists is None:
        pytest.skip(SKIP_REASON)
    return Blocker(load_engine(lists, None, rules))


async def assert_asked(context: BrowserContext, site: Site) -> None:
    verdict, text = await browse(context, site.base, site.app.names)
    assert verdict == "blocked", site.name
    tab = context.pages[-1]
    if site.app.policy.mode.value == "hard":
        assert STORY not in text and "Masthead" not in text  # the wall replaced the page on the server
        await expect(tab.get_by_role("heading", level=1)).to_be_visible()
    else:
        await expect(tab.get_by_role("dialog")).to_be_visible(timeout=10_000)


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_no_family_of_generic_rules_leaves_a_blocking_reader_unasked(
    family: str, sites: dict[str, Site], chromium: Browser
) -> None:
    context = await chromium.new_context(service_workers="block")
    try:
        await engine_with(FAMILIES[family]).attach(context)
        await assert_asked(context, sites["first secret, soft"])
    finally:
        await context.close()


@pytest.mark.parametrize("name", list(DEPLOYMENTS))
async def test_every_family_at_once_on_every_deployment(name: str, sites: dict[str, Site], chromium: Browser) -> None:
    context = await chromium.new_context(service_workers="block")
    try:
        await engine_with(ALL_FAMILIES).attach(context)
        await assert_asked(context, sites[name])
    finally:
        await context.close()


async def test_pretending_global_privacy_control_in_the_page_changes_nothing(
    sites: dict[str, Site], chromium: Browser
) -> None:
    """A `set-constant` scriptlet making navigator.globalPrivacyControl true (the header half is in test_mv3.py)."""
    context = await chromium.new_context(service_workers="block")
    try:
        await context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {value: true});")
        await engine_with("").attach(context)
        await assert_asked(context, sites["second secret, hard"])
    finally:
        await context.close()


async def test_a_clean_reader_is_never_accused_and_the_sites_own_files_still_load(
    sites: dict[str, Site], chromium: Browser
) -> None:
    context = await chromium.new_context(service_workers="block")
    try:
        site = sites["own asset folder, hard"]
        verdict, text = await browse(context, site.base, site.app.names, detector_wait_ms=CLEAN_READER_WAIT_MS)
        assert verdict == "not_blocked" and STORY in text
        assert await context.pages[-1].evaluate("document.documentElement.dataset.site") == "ok"
    finally:
        await context.close()


# The shapes are shared with ordinary sites: the rule that matches every deployment's detector also matches
# the bundles of the most common pipelines, so a list that shipped it would break scripts all over the web.
ORDINARY_ASSETS = [
    "https://shop.example/static/js/main.3f2a9c1b.js?v=20240101",  # Create React App behind a CDN cache-buster
    "https://blog.example/wp-content/themes/x/js/theme.min.js?ver=6.4.2",  # WordPress
    "https://news.example/assets/index-BxK3_2aQ.js?v=1a2b3c4d",  # Vite
    "https://docs.example/_next/static/chunks/app-4f3e2a1b9c8d7e6f.js?h=abcdef12",  # Next.js
    "https://app.example/dist/vendor.bundle.js?t=1712345678",  # webpack
    "https://example.org/js/site.js?v=2.3.1",  # a hand-made site
]


def test_the_shape_rule_would_block_ordinary_sites_scripts() -> None:
    lists = filterlists_dir()
    if lists is None:
        pytest.skip(SKIP_REASON)
    rule = FAMILIES["names by shape"].splitlines()[0]
    blocker = Blocker(load_engine(lists, (), rule))
    hits = [
        url for url in ORDINARY_ASSETS if blocker.check(url, url.rsplit("/", 1)[0] + "/", "script").action == "blocked"
    ]
    assert len(hits) >= len(ORDINARY_ASSETS) - 1, hits


def test_every_deployments_detector_url_is_matched_by_the_shape_rule() -> None:
    """The rule is a fair attempt: it does cover our detector on every deployment (and so every site above)."""
    pattern = re.compile(FAMILIES["names by shape"].splitlines()[0].split("/$")[0][1:])
    for number in range(200):
        app = deployment(f"deployment-{number:03d}-abcdefghijklmnopqrstuv", "soft")
        url = f"https://site.example{app.names.prefix}/{app.names.script}?{app.names.version(app.assets.detector.version)}"
        assert pattern.search(url), url


@dataclass
class Recorded:
    events: list[dict[str, object]]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def soft_site(serve: Serve) -> AsyncIterator[tuple[Site, Recorded]]:
    recorded = Recorded([])
    app = deployment("fourth-secret-0123456789abcdefghij", "soft", events=recorded.events.append)
    yield Site("soft, with events", serve(app, "dialog.test"), app), recorded


async def blocked_reader(chromium: Browser, site: Site, rules: str = "") -> BrowserContext:
    """A reader the server knows as blocked (a real report from a blocking browser), whose filters add `rules`."""
    context = await chromium.new_context(service_workers="block")
    await engine_with(rules).attach(context)
    tab = await context.new_page()
    async with tab.expect_response(lambda r: r.url.endswith("/" + site.app.names.beacon), timeout=15_000):
        await tab.goto(f"{site.base}/first")
    await tab.close()
    return context


@pytest.mark.parametrize(
    "how",
    ["a cosmetic rule on its structure", "a script removing it"],
)
async def test_a_hidden_or_removed_dialog_gives_the_page_back_and_is_not_counted_as_seen(
    how: str, soft_site: tuple[Site, Recorded], chromium: Browser
) -> None:
    site, recorded = soft_site
    rules = '##[role="dialog"][aria-modal="true"]' if how.startswith("a cosmetic") else ""
    context = await blocked_reader(chromium, site, rules)
    try:
        if how == "a script removing it":  # as a procedural filter's :remove() would, a moment after it appears
            await context.add_init_script(
                "new MutationObserver(() => document.querySelectorAll('[role=dialog]').forEach(e => e.remove()))"
                ".observe(document, {childList: true, subtree: true});"
            )
        recorded.events.clear()
        tab = await context.new_page()
        await tab.goto(f"{site.base}/second")
        await tab.wait_for_timeout(2500)  # longer than the message script waits before it confirms
        await expect(tab.get_by_role("dialog")).to_have_count(0)
        assert await tab.evaluate("document.querySelectorAll('[inert]').length") == 0  # nothing left inert
        assert await tab.evaluate("document.documentElement.className") == ""  # scrolling not locked
        await tab.get_by_role("heading", name=STORY).click()  # the page behind answers clicks
        site.app.events.flush()
        served = [e for e in recorded.events if e["event"] == "message_served"]
        shown = [e for e in recorded.events if e["event"] == "message_shown"]
        assert len(served) == 1 and shown == []
    finally:
        await context.close()


async def test_a_dialog_left_on_screen_is_confirmed_as_seen(
    soft_site: tuple[Site, Recorded], chromium: Browser
) -> None:
    site, recorded = soft_site
    context = await blocked_reader(chromium, site)
    try:
        recorded.events.clear()
        tab = await context.new_page()
        async with tab.expect_response(lambda r: r.url.endswith("/" + site.app.names.seen), timeout=15_000):
            await tab.goto(f"{site.base}/second")
            await expect(tab.get_by_role("dialog")).to_be_visible()
        site.app.events.flush()
        assert [e["event"] for e in recorded.events if e["event"].startswith("message_")] == [
            "message_served",
            "message_shown",
        ]
    finally:
        await context.close()
