"""Pages under a strict Content-Security-Policy keep working in real Chromium, and their policy is left alone.

The site below sends a fresh nonce with every page. For each policy, a clean browser opens a page (the detector
must run and its verdict reach the server), then becomes a reader known to block (a beacon posted from the page,
as the detector would) and opens a page again (the soft dialog must appear). All the while every CSP violation is
collected, from `securitypolicyviolation` events and from Chromium's console: there must be none.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Page, expect
from playwright.async_api import Response as PlaywrightResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware
from adguard_mw.names import Names

from ..site import KEY
from .conftest import Serve

Policy = Callable[[str], str]  # the page's nonce -> its Content-Security-Policy

POLICIES: dict[str, Policy] = {
    "nonce + strict-dynamic": lambda nonce: (
        f"script-src 'nonce-{nonce}' 'strict-dynamic'; style-src 'self' 'nonce-{nonce}'; object-src 'none'; "
        "base-uri 'none'"
    ),
    "script-src 'self'": lambda nonce: "script-src 'self'; object-src 'none'; base-uri 'none'",
    "default-src 'self'": lambda nonce: "default-src 'self'",
}

WATCH_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + JSON.stringify({
    directive: event.violatedDirective, blocked: event.blockedURI, source: event.sourceFile, sample: event.sample,
  }));
});
"""


def strict_site(policy: Policy, issued: list[str]) -> Starlette:
    """A page whose own inline script and style carry the response's nonce, as a strict site's would."""

    async def article(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        csp = policy(nonce)
        issued.append(csp)
        inline = "'nonce-" in csp
        own_script = f'<script nonce="{nonce}">document.documentElement.dataset.own = "ran";</script>' if inline else ""
        own_style = f'<style nonce="{nonce}">article {{ margin: 1em; }}</style>' if inline else ""
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>Story</title>{own_style}</head>"
            f"<body><article>Text</article>{own_script}</body></html>"
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": csp})

    return Starlette(routes=[Route("/news/{slug}", article)])


async def open_page(page: Page, url: str, beacon: str) -> tuple[dict[str, str], dict[str, object]]:
    """Open a page and wait for its detector's report to be answered: (the page's headers, the verdict)."""
    async with page.expect_response(lambda r: r.url.endswith("/" + beacon), timeout=15_000) as answer:
        response = await page.goto(url)
    assert response is not None and response.status == 200
    reply = await answer.value
    return await response.all_headers(), await reply.json()


@pytest.mark.parametrize("name", list(POLICIES))
async def test_a_strict_policy_keeps_detection_and_the_message_working(
    name: str, serve: Serve, clean_context: BrowserContext
) -> None:
    issued: list[str] = []
    app = AdGuardMiddleware(strict_site(POLICIES[name], issued), secret_key=KEY, policy="soft")
    base = serve(app)
    beacon = f"{app.names.prefix}/{app.names.beacon}"
    page = await clean_context.new_page()
    errors: list[str] = []
    failed: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)  # CSP violations: ours, and Chromium's own "Refused to …" messages

    def on_response(response: PlaywrightResponse) -> None:
        if response.status >= 400:
            failed.append(urlsplit(response.url).path)

    page.on("console", on_console)
    page.on("response", on_response)
    await page.add_init_script(WATCH_VIOLATIONS)

    headers, verdict = await open_page(page, f"{base}/news/1", app.names.beacon)
    assert verdict["verdict"] == "not_blocked"  # the detector ran, probes and all, and reported
    assert headers["content-security-policy"] == issued[-1]  # the page's policy, exactly as the site sent it

    blocked = json.dumps({"signals": {"cosmetic": "blocked", "script": "blocked", "image": "blocked"}, "path": "/"})
    status = await page.evaluate(
        """([url, body]) => fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body,
                                        credentials: "same-origin"}).then((r) => r.status)""",
        [beacon, blocked],
    )
    assert status == 200

    # From here on this browser blocks the baits, so its own check keeps the message up (a clean check closes it).
    await clean_context.route(f"**{app.names.prefix}/{app.names.bait_dir}/**", lambda r: r.abort("blockedbyclient"))
    response = await page.goto(f"{base}/news/2")
    assert response is not None
    assert (await response.all_headers())["content-security-policy"] == issued[-1]
    dialog = page.locator(f".{app.names.css_class}[role=dialog]")
    await dialog.wait_for(state="visible", timeout=10_000)  # the message script ran and showed the dialog
    await expect(dialog.locator("h2")).to_be_visible()
    await expect(dialog).to_have_css("position", "fixed")  # its stylesheet applied too
    if "nonce" in name:
        assert await page.evaluate("document.documentElement.dataset.own") == "ran"
    await page.wait_for_timeout(1500)  # the detector's own checks on this page, under the same policy
    await page.close()
    assert errors == []
    assert set(failed) <= {"/favicon.ico"}  # the only failed request is the browser's own, for a missing icon


async def test_the_hard_wall_keeps_the_page_policy() -> None:
    issued: list[str] = []
    app = AdGuardMiddleware(strict_site(POLICIES["nonce + strict-dynamic"], issued), secret_key=KEY, policy="hard")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as c:
        await c.post(
            f"{app.names.prefix}/{app.names.beacon}",
            json={"signals": {"script": "blocked"}, "path": "/"},
            headers={"Origin": "http://news.test", "User-Agent": "Mozilla/5.0 Chrome/150"},
        )
        wall = await c.get("/news/1", headers={"User-Agent": "Mozilla/5.0 Chrome/150"})
    assert "<article>" not in wall.text  # the wall, not the page
    assert wall.headers.get("content-security-policy") == issued[-1]


async def test_under_trusted_types_the_detector_works_through_its_own_named_policy(
    serve: Serve, clean_context: BrowserContext
) -> None:
    """`require-trusted-types-for 'script'` with our policy allowed by name: the probes load, no violation."""
    tt = Names.derive(KEY).trusted_types

    def policy(nonce: str) -> str:
        return (
            f"script-src 'nonce-{nonce}' 'strict-dynamic'; require-trusted-types-for 'script'; trusted-types {tt}; "
            "object-src 'none'; base-uri 'none'"
        )

    app = AdGuardMiddleware(strict_site(policy, []), secret_key=KEY, policy="soft")
    assert app.names.trusted_types == tt
    base = serve(app, "trusted.test")
    page = await clean_context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")  # the favicon
            else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.add_init_script(WATCH_VIOLATIONS)
    _, verdict = await open_page(page, f"{base}/news/1", app.names.beacon)
    assert verdict["verdict"] == "not_blocked"  # every probe script loaded through the policy and echoed
    assert errors == []
