"""Hostile pages and responses: the injector never breaks a page, its caching or its stream.

Where the tag goes: markup lookalikes in a script's strings, a comment, an attribute value, a <textarea>, the CDATA
of an inline SVG or a <title> are never taken for the head, and a valid page that leaves its <head> and <body>
tags out still gets the tag where its head starts. The judge is html5lib, a parser that follows the HTML standard:
with the tag inserted, the page must parse to the same document plus one script element, child of its head or
body. Then: what we insert reads right in the page's charset; a page every reader gets keeps a validator, so
If-None-Match still gets a 304; a wall that replaced a stream stops the app; trailers keep a response chunked.
"""

from __future__ import annotations

import html
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.dom import minidom

import anyio
import html5lib
import httpx
import pytest
import uvicorn
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from adguard_mw import AdGuardMiddleware, Messages, charset, default_message
from adguard_mw.charset import encode_for_page
from adguard_mw.csp import allows_inline, csp_nonce
from adguard_mw.injector import CHARSET_WINDOW, HtmlRewriter, Rewrite, find_insertion_point
from adguard_mw.lookahead import Lookahead
from adguard_mw.state import Verdict, VisitorState

from .asgi import Sent, body, call, http_scope, start
from .site import CHROME, KEY, client, report

PROBE = b'<script id="probe" src="/probe.js" defer></script>'
HTML = (b"content-type", b"text/html; charset=utf-8")


def parse(page: bytes) -> tuple[Any, minidom.Document]:
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("dom"), namespaceHTMLElements=False)
    return parser, parser.parse(page.decode("latin-1"), scripting=True)  # as Chromium, with scripting on


def assert_lands_as_an_element(page: bytes, offset: int) -> None:
    """`PROBE` at `offset` becomes a script element of the head or body, and the page is otherwise unchanged."""
    parser, original = parse(page)
    _, edited = parse(page[:offset] + PROBE + page[offset:])
    probes = [s for s in edited.getElementsByTagName("script") if s.getAttribute("id") == "probe"]
    assert len(probes) == 1, f"the tag did not become an element at {offset}: {page[offset - 20 : offset + 20]!r}"
    [probe] = probes
    assert probe.parentNode.tagName in ("head", "body"), probe.parentNode.tagName
    probe.parentNode.removeChild(probe)
    edited.normalize()  # the text on either side of the tag is one text node again
    original.normalize()
    assert parser.tree.testSerializer(edited) == parser.tree.testSerializer(original)


def inserted_at(page: bytes) -> int:
    offset = find_insertion_point(page, final=True)
    assert offset is not None
    return offset


HOSTILE = {
    "strings in an inline script of a page without <head>": (
        b"<!doctype html><html lang=en><meta charset=utf-8><title>T</title>"
        b"<script>var a = '<head>', b = \"</body>\", c = '<!--';</script><p>story</p></html>",
        b"<meta charset=utf-8>",
    ),
    "a <textarea> holding a head and a body": (
        b"<!doctype html><textarea><head></head><body></body></textarea><p>x</p>",
        b"<!doctype html>",
    ),
    "the CDATA of an inline SVG": (
        b"<!doctype html><svg><script><![CDATA[ if (a < b) document.write('<head></body>') ]]></script></svg>",
        b"<!doctype html>",
    ),
    "comments": (
        b"<!doctype html><!-- <head> --><html><!-- </head><body> --><head><!-- <meta charset=x> --><title>T</title>",
        b"<html><!-- </head><body> --><head>",
    ),
    "attribute values": (
        b'<!doctype html><html data-a="<head>" data-b=\'</body>\'><head data-c="<meta charset=x>"><title>T</title>',
        b'<head data-c="<meta charset=x>">',
    ),
    "a > inside a <meta>'s quoted value": (
        b'<!doctype html><head><meta content="a>b" charset="utf-8"><title>T</title></head>',
        b'<meta content="a>b" charset="utf-8">',
    ),
    "a <meta charset> inside a <title>": (
        b"<!doctype html><head><title><meta charset=utf-8></title><meta name=x></head><body>",
        b"<head>",
    ),
    "an old page's escaped script": (
        b"<!doctype html><head><script><!-- document.write('<script>x</script><meta charset=utf-8>') --></script>"
        b"<meta charset=utf-8></head>",
        b"<meta charset=utf-8>",
    ),
    "a <noscript> in the head": (
        b"<!doctype html><head><noscript><meta charset=utf-8><link rel=stylesheet href=x.css></noscript></head>",
        b"<head>",
    ),
    "a <template> in the head": (
        b"<!doctype html><head><template><meta charset=utf-8><head></template><meta charset=utf-8></head>",
        b"<head>",
    ),
    "a <style> with > selectors": (
        b"<!doctype html><head><style>body > p::after { content: '</style-not><head>' }</style></head><body>",
        b"<head>",
    ),
    "an XML declaration and a byte order mark": (
        b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?><html><head><title>T</title></head>",
        b"<head>",
    ),
    "only a body": (b"<body><p>x</p></body>", b""),
    "text right after the doctype": (b"<!doctype html>Hello <b>world</b>", b"<!doctype html>"),
}


@pytest.mark.parametrize(("page", "after"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_the_tag_lands_where_the_parser_makes_it_an_element(page: bytes, after: bytes) -> None:
    offset = inserted_at(page)
    assert offset >= 0 and page[:offset].endswith(after)
    assert_lands_as_an_element(page, offset)


@pytest.mark.parametrize(
    "fragment",
    [
        b'<div id="results"><p>Found 3</p></div>',  # what htmx or Turbo fetch: not a page of its own
        b"<title>New title</title><tr><td>1</td></tr>",
        b"<!-- a comment, then --> some text",
        b"",
    ],
)
def test_a_fragment_gets_nothing(fragment: bytes) -> None:
    assert inserted_at(fragment) == -1


PIECES = [
    b"<!doctype html>", b"<html>", b"<html lang='<head>'>", b"<head>", b"<HEAD data-x=\"</head>\">", b"</head>",
    b"<body>", b"</body>", b"</html>", b"<meta charset=utf-8>", b"<meta content='a>b' charset=\"utf-8\">",
    b"<meta name=x content=charset>", b"<title>T <head></title>", b"<title>", b"</title>", b"<style>a>b{}</style>",
    b"<script>var s='<head></body>';</script>", b"<script><!--<script>'</script>'</script>--></script>", b"<script>",
    b"</script>", b"<noscript><head></noscript>", b"<template><head></template>", b"<textarea><head></textarea>",
    b"<svg><![CDATA[</body><head>]]></svg>", b"<!-- <head> -->", b"<!--", b"-->", b"<!-->", b'<div title="<head>">',
    b"<a href='x>y'>", b"<p>", b"text", b" ", b"\n", b"<", b">", b'"', b"'", b"=", b"<?xml version='1.0'?>",
    b"<![CDATA[x]]>", b"</br>", b"<br/>", b"<link rel=stylesheet href=a.css>", b"<plaintext>", b"<xmp><head></xmp>",
    b"<iframe><head></iframe>", b"<math><mi>x</mi></math>", b"</>", b"<!x>", b"</ x>",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
@example([b"<!doctype html>", b"<title>", b"<head>", b"</title>", b"<p>"])
@example([b"<html>", b"<script>", b"<!--", b"<script>", b"</script>", b"<head>", b"-->", b"</script>", b"<head>"])
def test_any_page_gets_the_tag_only_where_the_parser_makes_it_an_element(pieces: list[bytes]) -> None:
    page = b"".join(pieces)
    offset = inserted_at(page)
    if offset >= 0:
        assert_lands_as_an_element(page, offset)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12), st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_a_page_streamed_in_any_chunks_gets_the_same_answer(pieces: list[bytes], sizes: list[int]) -> None:
    page = b"".join(pieces)
    assert len(page) < CHARSET_WINDOW
    lookahead, seen, answer = Lookahead(), 0, None
    for size in sizes * (len(page) // sum(sizes) + 1):
        seen = min(len(page), seen + size)
        answer = lookahead.feed(page[:seen], final=seen == len(page))
        if answer is not None:
            break
    assert answer == find_insertion_point(page, final=True)


async def test_a_streamed_page_is_read_as_a_browser_reads_it() -> None:
    page = b'<!doctype html><html data-x="<head>"><title>T</title><script>s="</body>"</script><p>x</p></html>'
    sent = Sent()
    send = HtmlRewriter(sent, _insert_probe)
    await send(start(headers=[HTML]))
    for at in range(0, len(page), 5):
        await send(body(page[at : at + 5], more=True))
    await send(body(b""))
    assert sent.body == page.replace(b"<title>", PROBE + b"<title>", 1)


async def _insert_probe(headers: list[tuple[bytes, bytes]]) -> Rewrite:
    return Rewrite(insert=PROBE)


# --- the page's charset (item 10) ----------------------------------------------------------------------------------

CAFE_TEXT = "<p>Le Caf\u00e9\u2019s \u201cmenu\u201d</p>"  # an accent, a curly apostrophe and curly quotes
CAFE = CAFE_TEXT.encode()  # what the middleware inserts is UTF-8


async def serve_with_insert(headers: list[tuple[bytes, bytes]], page: bytes, insert: bytes = CAFE) -> Sent:
    async def decide(headers: list[tuple[bytes, bytes]]) -> Rewrite:
        return Rewrite(insert=insert)

    sent = Sent()
    send = HtmlRewriter(sent, decide)
    await send(start(headers=headers))
    await send(body(page))
    return sent


def as_a_browser_reads(sent: Sent, encoding: str) -> str:
    return html.unescape(sent.body.decode(encoding))


class TestCharset:
    @pytest.mark.parametrize(
        ("content_type", "page", "reads_as"),
        [
            (b"text/html; charset=ISO-8859-1", b"<html><head><title>Caf\xe9</title>", "cp1252"),  # as browsers do
            (b"text/html", b"<html><head><meta charset=latin1><title>Caf\xe9</title>", "cp1252"),
            (b"text/html", b"<html><head><meta http-equiv=content-type content='text/html; charset=koi8-r'>", "koi8-r"),
            (b'text/html; charset="shift_jis"', b"<html><head><title>\x83J\x83t\x83F</title>", "cp932"),
            (b"text/html; charset=windows-1251", b"<html><head><title>\xca\xe0\xf4\xe5</title>", "cp1251"),
            (b"text/html; charset=utf-8", b"<html><head><title>Caf\xc3\xa9</title>", "utf-8"),
            (b"text/html; charset=iso-8859-1", b"\xef\xbb\xbf<html><head><title>Caf\xc3\xa9</title>", "utf-8-sig"),
            (b"text/html", b"<html><head><title>Cafe</title>", "ascii"),  # undeclared: ASCII reads the same anywhere
        ],
        ids=[
            "latin-1 header",
            "latin-1 meta",
            "koi8-r http-equiv",
            "shift_jis",
            "windows-1251",
            "utf-8",
            "bom",
            "undeclared",
        ],
    )
    async def test_what_we_insert_reads_right_in_the_page_s_charset(
        self, content_type: bytes, page: bytes, reads_as: str
    ) -> None:
        sent = await serve_with_insert([(b"content-type", content_type)], page)
        assert CAFE_TEXT in as_a_browser_reads(sent, reads_as)
        assert sent.body.replace(encode_for_page(CAFE, reads_as.replace("-sig", "")), b"") == page  # nothing else
        assert int(sent.header("content-length") or 0) == len(sent.body)

    @pytest.mark.parametrize(
        ("headers", "body", "codec"),
        [
            ([(b"content-type", b"text/html; charset=koi8-r")], b"\xef\xbb\xbf<html>", "utf-8"),  # the mark wins
            ([(b"content-type", b"text/html; charset=utf-8")], b"\xfe\xff\x00<", None),  # UTF-16: none safe
            ([(b"content-type", b"text/html; charset=utf-8")], b"\xff\xfe<\x00", None),
            ([(b"content-type", b"text/html; charset=koi8-r")], b"\xef<html>", "koi8-r"),  # no mark: the header's
            ([(b"content-length", b"6"), (b"Content-Type", b"text/html; charset=koi8-r")], b"<html>", "koi8-r"),
            ([(b"x-powered-by", b"text/html; charset=koi8-r")], b"<html>", "ascii"),  # as long, another name
            ([], b"", "ascii"),
        ],
    )
    def test_a_page_s_charset_is_its_byte_order_mark_then_its_content_type(
        self, headers: list[tuple[bytes, bytes]], body: bytes, codec: str | None
    ) -> None:
        assert charset.page_codec(headers, body, None) == codec

    async def test_a_content_type_read_before_names_the_same_charset(self) -> None:
        latin, plain = b"<html><head><title>Caf\xe9</title>", b"<html><head><meta charset=koi8-r><title>T</title>"
        for _ in range(2):  # the second time from the table of values seen
            sent = await serve_with_insert([(b"content-type", b"text/html; charset=ISO-8859-1")], latin)
            assert CAFE_TEXT in as_a_browser_reads(sent, "cp1252")
            sent = await serve_with_insert([(b"content-type", b"text/html")], plain)  # no charset: the meta's
            assert CAFE_TEXT in as_a_browser_reads(sent, "koi8-r")
        for number in range(100):
            await serve_with_insert([(b"content-type", f"text/html; charset=utf-8; v={number}".encode())], latin)
        assert len(charset._HEADER_CODECS) <= 64

    async def test_a_charset_we_cannot_write_gets_nothing_inserted_and_is_logged_once(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        page = b"<html><head><title>T</title></head></html>"
        for _ in range(3):
            sent = await serve_with_insert([(b"content-type", b"text/html; charset=x-klingon")], page)
            assert sent.body == page
        warnings = [r.getMessage() for r in caplog.records if "x-klingon" in r.getMessage()]
        assert len(warnings) == 1 and "cannot write in" in warnings[0]

    async def test_an_ascii_insert_goes_into_any_page_we_can_read(self) -> None:
        page = b"<html><head><title>T</title></head></html>"
        sent = await serve_with_insert([(b"content-type", b"text/html; charset=x-klingon")], page, PROBE)
        assert sent.body == page.replace(b"<head>", b"<head>" + PROBE)

    @pytest.mark.parametrize(
        ("content_type", "reads_as"),
        [
            (b"text/html; charset=utf-8", "utf-8"),
            (b"text/html; charset=windows-1252", "cp1252"),
            (b"text/html", "ascii"),
        ],
    )
    async def test_a_long_insert_reads_right_too(self, content_type: bytes, reads_as: str) -> None:
        """A message (longer than a tag) is asked the page's charset first, not scanned: the same bytes result."""
        long_insert = b"<!--" + b"x" * 2000 + b"-->" + CAFE
        page = b"<html><head><title>T</title></head></html>"
        sent = await serve_with_insert([(b"content-type", content_type)], page, long_insert)
        assert sent.body == page.replace(b"<head>", b"<head>" + encode_for_page(long_insert, reads_as))
        assert CAFE_TEXT in as_a_browser_reads(sent, reads_as)

    async def test_a_long_ascii_insert_goes_into_any_page_we_can_read(self) -> None:
        long_probe = PROBE * 20
        page = b"<html><head><title>T</title></head></html>"
        sent = await serve_with_insert([(b"content-type", b"text/html; charset=x-klingon")], page, long_probe)
        assert sent.body == page.replace(b"<head>", b"<head>" + long_probe)

    async def test_a_utf_16_page_is_left_alone(self) -> None:
        page = "\ufeff<html><head><title>T</title></head></html>".encode("utf-16")
        sent = await serve_with_insert([(b"content-type", b"text/html; charset=utf-16")], page)
        assert sent.body == page

    async def test_the_soft_message_reads_right_on_a_latin_1_page(self) -> None:
        async def article(request: Request) -> Response:
            page = "<!doctype html><html><head><title>Le Café</title></head><body>À la une</body></html>"
            return Response(page.encode("latin-1"), media_type="text/html; charset=iso-8859-1")

        french = Messages({"fr": default_message("fr")}, default="fr")
        site = Starlette(routes=[Route("/news/1", article)])
        app = AdGuardMiddleware(site, secret_key=KEY, policy="soft", message=french)
        async with client(app) as c:
            await report(c, app, "blocked")
            response = await c.get("/news/1")
        text = html.unescape(response.content.decode("cp1252"))  # how a browser reads "iso-8859-1"
        assert "Le Café" in text and "À la une" in text and "Ã" not in text
        assert "qu\u2019un bloqueur" in text and "acc\u00e8s libre" in text  # the French message, curly quote and all


# --- validators: 304s for a page every reader gets (item 13) -------------------------------------------------------

LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"


def static_site(directory: Path, policy: str = "observe") -> AdGuardMiddleware:
    """Starlette's StaticFiles: ETag and Last-Modified on every file, and conditional GETs answered with a 304."""
    return AdGuardMiddleware(
        Starlette(routes=[Mount("/static", StaticFiles(directory=directory))]), secret_key=KEY, policy=policy
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "story.html").write_text("<!doctype html><html><head><title>Story</title></head><body>x</body>")
    (tmp_path / "site.css").write_text("body { margin: 0 }")
    return tmp_path


class TestValidators:
    async def test_a_page_every_reader_gets_keeps_a_weak_etag_and_its_last_modified(self, files: Path) -> None:
        site = static_site(files)
        async with client(site) as c, client(site.app) as bare:
            page = await c.get("/static/story.html")
            original = await bare.get("/static/story.html")
        assert page.status_code == 200 and b"<script" in page.content
        assert page.headers["etag"].startswith('W/"') and page.headers["etag"] != original.headers["etag"]
        assert page.headers["last-modified"] == original.headers["last-modified"]

    async def test_if_none_match_gets_a_304_until_the_page_changes(self, files: Path) -> None:
        async with client(static_site(files)) as c:
            first = await c.get("/static/story.html")
            again = await c.get("/static/story.html", headers={"If-None-Match": first.headers["etag"]})
            among_others = await c.get(
                "/static/story.html", headers={"If-None-Match": f'"other", {first.headers["etag"]}'}
            )
            (files / "story.html").write_text("<!doctype html><html><head><title>Story, updated</title>")
            os.utime(files / "story.html", (time.time() + 5, time.time() + 5))
            changed = await c.get("/static/story.html", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
        assert among_others.status_code == 304
        assert changed.status_code == 200 and b"updated" in changed.content
        assert changed.headers["etag"] != first.headers["etag"]

    async def test_the_app_s_own_304_passes_through(self, files: Path) -> None:
        site = static_site(files)
        async with client(site.app) as bare:
            app_etag = (await bare.get("/static/story.html")).headers["etag"]  # what a cache from before us holds
        async with client(site) as c:
            css = await c.get("/static/site.css")
            css_again = await c.get("/static/site.css", headers={"If-None-Match": css.headers["etag"]})
            page = await c.get("/static/story.html", headers={"If-None-Match": app_etag})
        assert css_again.status_code == 304 and css_again.headers["etag"] == css.headers["etag"]
        assert page.status_code == 304 and page.headers["etag"] == app_etag

    async def test_what_we_insert_is_part_of_the_etag(self, files: Path) -> None:
        async with client(static_site(files)) as c:
            plain = await c.get("/static/story.html")
        async with client(AdGuardMiddleware(static_site(files).app, secret_key=KEY, beacon=False)) as c:
            other_insert = await c.get("/static/story.html", headers={"If-None-Match": plain.headers["etag"]})
        assert other_insert.status_code == 200 and other_insert.headers["etag"] != plain.headers["etag"]

    async def test_a_page_shaped_by_the_reader_s_cookie_has_no_validator_and_no_304(self, files: Path) -> None:
        app = static_site(files, policy="soft")
        async with client(app) as c:
            shared = await c.get("/static/story.html")  # a reader before the detector's first report
            await report(c, app, "blocked")
            shaped = await c.get("/static/story.html", headers={"If-None-Match": shared.headers["etag"]})
        assert shaped.status_code == 200 and 'role="dialog"' in shaped.text  # not the cached page without it
        assert "etag" not in shaped.headers and "last-modified" not in shaped.headers

    async def test_a_304_of_ours_stops_a_streaming_app(self) -> None:
        streamed: list[int] = []

        async def endless(scope: Scope, receive: Receive, send: Send) -> None:
            await send(start(headers=[HTML, (b"etag", b'"live"')]))
            while len(streamed) < 10_000:
                streamed.append(1)
                await send(body(b"<!doctype html><head><title>Live</title>", more=True))

        app = AdGuardMiddleware(endless, secret_key=KEY)
        first = await call_with_timeout(app, http_scope())
        etag = first.header("etag")
        assert etag is not None and first.status == 200
        streamed.clear()
        again = await call_with_timeout(app, http_scope(headers=[("If-None-Match", etag)]))
        assert again.status == 304 and again.body == b"" and len(streamed) <= 2


# --- a wall that replaced a stream stops the app (item 14) ---------------------------------------------------------


async def call_with_timeout(app: Any, scope: Scope) -> Sent:
    with anyio.fail_after(10):
        return await call(app, scope)


def walled_reader(app: AdGuardMiddleware) -> Scope:
    """The scope of a page view by a reader whose cookie says blocked, under `policy="hard"`."""
    state = VisitorState("v" * 22, verdict=Verdict.BLOCKED, kind="extension", checked_at=int(time.time()))
    name, value = app.cookie.set_cookie_header(state, https=False)[1].decode().split(";")[0].split("=", 1)
    return http_scope("/news/1", headers=[("Cookie", f"{name}={value}"), ("User-Agent", CHROME)])


class TestAWallStopsTheApp:
    async def test_an_endless_raw_asgi_stream_ends_once_the_wall_is_sent(self) -> None:
        sends: list[int] = []

        async def endless(scope: Scope, receive: Receive, send: Send) -> None:
            await send(start(headers=[HTML]))
            while len(sends) < 5_000:
                sends.append(1)
                await send(body(b"<!doctype html><html><head><title>Live</title></head><body>", more=True))

        app = AdGuardMiddleware(endless, secret_key=KEY, policy="hard")
        sent = await call_with_timeout(app, walled_reader(app))
        assert sent.status == 200 and b"<article>" not in sent.body and b"noindex" in sent.body
        assert int(sent.header("content-length") or 0) == len(sent.body)
        assert len(sends) == 2  # the first chunk decided the wall; the next send failed, as to a client gone

    async def test_a_starlette_stream_ends_once_the_wall_is_sent(self) -> None:
        produced: list[int] = []

        async def live(request: Request) -> Response:
            async def chunks() -> AsyncIterator[bytes]:
                yield b"<!doctype html><html><head><title>Live</title></head><body>"
                while len(produced) < 5_000:
                    produced.append(1)
                    yield b"<p>update</p>"
                    await anyio.sleep(0)

            return StreamingResponse(chunks(), media_type="text/html")

        app = AdGuardMiddleware(Starlette(routes=[Route("/news/1", live)]), secret_key=KEY, policy="hard")
        for spec_version in ("2.3", "2.4"):  # the app listens for the disconnect, or counts on send to fail
            produced.clear()
            scope = walled_reader(app)
            scope["asgi"]["spec_version"] = spec_version
            sent = await call_with_timeout(app, scope)  # the app returned: nothing runs its stream any more
            assert sent.status == 200 and b"noindex" in sent.body
            assert len(produced) <= 2

    def test_under_uvicorn_the_reader_gets_the_wall_and_the_app_returns_quietly(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        produced: list[int] = []
        returned = threading.Event()

        async def live(request: Request) -> Response:
            async def chunks() -> AsyncIterator[bytes]:
                yield b"<!doctype html><html><head><title>Live</title></head><body>"
                while len(produced) < 5_000:
                    produced.append(1)
                    yield b"<p>update</p>"
                    await anyio.sleep(0.001)

            return StreamingResponse(chunks(), media_type="text/html")

        app = AdGuardMiddleware(Starlette(routes=[Route("/news/1", live)]), secret_key=KEY, policy="hard")

        async def watched(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                await app(scope, receive, send)
            finally:
                if scope["type"] == "http":
                    returned.set()

        cookie = dict(walled_reader(app)["headers"])[b"cookie"].decode()
        with running(watched) as base:
            response = httpx.get(base + "/news/1", headers={"Cookie": cookie, "User-Agent": CHROME}, timeout=10)
            assert returned.wait(10), "the app still runs after the wall was sent"
        assert response.status_code == 200 and b"noindex" in response.content
        assert len(produced) < 100  # it stopped at once, not after its 5,000 chunks
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@contextmanager
def running(app: Any) -> Iterator[str]:
    """`app` under a real uvicorn on 127.0.0.1, in a thread: its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


class TestTrailers:
    async def test_a_response_announcing_trailers_gets_no_content_length(self) -> None:
        trailers = {"type": "http.response.trailers", "headers": [(b"x-checksum", b"1")], "more_trailers": False}
        sent = Sent()
        send = HtmlRewriter(sent, _insert_probe)
        await send({**start(headers=[HTML, (b"content-length", b"13")]), "trailers": True})
        await send(body(b"<head></head>"))
        await send(trailers)
        assert sent.header("content-length") is None and PROBE in sent.body
        assert sent.messages[-1] == trailers


def test_a_csp_directive_separated_by_a_tab_still_gives_its_nonce() -> None:
    headers = [(b"content-security-policy", b"default-src 'self';\tscript-src\t'nonce-abc123' 'strict-dynamic'")]
    assert csp_nonce(headers) == "abc123"


def test_inline_elements_are_judged_by_the_same_reading_of_the_policy() -> None:
    """The message goes inline only where every enforced policy lets it run: one parser for nonces and inline."""
    tab = [(b"Content-Security-Policy", b"script-src\t'self'")]  # no nonce, no 'unsafe-inline'
    assert not allows_inline(tab) and allows_inline([(b"content-security-policy", b"script-src 'nonce-n1'")])
    assert allows_inline([]) and allows_inline([(b"content-security-policy", b"img-src 'self'")])
    assert not allows_inline([(b"content-security-policy", b"default-src 'unsafe-inline' 'sha256-x'")])
