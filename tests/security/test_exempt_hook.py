"""The site's `exempt` hook is bounded: a hook that hangs holds up no reader's page.

A hook that looks up a subscriber in a database can hang when the database does. It is given
`Policy(exempt_timeout=...)` seconds; a slower answer counts as exempt (the reader gets the page, unasked) and is
logged once per process. A sync hook runs in a worker thread, so even one blocked on I/O holds up nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import pytest
from starlette.requests import Request

from adguard_mw import AdGuardMiddleware, Policy
from adguard_mw.state import Verdict, VisitorState, new_visitor_id

from ..asgi import call, http_scope
from ..site import CHROME, KEY, bare_site

HOST = "news.test"
TIMEOUT = 0.3


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the abandoned worker threads of the sync hooks finish


def blocked_reader(app: AdGuardMiddleware) -> list[tuple[bytes, bytes]]:
    state = VisitorState(new_visitor_id(), verdict=Verdict.BLOCKED, kind="extension", checked_at=int(time.time()))
    cookie = app.cookie.set_cookie_header(state, https=False)[1].split(b";", 1)[0]
    return [(b"host", HOST.encode()), (b"user-agent", CHROME.encode()), (b"cookie", cookie)]


async def timed_page(app: AdGuardMiddleware) -> tuple[float, str]:
    scope = http_scope("/news/1")
    scope["headers"] = blocked_reader(app)
    began = time.monotonic()
    sent = await call(app, scope)
    assert sent.status == 200
    return time.monotonic() - began, sent.body.decode()


def site(hook: Callable[[Request], Any], events: list[dict[str, Any]], timeout: float = TIMEOUT) -> AdGuardMiddleware:
    policy = Policy(mode="soft", exempt=hook, exempt_timeout=timeout)
    return AdGuardMiddleware(bare_site(), secret_key=KEY, policy=policy, events=events.append)


def hanging_hooks(release: threading.Event) -> dict[str, Callable[[Request], Any]]:
    async def async_hook(request: Request) -> bool:
        await anyio.sleep_forever()
        return False

    def sync_hook(request: Request) -> bool:
        release.wait(30)  # a database call that never answers
        return False

    def sync_returning_awaitable(request: Request) -> Awaitable[bool]:
        return async_hook(request)

    return {"async": async_hook, "sync": sync_hook, "sync returning an awaitable": sync_returning_awaitable}


@pytest.mark.parametrize("kind", ["async", "sync", "sync returning an awaitable"])
async def test_a_hanging_hook_delays_a_page_by_the_timeout_at_most(
    kind: str, release: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[dict[str, Any]] = []
    app = site(hanging_hooks(release)[kind], events)
    caplog.set_level(logging.ERROR, logger="adguard_mw")
    for _ in range(3):
        took, page = await timed_page(app)
        assert took < TIMEOUT + 0.5
        assert app.names.css_class + "-message" not in page  # treated as exempt: the page, unasked
    app.events.flush()
    assert [event["reason"] for event in events if event["event"] == "exempted"] == ["hook"] * 3
    slow = [record for record in caplog.records if "exempt hook (too slow)" in record.getMessage()]
    assert len(slow) == 1 and "exempt_timeout (0.3 s)" in slow[0].getMessage()


async def test_a_sync_hook_blocked_on_io_holds_up_no_other_request(release: threading.Event) -> None:
    """The hook is released only once the other reader has their page: were the hook holding up the event loop,
    that page would wait for the hook's 30 s timeout and come second. No clock is read: order alone tells."""
    entered = threading.Event()

    def blocked_on_io(request: Request) -> bool:
        entered.set()
        release.wait(30)  # a database call that answers only when released
        return False

    app = site(blocked_on_io, [], timeout=30)
    finished: list[str] = []

    async def blocked_reader_page() -> None:
        await timed_page(app)
        finished.append("the page waiting for the hook")

    async def other_reader() -> None:
        await call(app, http_scope("/news/2", headers=[("host", HOST), ("user-agent", CHROME)]))
        finished.append("another reader's page")
        release.set()

    async with anyio.create_task_group() as group:
        group.start_soon(blocked_reader_page)
        await anyio.to_thread.run_sync(entered.wait, 30)  # the hook is now blocked in its thread
        group.start_soon(other_reader)
    assert finished == ["another reader's page", "the page waiting for the hook"]


async def test_a_hook_that_never_returns_takes_a_bounded_number_of_threads(release: threading.Event) -> None:
    stuck: list[str] = []

    def never_returns(request: Request) -> bool:
        stuck.append(str(threading.get_ident()))
        release.wait(30)
        return False

    app = site(never_returns, [])
    for took, _ in await asyncio.gather(*(timed_page(app) for _ in range(24))):  # a burst of readers at once
        assert took < TIMEOUT + 0.5
    assert 1 <= len(stuck) <= 16 and len(set(stuck)) == len(stuck)  # each a thread of its own, at most 16


async def test_a_quick_hook_still_decides() -> None:
    def subscriber(request: Request) -> bool:
        return request.headers.get("x-plan") == "digital"

    app = site(subscriber, [])
    _, page = await timed_page(app)
    assert app.names.css_class + "-message" in page


@pytest.mark.parametrize("timeout", [0, -1, 61, "1", True, float("nan")])
def test_the_timeout_is_checked_at_start_up(timeout: object) -> None:
    with pytest.raises(ValueError, match="exempt_timeout must be a number of seconds above 0 and at most 60"):
        Policy(exempt_timeout=timeout)  # type: ignore[arg-type]
