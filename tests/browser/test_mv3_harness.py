"""Chromium's own blocking engine is real, and can fail: an MV3 extension's declarativeNetRequest rules at work.

One browser with the filters below serves every test of the module. The page is a bare shell with ``load()``,
which adds a script or image and tells whether it loaded; the server records every request it receives, so a
test can tell a request Chromium blocked (never arrived) from one the server refused (arrived, 404).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, Playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .conftest import Serve, _chromium_executable
from .mv3 import (
    ALLOW_PRIORITY,
    BLOCK_PRIORITY,
    EXTENSION_ID,
    READY_PROBE_URL,
    REDIRECT_PRIORITY,
    REMOVEPARAM_PRIORITY,
    STAND_INS,
    Mv3Log,
    Rule,
    build_extension,
    mv3_context,
    network_filters_to_dnr,
    set_request_header,
)

FILTERS = r"""
! A list maintainer's filters, as they would write them.
/js/adserver.js$script
/js/prebid-ads.js$script,redirect=noopjs
/img/ad-slot.gif$image,redirect=1x1.gif
/api/ad-config$xhr,redirect=noop.json
/js/ads-
@@/js/ads-allowed.js
/img/track.gif$image,domain=news.test
/api/collect$xhr,method=post
$removeparam=utm_source
/\/banner[0-9]+\.png/$image
||cdn.test^$script,third-party
@@||allowed.test^$document
"""

SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shell</title><link rel="icon" href="data:,">
<script>
window.ran = [];
window.load = (tag, src) => new Promise((resolve) => {
  const element = document.createElement(tag);
  element.onload = () => resolve("loaded");
  element.onerror = () => resolve("failed");
  element.src = src;
  document.body.append(element);
});
window.send = (url, method) => fetch(url, { method }).then((response) => response.text(), () => "failed");
</script></head><body></body></html>
"""

# A 1x1 transparent GIF, as a real site would serve.
PIXEL = STAND_INS["1x1.gif"]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    host: str
    path: str
    query: str
    headers: dict[str, str]


SEEN: list[Seen] = []


async def everything(request: Request) -> Response:
    path = request.url.path
    SEEN.append(
        Seen(request.method, request.url.hostname or "", path, request.url.query, dict(request.headers.items()))
    )
    if path in ("/", "/landing"):
        return HTMLResponse(SHELL)
    if path.endswith(".js"):
        return Response(f"window.ran.push({json.dumps(path)});", media_type="text/javascript")
    if path.endswith((".png", ".gif")) and "ad-slot" not in path:  # the ad slot only exists as a stand-in
        return Response(PIXEL, media_type="image/gif")
    if path.startswith("/api/"):
        return JSONResponse({"path": path, "query": request.url.query})
    return Response("not found", status_code=404)


app = Starlette(routes=[Route("/{path:path}", everything, methods=["GET", "POST"])])


def paths_seen(method: str = "GET") -> list[str]:
    return [seen.path for seen in SEEN if seen.method == method]


@pytest.fixture(scope="module")
def site(serve: Serve) -> str:
    return serve(app)


def on_host(site: str, host: str) -> str:
    """The same server under another *.test name (Chromium maps them all to 127.0.0.1)."""
    return f"http://{host}:{urlsplit(site).port}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def mv3(playwright: Playwright) -> AsyncIterator[BrowserContext]:
    executable = _chromium_executable()
    if executable is None:
        pytest.skip("no Chromium executable on PATH (looked for chromium, chromium-browser, google-chrome)")
    rules = [*network_filters_to_dnr(FILTERS), set_request_header("Sec-GPC", "1")]
    async with mv3_context(executable, rules, playwright=playwright) as context:
        yield context


@pytest.fixture(scope="module")
def log(mv3: BrowserContext) -> Mv3Log:
    log = Mv3Log()
    log.attach(mv3)
    return log


@pytest_asyncio.fixture(loop_scope="session")
async def page(mv3: BrowserContext, log: Mv3Log, site: str) -> AsyncIterator[Page]:
    page = await mv3.new_page()
    await page.goto(site + "/")
    SEEN.clear()
    log.clear()
    try:
        yield page
    finally:
        await page.close()


async def load(page: Page, tag: str, src: str) -> str:
    result: str = await page.evaluate("([tag, src]) => load(tag, src)", [tag, src])
    return result


# -- in the browser ------------------------------------------------------------------------------------------


async def test_a_blocked_script_never_leaves_the_browser(page: Page, log: Mv3Log, site: str) -> None:
    assert await load(page, "script", "/js/adserver.js") == "failed"
    assert await load(page, "script", "/js/site.js") == "loaded"
    assert await page.evaluate("window.ran") == ["/js/site.js"]
    assert paths_seen() == ["/js/site.js"]
    assert log.blocked == [site + "/js/adserver.js"]


async def test_a_redirect_serves_the_stand_in(page: Page, log: Mv3Log, site: str) -> None:
    # The script "loads" but is the extension's empty noop.js; the server never hears of it.
    assert await load(page, "script", "/js/prebid-ads.js") == "loaded"
    assert await page.evaluate("window.ran") == []
    # The server has no /img/ad-slot.gif at all: only the stand-in can make it load, 1 pixel wide.
    assert await load(page, "img", "/img/ad-slot.gif") == "loaded"
    assert await page.evaluate("document.querySelector('img').naturalWidth") == 1
    # fetch() gets the stand-in JSON too.
    assert await page.evaluate("send('/api/ad-config', 'GET')") == "{}"
    assert paths_seen() == []
    stand_ins = f"chrome-extension://{EXTENSION_ID}"
    assert log.redirected == {
        site + "/js/prebid-ads.js": stand_ins + "/noop.js",
        site + "/img/ad-slot.gif": stand_ins + "/1x1.gif",
        site + "/api/ad-config": stand_ins + "/noop.json",
    }
    assert log.blocked == []


async def test_an_exception_wins_over_the_block(page: Page) -> None:
    assert await load(page, "script", "/js/ads-banner.js") == "failed"
    assert await load(page, "script", "/js/ads-allowed.js") == "loaded"
    assert paths_seen() == ["/js/ads-allowed.js"]


async def test_domain_limits_the_rule_to_pages_of_that_site(page: Page, site: str) -> None:
    assert await load(page, "img", "/img/track.gif") == "failed"
    await page.goto(on_host(site, "blog.test") + "/")
    assert await load(page, "img", "/img/track.gif") == "loaded"
    assert [(seen.host, seen.path) for seen in SEEN] == [("blog.test", "/"), ("blog.test", "/img/track.gif")]


async def test_third_party_blocks_only_from_other_sites(page: Page, site: str) -> None:
    cdn = on_host(site, "cdn.test")
    assert await load(page, "script", cdn + "/js/widget.js") == "failed"
    await page.goto(cdn + "/")
    assert await load(page, "script", cdn + "/js/widget.js") == "loaded"


async def test_a_document_exception_turns_blocking_off_on_that_site(page: Page, log: Mv3Log, site: str) -> None:
    """The reader's "allow ads on this site": @@||allowed.test^$document (allowAllRequests)."""
    await page.goto(on_host(site, "allowed.test") + "/")
    assert await load(page, "script", "/js/adserver.js") == "loaded"
    assert await load(page, "img", "/img/banner728.png") == "loaded"
    assert log.blocked == []


async def test_method_post_blocks_the_post_not_the_get(page: Page) -> None:
    assert await page.evaluate("send('/api/collect', 'POST')") == "failed"
    assert json.loads(await page.evaluate("send('/api/collect', 'GET')"))["path"] == "/api/collect"
    assert paths_seen("POST") == []
    assert paths_seen("GET") == ["/api/collect"]


async def test_a_regex_filter_blocks_only_what_it_matches(page: Page) -> None:
    assert await load(page, "img", "/img/banner728.png") == "failed"
    assert await load(page, "img", "/img/banner.png") == "loaded"


async def test_removeparam_strips_the_parameter_before_the_server_sees_it(page: Page, log: Mv3Log, site: str) -> None:
    await page.goto(site + "/landing?utm_source=mail&id=7")
    assert page.url == site + "/landing?id=7"
    assert log.redirected == {site + "/landing?utm_source=mail&id=7": site + "/landing?id=7"}
    assert json.loads(await page.evaluate("send('/api/data?q=1&utm_source=x', 'GET')"))["query"] == "q=1"
    assert [(seen.path, seen.query) for seen in SEEN] == [("/landing", "id=7"), ("/api/data", "q=1")]


async def test_the_header_rule_reaches_every_request(page: Page, site: str) -> None:
    await page.goto(site + "/landing")
    assert await load(page, "script", "/js/site.js") == "loaded"
    assert [(seen.path, seen.headers.get("sec-gpc")) for seen in SEEN] == [("/landing", "1"), ("/js/site.js", "1")]


async def test_a_rule_chromium_refuses_is_reported_at_once(playwright: Playwright) -> None:
    executable = _chromium_executable()
    if executable is None:
        pytest.skip("no Chromium executable on PATH")
    refused: Rule = {"action": {"type": "block"}, "condition": {"regexFilter": "(?=lookahead)"}}
    with pytest.raises(RuntimeError, match="did not load the test extension"):
        async with mv3_context(executable, [refused], playwright=playwright):
            pass


# -- the converter, without a browser -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        (
            "||ads.test^",
            {"priority": BLOCK_PRIORITY, "action": {"type": "block"}, "condition": {"urlFilter": "||ads.test^"}},
        ),
        (
            "/js/ads.js$script,image,third-party",
            {
                "priority": BLOCK_PRIORITY,
                "action": {"type": "block"},
                "condition": {
                    "urlFilter": "/js/ads.js",
                    "resourceTypes": ["image", "script"],
                    "domainType": "thirdParty",
                },
            },
        ),
        (
            "@@||ads.test/ok.js$1p,domain=a.test|~b.test",
            {
                "priority": ALLOW_PRIORITY,
                "action": {"type": "allow"},
                "condition": {
                    "urlFilter": "||ads.test/ok.js",
                    "domainType": "firstParty",
                    "initiatorDomains": ["a.test"],
                    "excludedInitiatorDomains": ["b.test"],
                },
            },
        ),
        (
            "@@||news.test^$document",
            {
                "priority": ALLOW_PRIORITY,
                "action": {"type": "allowAllRequests"},
                "condition": {"urlFilter": "||news.test^", "resourceTypes": ["main_frame"]},
            },
        ),
        (
            r"/ads\d+\.js$/$~image,method=get|~post",
            {
                "priority": BLOCK_PRIORITY,
                "action": {"type": "block"},
                "condition": {
                    "regexFilter": r"ads\d+\.js$",
                    "excludedResourceTypes": ["image"],
                    "requestMethods": ["get"],
                    "excludedRequestMethods": ["post"],
                },
            },
        ),
        (
            "||ads.test/tag.js$xhr,redirect=noop.txt",
            {
                "priority": REDIRECT_PRIORITY,
                "action": {"type": "redirect", "redirect": {"extensionPath": "/noop.txt"}},
                "condition": {"urlFilter": "||ads.test/tag.js", "resourceTypes": ["xmlhttprequest"]},
            },
        ),
        (
            "||news.test^$removeparam=fbclid,ping,other",
            {
                "priority": REMOVEPARAM_PRIORITY,
                "action": {
                    "type": "redirect",
                    "redirect": {"transform": {"queryTransform": {"removeParams": ["fbclid"]}}},
                },
                "condition": {"urlFilter": "||news.test^", "resourceTypes": ["other", "ping"]},
            },
        ),
    ],
)
def test_filters_convert_to_rules(line: str, rule: Rule) -> None:
    assert network_filters_to_dnr(line, first_id=7) == [{"id": 7, **rule}]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("news.test##.ad-banner", "cosmetic"),
        ("||ads.test^$popup", "unsupported option 'popup'"),
        ("||ads.test^$redirect=prebid-ads.js", "no stand-in 'prebid-ads.js'"),
        ("@@||ads.test^$removeparam=utm_source", "unsupported option"),
        ("/ads(?!ok)/", "RE2"),
        ("||ads.test^$domain=ads.*", "not a plain ASCII domain"),
        ("||ads.test^$method=fetch", "unknown HTTP method"),
        ("||ads.test^$important,redirect=noopjs", "only applies to blocking filters"),
        ("||ads.test^$redirect=noopjs,removeparam=x", "one \\$redirect or \\$removeparam"),
        ("||\u0440\u0435\u043a\u043b\u0430\u043c\u0430.test^", "ASCII"),
    ],
)
def test_unsupported_filters_raise_naming_the_line(line: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as raised:
        network_filters_to_dnr(f"! fine\n||fine.test^\n{line}")
    assert repr(line) in str(raised.value)


def test_the_extension_numbers_unnumbered_rules_and_adds_the_probe(tmp_path: Path) -> None:
    rules = [*network_filters_to_dnr("||a.test^\n||b.test^"), set_request_header("Sec-GPC", "1")]
    extension = build_extension(tmp_path / "extension", rules)
    written = json.loads((extension / "rules.json").read_text())
    assert [rule["id"] for rule in written] == [1, 2, 3, 4]
    assert written[-1]["condition"]["requestDomains"] == [urlsplit(READY_PROBE_URL).hostname]
    manifest = json.loads((extension / "manifest.json").read_text())
    assert manifest["manifest_version"] == 3
    assert {path.name for path in extension.iterdir()} == {"manifest.json", "rules.json", *STAND_INS}
    with pytest.raises(ValueError, match=r"duplicate rule ids \[1\]"):
        build_extension(tmp_path / "again", [*rules[:2], *network_filters_to_dnr("||c.test^")])
    # Chromium would silently wrap this priority around to a low one.
    with pytest.raises(ValueError, match="priorities must be integers from 1 to"):
        build_extension(tmp_path / "wraps", [set_request_header("Sec-GPC", "1", priority=1 << 24)])
