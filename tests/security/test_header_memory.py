"""Memory kept from readers' headers is bounded, whatever they send.

The review grew a server from 42 to 618 MB with 300 page views carrying distinct 1 MB `User-Agent` and
`Accept-Language` headers: the parsers cached on the whole header. Every cache keyed on request text now keys on a
bounded prefix (or a fact drawn from it) and holds a bounded number of entries; the message cache, whose keys hold
URLs made from the mount point, is bounded in characters too. Measured here with tracemalloc, through the
middleware: pages with a message, events, crawler checks and beacons, each with headers never seen before.
"""

from __future__ import annotations

import gc
import json
import secrets
import time
import tracemalloc
from typing import Any

from adguard_mw import AdGuardMiddleware
from adguard_mw.state import Verdict, VisitorState, new_visitor_id

from ..asgi import call, http_scope
from ..site import KEY, ORIGIN, bare_site

HOST = "news.test"
VIEWS = 150
HEADER = 32 * 1024  # per header: uncapped, 150 views would keep about 20 MB
ALLOWED_GROWTH = 4 * 1024 * 1024


def huge(start: str) -> str:
    return (start + secrets.token_hex(8) + " ").ljust(HEADER, "x")


async def page_view(app: AdGuardMiddleware, cookie: bytes, number: int) -> None:
    root_path = "/" + huge("de")[:4096]  # a mount point the reader chose, as under Mount("/{lang}")
    scope = http_scope(root_path + "/news/1", root_path=root_path)
    scope["headers"] = [
        (b"host", HOST.encode()),
        (b"user-agent", huge("Mozilla/5.0 (X11; Linux x86_64) Chrome/150.0 ").encode()),
        (b"accept-language", huge(f"de-CH,{number}").encode()),
        (b"sec-ch-ua", huge('"Brave";v="150", ').encode()),
        (b"cookie", cookie),
    ]
    sent = await call(app, scope)
    assert sent.status == 200 and app.names.css_class in sent.body.decode()  # the message was rendered


async def beacon(app: AdGuardMiddleware) -> None:
    scope = http_scope(f"{app.names.prefix}/{app.names.beacon}", method="POST")
    scope["headers"] = [
        (b"host", HOST.encode()),
        (b"origin", ORIGIN.encode()),
        (b"content-type", b"application/json"),
        (b"user-agent", huge("Mozilla/5.0 Firefox/140.0 ").encode()),
        (b"accept-language", huge("fr").encode()),
    ]
    body = json.dumps({"signals": {"cosmetic": "blocked"}, "path": "/news/1"}).encode()
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    assert (await call(app, scope, receive)).status == 200


async def test_distinct_huge_headers_leave_bounded_memory_behind() -> None:
    app = AdGuardMiddleware(bare_site(), secret_key=KEY, policy="soft", events=lambda record: None)
    state = VisitorState(new_visitor_id(), verdict=Verdict.BLOCKED, kind="extension", checked_at=int(time.time()))
    cookie = app.cookie.set_cookie_header(state, https=False)[1].split(b";", 1)[0]
    await page_view(app, cookie, 0)  # everything that is built once, built
    await beacon(app)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for number in range(1, VIEWS + 1):
            await page_view(app, cookie, number)
            if number % 10 == 0:
                await beacon(app)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    sent = VIEWS * 4 * HEADER
    assert growth < ALLOWED_GROWTH, f"kept {growth / 1e6:.1f} MB of {sent / 1e6:.0f} MB of headers"
