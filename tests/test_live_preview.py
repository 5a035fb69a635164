"""An editor with the preview token sees any page of the site as a blocked reader would; nobody else sees a thing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware, Message, Messages, Policy
from adguard_mw.live_preview import PREVIEW_SECONDS
from adguard_mw.policy import Mode, Variant

from .site import CHROME, KEY, ORIGIN, PAGE, SAME_ORIGIN, logged, own_url

TOKEN = "preview-token-0123456789abcdef"
GERMAN = Message(title="Bitte unterstützen Sie uns")
seen_by_app: list[dict[str, Any]] = []


async def article(request: Request) -> Response:
    seen_by_app.append({"query": request.url.query, "if-none-match": request.headers.get("if-none-match")})
    return HTMLResponse(PAGE, headers={"Cache-Control": "public, max-age=600", "ETag": '"v1"'})


def site(tmp_path: Path, **options: Any) -> AdGuardMiddleware:
    app = Starlette(routes=[Route("/news/{slug}", article)])
    options.setdefault("policy", Policy(mode=Mode.OBSERVE, variants=(Variant("calm"), Variant("firm"))))
    return AdGuardMiddleware(
        app,
        secret_key=KEY,
        preview_token=TOKEN,
        events=tmp_path / "events",
        message=Messages({"en": Message(), "de": GERMAN}),
        **options,
    )


def editor(app: AdGuardMiddleware) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=ORIGIN,
        headers={"User-Agent": CHROME, "Accept": "text/html"},
    )


async def start_preview(c: httpx.AsyncClient, app: AdGuardMiddleware, **query: str) -> httpx.Response:
    params = {"token": TOKEN, "page": "/news/1", **query}
    return await c.get(own_url(app, app.names.preview), params=params)


class TestStartingAPreview:
    async def test_the_token_buys_a_short_signed_cookie_and_a_clean_redirect(self, tmp_path: Path) -> None:
        app = site(tmp_path)
        async with editor(app) as c:
            response = await start_preview(c, app, mode="soft")
        assert response.status_code == 303 and response.headers["location"] == "/news/1"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(app.live_preview.cookie_name + "=") and TOKEN not in cookie
        assert f"Max-Age={PREVIEW_SECONDS}" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert response.headers["cache-control"] == "no-store"

    @pytest.mark.parametrize(
        ("query", "status", "says"),
        [
            ({"token": "wrong-token-0123456789abcdef"}, 403, "preview token"),
            ({"mode": "loud"}, 400, "mode must be one of notice, instructions, soft, hard"),
            ({"kind": "dns"}, 400, "kind must be extension or network"),
            ({"variant": "bold"}, 400, "variant must be one of: calm, firm"),
            ({"locale": "fr"}, 400, "locale must be one of: en, de"),
            ({"page": "//evil.example/x"}, 400, "page must be a path on this site"),
            ({"page": "https://evil.example/"}, 400, "page must be a path on this site"),
        ],
    )
    async def test_anything_wrong_is_a_clear_4xx_and_sets_nothing(
        self, tmp_path: Path, query: dict[str, str], status: int, says: str
    ) -> None:
        app = site(tmp_path)
        async with editor(app) as c:
            response = await start_preview(c, app, **query)
        assert response.status_code == status and says in response.text
        assert "set-cookie" not in response.headers

    async def test_without_a_configured_token_there_is_no_preview(self, tmp_path: Path) -> None:
        app = AdGuardMiddleware(Starlette(routes=[Route("/news/{slug}", article)]), secret_key=KEY)
        async with editor(app) as c:
            response = await c.get(own_url(app, app.names.preview), params={"token": TOKEN, "page": "/news/1"})
        assert response.status_code == 404 and "set-cookie" not in response.headers


class TestThePreviewedPage:
    @pytest.mark.parametrize("mode", ["notice", "instructions", "soft"])
    async def test_a_banner_or_dialog_is_on_the_page_and_nothing_is_kept(self, tmp_path: Path, mode: str) -> None:
        app = site(tmp_path)
        seen_by_app.clear()
        async with editor(app) as c:
            await start_preview(c, app, mode=mode)
            response = await c.get("/news/1", headers={"If-None-Match": 'W/"whatever"', "If-Modified-Since": "x"})
        assert response.status_code == 200
        assert f'{app.names.data}="{mode}"' in response.text and "<article>Text</article>" in response.text
        assert response.headers["cache-control"] == "no-store" and response.headers["x-robots-tag"] == "noindex"
        assert "etag" not in response.headers and "set-cookie" not in response.headers
        assert f"{app.names.prefix}/{app.names.script}" not in response.text  # no detector
        assert TOKEN not in response.text
        assert seen_by_app == [{"query": "", "if-none-match": None}]  # a clean URL, no conditional request

    async def test_hard_is_the_wall_and_kind_locale_variant_are_the_editor_s(self, tmp_path: Path) -> None:
        app = site(tmp_path)
        async with editor(app) as c:
            await start_preview(c, app, mode="hard", kind="network", locale="de", variant="firm")
            response = await c.get("/news/1")
        assert "Bitte unterstützen Sie uns" in response.text and '<html lang="de"' in response.text
        assert "<article>Text</article>" not in response.text
        assert response.headers["cache-control"] == "no-store" and response.headers["x-robots-tag"] == "noindex"

    async def test_a_hard_wall_with_a_story_selector_keeps_the_site(self, tmp_path: Path) -> None:
        app = site(tmp_path, paywall_selector="article")
        async with editor(app) as c:
            await start_preview(c, app, mode="hard")
            response = await c.get("/news/1")
        assert "<title>Story</title>" in response.text and "<article>Text</article>" not in response.text
        assert f'{app.names.data}="hard"' in response.text

    async def test_following_links_keeps_the_preview(self, tmp_path: Path) -> None:
        app = site(tmp_path)
        async with editor(app) as c:
            await start_preview(c, app, mode="soft")
            pages = [await c.get(f"/news/{n}") for n in (2, 3)]
        assert all(f'{app.names.data}="soft"' in page.text for page in pages)

    async def test_nothing_is_recorded(self, tmp_path: Path) -> None:
        app = site(tmp_path, policy="soft")
        async with editor(app) as c:
            await start_preview(c, app, mode="soft")
            await c.get("/news/1")
            for name in (app.names.seen, app.names.dismiss):
                posted = await c.post(own_url(app, name), json={"path": "/news/1", "mode": "soft"}, headers=SAME_ORIGIN)
                assert posted.status_code == 204 and "set-cookie" not in posted.headers
        assert logged(app, tmp_path / "events") == []

    async def test_end_clears_the_cookie(self, tmp_path: Path) -> None:
        app = site(tmp_path)
        async with editor(app) as c:
            await start_preview(c, app, mode="soft")
            ended = await c.get(own_url(app, app.names.preview), params={"token": TOKEN, "end": "1", "page": "/news/1"})
            assert ended.status_code == 303 and "Max-Age=0" in ended.headers["set-cookie"]
            response = await c.get("/news/1")
        assert f"{app.names.data}=" not in response.text and app.names.script in response.text  # a reader's page


class TestEveryoneElse:
    async def test_a_reader_without_the_cookie_gets_the_page_as_always(self, tmp_path: Path) -> None:
        app = site(tmp_path)
        async with editor(app) as c:
            response = await c.get("/news/1")
        assert f"{app.names.data}=" not in response.text and app.names.script in response.text  # a reader's page
        assert "x-robots-tag" not in response.headers and response.headers["cache-control"] != "no-store"

    async def test_a_forged_or_foreign_cookie_is_ignored(self, tmp_path: Path) -> None:
        app = site(tmp_path)
        async with editor(app) as c:
            await start_preview(c, app, mode="soft")
            value = c.cookies[app.live_preview.cookie_name]
        rotated = AdGuardMiddleware(
            Starlette(routes=[Route("/news/{slug}", article)]), secret_key=KEY, preview_token="a-new-token-0123456789"
        )
        for app_, cookie in ((app, value[:-3] + "AAA"), (rotated, value)):  # tampered; made with an older token
            async with editor(app_) as c:
                c.cookies.set(app_.live_preview.cookie_name, cookie)
                response = await c.get("/news/1")
            assert f"{app_.names.data}=" not in response.text and "x-robots-tag" not in response.headers
