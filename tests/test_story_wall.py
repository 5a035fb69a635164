"""A hard wall with `paywall_selector` keeps the site around it: the story is taken out on the server."""

from __future__ import annotations

import logging
import re
import time

import anyio
import pytest
from starlette.types import Message, Receive, Scope, Send

from adguard_mw import AdGuardMiddleware
from adguard_mw.state import Verdict, VisitorState

from .asgi import Sent, body, call, http_scope, start
from .site import CHROME, KEY

STORY = "The mayor resigned on Tuesday after the audit found the missing funds."
PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Mayor resigns \u2014 The Lantern</title>"
    "</head><body><header class='masthead'><a href='/'>The Lantern</a></header>"
    "<nav aria-label='Sections'><a href='/news'>News</a> <a href='/sport'>Sport</a></nav>"
    "<main><h1>Mayor resigns</h1><div class='article-body'><p>" + STORY + "</p><p>More of the story.</p></div>"
    "<aside class='related'>Related stories</aside></main><footer>\u00a9 The Lantern</footer></body></html>"
)
HTML = (b"content-type", b"text/html; charset=utf-8")


def reader(app: AdGuardMiddleware, verdict: Verdict | None) -> Scope:
    headers = [("User-Agent", CHROME), ("Accept", "text/html")]
    if verdict is not None:
        state = VisitorState("v" * 22, verdict=verdict, kind="extension", checked_at=int(time.time()))
        name, value = app.cookie.set_cookie_header(state, https=False)[1].decode().split(";")[0].split("=", 1)
        headers.append(("Cookie", f"{name}={value}"))
    return http_scope("/news/mayor", headers=headers)


def site(page: bytes, *, headers: list[tuple[bytes, bytes]] | None = None, chunk: int = 1 << 20, **options: object):  # type: ignore[no-untyped-def]
    headers = headers or [HTML, (b"set-cookie", b"session=s1; Path=/"), (b"cache-control", b"public, max-age=60")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(headers=headers))
        pieces = [page[i : i + chunk] for i in range(0, len(page), chunk)] or [b""]
        for index, piece in enumerate(pieces):
            await send(body(piece, more=index < len(pieces) - 1))

    options.setdefault("policy", "hard")
    options.setdefault("paywall_selector", ".article-body")
    return AdGuardMiddleware(app, secret_key=KEY, **options)  # type: ignore[arg-type]


class TestTheWalledPageIsTheSite:
    @pytest.mark.parametrize("chunk", [7, 1 << 20])
    async def test_title_masthead_and_navigation_stay_and_the_story_is_gone(self, chunk: int) -> None:
        app = site(PAGE.encode(), chunk=chunk)
        sent = await call(app, reader(app, Verdict.BLOCKED))
        html = sent.body.decode()
        assert sent.status == 200 and int(sent.header("content-length") or 0) == len(sent.body)
        assert "<title>Mayor resigns \u2014 The Lantern</title>" in html
        assert '<header class="masthead"><a href="/">The Lantern</a></header>' in html
        assert '<nav aria-label="Sections"><a href="/news">News</a>' in html
        assert STORY not in html and "More of the story" not in html and "article-body" not in html.split("</head>")[1]
        # The message sits where the story was: after the headline, before what followed the story.
        main = html[html.index("<main>") : html.index("</main>")]
        assert re.search(r"<h1>Mayor resigns</h1>\s*<div class=\"" + app.names.css_class + r" ", main)
        assert main.index(app.names.css_class) < main.index("Related stories")
        # Its style, the detector and the message script are in the head, as on the whole-page wall.
        head = html.split("</head>")[0]
        assert f"{app.names.prefix}/{app.names.script}" in head and app.names.css_class in head
        assert "noindex" not in html  # the site's page, not our stand-in

    async def test_the_page_is_this_reader_s_alone(self) -> None:
        app = site(PAGE.encode())
        sent = await call(app, reader(app, Verdict.BLOCKED))
        assert sent.header("cache-control") == "private, no-cache" and sent.header("vary") == "Cookie"
        assert sent.header("etag") is None
        assert "session=s1; Path=/" in sent.header_values("set-cookie")  # the app's cookie kept, ours added
        assert any(app.names.cookie in value for value in sent.header_values("set-cookie"))

    async def test_every_match_is_removed_even_nested_ones(self) -> None:
        page = PAGE.replace("<aside class='related'>", "<div class='article-body'>Part two<div class='article-body'>"
                            "Kept-in-the-inner-match</div></div><aside class='related'>")  # fmt: skip
        app = site(page.encode())
        html = (await call(app, reader(app, Verdict.BLOCKED))).body.decode()
        assert STORY not in html and "Part two" not in html and "Kept-in-the-inner-match" not in html
        assert html.count(f'id="{app.names.css_class}-title"') == 1

    async def test_a_page_in_another_charset_keeps_it(self) -> None:
        page = PAGE.replace("charset='utf-8'", "charset='windows-1252'").replace("\u2014", "\u2013 caf\u00e9")
        headers = [(b"content-type", b"text/html")]
        app = site(page.encode("cp1252"), headers=headers, site_name="Caf\u00e9 \u2603 Lantern")
        sent = await call(app, reader(app, Verdict.BLOCKED))
        assert "Mayor resigns \u2013 caf\u00e9 \u2014 The Lantern".encode("cp1252")[:20] in sent.body
        assert b"Caf\xe9 &#9731; Lantern" in sent.body  # our text in the page's charset, references for the rest
        sent.body.decode("cp1252")  # one charset throughout


class TestWhenTheStoryCannotBeFound:
    async def test_no_match_gives_the_whole_page_wall_and_says_so_once(self, caplog: pytest.LogCaptureFixture) -> None:
        app = site(PAGE.encode(), paywall_selector=".story-text-nowhere")
        with caplog.at_level(logging.WARNING, logger="adguard_mw"):
            first = await call(app, reader(app, Verdict.BLOCKED))
            second = await call(app, reader(app, Verdict.BLOCKED))
        for sent in (first, second):
            assert STORY not in sent.body.decode() and b"noindex" in sent.body  # our whole-page wall
            assert int(sent.header("content-length") or 0) == len(sent.body)
        assert sum(".story-text-nowhere" in record.getMessage() for record in caplog.records) == 1

    async def test_a_selector_that_matches_the_whole_body_is_not_a_story(self) -> None:
        app = site(PAGE.encode(), paywall_selector="body")
        sent = await call(app, reader(app, Verdict.BLOCKED))
        assert STORY not in sent.body.decode() and b"noindex" in sent.body

    async def test_a_page_too_large_to_hold_gets_the_whole_page_wall(self) -> None:
        huge = PAGE.replace("More of the story.", "x" * (9 * 1024 * 1024)).encode()
        app = site(huge, chunk=1 << 20)
        sent = await call(app, reader(app, Verdict.BLOCKED))
        assert STORY not in sent.body.decode() and b"noindex" in sent.body and len(sent.body) < 100_000

    def test_a_selector_the_parser_cannot_read_stops_the_start_in_one_line(self) -> None:
        with pytest.raises(ValueError, match=r"paywall_selector") as error:
            site(PAGE.encode(), paywall_selector="div[")
        assert "\n" not in str(error.value)


class TestOnlyWalledReadersWait:
    async def test_a_reader_who_is_not_walled_gets_the_page_chunk_by_chunk(self) -> None:
        """The app sends its second chunk only once the reader has received the first: a middleware that held
        the page back would wait forever (and fail the time limit)."""
        first_arrived = anyio.Event()
        head, rest = PAGE.encode().split(b"<main>")

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await send(start(headers=[HTML]))
            await send(body(head, more=True))
            await first_arrived.wait()
            await send(body(b"<main>" + rest))

        sent = Sent()

        async def reader_send(message: Message) -> None:
            await sent(message)
            if message["type"] == "http.response.body" and b"masthead" in message.get("body", b""):
                first_arrived.set()

        middleware = AdGuardMiddleware(app, secret_key=KEY, policy="hard", paywall_selector=".article-body")
        for verdict in (None, Verdict.NOT_BLOCKED):
            first_arrived = anyio.Event()
            sent.messages.clear()
            with anyio.fail_after(5):
                await middleware(reader(middleware, verdict), _no_body, reader_send)
            assert STORY in sent.body.decode()
            assert len([m for m in sent.messages if m["type"] == "http.response.body"]) == 2


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def test_a_page_still_streaming_after_a_while_gets_the_whole_page_wall(monkeypatch: pytest.MonkeyPatch) -> None:
    """A live page may never end: the walled reader is not kept waiting for it."""
    from adguard_mw import injector

    monkeypatch.setattr(injector, "WHOLE_PAGE_SECONDS", 0.0)
    sends = 0

    async def live(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal sends
        await send(start(headers=[HTML]))
        while sends < 1000:
            sends += 1
            await send(body(PAGE.encode(), more=True))

    app = AdGuardMiddleware(live, secret_key=KEY, policy="hard", paywall_selector=".article-body")
    with anyio.fail_after(10):
        sent = await call(app, reader(app, Verdict.BLOCKED))
    assert STORY not in sent.body.decode() and b"noindex" in sent.body
    assert sends == 2  # the wall went out, and the next send stopped the app
