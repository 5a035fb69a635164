"""`AdGuardMiddleware`: the one piece a site owner adds.

Pure ASGI, so it costs almost nothing: non-HTTP scopes, non-GET requests and every non-HTML response pass
straight through, and the cookie is read only when an HTML page is about to be sent. Requests under the
middleware's own neutral path prefix are answered here without calling the app.
"""

from __future__ import annotations

import inspect
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import lru_cache, partial
from typing import Any, Literal

from markupsafe import Markup
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from ._faults import log_build_error
from .assets import Assets
from .clients import describe_client
from .csp import allows_inline, csp_nonce
from .editorial import Editorial
from .editorial import build as _build_editorial
from .endpoints import Endpoints
from .events import EventLog, Record
from .exempt import exempted as _exempted
from .injector import Headers, HtmlRewriter, Rewrite, stopped_by_us
from .live_preview import SCOPE_KEY as PREVIEWING
from .live_preview import LivePreview
from .message import Message, MessageRenderer, Messages
from .names import Names
from .navigation import Navigation
from .options import MIN_KEY_LENGTH as MIN_KEY_LENGTH  # importable from here as before
from .options import Options, did_you_mean, known_options
from .origins import SiteOrigins
from .policy import NOTHING, Decision, Mode, Policy, decide, is_crawler
from .previewed import PreviewAs
from .reload import Reloader
from .silence import GRACE, account
from .state import StateCookie, Verdict, VisitorState
from .story import wall_in_page
from .theme import Theme
from .urls import attribute, url_path

# Any ASGI app. Frameworks spell the ASGI types their own way (Litestar and Quart use TypedDicts), and a callable
# that takes a TypedDict scope is not a Starlette ASGIApp to a type checker, though it is the same thing at run time.
AnyASGIApp = Callable[..., Awaitable[None]]
# Set on every scope we handle, so a second instance further in never acts again; its value is this deployment's
# page API name, for the site's templates and code (`adguard_mw.page_api_name(request)`, page-api.md).
SCOPE_FLAG = "adguard_mw"
SILENCE_GRACE = GRACE  # the grace silence.py defines; one name here, so a test can shorten it for this module
_PRIVATE = ((b"cache-control", b"private, no-cache"), (b"vary", b"Cookie"))
_PREVIEWED = ((b"cache-control", b"no-store"), (b"vary", b"Cookie"), (b"x-robots-tag", b"noindex"))
# A page shaped by the reader's cookie drops the app's caching and validators: no cache may keep it for others.
_CACHE_HEADERS = frozenset({b"cache-control", b"expires", b"etag", b"last-modified"})


class _SaysWhyItCannotStart(type):
    """Starlette and FastAPI build middleware on the first request, where a wrong keyword or value becomes a 500 on
    every request and a traceback far from the cause. Building the middleware logs the mistake in one line first,
    and a misspelt keyword is named with the nearest real one instead of Python's bare `unexpected keyword`."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            _reject_unknown_keywords(cls, kwargs)
            return super().__call__(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            log_build_error(exc)
            raise


class AdGuardMiddleware(metaclass=_SaysWhyItCannotStart):
    """Detects ad blockers with an injected script and asks blocking readers for support, per the policy.

    `secret_key` is one key or a list, oldest to newest: cookies are signed with the newest and accepted from
    any, so keys rotate without resetting readers. The neutral names of our URLs, cookie and markup derive from
    `name_seed` (by default the oldest key), so they stay stable while keys are added. Every keyword is described
    (checked, defaulted, documented) once, in options.py.
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
        # With a consent cookie, only page views of readers who consented can count (and set a cookie).
        consent_cookie = options.consent_cookie
        self._consent_needle = f"{consent_cookie}=".encode() if consent_cookie is not None else None
        self.beacon = options.beacon
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
        self._plain_tag = self.detector_tag("", None).encode()
        self.reloader: Reloader | None = None

    def build_editorial(self, **options: Any) -> Editorial:
        """Check and build everything editors own (`options.EDITORIAL`; those not given take their defaults, the
        others stay as they are); raises ValueError in one line, changing nothing."""
        return _build_editorial(self._options.editorial_only(**options), self.names)

    def use(self, editorial: Editorial) -> None:
        """Switch to new editorial settings (a reload); requests in flight finish with the old ones."""
        self._editorial = editorial
        self.endpoints.use(editorial)

    @property
    def page_api_name(self) -> str:
        """The name the site's scripts find the page API by (page-api.md): drawn per deployment, like the rest."""
        return self.names.event

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

    @classmethod
    def from_config(
        cls, app: AnyASGIApp, path: str | os.PathLike[str] | None = None, /, **overrides: Any
    ) -> AdGuardMiddleware:
        """Settings from an `adguard-mw.toml` (or the file named by ADGUARD_MW_CONFIG); keywords override them."""
        from .config import load_settings

        try:
            known_options(overrides)
            settings = load_settings(path)
            middleware = cls(app, **{**settings.options, **overrides})
        except (ValueError, TypeError) as exc:
            log_build_error(exc)
            raise
        if settings.watch or settings.signal:
            middleware.reloader = Reloader(middleware, settings, overrides)
        return middleware

    @classmethod
    def check(cls, path: str | os.PathLike[str] | None = None, /, **options: Any) -> None:
        """Raise now what building the middleware would raise later, for frameworks that build it lazily (on the
        first request or lifespan event): `AdGuardMiddleware.check(CONFIG)` checks the file as `from_config` reads
        it; `AdGuardMiddleware.check(secret_key=..., policy=...)` checks the constructor's keywords."""
        known_options(options)  # a misspelt keyword gets a "did you mean", not Python's bare TypeError
        if "secret_key" in options:
            cls(_unused_app, **options)
        else:
            from .config import load_settings

            cls(_unused_app, **{**load_settings(path).options, **options, "events": None})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or SCOPE_FLAG in scope:
            await self.app(scope, receive, send)
            return
        scope[SCOPE_FLAG] = self.names.event
        if self.reloader is not None:
            self.reloader.check()
        path = _local_path(scope)
        if path == self.metrics_path and self._metrics is not None:
            await self._metrics(scope, receive, send)
        elif path in self.endpoints.paths:  # exact paths only: the site's own files may share our folder
            subpath = path[len(self.names.prefix) :]
            if not await self.live_preview.intercept(scope, receive, send, subpath, self._editorial):
                await self.endpoints(scope, receive, send, subpath)
        elif scope["method"] == "GET":
            if self._editorial.preview_token is not None:
                self.live_preview.prepare(scope, self._editorial)
            try:
                await self.app(scope, receive, self._watch_for_html(scope, path, send))
            except Exception as exc:
                if not stopped_by_us(exc):  # else the reader has our whole response: the app was told to stop
                    raise
        else:
            await self.app(scope, receive, send)

    def _watch_for_html(self, scope: Scope, path: str, send: Send) -> Send:
        """A `send` that costs next to nothing unless the response turns out to be an HTML page.

        A plain function, not a coroutine: it returns the awaitable of the `send` (or the rewriter) it hands the
        message to, so a response streamed in many chunks costs a function call per chunk, not a coroutine.
        """
        rewriter: HtmlRewriter | None = None

        def send_or_rewrite(message: ASGIMessage) -> Awaitable[None]:
            nonlocal rewriter
            if rewriter is None:
                if message["type"] != "http.response.start" or not _declares_html(message):
                    return send(message)
                rewriter = HtmlRewriter(
                    send, partial(self._rewrite_page, scope, path), _header_bytes(scope, b"if-none-match")
                )
            return send(message) if rewriter.passing else rewriter(message)

        return send_or_rewrite

    def detector_tag(self, root_path: str, nonce: str | None) -> str:
        """The tag we insert; `root_path` comes from the request, so every value goes through `urls` and escaping."""
        nonce_attr = f' nonce="{attribute(nonce)}"' if nonce else ""
        version = self.names.version(self.assets.detector.version)
        src = attribute(f"{self._url(root_path, self.names.script)}?{version}")
        tag = f'<script src="{src}" defer{nonce_attr}></script>'
        if self.watch_silence:
            # Only a browser without JavaScript loads this: it tells us a silent detector is not a blocked one.
            href = attribute(self._url(root_path, self.names.fallback))
            tag += f'<noscript><link rel="stylesheet" href="{href}"></noscript>'
        return tag

    async def _rewrite_page(self, scope: Scope, path: str, headers: Headers) -> Rewrite | None:
        """Called once an HTML page's headers are known: what to insert, or which page to serve instead."""
        editorial = self._editorial  # one reading: a reload mid-request changes nothing for this page
        previewing: PreviewAs | None = scope.get(PREVIEWING)
        if previewing is not None:
            return self._preview(scope, path, previewing, headers, editorial)
        if self.gpc == "skip" and _header(scope, b"sec-gpc") == "1":
            # The site chose to leave Global Privacy Control readers alone: no cookie read or written, no event,
            # never asked. The page gets the same tag as everyone (so a shared cache never keeps a tag-less copy).
            return Rewrite(insert=self._tag_for(scope, headers, editorial, path))
        sampled = self._sampled()
        needs_state = sampled or editorial.may_ask or self.watch_silence
        state = self._read_state(scope) if needs_state else None
        added: list[tuple[bytes, bytes]] = []
        watch = self.watch_silence and _is_navigation(scope) and self._may_watch(scope)
        state, changed, decision = await self.page_view(scope, path, state, editorial, sampled=sampled, watch=watch)
        if changed and state is not None:
            https = scope["scheme"] == "https"
            added.append(self.cookie.set_cookie_header(state, https=https))
            if not self.cookie.companion_current(_header_bytes(scope, b"cookie"), state):
                added.append(self.cookie.set_companion_header(state, https=https))
        tag = self._tag_for(scope, headers, editorial, path)
        if not self.beacon:
            tag += self._local_message(scope, path, headers, editorial)
        if decision.show is None and not added:
            # The same for every reader: the page stays cacheable as the app says.
            return _same_for_all(tag) if tag is self._plain_tag else Rewrite(insert=tag)
        added.extend(_PRIVATE)
        if decision.show is None:
            return Rewrite(insert=tag, add_headers=added, remove_headers=_CACHE_HEADERS)
        return self._message(scope, path, decision.show, state, tag, headers, added, editorial)

    async def page_view(
        self, scope: Scope, path: str, state: VisitorState | None, editorial: Editorial, *, sampled: bool, watch: bool
    ) -> tuple[VisitorState | None, bool, Decision]:
        """One page view of `path`, a full load or a client-side navigation (navigation.py): the silence account
        (when `watch`), the policy's decision with the exempt hook, the page_view event (when `sampled`). Returns
        the new state, whether it changed, and the decision."""
        now = int(time.time())
        changed = False
        if watch:
            before = state
            state, silenced = account(state, now, grace=SILENCE_GRACE)
            changed = state is not before
            if silenced and state is not None:
                previous = before.verdict.value if before is not None and before.verdict is not None else None
                fields = self._fields(scope, state, path, editorial)
                signals = {"detector": Verdict.BLOCKED.value}
                self.events.emit(
                    "verdict", verdict="blocked", kind=state.kind, signals=signals, previous=previous, **fields
                )
        decision = decide(editorial.policy, state, path, now) if self.beacon else NOTHING
        if decision.show is not None and not await self._may_ask(scope, path, state, editorial):
            decision = NOTHING
        if sampled:
            verdict = state.verdict.value if state is not None and state.verdict is not None else None
            kind = state.kind if state is not None else None
            fields = self._fields(scope, state, path, editorial)
            fields["verdict"], fields["kind"], fields["sample_rate"] = verdict, kind, self.sample_rate
            self.events.put("page_view", fields)  # a dict of its own: no copy into keywords and back
        if decision.state is not None:
            state, changed = decision.state, True
        return state, changed, decision

    def _tag_for(self, scope: Scope, headers: Headers, editorial: Editorial, path: str) -> bytes:
        root_path = scope.get("root_path", "")
        nonce = csp_nonce(headers)
        tag = self._plain_tag if not root_path and nonce is None else self.detector_tag(root_path, nonce).encode()
        if editorial.paywall and self._may_wall(editorial.policy, path):
            tag += editorial.paywall
        return tag

    @staticmethod
    def _may_wall(policy: Policy, path: str) -> bool:
        """Whether a hard wall can hide this page from some reader: then crawlers are told so (no cloaking)."""
        if not policy.covers(path):
            return False
        rule = policy.rule_for(path)
        if rule is not None and rule.mode is not None:
            return rule.mode is Mode.HARD
        return policy.mode is Mode.HARD or any(variant.mode is Mode.HARD for variant in policy.variants)

    def _local_message(self, scope: Scope, path: str, headers: Headers, editorial: Editorial) -> bytes:
        """Without the beacon the page itself decides: every page in scope carries the (hidden) message."""
        policy = editorial.policy
        if not policy.covers(path):
            return b""
        settings = policy.effective(path, None)
        if settings.mode is Mode.OBSERVE:
            return b""
        context = self._context(scope, path, settings.mode, None, headers, editorial)
        context["cooldown"] = settings.dismiss_cooldown
        return editorial.renderer.render_bytes("overlay.html", **context)

    def _context(
        self, scope: Scope, path: str, mode: Mode, state: VisitorState | None, headers: Headers, editorial: Editorial
    ) -> dict[str, Any]:
        root_path = scope.get("root_path", "")
        assets = editorial.assets
        visitor = state.visitor_id if state is not None else None
        locale, message = editorial.message_for(
            editorial.policy.variant_for(visitor), _header(scope, b"accept-language")
        )
        urls = _message_urls(self.names, root_path, assets.stylesheet.version, assets.message_script.version)
        return {
            "message": message,
            "locale": locale,
            "cta_url": urls[0],
            "mode": mode.value,
            "css": self.names.css_class,
            "next": url_path("", path),  # a URL like the others; "check again" decodes and resolves it
            "check_url": urls[1],
            "stylesheet_url": urls[2],
            "message_url": urls[3],
            # Inline with the page where its policy allows, so that blocking a request cannot hide the message.
            "page_style": assets.inline_style if allows_inline(headers, "style-src") else None,
            "page_script": assets.inline_message_script if allows_inline(headers, "script-src") else None,
            "data": self.names.data,
            "seen_url": urls[4],
            "dismiss_url": urls[5],
            "client": describe_client(_header(scope, b"user-agent"), _header(scope, b"sec-ch-ua")),
            "kind": state.kind if state is not None else None,
            "nonce": csp_nonce(headers),  # the page's policy stays in force: our tags carry its nonces
            "style_nonce": csp_nonce(headers, "style-src"),
        }

    def message_fragment(
        self,
        scope: Scope,
        path: str,
        mode: Mode,
        state: VisitorState | None,
        editorial: Editorial,
        *,
        counted: bool,
    ) -> dict[str, str]:
        """The message for a client-side navigation (navigation.py): the same panel, by the same templates, for the
        page script to put in place; the hard wall wrapped as a layer over the whole page. With the stylesheet's
        URL, since the page may not have it yet."""
        context = self._context(scope, path, mode, state, [], editorial)
        if counted:
            fields = self._fields(scope, state, path, editorial)
            self.events.emit("message_served", verdict=Verdict.BLOCKED.value, kind=context["kind"], **fields)
            if mode is Mode.HARD:  # nothing of the page can be reached around it: shown as surely as a wall
                self.events.emit("message_shown", verdict=Verdict.BLOCKED.value, kind=context["kind"], **fields)
        html = editorial.renderer.render("layer.html" if mode is Mode.HARD else "panel.html", **context)
        return {"html": html, "style": context["stylesheet_url"]}

    def _sampled(self) -> bool:
        """Whether this page view is one of the sampled ones (page_view events)."""
        return self.sample_rate >= 1 or (self.sample_rate > 0 and random.random() < self.sample_rate)

    def _message(
        self,
        scope: Scope,
        path: str,
        mode: Mode,
        state: VisitorState | None,
        tag: bytes,
        headers: Headers,
        added: list[tuple[bytes, bytes]],
        editorial: Editorial,
    ) -> Rewrite:
        context = self._context(scope, path, mode, state, headers, editorial)
        fields = self._fields(scope, state, path, editorial)
        self.events.emit("message_served", verdict=Verdict.BLOCKED.value, kind=context["kind"], **fields)
        if self.render_message == "site" and mode is not Mode.HARD:  # the site shows it, told by the page API
            return Rewrite(insert=tag, add_headers=added, remove_headers=_CACHE_HEADERS)
        if mode is Mode.HARD:
            # The wall replaces the page: it is on screen as surely as the page would have been.
            self.events.emit("message_shown", verdict=Verdict.BLOCKED.value, kind=context["kind"], **fields)
        return self._show(mode, context, tag, added, editorial)

    def _preview(self, scope: Scope, path: str, seen: PreviewAs, headers: Headers, editorial: Editorial) -> Rewrite:
        """An editor's preview of this page as a blocked reader (live_preview.py): nothing recorded or cached."""
        names = {variant.name for variant in editorial.policy.variants}
        messages = editorial.messages_for(seen.variant if seen.variant in names else None)
        if seen.locale is not None and seen.locale in messages:
            locale, message = seen.locale.lower(), messages[seen.locale]
        else:
            locale, message = messages.choose(_header(scope, b"accept-language"))
        context = self._context(scope, path, seen.mode, None, headers, editorial)
        # No CTA counting (links go straight to their targets); the message's posts are answered by live_preview.
        context.update(message=message, locale=locale, kind=seen.kind, cta_url=None)
        # No detector: in the editor's browser it would find no blocker and take the message away.
        return self._show(seen.mode, context, b"", list(_PREVIEWED), editorial)

    def _show(
        self, mode: Mode, context: dict[str, Any], tag: bytes, added: list[tuple[bytes, bytes]], editorial: Editorial
    ) -> Rewrite:
        """The message in `mode` on this page: a wall for `hard`, else inserted with the tag."""
        renderer = editorial.renderer
        if mode is Mode.HARD:
            page = renderer.render_bytes("wall.html", detector_tag=Markup(tag.decode()), **context)
            if editorial.story_selector is None:
                return Rewrite(replace_body=page, add_headers=added)
            # Inside the site's own page, the story taken out (story.py); the whole-page wall if that fails.
            in_page = partial(
                wall_in_page,
                selector=editorial.story_selector,
                head=renderer.render("wall_head.html", detector_tag=Markup(tag.decode()), **context),
                panel=renderer.render("panel.html", **context),
            )
            return Rewrite(replace_body=page, whole_page=in_page, add_headers=added, remove_headers=_CACHE_HEADERS)
        overlay = renderer.render_bytes("overlay.html", **context)
        return Rewrite(insert=tag + overlay, add_headers=added, remove_headers=_CACHE_HEADERS)

    def _may_watch(self, scope: Scope) -> bool:
        """Whether this page view can count toward a silence: a page the reader opened (the caller knows), in a
        browser that may run the detector; never a prefetch or prerender or a crawler."""
        if is_crawler(_header(scope, b"user-agent")):
            return False
        headers: dict[bytes, bytes] = scope[_HEADERS_KEY]  # indexed by _is_navigation
        if self._consent_needle is not None and self._consent_needle not in headers.get(b"cookie", b""):
            return False  # no consent yet: the check does not run, and nothing may be stored
        purpose = headers.get(b"sec-purpose") or headers.get(b"purpose") or headers.get(b"x-moz")
        return purpose is None or (b"prefetch" not in purpose and b"prerender" not in purpose)

    def _fields(self, scope: Scope, state: VisitorState | None, path: str, editorial: Editorial) -> dict[str, Any]:
        anonymous = _header(scope, b"sec-gpc") == "1"  # Global Privacy Control: counted, never with an id
        return editorial.event_fields(
            state.visitor_id if state is not None and not anonymous else None,
            path,
            user_agent=_header(scope, b"user-agent"),
            accept_language=_header(scope, b"accept-language"),
            brands=_header(scope, b"sec-ch-ua"),
        )

    def _read_state(self, scope: Scope) -> VisitorState | None:
        cookie = _header_bytes(scope, b"cookie")
        if not cookie or not self.cookie.carried_by(cookie):
            return None  # no verification work at all for readers without our cookie
        return self.cookie.load(cookie)

    async def _may_ask(self, scope: Scope, path: str, state: VisitorState | None, editorial: Editorial) -> bool:
        """Crawlers and exempted readers (subscribers, say) are never asked; a failing hook counts as exempt."""
        reason = None
        if is_crawler(_header(scope, b"user-agent")):
            reason = "crawler"
        elif editorial.policy.exempt is not None:
            reason = "hook" if await _exempted(editorial.policy, scope) else None
        if reason is not None:
            self.events.emit("exempted", reason=reason, **self._fields(scope, state, path, editorial))
        return reason is None

    def _url(self, root_path: str, name: str) -> str:
        return url_path(root_path, f"{self.names.prefix}/{name}")


def page_api_name(request: Request | Scope) -> str | None:
    """The page API's name for a request that went through the middleware (None otherwise): give it to the
    templates, e.g. `<html data-reader-support="{{ page_api_name(request) }}">` (page-api.md)."""
    scope = request.scope if isinstance(request, Request) else request
    name = scope.get(SCOPE_FLAG)
    return name if isinstance(name, str) else None


def _declares_html(start: ASGIMessage) -> bool:
    """A quick look at the Content-Type only; the rewriter checks everything else."""
    headers = start.get("headers", ())
    if not isinstance(headers, list):
        headers = start["headers"] = list(headers)  # a generator can be read only once
    for name, value in headers:
        if len(name) == 12 and (name == b"content-type" or name.lower() == b"content-type"):
            kind: bytes = value[:21].lower()
            return kind.startswith(b"text/html") or kind == b"application/xhtml+xml"
    return False


def _message_urls(names: Names, root_path: str, stylesheet: str, script: str) -> tuple[str, ...]:
    """The URLs a message links to under this mount point, made once per mount point (it is the reader's text
    under `Mount("/{lang}")`: only short ones are kept, at most 64 of them)."""
    if len(root_path) > 128:
        return _message_urls_for.__wrapped__(names, root_path, stylesheet, script)
    return _message_urls_for(names, root_path, stylesheet, script)


@lru_cache(maxsize=64)
def _message_urls_for(names: Names, root_path: str, stylesheet: str, script: str) -> tuple[str, ...]:
    def url(name: str) -> str:
        return url_path(root_path, f"{names.prefix}/{name}")

    return (
        url(names.follow),
        url(names.recheck),
        f"{url(names.stylesheet)}?{names.version(stylesheet)}",
        f"{url(names.message_script)}?{names.version(script)}",
        url(names.seen),
        url(names.dismiss),
    )


@lru_cache(maxsize=4)  # the plain tag (a reload may make a new one)
def _same_for_all(tag: bytes) -> Rewrite:
    """The rewrite of a page edited alike for every reader, made once per tag."""
    return Rewrite(insert=tag)


def _is_navigation(scope: Scope) -> bool:
    """A page the reader opened, not HTML fetched by a script or an icon request.

    Browsers say so in `Sec-Fetch-Dest`, but only to secure origins; elsewhere a navigation is the request that
    asks for HTML first.
    """
    destination = _header(scope, b"sec-fetch-dest")
    if destination:
        return destination == "document"
    return _header(scope, b"accept").startswith("text/html")


_HEADERS_KEY = "adguard_mw.headers"


def _header_bytes(scope: Scope, name: bytes) -> bytes:
    """A request header by its lower-case name. A page asks for several: they are indexed once per request."""
    headers: dict[bytes, bytes] | None = scope.get(_HEADERS_KEY)
    if headers is None:
        headers = {}
        for key, value in scope["headers"]:
            if key == b"cookie" and key in headers:
                headers[key] += b"; " + value  # HTTP/2 sends cookies in crumbs, one header each: read them all
            else:
                headers.setdefault(key, value)  # the first of other repeated headers
        scope[_HEADERS_KEY] = headers
    return headers.get(name, b"")


def _header(scope: Scope, name: bytes) -> str:
    return _header_bytes(scope, name).decode("latin-1")


def _local_path(scope: Scope) -> str:
    """The path below the app's mount point: servers may or may not include `root_path` in `path`."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        return path[len(root_path) :] or "/"
    return path


def _reject_unknown_keywords(cls: type, kwargs: Mapping[str, object]) -> None:
    parameters = inspect.signature(cls.__init__).parameters  # type: ignore[misc]  # the class's own, not an instance's
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return  # a subclass that takes any keyword checks its own
    known = [name for name in parameters if name not in ("self", "app")]
    for name in kwargs:
        if name not in known:
            raise TypeError(
                f"adguard_mw: AdGuardMiddleware has no option {name!r}; {did_you_mean(name, known)}"
                "the options are listed in docs/configuration.md"
            )


async def _unused_app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover - never called
    raise RuntimeError("AdGuardMiddleware.check builds the middleware only to check it")
