"""A mount point the reader controls, in real Chromium: what it says is a path, never markup.

Under `Mount("/{lang}", app=AdGuardMiddleware(...))` the first segment of the URL is the app's `root_path`, and we
write it into the detector's `<script src>`, the wall's links and the "check again" form. A segment that closes the
attribute and adds `onload` must stay part of a URL, and the URLs built from it must still reach us.
"""

from __future__ import annotations

import time

from playwright.async_api import BrowserContext
from starlette.applications import Starlette
from starlette.routing import Mount

from adguard_mw import AdGuardMiddleware
from adguard_mw.state import Verdict, VisitorState, new_visitor_id

from ..site import KEY, bare_site
from .conftest import Serve

ATTACK = "/x%22%20onload=%22document.title=%27PWNED%27%22"  # x" onload="document.title='PWNED'"
ATTACK_TAG = "/x%27%22%3E%3Cimg%20src=x%20onerror=document.title=%22PWNED%22%3E"  # x'"><img src=x onerror=…>


def mounted(policy: str) -> tuple[Starlette, AdGuardMiddleware]:
    middleware = AdGuardMiddleware(bare_site(), secret_key=KEY, policy=policy, silent_detector="blocked")
    return Starlette(routes=[Mount("/{lang}", app=middleware)]), middleware


def blocked_cookie(middleware: AdGuardMiddleware) -> str:
    state = VisitorState(new_visitor_id(), verdict=Verdict.BLOCKED, kind="extension", checked_at=int(time.time()))
    header = middleware.cookie.set_cookie_header(state, https=False)[1].decode()
    return header.split(";", 1)[0].split("=", 1)[1]


async def test_a_hostile_mount_point_runs_no_script_and_the_detector_still_reports(
    serve: Serve, clean_context: BrowserContext
) -> None:
    site, middleware = mounted("observe")
    base = serve(site)
    page = await clean_context.new_page()
    for attack in (ATTACK, ATTACK_TAG):
        await clean_context.clear_cookies()  # a new reader each time: the detector reports once per verdict
        async with page.expect_response(lambda r: r.url.endswith("/" + middleware.names.beacon)) as answer:
            response = await page.goto(f"{base}{attack}/news/1")
        assert response is not None and response.status == 200
        reply = await answer.value
        assert reply.status == 200 and (await reply.json())["verdict"] == "not_blocked"  # loaded from the mount
        await page.wait_for_load_state("load")
        assert await page.title() == "Story"
        assert await page.evaluate("document.querySelectorAll('[onload], [onerror]').length") == 0
    await page.close()


async def test_the_hard_wall_under_a_hostile_mount_point_runs_no_script(
    serve: Serve, clean_context: BrowserContext
) -> None:
    site, middleware = mounted("hard")
    base = serve(site)
    host = base.split("://", 1)[1].split(":", 1)[0]
    await clean_context.add_cookies(
        [{"name": middleware.names.cookie, "value": blocked_cookie(middleware), "domain": host, "path": "/"}]
    )
    # The reader keeps blocking (the baits fail, as with a blocker), so the detector confirms the wall instead of
    # giving the page back while the test reads it: on a loaded machine it could finish first (seen under load).
    names = middleware.names
    await clean_context.route(f"**{names.prefix}/{names.bait_dir}/**", lambda route: route.abort("blockedbyclient"))
    page = await clean_context.new_page()
    statuses: dict[str, int] = {}
    page.on("response", lambda r: statuses.__setitem__(r.url.split("?", 1)[0].rsplit("/", 1)[-1], r.status))
    response = await page.goto(f"{base}{ATTACK}/news/1")
    assert response is not None and response.status == 200
    await page.wait_for_load_state("load")
    assert await page.title() != "PWNED" and "support" in (await page.title()).lower()
    assert await page.evaluate("document.querySelectorAll('[onload]').length") == 0
    # The detector loads from under the mount point; the wall's style and script come inline with it.
    assert statuses.get(names.script.rsplit("/", 1)[-1]) == 200, f"the detector did not load: {statuses}"
    variable = f"--{names.css_class}-page"  # set only by our stylesheet: it applied, though it came inline
    assert await page.evaluate("v => getComputedStyle(document.body).getPropertyValue(v)", variable) != ""
    action = await page.get_attribute("form[method=post]", "action")
    assert action is not None and action.startswith("/x%22%20onload%3D%22")  # a URL, still under the mount
    await page.close()
