"""Streaming insertion of a snippet into HTML responses.

This module knows nothing about ad blocking: it wraps `send`, holds back `http.response.start` until the first
body message, asks a callback what to do with an HTML page, and inserts bytes where `lookahead` finds a place in
the page's head (after `<meta charset>` when there is one, so the charset stays within the first kilobyte), in
the page's own charset (`charset`). It looks ahead a bounded amount, never buffers a whole body, and passes every
other response through untouched: non-HTML, encoded, ranged, attachments, non-200, `pathsend`, and AMP pages
(`<html amp>`, `<html ⚡>`…), which any tag of ours would make invalid: the start of a page is held until its
`<html>` tag shows whether it is one, before anything is decided.

A page edited the same way for every reader keeps a validator: a weak ETag derived from the app's validator and
what we insert, so a browser's `If-None-Match` still gets a 304. Once a response of ours has replaced the app's
(a wall, or that 304), the app's further `send` calls fail as they would for a client that has gone, so a stream
stops instead of running on unread.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple

from starlette.types import Message, Send

from .__about__ import __version__
from ._faults import report_fault
from .charset import declares_utf8, encode_for_page, page_codec
from .lookahead import CHARSET_WINDOW, LOOKAHEAD, Lookahead, find_insertion_point

__all__ = [
    "CHARSET_WINDOW",
    "LOOKAHEAD",
    "AppStopped",
    "HtmlRewriter",
    "Rewrite",
    "find_insertion_point",
    "is_rewritable_html",
    "stopped_by_us",
]

Headers = list[tuple[bytes, bytes]]
logger = logging.getLogger("adguard_mw")

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
# What the edit made wrong. The ETag is replaced by one derived from it (unless the rewrite drops validators).
_SHORT_INSERT = 512  # bytes of an insert (the detector's tag) cheaper to scan for ASCII than to look up a charset for
_STALE_WHEN_EDITED = frozenset({b"content-length", b"content-md5", b"accept-ranges", b"etag"})
# What a 304 of ours repeats from the 200 it stands for (RFC 9110, 15.4.5), as Starlette's StaticFiles does.
_KEPT_BY_NOT_MODIFIED = frozenset({b"cache-control", b"content-location", b"date", b"expires", b"vary"})
_ETAG_SEED = f"adguard_mw {__version__}\n".encode()  # a new version of the injector may insert differently


class Rewrite(NamedTuple):
    """What to do with one HTML response, decided once its headers are known. A named tuple: made for most pages,
    at about half the cost of a frozen dataclass (6k instructions against 10k)."""

    insert: bytes = b""  # inserted into the page, written in UTF-8 (re-encoded for a page in another charset)
    add_headers: Sequence[tuple[bytes, bytes]] = ()  # appended, so the app's own Set-Cookie headers survive
    remove_headers: frozenset[bytes] = frozenset()  # lower-case names dropped first;
    # naming `etag` drops the validators: the page is one reader's (the app's Last-Modified goes too if named)
    replace_body: bytes | None = None  # a whole page served instead of the app's (its body is discarded)
    # Given the app's whole page and headers, the page to serve instead, edited (None: serve `replace_body`). Only
    # then is a page buffered, for this one response, up to MAX_WHOLE_PAGE bytes; `replace_body` must be given too.
    whole_page: Callable[[bytes, Headers], bytes | None] | None = None


Decide = Callable[[Headers], Awaitable[Rewrite | None]]
MAX_WHOLE_PAGE = 8 * 1024 * 1024  # a page longer than this is not buffered for `whole_page`: `replace_body` instead
WHOLE_PAGE_SECONDS = 5.0  # ... nor one still streaming after this long (a live page may never end)


def is_rewritable_html(status: int, headers: Headers) -> bool:
    """Only a plain, complete, unencoded HTML page is ever edited."""
    if status != 200:
        return False
    html = False
    for name, value in headers:
        try:
            name = _LOWER[name]
        except (KeyError, TypeError):
            name = _lowered(name)
        if name == b"content-type":
            html = names_html(value)
        elif name in (b"content-encoding", b"content-range") or (
            name == b"content-disposition" and value.lstrip().lower().startswith(b"attachment")
        ):
            return False
    return html


# Header names and Content-Type values seen, lower-cased and judged: a site sends a few dozen, and a lookup costs a
# fraction of lowering each name of each response. Bounded: 256 names and 64 values, of at most 128 bytes each.
_LOWER: dict[bytes, bytes] = {}
_HTML_VALUES: dict[bytes, bool] = {}
_KEPT_NAMES, _KEPT_VALUES, _KEPT_LENGTH = 256, 64, 128


def _lowered(name: bytes) -> bytes:
    lower = name.lower()
    if len(_LOWER) < _KEPT_NAMES and type(name) is bytes and len(name) <= _KEPT_LENGTH:
        _LOWER[name] = lower
    return lower


def names_html(value: bytes) -> bool:
    """Whether a Content-Type value names HTML (its media type, any case, with any parameters): one lookup for a
    value seen before. The middleware's glance at every response and the rewriter's check both ask it."""
    try:
        return _HTML_VALUES[value]
    except (KeyError, TypeError):  # not seen yet, or not bytes (not hashable)
        pass
    html = value.split(b";", 1)[0].strip().lower() in _HTML_TYPES
    if len(_HTML_VALUES) < _KEPT_VALUES and type(value) is bytes and len(value) <= _KEPT_LENGTH:
        _HTML_VALUES[value] = html
    return html


def declares_html(start: Message) -> bool:
    """A quick look at a response's Content-Type only, the glance every response of the site gets (the rewriter
    checks everything else): a value seen before is one lookup, without a call to `names_html`."""
    try:
        headers = start["headers"]
    except KeyError:  # ASGI lets a response without headers leave them out
        return False
    if type(headers) is not list:
        headers = start["headers"] = list(headers)  # a generator can be read only once
    for name, value in headers:
        if name == b"content-type":  # ASGI asks for lower-case names: other spellings take the loop below
            try:
                return _HTML_VALUES[value]
            except (KeyError, TypeError):  # not seen yet, or not bytes
                return names_html(value)
    for name, value in headers:
        if len(name) == 12 and name.lower() == b"content-type":
            return names_html(value)
    return False


class AppStopped(OSError):
    """Raised by our `send` once a response of ours has replaced the app's: like a client that has gone."""


def stopped_by_us(exc: BaseException) -> bool:
    """Whether `exc` is, or comes from, the `AppStopped` we raised (frameworks re-raise it as their own)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AppStopped):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


class HtmlRewriter:
    """A per-response `send` wrapper: all state lives here, never on the middleware.

    `if_none_match` is the request's header: a page whose derived ETag it names is answered with a 304.
    """

    __slots__ = (
        "_buffer", "_chunks", "_decide", "_if_none_match", "_insert", "_lookahead", "_mode", "_rewrite", "_send",
        "_size", "_start", "_started", "passing",
    )  # fmt: skip

    def __init__(self, send: Send, decide: Decide, if_none_match: bytes = b"") -> None:
        self._send = send
        self._decide = decide
        self._if_none_match = if_none_match
        self._start: Message | None = None
        self._mode = "start"  # start -> held -> scanning | buffering -> passing | stopped
        self.passing = False  # True once every further message goes out unchanged: callers may skip us
        self._buffer = b""
        self._insert = b""
        self._lookahead: Lookahead | None = None
        self._rewrite: Rewrite | None = None  # a rewrite waiting for the whole page (`whole_page`)
        self._chunks: list[bytes] = []
        self._size = 0
        self._started = 0.0  # when buffering for `whole_page` began (time.monotonic)

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
        if mode == "stopped":
            return _stopped()
        if mode == "buffering" and message["type"] == "http.response.body":
            return self._collect(message)
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
        if self._buffer:  # the start of the page, held while it could still be an AMP page
            message = {
                "type": "http.response.body",
                "body": self._buffer + message.get("body", b""),
                "more_body": not final,
            }
            self._buffer = b""
        lookahead = Lookahead()  # what it reads of the start for `is_amp` serves its search for a place too
        try:
            amp = lookahead.is_amp(message.get("body", b""), final)
        except Exception as exc:
            report_fault("reading the start of a page", exc)
            amp = True  # send it on unchanged
        if amp is None:
            self._buffer = message.get("body", b"")
            return
        if amp:  # an AMP page is valid only as it is: no tag, no cookie, the app's headers (amp.md)
            self._mode = "passing"
            self.passing = True
            await self._send(start)
            await self._send(message)
            return
        not_modified = False
        try:
            # Unless the usual start answered (its <meta charset>): a page the headers call UTF-8 has none to wait for.
            if lookahead.charset is None:
                lookahead.charset_certain = declares_utf8(start["headers"])
            rewrite = await self._decide(start["headers"])
            if rewrite is not None and rewrite.replace_body is None:
                edited_headers, etag = _edit_headers(start["headers"], rewrite)
                not_modified = etag is not None and etag[2:] in self._if_none_match  # W/"…": its quoted part
                if final and not not_modified:
                    # The whole page is here: insert and send it with an exact Content-Length.
                    body = message.get("body", b"")
                    self._insert = rewrite.insert
                    self._lookahead = lookahead
                    offset = lookahead.feed(body, final=True)
                    if offset is None or offset < 0:
                        rewrite = None  # nowhere to insert (a fragment): the response goes out as the app sent it
                    else:
                        body = self._edit(body, offset)
                        if not start.get("trailers", False):  # a response with trailers goes out chunked
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
        elif rewrite.whole_page is not None and rewrite.replace_body is not None:
            self._rewrite = rewrite
            self._mode = "buffering"
            self._chunks = []
            self._size = 0
            self._started = time.monotonic()
            await self._collect(message)
        elif rewrite.replace_body is not None:
            await self._replace(start, rewrite)
        elif not_modified:
            await self._not_modified(start, edited_headers)
        elif final:
            self._mode = "passing"
            self.passing = True
            await self._send({**start, "headers": edited_headers})
            await self._send(message)
        else:
            # A stream: the server will chunk it, and we edit as it flows.
            self._insert = rewrite.insert
            self._lookahead = lookahead
            self._mode = "scanning"
            await self._send({**start, "headers": edited_headers})
            await self._scan(message)

    async def _scan(self, message: Message) -> None:
        final = not message.get("more_body", False)
        self._buffer += message.get("body", b"")
        try:
            assert self._lookahead is not None
            offset = self._lookahead.feed(self._buffer, final)
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
        insert = self._insert
        # ASCII reads the same in any charset we could find the head in. A long insert (a message, ~18 KB) asks for
        # the page's charset first: a UTF-8 page takes it as it is, with no scan of it for a byte outside ASCII.
        if len(insert) > _SHORT_INSERT or not insert.isascii():
            assert self._start is not None and self._lookahead is not None
            codec = page_codec(self._start["headers"], body, self._lookahead.charset)
            if codec is not None:
                insert = encode_for_page(insert, codec)
            elif not insert.isascii():
                _unknown_charset(self._start["headers"], self._lookahead.charset)
                return body
        view = memoryview(body)  # slices of a view are not copies: the page is copied once, not twice
        return b"".join((view[:offset], insert, view[offset:]))

    async def _collect(self, message: Message) -> None:
        """One more chunk of a page to be edited whole; at its end, the edited page (or the fallback) goes out."""
        start, rewrite = self._start, self._rewrite
        assert start is not None and rewrite is not None and rewrite.whole_page is not None
        chunk = message.get("body", b"")
        self._size += len(chunk)
        if self._size > MAX_WHOLE_PAGE or time.monotonic() - self._started > WHOLE_PAGE_SECONDS:
            self._chunks = []
            await self._replace(start, rewrite)
            return
        self._chunks.append(chunk)
        if message.get("more_body", False):
            return
        page = b"".join(self._chunks)
        self._chunks = []
        try:
            edited = rewrite.whole_page(page, start["headers"])
        except Exception as exc:
            report_fault("editing a whole page", exc, "the reader got the replacement page")
            edited = None
        if edited is None:
            await self._replace(start, rewrite)
            return
        headers, _ = _edit_headers(start["headers"], rewrite)
        if not start.get("trailers", False):
            headers.append((b"content-length", str(len(edited)).encode()))
        self._mode = "passing"
        self.passing = True
        await self._send({**start, "headers": headers})
        await self._send({"type": "http.response.body", "body": edited})

    async def _replace(self, start: Message, rewrite: Rewrite) -> None:
        body = rewrite.replace_body or b""
        # Keep the app's cookies (a session refresh, say) and its security policies; the rest described the page.
        headers = [(name, value) for name, value in start["headers"] if name.lower() in _KEPT_BY_REPLACEMENT]
        headers.append((b"content-type", b"text/html; charset=utf-8"))
        headers.append((b"content-length", str(len(body)).encode()))
        headers.extend(rewrite.add_headers)
        self._stop()
        await self._send({"type": "http.response.start", "status": 200, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})

    async def _not_modified(self, start: Message, edited_headers: Headers) -> None:
        """The reader's cache holds this very page: a 304 with the headers a 200 would have had for caches."""
        headers = [(name, value) for name, value in edited_headers if name.lower() in _KEPT_BY_NOT_MODIFIED]
        headers.extend((name, value) for name, value in edited_headers if name == b"etag")
        self._stop()
        await self._send({"type": "http.response.start", "status": 304, "headers": headers})
        await self._send({"type": "http.response.body", "body": b""})

    def _stop(self) -> None:
        """Our response stands for the app's: what the app sends from now on fails, as to a client gone."""
        self._mode = "stopped"
        self.passing = False

    async def _flush_and_pass(self, message: Message) -> None:
        """Anything unexpected (pathsend, trailers, a message out of order): send what we hold, then step aside."""
        if self._mode == "buffering" and self._start is not None and self._rewrite is not None:
            self._chunks = []  # a page being edited whole never goes out unedited: the replacement does
            await self._replace(self._start, self._rewrite)
            return
        if self._mode == "held" and self._start is not None:
            await self._send(self._start)
            if self._buffer:
                await self._send({"type": "http.response.body", "body": self._buffer, "more_body": True})
                self._buffer = b""
        elif self._mode == "scanning" and self._buffer:
            await self._send({"type": "http.response.body", "body": self._buffer, "more_body": True})
            self._buffer = b""
        self._mode = "passing"
        self.passing = True
        await self._send(message)


async def _stopped() -> None:
    raise AppStopped("adguard_mw: this response was replaced (a wall, or a 304); the reader no longer reads it")


def _edit_headers(headers: Headers, rewrite: Rewrite) -> tuple[Headers, bytes | None]:
    """The app's headers for the edited page, and the page's derived ETag if it keeps a validator."""
    extra = rewrite.remove_headers
    removed = _STALE_WHEN_EDITED if not extra else _REMOVED_WITH.get(extra) or _removed_with(extra)
    edited = []
    validator = None
    for name, value in headers:
        try:
            lower = _LOWER[name]
        except (KeyError, TypeError):
            lower = _lowered(name)
        if lower not in removed:
            edited.append((name, value))
            if lower == b"last-modified" and validator is None:
                validator = value
        elif lower == b"etag":
            validator = value  # the app's ETag, when it has one, identifies its page best
    edited.extend(rewrite.add_headers)
    etag = None
    if validator is not None and b"etag" not in rewrite.remove_headers:
        digest = hashlib.blake2b(_ETAG_SEED + validator + b"\n" + rewrite.insert, digest_size=12).hexdigest()
        etag = f'W/"{digest}"'.encode()
        edited.append((b"etag", etag))
    return edited, etag


# The names `_edit_headers` drops, by a rewrite's `remove_headers`: the callers name one or two sets, so the union
# is made once, not per page. Bounded: 16 sets.
_REMOVED_WITH: dict[frozenset[bytes], frozenset[bytes]] = {}


def _removed_with(extra: frozenset[bytes]) -> frozenset[bytes]:
    removed = _STALE_WHEN_EDITED | extra
    if len(_REMOVED_WITH) < 16:
        _REMOVED_WITH[extra] = removed
    return removed


_charsets_reported: set[bytes] = set()


def _unknown_charset(headers: Headers, meta_label: bytes | None) -> None:
    """Log once per charset label that a page in it was sent without our insert."""
    label = meta_label or next((value for name, value in headers if name.lower() == b"content-type"), b"")
    if label in _charsets_reported or len(_charsets_reported) > 100:
        return
    _charsets_reported.add(label)
    logger.warning(
        "adguard_mw: a page declares a charset we cannot write in (%r), so it was sent unchanged, without the "
        "detector; serve it as UTF-8 (or any charset browsers and Python both know) to have it detected",
        label.decode("latin-1"),
    )
