"""`AdGuardMiddleware`: the one piece a site owner adds.

Pure ASGI, so it costs almost nothing: non-HTTP scopes, non-GET requests and every non-HTML response pass
straight through, and the cookie is read only when an HTML page is about to be sent. Requests under the
middleware's own neutral path prefix are answered here without calling the app. Read top to bottom: the parts
it is built from, the entry point (`__call__`), then what each HTML page gets (`_rewrite_page`).
"""

from __future__ import annotations

import os
import posixpath
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, Literal, cast

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from .assets import Assets
from .building import AnyASGIApp, Buildable
from .detector_tag import DetectorTag
from .editorial import Editorial
from .editorial import build as _build_editorial
from .endpoints import Endpoints
from .events import EventLog, Record
from .exempt import exempted as _exempted
from .injector import Headers, HtmlRewriter, Rewrite, declares_html, stopped_by_us
from .live_preview import SCOPE_KEY as PREVIEWING
from .live_preview import LivePreview
from .message import Message, MessageRenderer, Messages
from .message_page import CACHE_HEADERS, MessagePages
from .names import Names
from .navigation import Navigation
from .options import MIN_KEY_LENGTH as MIN_KEY_LENGTH  # importable from here as before
from .options import Options
from .origins import SiteOrigins
from .pageview import SILENCE_GRACE as SILENCE_GRACE  # read (and shortened by tests) in pageview.py
from .pageview import PageViews
from .policy import Decision, Mode, Policy
from .previewed import PreviewAs
from .request_headers import header, is_navigation
from .request_headers import header_bytes as _header_bytes
from .request_headers import local_path as _local_path
from .silence import settled
from .state import StateCookie, VisitorState
from .theme import Theme

# Set on every scope we handle, so a second instance further in never acts again; its value is this deployment's
# page API name, for the site's templates and code (`adguard_mw.page_api_name(request)`, page-api.md).
SCOPE_FLAG = "adguard_mw"
_PRIVATE = ((b"cache-control", b"private, no-cache"), (b"vary", b"Cookie"))


class _Passing:
    """What a response that is not a page to rewrite has instead of a rewriter: its messages go out as they are.
    `passing` is a slot, as the rewriter's is (an attribute of the class would cost a lookup on every message)."""

    __slots__ = ("passing",)

    def __init__(self) -> None:
        self.passing = True


_PASSING = cast(HtmlRewriter, _Passing())  # only its `passing` is ever read


class AdGuardMiddleware(Buildable):
    """Detects ad blockers with an injected script and asks blocking readers for support, per the policy.

    `secret_key` is one key or a list, oldest to newest: cookies are signed with the newest and accepted from
    any, so keys rotate without resetting readers. The neutral names of our URLs, cookie and markup derive from
    `name_seed` (by default the oldest key), so they stay stable while keys are added. Every keyword is described
    (checked, defaulted, documented) once, in options.py; `from_config` and `check` are in building.py.
    """

    def __init__(
        self,
        app: AnyASGIApp,
        *,
        secret_key: str | Sequence[str],
        policy: Policy | Mode | str = Mode.OBSERVE,
        message: Message | Messages | None = None,
        site_name: str = "this site",
        events: str | os.PathLike[str] | Callable[[Record], object] | EventLog | None = None,
        page_view_sample_rate: float = 1.0,
        third_party_bait: str | None = None,
        silent_detector: Literal["unknown", "blocked"] | None = None,
        metrics_path: str | None = None,
        gpc: Literal["anonymous", "skip"] = "anonymous",
        honor_gpc: bool | None = None,
        consent_event: str | None = None,
        consent_cookie: str | None = None,
        beacon: bool = True,
        variant_messages: Mapping[str, Message | Messages] | None = None,
        theme: Theme | None = None,
        allowed_hosts: Sequence[str] = (),
        template_dir: str | os.PathLike[str] | None = None,
        paywall_selector: str | None = None,
        preview_token: str | None = None,
        ad_slots: str | bool = False,
        ad_slots_in_observe: bool = False,
        trusted_origins: Sequence[str] = (),
        forwarded_allow_ips: str | Sequence[str] | None = None,
        path_prefix: str | None = None,
        cookie_name: str | None = None,
        cookie_max_age: int = 30 * 24 * 3600,
        https_only: bool | None = None,
        name_seed: str | None = None,
        render_message: Literal["ours", "site"] = "ours",
    ) -> None:
        given = dict(locals())
        del given["self"], given["app"]
        options = self._options = Options.of(**given)  # every check, in one line each: options.py
        self.app: ASGIApp = app
        # "site": notices and soft dialogs are left to the site's own UI, told through the page API (page-api.md).
        self.render_message = options.render_message
        self.site_name = options.site_name
        self.names = Names.derive(
            options.name_seed or options.secret_key[0], prefix=options.path_prefix, cookie=options.cookie_name
        )
        self.cookie = StateCookie(
            list(options.secret_key),
            name=self.names.cookie,
            companion=self.names.companion,
            max_age=options.cookie_max_age,
            secure=options.https_only,
        )
        self._editorial = _build_editorial(options, self.names)  # before anything starts: it may still raise
        events = options.events
        self.events = events if isinstance(events, EventLog) else EventLog.to(events, site=options.site_name)
        self.sample_rate = options.page_view_sample_rate
        self.gpc = options.gpc
        self.honor_gpc = options.gpc == "skip"  # kept for code that read it: whether GPC readers are left alone
        self.metrics_path = options.metrics_path
        self._metrics: ASGIApp | None = None
        if options.metrics_path is not None:
            from .metrics import MetricsEndpoint, process_sink

            self.events.sinks.append(process_sink())
            self._metrics = MetricsEndpoint()
        self.watch_silence = options.watch_silence
        self.beacon = options.beacon
        self.views = PageViews(self.cookie, self.events, options)
        self.messages = MessagePages(self.names, self.views, render_message=options.render_message)
        origins = SiteOrigins(options.trusted_origins, options.forwarded_allow_ips)
        navigate = Navigation(self) if options.beacon else None  # without a beacon nothing leaves the page
        self.endpoints = Endpoints(
            self.names,
            self.cookie,
            self.events,
            self._editorial,
            gpc=options.gpc,
            origins=origins,
            navigate=navigate,
            exempted=_exempted,
        )
        self.live_preview = LivePreview(list(options.secret_key), self.names)
        self.tags = DetectorTag(self.names, self._editorial.assets, watch_silence=options.watch_silence)
        self.reloader = None  # from_config sets one when the file is watched
        # The name the site's scripts find the page API by (page-api.md): drawn per deployment, like the rest.
        self.page_api_name: str = self.names.event
        # The paths answered here instead of by the app, in one set: one lookup per request.
        own = set(self.endpoints.paths)
        if options.metrics_path is not None:
            own.add(options.metrics_path)
        self._own_paths = frozenset(own)
        # The folder all of them are in (URL paths: posixpath on every OS): a request whose path holds it nowhere is
        # none of ours, whatever its root path, so the usual request is told by one substring search.
        self._own_folder = posixpath.commonpath(own)

    def build_editorial(self, **options: Any) -> Editorial:
        """Check and build everything editors own (`options.EDITORIAL`; those not given take their defaults, the
        others stay as they are); raises ValueError in one line, changing nothing."""
        return _build_editorial(self._options.editorial_only(**options), self.names)

    def use(self, editorial: Editorial) -> None:
        """Switch to new editorial settings (a reload); requests in flight finish with the old ones."""
        self._editorial = editorial
        self.endpoints.use(editorial)

    @property
    def editorial(self) -> Editorial:
        """The editors' settings in force now."""
        return self._editorial

    @property
    def policy(self) -> Policy:
        return self._editorial.policy

    @property
    def renderer(self) -> MessageRenderer:
        return self._editorial.renderer

    @property
    def assets(self) -> Assets:
        return self._editorial.assets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or SCOPE_FLAG in scope:
            await self.app(scope, receive, send)
            return
        scope[SCOPE_FLAG] = self.page_api_name
        if self.reloader is not None:
            self.reloader.check()
        path: str = scope["path"]
        if self._own_folder in path:  # else none of ours, below any root path: the usual request
            if scope.get("root_path"):
                path = _local_path(scope)
            if path in self._own_paths:  # exact paths only: the site's own files may share our folder
                await self._answer(scope, receive, send, path)
                return
        if scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        if self._editorial.preview_token is not None:
            self.live_preview.prepare(scope, self._editorial)
        rewriter: HtmlRewriter | None = None  # None until the response starts

        def send_or_rewrite(message: ASGIMessage) -> Awaitable[None]:
            """A `send` that costs next to nothing unless the response turns out to be an HTML page: a plain
            function that returns the awaitable of the `send` (or the rewriter) it hands the message to, so a
            response streamed in many chunks costs a function call per chunk, not a coroutine. After a start that
            is no HTML page, `_PASSING` stands in for a rewriter: each later message takes the one test."""
            nonlocal rewriter
            if rewriter is not None:
                return send(message) if rewriter.passing else rewriter(message)
            if message["type"] == "http.response.start":
                if declares_html(message):
                    page = partial(self._rewrite_page, scope, _local_path(scope))
                    rewriter = HtmlRewriter(send, page, _header_bytes(scope, b"if-none-match"))
                    return rewriter(message)
                rewriter = _PASSING
            return send(message)

        try:
            await self.app(scope, receive, send_or_rewrite)
        except Exception as exc:
            if not stopped_by_us(exc):  # else the reader has our whole response: the app was told to stop
                raise

    async def _answer(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """A request for one of our own paths (the metrics, the endpoints), answered without calling the app."""
        if path == self.metrics_path and self._metrics is not None:
            await self._metrics(scope, receive, send)
            return
        subpath = path[len(self.names.prefix) :]
        if not await self.live_preview.intercept(scope, receive, send, subpath, self._editorial):
            await self.endpoints(scope, receive, send, subpath)

    def detector_tag(self, root_path: str, nonce: str | None) -> str:
        """The tag we insert (detector_tag.py)."""
        return self.tags.make(root_path, nonce, self.assets)

    async def _rewrite_page(self, scope: Scope, path: str, headers: Headers) -> Rewrite | None:
        """Called once an HTML page's headers are known: what to insert, or which page to serve instead."""
        editorial = self._editorial  # one reading: a reload mid-request changes nothing for this page
        previewing: PreviewAs | None = scope.get(PREVIEWING)
        if previewing is not None:
            return self.messages.preview(scope, path, previewing, headers, editorial)
        if self.gpc == "skip" and header(scope, b"sec-gpc") == "1":
            # The site chose to leave Global Privacy Control readers alone: no cookie read or written, no event,
            # never asked. The page gets the same tag as everyone (so a shared cache never keeps a tag-less copy).
            return Rewrite(insert=self.tags.for_page(scope, headers, editorial, path))
        views, watching = self.views, self.watch_silence
        sampled = views.every_page or views.sampled()  # the usual set-up needs no call
        state = views.read_state(scope) if sampled or editorial.may_ask or watching else None
        added: list[tuple[bytes, bytes]] = []
        # The checks of the request are skipped for most returning readers: their account would not change.
        now = int(time.time())  # one reading of the clock for the page view and its message
        watch = watching and not settled(state, now) and is_navigation(scope) and views.may_watch(scope)
        state, changed, decision = await views.page_view(
            scope, path, state, editorial, sampled=sampled, watch=watch, now=now
        )
        if changed and state is not None:
            https = scope["scheme"] == "https"
            added.append(self.cookie.set_cookie_header(state, https=https))
            if not self.cookie.companion_current(_header_bytes(scope, b"cookie"), state):
                added.append(self.cookie.set_companion_header(state, https=https))
        tag = self.tags.for_page(scope, headers, editorial, path)
        if not self.beacon:
            tag += self.messages.hidden(scope, path, headers, editorial)
        if decision.show is None and not added:
            # The same for every reader: the page stays cacheable as the app says.
            return self.tags.plain_rewrite if tag is self.tags.plain else Rewrite(insert=tag)
        added.extend(_PRIVATE)
        if decision.show is None:
            return Rewrite(tag, added, CACHE_HEADERS)  # insert, add_headers, remove_headers: by position, ~1.6k less
        return self.messages.serve(scope, path, decision.show, state, tag, headers, added, editorial, now=now)

    async def page_view(
        self, scope: Scope, path: str, state: VisitorState | None, editorial: Editorial, *, sampled: bool, watch: bool
    ) -> tuple[VisitorState | None, bool, Decision]:
        """One page view, a full load or a client-side navigation (pageview.py)."""
        return await self.views.page_view(scope, path, state, editorial, sampled=sampled, watch=watch)

    def message_fragment(
        self, scope: Scope, path: str, mode: Mode, state: VisitorState | None, editorial: Editorial, *, counted: bool
    ) -> dict[str, str]:
        """The message for a client-side navigation (message_page.py)."""
        return self.messages.fragment(scope, path, mode, state, editorial, counted=counted)


def page_api_name(request: Request | Scope) -> str | None:
    """The page API's name for a request that went through the middleware (None otherwise): give it to the
    templates, e.g. `<html data-reader-support="{{ page_api_name(request) }}">` (page-api.md)."""
    scope = request.scope if isinstance(request, Request) else request
    name = scope.get(SCOPE_FLAG)
    return name if isinstance(name, str) else None
