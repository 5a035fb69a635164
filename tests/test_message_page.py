"""A message page is made once per kind of reader and page, then filled in per request (message_page.py): what is
kept must be byte for byte what would be made afresh, and never carry one page's values to another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware, Message, Messages, Mode, Policy, Variant
from adguard_mw.message import default_message

from .asgi import call, http_scope
from .site import CHROME, KEY, PAGE, client, report

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


async def page(request: Request) -> Response:
    """The article, under the policy the query asks for: nonces for scripts or styles, or nothing inline."""
    query = request.query_params
    directives = [f"{kind}-src 'nonce-{query[kind]}'" for kind in ("script", "style") if kind in query]
    directives += [f"{kind}-src 'self'" for kind in query.getlist("self")]  # nothing inline of this kind
    if "strict" in query:
        directives.append("default-src 'self'")
    headers = {"Content-Security-Policy": "; ".join(directives)} if directives else {}
    return HTMLResponse(PAGE, headers=headers)


def site(**options: Any) -> AdGuardMiddleware:
    options.setdefault("message", Messages({"en": Message(), "de": default_message("de")}))
    inner = Starlette(routes=[Route("/{path:path}", page)])
    return AdGuardMiddleware(inner, secret_key=KEY, site_name="The Lantern", **options)


REQUESTS = [  # (path, headers): each differs from the one before in one thing a message depends on
    ("/news/1", {}),
    ("/news/2", {}),
    ("/news/%22%3E%3Cscript%3Ealert(1)", {}),
    ("/news/1?script=n0nceFirst&style=n0nceFirst", {}),
    ("/news/2?script=n0nceSecond&style=n0nceSecond", {}),
    ("/news/2?script=n0nceThird", {}),
    ("/news/2?style=n0nceFourth", {}),
    ("/news/2?strict=1", {}),
    ("/news/2?strict=1&style=n0nceFifth", {}),
    ("/news/2?self=style", {}),
    ("/news/2?self=script", {}),
    ("/news/1", {"Accept-Language": "de-CH,de;q=0.9"}),
    ("/news/1", {"Accept-Language": "en"}),
    ("/news/1", {"User-Agent": FIREFOX}),
    ("/news/1", {"User-Agent": FIREFOX, "Accept-Language": "de"}),
    ("/news/1", {"Sec-CH-UA": '"Chromium";v="150", "Google Chrome";v="150"'}),  # a client hint, not Brave's
    ("/news/1", {"Sec-CH-UA": '"Chromium";v="150", "Brave";v="150"'}),  # Brave, by its client hint
    ("/news/1", {"Sec-CH-UA": '"Chromium";v="150", "Brave";v="150"', "User-Agent": FIREFOX}),
]


@asynccontextmanager
async def blocked_reader(app: AdGuardMiddleware) -> AsyncIterator[httpx.AsyncClient]:
    """A reader whose detector reported a blocker."""
    async with client(app) as c:
        assert (await report(c, app, "blocked")).is_success
        yield c


@pytest.mark.parametrize("mode", ["notice", "soft", "instructions", "hard"])
async def test_a_kept_message_is_the_one_made_afresh(mode: str) -> None:
    warm = site(policy=mode)
    async with blocked_reader(warm) as c:
        for path, headers in REQUESTS * 2:  # the second round from the cache only
            kept = await c.get(path, headers=headers)
            fresh_app = site(policy=mode)  # the same names (same key): the same page, made for the first time
            async with blocked_reader(fresh_app) as fresh:
                made = await fresh.get(path, headers=headers)
            assert kept.text == made.text, (path, headers)
            assert "@@adguard-mw" not in kept.text and "<script>alert(1)" not in kept.text
    assert 0 < len(warm.messages._kept_messages) <= len(REQUESTS)


async def test_each_page_gets_its_own_path_and_nonces() -> None:
    app = site(policy="soft")
    async with blocked_reader(app) as c:
        first = (await c.get("/news/1?script=n0nceFirst&style=n0nceFirst")).text
        second = (await c.get("/news/2?script=n0nceSecond&style=n0nceSecond")).text
        plain = (await c.get("/news/3")).text
    assert 'name="next" value="/news/1"' in first and 'nonce="n0nceFirst"' in first and "n0nceSecond" not in first
    assert 'name="next" value="/news/2"' in second and 'nonce="n0nceSecond"' in second and "n0nceFirst" not in second
    assert 'name="next" value="/news/3"' in plain and 'nonce="' not in plain
    assert len(app.messages._kept_messages) == 2  # with nonces and without: one message each


async def test_each_reader_gets_their_language_and_browser() -> None:
    app = site(policy="instructions")
    async with blocked_reader(app) as c:
        german = (await c.get("/news/1", headers={"Accept-Language": "de"})).text
        english = (await c.get("/news/1", headers={"Accept-Language": "en"})).text
        firefox = (await c.get("/news/1", headers={"Accept-Language": "en", "User-Agent": FIREFOX})).text
    assert 'lang="de"' in german and 'lang="de"' not in english
    assert english != firefox  # the steps for each browser


async def test_a_reload_replaces_the_kept_messages() -> None:
    app = site(policy="soft")
    async with blocked_reader(app) as c:
        assert "Please support The Lantern" in (await c.get("/news/1")).text
        app.use(app.build_editorial(policy="soft", message=Message(title="New words for {site}")))
        text = (await c.get("/news/1")).text
    assert "New words for The Lantern" in text and "Please support" not in text


async def test_kept_messages_are_bounded_and_mount_points_of_any_length_are_not_kept() -> None:
    app = site(policy="soft")
    async with blocked_reader(app) as c:
        cookie = "; ".join(f"{name}={value}" for name, value in c.cookies.items())
    headers = [("cookie", cookie), ("user-agent", CHROME)]

    async def get(root_path: str) -> str:
        sent = await call(app, http_scope(f"{root_path}/news/1", root_path=root_path, headers=headers))
        return sent.body.decode()

    for number in range(300):
        assert f'action="/m{number}/' in await get(f"/m{number}")
    kept = app.messages._kept_messages
    assert len(kept) <= 256 and app.messages._kept_size <= 1_000_000
    before = set(kept)
    long = "/" + "x" * 200
    assert f'action="{long}/' in await get(long)
    assert set(kept) == before  # made for this page, and not kept


async def test_a_wall_with_a_nonce_is_not_kept() -> None:
    app = site(policy="hard")
    async with blocked_reader(app) as c:
        walls = [(await c.get(f"/news/1?script=n{number}")).text for number in range(3)]
    assert all(f'nonce="n{number}"' in wall for number, wall in enumerate(walls))
    assert not app.messages._kept_messages  # each holds its own tag: a key used once


async def test_each_reader_gets_the_words_of_their_own_variant() -> None:
    policy = Policy(mode=Mode.SOFT, variants=(Variant("plain"), Variant("warm")))
    app = site(policy=policy, variant_messages={"warm": Message(title="We need you, reader")})
    seen = set()
    for _ in range(16):  # new readers, with the same browser and language: only their variant differs
        async with blocked_reader(app) as c:
            text = (await c.get("/news/1")).text
            cookie = "; ".join(f"{name}={value}" for name, value in c.cookies.items())
        state = app.cookie.load(cookie.encode())
        assert state is not None
        variant = app.policy.variant_for(state.visitor_id)
        assert variant is not None
        assert ("We need you, reader" in text) is (variant.name == "warm"), variant.name
        seen.add(variant.name)
    assert seen == {"plain", "warm"}


async def test_a_reload_that_adds_a_language_gives_it_to_readers_already_seen() -> None:
    app = site(policy="soft", message=Message())
    german, english = {"Accept-Language": "de-DE,de;q=0.9"}, {"Accept-Language": "en-GB"}
    async with blocked_reader(app) as c:
        for headers in (german, english):
            assert 'lang="en"' in (await c.get("/news/1", headers=headers)).text  # no German written yet
        app.use(app.build_editorial(policy="soft", message=Messages({"en": Message(), "de": default_message("de")})))
        assert 'lang="de"' in (await c.get("/news/1", headers=german)).text
        assert 'lang="en"' in (await c.get("/news/1", headers=english)).text


async def test_the_readers_seen_are_bounded_in_number_and_bytes() -> None:
    app = site(policy="soft")
    async with blocked_reader(app) as c:
        cookie = "; ".join(f"{name}={value}" for name, value in c.cookies.items())
    for number in range(1100):  # each a browser not seen before, with a long language header
        agent = f"Mozilla/5.0 (X11; Linux x86_64; rv:{number}.0) Gecko/20100101 Firefox/{number}.0"
        headers = [("cookie", cookie), ("user-agent", agent), ("accept-language", "de;q=0.9," + "en;q=0.1," * 50)]
        sent = await call(app, http_scope("/news/1", headers=headers))
        assert 'lang="de"' in sent.body.decode()
    assert len(app.messages._readers) <= 1024 and app.messages._readers_size <= 256_000


@pytest.mark.parametrize("mode", ["soft", "hard"])
async def test_a_message_filled_in_for_a_page_is_kept_for_its_next_readers_but_never_one_with_a_nonce(
    mode: str,
) -> None:
    app = site(policy=mode)
    async with blocked_reader(app) as c:
        first = [(await c.get(f"/news/{number}")).text for number in range(3)]
        again = [(await c.get(f"/news/{number}")).text for number in range(3)]
        german = (await c.get("/news/0", headers={"Accept-Language": "de"})).text
        nonced = (await c.get("/news/0?script=n0nce&style=n0nce")).text
    assert first == again
    for number, text in enumerate(first):
        assert f'name="next" value="/news/{number}"' in text and text.count('name="next"') == 1
    assert 'lang="de"' in german and 'lang="de"' not in first[0]
    assert 'nonce="n0nce"' in nonced
    assert len(app.messages._filled) == 4  # three pages and the German reader's; not the page's own nonces


async def test_the_filled_messages_kept_are_bounded_and_long_paths_are_not_kept() -> None:
    app = site(policy="soft")
    async with blocked_reader(app) as c:
        for number in range(100):
            assert f'name="next" value="/news/{number}"' in (await c.get(f"/news/{number}")).text
        filled = app.messages._filled
        assert 0 < len(filled) <= 64 and app.messages._filled_size <= 1_000_000
        before = set(filled)
        long = "/news/" + "x" * 300
        assert f'name="next" value="{long}"' in (await c.get(long)).text
        assert set(filled) == before
