"""The navigation endpoint: a client-side route change is a page view, counted and decided by the server.

The browser side (the History API, showing the answer, a blocked request) is in tests/browser/test_spa.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request

from adguard_mw import AdGuardMiddleware, Policy

from .site import CHROME, SAME_ORIGIN, client, logged, own_url, report, wrapped

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


async def navigate(
    c: httpx.AsyncClient, app: AdGuardMiddleware, path: str, *, n: str = "abc123def", **extra: Any
) -> httpx.Response:
    body = {"path": path, "n": n, **extra}
    return await c.post(own_url(app, app.names.navigate), json=body, headers=SAME_ORIGIN)


async def test_each_navigation_is_a_page_view_and_the_meter_runs_out_at_the_right_one(tmp_path: Path) -> None:
    app = wrapped(policy=Policy(mode="soft", free_page_views=2), events=tmp_path)  # type: ignore[arg-type]
    async with client(app) as c:
        await report(c, app, "blocked")
        answers = [await navigate(c, app, f"/news/{i}") for i in range(1, 5)]
    assert [a.json()["show"] for a in answers] == [None, None, "soft", "soft"]
    assert [a.json()["verdict"] for a in answers] == ["blocked"] * 4
    assert ["set-cookie" in a.headers for a in answers] == [True, True, False, False]  # the meter, in the cookie
    assert all(a.headers["cache-control"] == "no-store" for a in answers)
    views = [e for e in logged(app, tmp_path) if e["event"] == "page_view"]
    assert [v["path"] for v in views] == ["/news/1", "/news/2", "/news/3", "/news/4"]
    served = [e for e in logged(app, tmp_path) if e["event"] == "message_served"]
    assert [e["path"] for e in served] == ["/news/3", "/news/4"]


async def test_the_answer_echoes_the_one_time_value_and_carries_the_message() -> None:
    app = wrapped(policy="soft")
    async with client(app) as c:
        await report(c, app, "blocked")
        answer = (await navigate(c, app, "/news/2", n="z9y8x7w6")).json()
    assert answer["n"] == "z9y8x7w6"  # a blocker's stand-in answer cannot
    assert answer["kind"] == "extension"
    assert f'class="{app.names.css_class} {app.names.css_class}-soft"' in answer["html"]
    assert 'role="dialog"' in answer["html"]
    assert answer["style"].startswith(own_url(app, app.names.stylesheet) + "?")


async def test_the_hard_wall_comes_as_a_layer_over_the_page(tmp_path: Path) -> None:
    app = wrapped(policy="hard", events=tmp_path)
    async with client(app) as c:
        await report(c, app, "blocked")
        answer = (await navigate(c, app, "/news/2")).json()
    assert answer["show"] == "hard"
    assert answer["html"].lstrip().startswith(f'<div class="{app.names.css_class}-page {app.names.css_class}-layer">')
    shown = [e for e in logged(app, tmp_path) if e["event"] == "message_shown"]
    assert [(e["path"], e["mode"]) for e in shown] == [("/news/2", "hard")]


async def test_a_clean_reader_and_a_new_one_are_never_asked() -> None:
    app = wrapped(policy="hard")
    async with client(app) as c:
        assert (await navigate(c, app, "/news/1")).json()["show"] is None  # no verdict yet
        await report(c, app, "not_blocked")
        answer = (await navigate(c, app, "/news/2")).json()
    assert answer["show"] is None and answer["verdict"] == "not_blocked" and "html" not in answer


async def test_the_same_rules_as_a_full_load_paths_crawlers_and_the_exempt_hook(tmp_path: Path) -> None:
    seen: list[str] = []

    async def subscribers(request: Request) -> bool:
        seen.append(request.url.path)
        return request.cookies.get("plan") == "paid"

    policy = Policy(mode="hard", exclude=("/about",), exempt=subscribers)
    app = wrapped(policy=policy, events=tmp_path)  # type: ignore[arg-type]
    async with client(app) as c:
        await report(c, app, "blocked")
        assert (await navigate(c, app, "/about")).json()["show"] is None
        c.cookies.set("plan", "paid")
        assert (await navigate(c, app, "/news/1")).json()["show"] is None
        c.cookies.set("plan", "free")
        assert (await navigate(c, app, "/news/1")).json()["show"] == "hard"
        crawler = {**SAME_ORIGIN, "User-Agent": GOOGLEBOT}
        body = {"path": "/news/1", "n": "abc123def"}
        answer = await c.post(own_url(app, app.names.navigate), json=body, headers=crawler)
        assert answer.json()["show"] is None
    assert seen == ["/news/1", "/news/1"]  # the hook sees the page's path, as on a full load
    assert [e["reason"] for e in logged(app, tmp_path) if e["event"] == "exempted"] == ["hook", "crawler"]


async def test_asking_again_counts_no_view_and_lets_a_subscriber_through(tmp_path: Path) -> None:
    async def subscribers(request: Request) -> bool:
        return request.cookies.get("plan") == "paid"

    policy = Policy(mode="soft", free_page_views=1, exempt=subscribers)
    app = wrapped(policy=policy, events=tmp_path)  # type: ignore[arg-type]
    async with client(app) as c:
        await report(c, app, "blocked")
        asked = [await navigate(c, app, "/news/1", again=True) for _ in range(3)]
        assert [a.json()["show"] for a in asked] == [None, None, None]  # the free view is still there
        assert not any("set-cookie" in a.headers for a in asked)
        assert (await navigate(c, app, "/news/1")).json()["show"] is None  # now it is used
        assert (await navigate(c, app, "/news/1", again=True)).json()["show"] == "soft"
        c.cookies.set("plan", "paid")  # the reader logged in on the page: the server asks the site's hook
        assert (await navigate(c, app, "/news/1", again=True)).json()["show"] is None
    assert len([e for e in logged(app, tmp_path) if e["event"] == "page_view"]) == 1


async def test_navigations_count_toward_a_silent_detector(monkeypatch: Any) -> None:
    monkeypatch.setattr("adguard_mw.pageview.SILENCE_GRACE", 0)
    app = wrapped(policy="soft")
    async with client(app) as c:
        await c.get("/news/1", headers={"Sec-Fetch-Dest": "document"})  # a report is now due
        answers = [await navigate(c, app, f"/news/{i}") for i in (2, 3)]
    # The beacon never came: the page views made client-side count like full loads.
    assert [a.json()["verdict"] for a in answers] == [None, "blocked"]


async def test_a_site_that_renders_its_own_message_gets_the_decision_without_markup() -> None:
    app = wrapped(policy="soft", render_message="site")
    async with client(app) as c:
        await report(c, app, "blocked")
        answer = (await navigate(c, app, "/news/2")).json()
        page = await c.get("/news/3")
    assert answer["show"] == "soft" and "html" not in answer
    assert 'role="dialog"' not in page.text and "<article>" in page.text


async def test_bad_requests_get_a_clear_4xx_and_change_nothing() -> None:
    app = wrapped(policy="soft")
    url = own_url(app, app.names.navigate)
    async with client(app) as c:
        await report(c, app, "blocked")
        for body in (
            {"path": "https://evil.example/", "n": "abc123def"},
            {"path": "/news/1"},
            {"path": "/news/1", "n": "<script>"},
            {"path": "/news/1", "n": "abc123def", "again": "yes"},
            {"path": "/news/1", "n": "abc123def", "views": 0},
        ):
            answer = await c.post(url, json=body, headers=SAME_ORIGIN)
            assert answer.status_code == 400 and "expected" in answer.text and "set-cookie" not in answer.headers
        cross = await c.post(url, json={"path": "/", "n": "abc123def"}, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403
        assert (await c.get(url)).status_code == 405


async def test_no_beacon_no_navigation_endpoint() -> None:
    app = wrapped(policy="soft", beacon=False, silent_detector="unknown")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://news.test", headers={"User-Agent": CHROME}
    ) as c:
        answer = await c.post(own_url(app, app.names.navigate), json={"path": "/", "n": "abc123def"})
    assert answer.status_code != 200


def test_the_render_message_option_says_what_is_wrong() -> None:
    import pytest

    with pytest.raises(ValueError, match="render_message must be 'ours'"):
        wrapped(render_message="theirs")


async def test_the_site_learns_the_page_api_name_from_the_request() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from adguard_mw import page_api_name

    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(page_api_name(request)))

    app = AdGuardMiddleware(Starlette(routes=[Route("/", page)]), secret_key="k" * 32)
    async with client(app) as c:
        assert (await c.get("/")).text == app.page_api_name == app.names.event
    assert page_api_name({"type": "http"}) is None  # not through the middleware
