"""Streaming insertion of a snippet into HTML responses.

This module knows nothing about ad blocking: it wraps `send`, holds back `http.response.start` until the first
body message, asks a callback what to do with an HTML page, and inserts bytes early in `<head>` (after
`<meta charset>` when there is one, so the charset stays within the first kilobyte) or, for a document without a
head, before the last `</body>`. It looks ahead a bounded amount, never buffers a whole body, and passes every
other response through untouched: non-HTML, encoded, ranged, attachments, non-200 and `pathsend`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from starlette.types import Message, Send

from ._faults import report_fault

Headers = list[tuple[bytes, bytes]]

# How far into a body we look for an insertion point before giving up and sending the page unchanged.
LOOKAHEAD = 64 * 1024
# The HTML standard only honours a <meta charset> within the first 1024 bytes: wait at most that long for one.
CHARSET_WINDOW = 1024

_HEAD_OPEN = re.compile(rb"<head(?=[\s>/])[^>]*>", re.IGNORECASE)
_BODY_OPEN = re.compile(rb"<body(?=[\s>/])", re.IGNORECASE)
_HEAD_END = re.compile(rb"</head\s*>|<body(?=[\s>/])", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta\s[^>]*charset[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(rb"</body\s*>", re.IGNORECASE)

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
# Headers that describe the original bytes and would be wrong for the edited ones.
_KEPT_BY_REPLACEMENT = frozenset(
    {
        b"set-cookie",
        b"content-security-policy",
        b"content-security-policy-report-only",
        b"strict-transport-security",
        b"x-frame-options",
        b"referrer-policy",
        b"permissions-policy",
        b"x-content-type-options",
    }
)
_STALE_WHEN_EDITED = frozenset({b"content-length", b"etag", b"last-modified", b"content-md5"})


@dataclass(frozen=True, slots=True)
class Rewrite:
    """What to do with one HTML response, decided once its headers are known."""

    insert: bytes = b""  # inserted into the page
    add_headers: Sequence[tuple[bytes, bytes]] = ()  # appended, so the app's own Set-Cookie headers survive
    remove_headers: frozenset[bytes] = field(default_factory=frozenset)  # lower-case names dropped first
    replace_body: bytes | None = None  # a whole page served instead of the app's (its body is discarded)


Decide = Callable[[Headers], Awaitable[Rewrite | None]]


def is_rewritable_html(status: int, headers: Headers) -> bool:
    """Only a plain, complete, unencoded HTML page is ever edited."""
    if status != 200:
        return False
    html = False
    for name, value in headers:
        name = name.lower()
        if name == b"content-type":
            html = value.split(b";", 1)[0].strip().lower() in _HTML_TYPES
        elif name in (b"content-encoding", b"content-range") or (
            name == b"content-disposition" and value.lstrip().lower().startswith(b"attachment")
        ):
            return False
    return html


def find_insertion_point(buffer: bytes, final: bool) -> int | None:
    """Where to insert in the body seen so far: an offset, -1 for "nowhere, send unchanged", None for "wait".

    After `<meta charset>` when the head has one, else right after `<head>` once the head is complete (or the
    charset window has passed), else before the last `</body>`. The head's end bounds the search for the meta
    tag; as the meta tag nearly always comes first, it is looked for first, within the charset window, and the
    head's end only between `<head>` and it (the same answer as finding the head's end first, for less work).
    """
    head = _search(_HEAD_OPEN, buffer)
    if head is not None and _search(_BODY_OPEN, buffer, 0, head.start()) is None:
        start = head.end()
        window = min(len(buffer), start + CHARSET_WINDOW)
        meta = _search(_META_CHARSET, buffer, start, window)
        if meta is not None:
            # The first <meta charset> of the head, unless the head ends before it does.
            return meta.end() if _search(_HEAD_END, buffer, start, meta.end()) is None else start
        head_end = _search(_HEAD_END, buffer, start)
        limit = head_end.start() if head_end is not None else len(buffer)
        if limit > window:  # a head longer than the window: a meta tag may still come later in it
            meta = _search(_META_CHARSET, buffer, start, limit)
            if meta is not None:
                return meta.end()
        if head_end is not None or final or len(buffer) - start >= CHARSET_WINDOW:
            return start
        return None
    if not final and len(buffer) < LOOKAHEAD:
        # No head yet: it may still come, or this is a headless document whose </body> we need to see.
        last_close = _last(_BODY_CLOSE, buffer) if _search(_BODY_OPEN, buffer) else None
        return last_close if last_close is not None else None
    last_close = _last(_BODY_CLOSE, buffer)
    return last_close if last_close is not None else -1


def _search(
    pattern: re.Pattern[bytes], buffer: bytes, start: int = 0, end: int | None = None
) -> re.Match[bytes] | None:
    """The first match that is not inside an HTML comment (`<!-- <head> -->` is not the head)."""
    end = len(buffer) if end is None else end
    match = pattern.search(buffer, start, end)
    while match is not None:
        at = match.start()
        opened = buffer.rfind(b"<!--", 0, at)
        if opened < 0 or opened <= buffer.rfind(b"-->", 0, at):
            return match
        match = pattern.search(buffer, match.end(), end)  # none of the patterns matches an empty string
    return None


def _last(pattern: re.Pattern[bytes], buffer: bytes) -> int | None:
    start = None
    for match in pattern.finditer(buffer):
        start = match.start()
    return start


class HtmlRewriter:
    """A per-response `send` wrapper: all state lives here, never on the middleware."""

    __slots__ = ("_buffer", "_decide", "_insert", "_mode", "_send", "_start", "passing")

    def __init__(self, send: Send, decide: Decide) -> None:
        self._send = send
        self._decide = decide
        self._start: Message | None = None
        self._mode = "start"  # start -> held -> scanning -> passing | discarding
        self.passing = False  # True once every further message goes out unchanged: callers may skip us
        self._buffer = b""
        self._insert = b""

    def __call__(self, message: Message) -> Awaitable[None]:
        """The wrapped `send`: it returns the awaitable of whichever step handles the message (the server's own
        `send` once passing), so no coroutine of its own is made for each message."""
        mode = self._mode
        if mode == "passing":
            return self._send(message)
        if mode == "scanning" and message["type"] == "http.response.body":
            return self._scan(message)
        if mode == "start" and message["type"] == "http.response.start":
            return self._on_start(message)
        if mode == "held" and message["type"] == "http.response.body":
            return self._on_first_body(message)
        if mode == "discarding":
            return _nothing()
        return self._flush_and_pass(message)

    async def _on_start(self, message: Message) -> None:
        headers = list(message.get("headers", ()))  # a generator must be read once only
        message["headers"] = headers
        try:
            rewritable = is_rewritable_html(message["status"], headers)
        except Exception as exc:  # malformed headers from the app: not ours to judge
            report_fault("reading a response's headers", exc)
            rewritable = False
        if not rewritable:
            self._mode = "passing"
            self.passing = True
            await self._send(message)
            return
        self._start = message
        self._mode = "held"

    async def _on_first_body(self, message: Message) -> None:
        start = self._start
        assert start is not None
        final = not message.get("more_body", False)
        try:
            rewrite = await self._decide(start["headers"])
            if rewrite is not None and rewrite.replace_body is None:
                edited_headers = _edit_headers(start["headers"], rewrite)
                if final:
                    # The whole page is here: insert and send it with an exact Content-Length.
                    body = message.get("body", b"")
                    self._insert = rewrite.insert
                    body = self._edit(body, find_insertion_point(body, final=True))
                    edited_headers.append((b"content-length", str(len(body)).encode()))
                    message = {"type": "http.response.body", "body": body}
        except Exception as exc:
            report_fault("deciding what to show on a page", exc)
            rewrite = None
        if rewrite is None:
            self._mode = "passing"
            self.passing = True
            await self._send(start)
            await self._send(message)
        elif rewrite.replace_body is not None:
            await self._replace(start, rewrite)
            self._mode = "passing" if final else "discarding"
            self.passing = final
        elif final:
            self._mode = "passing"
            self.passing = True
            await self._send({**start, "headers": edited_headers})
            await self._send(message)
        else:
            # A stream: the server will chunk it, and we edit as it flows.
            self._insert = rewrite.insert
            self._mode = "scanning"
            await self._send({**start, "headers": edited_headers})
            await self._scan(message)

    async def _scan(self, message: Message) -> None:
        final = not message.get("more_body", False)
        self._buffer += message.get("body", b"")
        try:
            offset = find_insertion_point(self._buffer, final)
        except Exception as exc:  # a crashing parser sends the page on unchanged
            report_fault("finding where to insert in a page", exc)
            offset = -1
        if offset is None:
            return
        body = self._edit(self._buffer, offset)
        self._buffer = b""
        self._mode = "passing"
        self.passing = True
        await self._send({"type": "http.response.body", "body": body, "more_body": not final})

    def _edit(self, body: bytes, offset: int | None) -> bytes:
        if offset is None or offset < 0 or not self._insert:
            return body
        view = memoryview(body)  # slices of a view are not copies: the page is copied once, not twice
        return b"".join((view[:offset], self._insert, view[offset:]))

    async def _replace(self, start: Message, rewrite: Rewrite) -> None:
        body = rewrite.replace_body or b""
        # Keep the app's cookies (a session refresh, say) and its security policies; the rest described the page.
        headers = [(name, value) for name, value in start["headers"] if name.lower() in _KEPT_BY_REPLACEMENT]
        headers.append((b"content-type", b"text/html; charset=utf-8"))
        headers.append((b"content-length", str(len(body)).encode()))
        headers.extend(rewrite.add_headers)
        await self._send({"type": "http.response.start", "status": 200, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})

    async def _flush_and_pass(self, message: Message) -> None:
        """Anything unexpected (pathsend, trailers, a message out of order): send what we hold, then step aside."""
        if self._mode == "held" and self._start is not None:
            await self._send(self._start)
        elif self._mode == "scanning" and self._buffer:
            await self._send({"type": "http.response.body", "body": self._buffer, "more_body": True})
            self._buffer = b""
        self._mode = "passing"
        self.passing = True
        await self._send(message)


async def _nothing() -> None:
    return None


def _edit_headers(headers: Headers, rewrite: Rewrite) -> Headers:
    removed = _STALE_WHEN_EDITED | rewrite.remove_headers if rewrite.remove_headers else _STALE_WHEN_EDITED
    edited = [(name, value) for name, value in headers if name.lower() not in removed]
    edited.extend(rewrite.add_headers)
    return edited
