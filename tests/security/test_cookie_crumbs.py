"""Cookies that arrive in several `Cookie` headers (HTTP/2 "crumbs") are all read, on pages and every endpoint.

HTTP/2 and HTTP/3 clients may send each cookie in its own header; servers pass them on as repeated headers.
Starlette's `Request.cookies` joins them; so do we, wherever we read a cookie, whichever crumb holds ours.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from adguard_mw import AdGuardMiddleware
from adguard_mw.state import Verdict, VisitorState, new_visitor_id

from ..asgi import Sent, call, http_scope
from ..site import CHROME, KEY, ORIGIN, bare_site

HOST = "news.test"
APP = AdGuardMiddleware(bare_site(), secret_key=KEY, policy="hard")
BLOCKED = VisitorState(new_visitor_id(), verdict=Verdict.BLOCKED, kind="extension", checked_at=int(time.time()))
OURS = APP.cookie.set_cookie_header(BLOCKED, https=False)[1].split(b";", 1)[0]
CRUMBS = {
    "ours first": [OURS, b"session=s1", b"theme=dark"],
    "ours in the middle": [b"session=s1", OURS, b"theme=dark"],
    "ours last": [b"session=s1", b"theme=dark", OURS],
}


def headers(crumbs: list[bytes], *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [(b"host", HOST.encode()), (b"user-agent", CHROME.encode()), *((b"cookie", c) for c in crumbs), *extra]


async def post(app: AdGuardMiddleware, name: str, body: dict[str, Any], crumbs: list[bytes]) -> Sent:
    scope = http_scope(f"{app.names.prefix}/{name}", method="POST")
    scope["headers"] = headers(
        crumbs,
        (b"origin", ORIGIN.encode()),
        (b"sec-fetch-site", b"same-origin"),
        (b"content-type", b"application/json"),
    )
    messages = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    return await call(app, scope, receive)


@pytest.mark.parametrize("crumbs", CRUMBS.values(), ids=CRUMBS.keys())
class TestEveryCrumbIsRead:
    async def test_a_page_knows_the_reader(self, crumbs: list[bytes]) -> None:
        scope = http_scope("/news/1")
        scope["headers"] = headers(crumbs)
        sent = await call(APP, scope)
        assert APP.names.recheck in sent.body.decode()  # the wall: the blocked verdict was read

    async def test_the_beacon_knows_the_reader(self, crumbs: list[bytes]) -> None:
        signals = {"cosmetic": "blocked", "script": "blocked", "image": "blocked"}
        sent = await post(APP, APP.names.beacon, {"signals": signals, "path": "/news/1"}, crumbs)
        assert sent.status == 200
        ours = [v for v in sent.header_values("set-cookie") if v.startswith(APP.cookie.name + "=")]
        state = APP.cookie.load(ours[0].split(";")[0].encode())
        assert state is not None and state.visitor_id == BLOCKED.visitor_id  # the same reader, the report recorded

    async def test_a_dismissal_knows_the_reader(self, crumbs: list[bytes]) -> None:
        sent = await post(APP, APP.names.dismiss, {"path": "/news/1"}, crumbs)
        assert sent.status == 204  # not 409 "there is no message to dismiss"


async def test_the_silence_count_is_read_from_any_crumb() -> None:
    app = AdGuardMiddleware(bare_site(), secret_key=KEY, policy="hard", silent_detector="blocked")
    silent_once = VisitorState(new_visitor_id(), pending_at=int(time.time()) - 3600, silent=1)
    marker = app.cookie.set_cookie_header(silent_once, https=False)[1].split(b";", 1)[0]
    scope = http_scope("/news/1")
    scope["headers"] = headers([b"session=s1", marker], (b"sec-fetch-dest", b"document"))
    sent = await call(app, scope)
    assert app.names.recheck in sent.body.decode()  # the second silent page view: counted as blocked
