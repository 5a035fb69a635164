"""Fail open, proven by fault injection: each internal part fails in turn, and the reader still gets the site.

Three tables:

- `FAULTS`: a part of the middleware breaks. The reader gets the original page (or, when the broken part is off
  the request path, the usual page), and the operator exactly one log record however many requests meet it; the
  rest are counted (`adguard_mw._faults.fault_counts`).
- `PAGES`: the injector meets strange HTML. The page arrives intact, with the detector at most once, with an exact
  Content-Length, and nothing is reported as a fault.
- `APP_FAILURES`: the app or the client fails (an exception before or after the response started, a client gone
  mid-stream). The middleware neither hides nor transforms the failure: the same exception reaches the server,
  which sends the app's own error, and nothing sent before it is lost or doubled.

Covered elsewhere and not repeated here: a hard wall whose template raises (`tests/test_middleware.py`), a full
disk under the event log and a failing exempt hook (same file), a crashing insertion-point parser and malformed
response headers (`tests/test_injector.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2
import pytest
from starlette.types import Message, Receive, Scope, Send

from adguard_mw import AdGuardMiddleware, EventLog, Policy
from adguard_mw._faults import fault_counts
from adguard_mw.clients import clear_cache
from adguard_mw.events import CallableSink
from adguard_mw.injector import LOOKAHEAD
from adguard_mw.state import Verdict

from ..asgi import Sent, body, call, http_scope, no_request_body, start
from ..site import CHROME, KEY, PAGE, client, report, wrapped

REQUESTS = 3
LOGGED_ONCE = "(logged once per process, later occurrences are counted)"


class Boom(RuntimeError):
    """The injected fault."""


def explode(*args: object, **kwargs: object) -> Any:
    raise Boom("injected fault")


def break_overlay(app: AdGuardMiddleware, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.renderer, "render", explode)  # as text (previews, client-side navigation)
    monkeypatch.setattr(app.renderer, "render_bytes", explode)  # as bytes, for a page's response
    monkeypatch.setattr(app.renderer, "parts", explode)  # cut at its per-request values, for a page's message


def lose_templates(app: AdGuardMiddleware, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str, *args: object, **kwargs: object) -> jinja2.Template:
        raise jinja2.TemplateNotFound(name)

    monkeypatch.setattr(app.renderer._env, "get_template", missing)


def break_cookie_decoding(app: AdGuardMiddleware, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.cookie, "load", explode)


def break_user_agent_parsing(app: AdGuardMiddleware, monkeypatch: pytest.MonkeyPatch) -> None:
    clear_cache()  # parsed user-agents are cached: forget them, so the parser is really called
    monkeypatch.setattr("adguard_mw.clients.parse", explode)


def break_event_sink(app: AdGuardMiddleware, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.events, "sinks", [CallableSink(explode)])


@dataclass(frozen=True)
class Fault:
    part: str
    inject: Callable[[AdGuardMiddleware, pytest.MonkeyPatch], None]
    policy: str
    reported_as: str
    reader_gets: str  # "original": the app's page untouched; "usual": the page as the middleware always serves it


FAULTS = [
    Fault("notice template", break_overlay, "notice", "deciding what to show on a page", "original"),
    Fault("soft dialog template", break_overlay, "soft", "deciding what to show on a page", "original"),
    Fault("template files missing", lose_templates, "hard", "deciding what to show on a page", "original"),
    Fault("cookie decoding", break_cookie_decoding, "hard", "deciding what to show on a page", "original"),
    Fault("user-agent parsing", break_user_agent_parsing, "soft", "deciding what to show on a page", "original"),
    Fault("event sink raising", break_event_sink, "soft", "writing events to CallableSink", "usual"),
]


@pytest.fixture(autouse=True)
def fresh_user_agent_cache() -> None:
    clear_cache()


def unchanged_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.ERROR and LOGGED_ONCE in r.getMessage()]


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.part for fault in FAULTS])
async def test_a_broken_part_serves_the_page_and_is_logged_once(
    fault: Fault, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = wrapped(policy=Policy(mode=fault.policy, dismiss_cooldown=0))  # type: ignore[arg-type]
    async with client(app) as c:
        await report(c, app, "blocked")  # a reader who would be asked: the most work for the middleware
        fault.inject(app, monkeypatch)
        responses = [await c.get("/news/1", headers={"Accept": "text/html"}) for _ in range(REQUESTS)]
        app.events.flush()
    for response in responses:
        assert response.status_code == 200
        if fault.reader_gets == "original":
            assert response.text == PAGE and response.headers["etag"] == '"v1"'  # untouched, validators and all
            assert response.headers["cache-control"] == "public, max-age=600" and "set-cookie" not in response.headers
        else:
            assert "<article>Text</article>" in response.text and f'src="{app.names.prefix}/' in response.text
            assert f'class="{app.names.css_class}' in response.text  # the message, as usual
    assert len(unchanged_errors(caplog)) == 1
    assert fault.reported_as in unchanged_errors(caplog)[0].getMessage()
    # Later ones are counted, not logged: per request on the page's path, per batch of events off it.
    assert fault_counts()[fault.reported_as] >= (REQUESTS if fault.reader_gets == "original" else 1)


async def test_a_full_event_queue_costs_events_not_readers(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    class StuckDisk:
        def write(self, records: list[dict[str, Any]]) -> None:
            release.wait(10)

    log = EventLog([StuckDisk()], queue_size=2)
    app = wrapped(policy="soft", events=log)
    try:
        async with client(app) as c:
            beacons = [await report(c, app, "blocked") for _ in range(5)]
            pages = [await c.get("/news/1") for _ in range(5)]
    finally:
        release.set()
    assert all(response.status_code == 200 for response in beacons + pages)
    assert all('role="dialog"' in page.text for page in pages)
    assert log.dropped > 0
    warnings = [r for r in caplog.records if "event queue full" in r.getMessage()]
    assert len(warnings) == 1


class EndpointFault:
    @staticmethod
    def cookie(app: AdGuardMiddleware, monkeypatch: pytest.MonkeyPatch) -> None:
        break_cookie_decoding(app, monkeypatch)

    @staticmethod
    def user_agent(app: AdGuardMiddleware, monkeypatch: pytest.MonkeyPatch) -> None:
        break_user_agent_parsing(app, monkeypatch)


@pytest.mark.parametrize("inject", [EndpointFault.cookie, EndpointFault.user_agent], ids=["cookie", "user-agent"])
async def test_a_broken_part_behind_the_beacon_is_answered_and_logged_once(
    inject: Callable[[AdGuardMiddleware, pytest.MonkeyPatch], None],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = wrapped(policy="soft")
    async with client(app) as c:
        await report(c, app, "blocked")
        inject(app, monkeypatch)
        responses = [await report(c, app, "not_blocked") for _ in range(REQUESTS)]
    assert all(500 <= response.status_code < 600 for response in responses)
    for response in responses:  # the verdict stands; at most the count of silent page views ends (silence.py)
        for value in response.headers.get_list("set-cookie"):
            name, _, rest = value.partition("=")
            if name == app.cookie.name:
                state = app.cookie.load(f"{name}={rest.split(';')[0]}".encode())
                assert state is not None and state.verdict is Verdict.BLOCKED and state.silent == 0
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


# --- strange pages -------------------------------------------------------------------------------------------------

HTML = (b"content-type", b"text/html")
TAG = b"<script"


def split_everywhere(page: bytes) -> list[list[bytes]]:
    """The page in two chunks, cut at every byte offset, and also one byte per chunk."""
    return [[page[:cut], page[cut:]] for cut in range(len(page) + 1)] + [[page[i : i + 1] for i in range(len(page))]]


@dataclass(frozen=True)
class Page:
    name: str
    chunkings: list[list[bytes]]
    inserted_after: bytes | None  # the detector goes right after these bytes; None: the page passes unchanged


SMALL = b"<!doctype html><html><head><meta charset=utf-8><title>T</title></head><body>x</body></html>"
LATIN1 = b"<html><head><meta charset=iso-8859-1><title>Caf\xe9 \xff\xfe</title></head><body>\xe0 la une</body></html>"
NULS = b"\x00<html>\x00<head>\x00<title>\x00</title></head><body>\x00</body></html>\x00"
BAD_UTF8 = b"\xef\xbb\xbf<html><head><title>\xc3\x28 \xa0\xa1 \xf0\x28\x8c\x28</title></head><body></body></html>"
MEGABYTE = 1024 * 1024
HEADLESS = b"<body>" + b"<p>paragraph</p>" * (MEGABYTE // 16) + b"</body>"
FRAGMENT = b"<p>" + b"x" * MEGABYTE
UNCLOSED = b"<html><head"
HEAD_IN_ATTRIBUTE = b'<html data-x="<body>"><head><title>T</title></head><body></body></html>'


def chunked(page: bytes, size: int) -> list[bytes]:
    return [page[i : i + size] for i in range(0, len(page), size)]


PAGES = [
    Page("<head split at every byte offset", split_everywhere(SMALL), b"<meta charset=utf-8>"),
    Page("latin-1 bytes", [[LATIN1], chunked(LATIN1, 7)], b"<meta charset=iso-8859-1>"),
    Page("NUL bytes", [[NULS], chunked(NULS, 3)], b"<head>"),
    Page("invalid UTF-8", [[BAD_UTF8], chunked(BAD_UTF8, 5)], b"<head>"),
    Page("1 MB without a head, in one message", [[HEADLESS]], b""),  # where its head would be: before <body>
    Page("1 MB without a head, streamed", [chunked(HEADLESS, 16384)], b""),
    Page("1 MB fragment, neither head nor body", [[FRAGMENT], chunked(FRAGMENT, 65536)], None),
    Page("an unclosed <head", [[UNCLOSED], [b"<html><he", b"ad"]], None),
    Page("empty", [[b""], [b"", b""]], None),
]


async def serve_page(chunks: list[bytes], *, policy: str = "observe") -> Sent:
    messages: list[Message] = [start(headers=[HTML])]
    messages += [body(chunk, more=True) for chunk in chunks[:-1]] + [body(chunks[-1] if chunks else b"")]

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(dict(message))

    return await call(AdGuardMiddleware(inner, secret_key=KEY, policy=policy), http_scope())


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
async def test_strange_html_arrives_intact_with_the_detector_at_most_once(page: Page) -> None:
    for chunks in page.chunkings:
        original = b"".join(chunks)
        sent = await serve_page(chunks)
        assert sent.status == 200
        declared = sent.header("content-length")
        assert declared is None or int(declared) == len(sent.body)
        if page.inserted_after is None:
            assert sent.body == original
            continue
        assert sent.body.count(TAG) == 1, chunks[:2]
        at = sent.body.index(TAG)
        tag_end = sent.body.index(b"</script>", at) + len(b"</script>")
        if sent.body.startswith(b"<noscript>", tag_end):  # the no-JavaScript marker travels with the tag
            tag_end = sent.body.index(b"</noscript>", tag_end) + len(b"</noscript>")
        assert sent.body[:at] + sent.body[tag_end:] == original  # nothing else changed, byte for byte
        assert sent.body[:at].endswith(page.inserted_after)
    assert fault_counts() == {}


async def test_a_streamed_page_with_no_head_in_sight_is_held_back_only_up_to_the_look_ahead() -> None:
    sent = Sent()
    page = b"<!doctype html><!--" + b"<p>paragraph</p>" * (MEGABYTE // 16) + b"--><p>x</p>"
    chunks = chunked(page, 16384)

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send(start(headers=[HTML]))
        for index, chunk in enumerate(chunks):
            await send(body(chunk, more=True))
            assert index * 16384 - len(sent.body) <= LOOKAHEAD + 16384
        await send(body(b""))

    await AdGuardMiddleware(inner, secret_key=KEY)(http_scope(), no_request_body(), sent)
    assert sent.body == page


async def test_a_head_inside_a_comment_is_not_the_head() -> None:
    page = b"<!doctype html><!-- <head> is below --><html><head><title>T</title></head><body></body></html>"
    sent = await serve_page([page])
    assert sent.body.index(TAG) > page.index(b"<html>")


# --- the app or the client failing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppFailure:
    name: str
    app_raises_after: int | None  # the app raises after sending this many messages (None: never)
    send_fails_at: int | None  # the server's send raises OSError at this message of ours (None: never)
    blocked_reader: bool  # a hard-wall reader: the app's page is replaced and its later messages discarded
    reaches_the_server: list[str]  # the messages the server was given before the failure


STREAM = [start(headers=[HTML]), body(b"<html><head></head>", more=True), body(b"<body>", more=True), body(b"</body>")]

APP_FAILURES = [
    AppFailure("app raises before its response", 0, None, False, []),
    AppFailure("app raises after starting its response", 1, None, False, []),
    AppFailure("app raises after its first chunk", 2, None, False, ["start", "body"]),
    AppFailure("app raises under the hard wall", 2, None, True, ["start", "body"]),
    AppFailure("client gone before the first byte", None, 0, False, ["start"]),
    AppFailure("client gone after the first chunk", None, 2, False, ["start", "body", "body"]),
    AppFailure("client gone while the wall is sent", None, 1, True, ["start", "body"]),
]


@pytest.mark.parametrize("case", APP_FAILURES, ids=[case.name for case in APP_FAILURES])
async def test_the_app_or_the_client_failing_reaches_the_server_unchanged(case: AppFailure) -> None:
    raised = Boom("the app's own error")
    gone = OSError("client disconnected")
    app_saw: list[BaseException] = []
    given: list[str] = []

    async def server_send(message: Message) -> None:
        given.append(message["type"].removeprefix("http.response."))
        if case.send_fails_at is not None and len(given) - 1 == case.send_fails_at:
            raise gone

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            for sent_so_far, message in enumerate(STREAM):
                if sent_so_far == case.app_raises_after:
                    raise raised
                await send(dict(message))
        except BaseException as exc:
            app_saw.append(exc)
            raise

    app = AdGuardMiddleware(inner, secret_key=KEY, policy="hard")
    headers = [("user-agent", CHROME)]
    if case.blocked_reader:
        async with client(app) as c:
            beacon = await report(c, app, "blocked")
        headers.append(("cookie", f"{app.names.cookie}={beacon.cookies[app.names.cookie]}"))
    expected = raised if case.app_raises_after is not None else gone
    with pytest.raises(type(expected)) as failure:
        await app(http_scope(headers=headers), no_request_body(), server_send)
    assert failure.value is expected  # the very exception, neither wrapped nor swallowed
    assert app_saw == [expected]  # the app learns of a lost client from its own send, as without us
    assert given == case.reaches_the_server
    assert fault_counts() == {}


async def test_after_a_failure_the_next_reader_is_served_as_usual() -> None:
    app = wrapped()
    first = Sent()

    async def gone(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise OSError("client disconnected")
        await first(message)

    with pytest.raises(OSError):
        await app(http_scope("/stream"), no_request_body(), gone)
    async with client(app) as c:
        response = await c.get("/stream")
        beacon = await report(c, app, "blocked")
    assert response.status_code == 200 and response.text.count(TAG.decode()) == 1  # no state kept from the failure
    assert beacon.status_code == 200
