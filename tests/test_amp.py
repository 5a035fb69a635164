"""AMP pages pass through byte for byte: any tag of ours would make them invalid AMP (see docs/amp.md)."""

from __future__ import annotations

import time

import pytest
from starlette.types import Receive, Scope, Send

from adguard_mw import AdGuardMiddleware
from adguard_mw.lookahead import is_amp
from adguard_mw.state import Verdict, VisitorState

from .asgi import body, call, http_scope, start
from .site import CHROME, KEY

HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"public, max-age=300"),
    (b"etag", b'"amp-1"'),
    (b"content-length", b"0"),  # set per page below
]
BOLT = "\u26a1"
HEAD = (
    "<head><meta charset='utf-8'><script async src='https://cdn.ampproject.org/v0.js'></script>"
    "<title>Story</title><link rel=canonical href='/news/1'></head><body><article>Text \u2014 caf\u00e9</article>"
    "</body></html>"
)


def page(html_tag: str, prologue: str = "<!doctype html>") -> bytes:
    return (prologue + html_tag + HEAD).encode()


def blocked_reader(app: AdGuardMiddleware) -> Scope:
    """A reader the hard policy walls on any ordinary page: so a page that gets through untouched was seen as AMP."""
    state = VisitorState("v" * 22, verdict=Verdict.BLOCKED, kind="extension", checked_at=int(time.time()))
    name, value = app.cookie.set_cookie_header(state, https=False)[1].decode().split(";")[0].split("=", 1)
    return http_scope(
        "/news/1", headers=[("Cookie", f"{name}={value}"), ("User-Agent", CHROME), ("Accept", "text/html")]
    )


def site_sending(data: bytes, chunk: int) -> AdGuardMiddleware:
    headers = [*HEADERS[:-1], (b"content-length", str(len(data)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(headers=headers))
        pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        for index, piece in enumerate(pieces):
            await send(body(piece, more=index < len(pieces) - 1))

    return AdGuardMiddleware(app, secret_key=KEY, policy="hard")


AMP_TAGS = [
    "<html amp>",
    f"<html {BOLT}>",
    "<html AMP lang='en'>",
    f"<HTML lang=en {BOLT} transformed='self;v=1'>",
    "<html amp4email>",
    f"<html {BOLT}4email data-css-strict>",
    "<html amp4ads>",
    f"<html {BOLT}4ads>",
    "<html amp=''>",
    "<html\namp\n>",
    "<html lang='a>b' amp>",  # a quoted '>' does not end the tag
]


class TestAmpPagesPassThrough:
    @pytest.mark.parametrize("html_tag", AMP_TAGS)
    @pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 16, 10_000])
    async def test_byte_for_byte_with_the_app_s_own_headers(self, html_tag: str, chunk: int) -> None:
        data = page(html_tag)
        app = site_sending(data, chunk)
        sent = await call(app, blocked_reader(app))
        assert sent.status == 200
        assert sent.body == data
        assert sent.headers == [*HEADERS[:-1], (b"content-length", str(len(data)).encode())]  # no cookie, no Vary

    @pytest.mark.parametrize("prologue", ["", "\ufeff<!doctype html>", "<!-- built 12:00 -->\n<!DOCTYPE html>\n"])
    async def test_whatever_comes_before_the_html_tag(self, prologue: str) -> None:
        data = page("<html amp>", prologue)
        app = site_sending(data, 3)
        assert (await call(app, blocked_reader(app))).body == data


class TestOtherPagesAreNotAmp:
    @pytest.mark.parametrize(
        "html_tag",
        ["<html>", "<html lang='en'>", "<html data-amp>", "<html class='amp'>", "<html lang='amp'>", "<html ampx>"],
    )
    @pytest.mark.parametrize("chunk", [1, 4, 10_000])
    async def test_an_ordinary_page_is_walled_as_before(self, html_tag: str, chunk: int) -> None:
        data = page(html_tag)
        app = site_sending(data, chunk)
        sent = await call(app, blocked_reader(app))
        assert b"<article>" not in sent.body and app.names.css_class.encode() in sent.body  # the wall
        assert sent.header("set-cookie") is not None or sent.header("cache-control") != "public, max-age=300"

    def test_only_the_top_level_html_tag_counts(self) -> None:
        assert is_amp(b"<!doctype html><head><title>amp</title></head><body amp>", final=True) is False
        assert is_amp(b"<p>x</p><html amp>", final=True) is False

    def test_the_decision_waits_for_the_html_tag(self) -> None:
        assert is_amp(b"<!doctype html><ht", final=False) is None
        assert is_amp(b"<!-- a long comment", final=False) is None
        assert is_amp(b"<!doctype html><html lang='x", final=False) is None
        assert is_amp(b"<!doctype html><ht", final=True) is False  # the page ended: not AMP
