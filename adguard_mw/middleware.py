"""`AdGuardMiddleware`: the one piece a site owner adds.

Pure ASGI, so it costs almost nothing: non-HTTP scopes, non-GET requests and every non-HTML response pass
straight through, and the cookie is read only when an HTML page is about to be sent. Requests under the
middleware's own neutral path prefix are answered here without calling the app.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import random
import re
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread
import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from ._faults import report_fault
from .assets import Assets
from .clients import UNKNOWN_CLIENT, describe_client
from .csp import allows_inline, csp_nonce
from .editorial import Editorial
from .endpoints import Endpoints
from .events import EventLog, Record
from .injector import Headers, HtmlRewriter, Rewrite, stopped_by_us
from .message import Message, MessageRenderer, Messages
from .names import Names
from .origins import SiteOrigins
from .policy import NOTHING, Mode, Policy, decide, is_crawler
from .reload import Reloader
from .silence import GRACE, account
from .state import StateCookie, Verdict, VisitorState
from .theme import Theme
from .urls import attribute, url_path

# Any ASGI app. Frameworks spell the ASGI types their own way (Litestar and Quart use TypedDicts), and a callable
# that takes a TypedDict scope is not a Starlette ASGIApp to a type checker, though it is the same thing at run time.
AnyASGIApp = Callable[..., Awaitable[None]]
MIN_KEY_LENGTH = 24
_COOKIE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SCOPE_FLAG = "adguard_mw"  # set on every scope we handle, so a second instance further in never acts again
SILENCE_GRACE = GRACE  # the grace silence.py defines; one name here, so a test can shorten it for this module
_KEY_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
_PRIVATE = ((b"cache-control", b"private, no-cache"), (b"vary", b"Cookie"))
# A page shaped by the reader's cookie drops the app's caching and validators: no cache may keep it for others.
_CACHE_HEADERS = frozenset({b"cache-control", b"expires", b"etag", b"last-modified"})


class AdGuardMiddleware:
    """Detects ad blockers with an injected script and asks blocking readers for support, per the policy.

    `secret_key` is one key or a list, oldest to newest: cookies are signed with the newest and accepted from
    any, so keys rotate without resetting readers. The neutral names of our URLs, cookie and markup derive from
    `name_seed` (by default the oldest key), so they stay stable while keys are added.
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
    ) -> None:
        keys = _secret_keys(secret_key)
        if path_prefix is not None and not _is_prefix(path_prefix):
            raise ValueError(f"adguard_mw: path_prefix {path_prefix!r} must look like '/_support' (no trailing '/')")
        if cookie_name is not None and not _COOKIE_NAME.fullmatch(str(cookie_name)):
            raise ValueError(
                f"adguard_mw: cookie_name {cookie_name!r} must be letters, digits, '_', '-' or '.' (1 to 64 of them)"
            )
        if not isinstance(site_name, str) or not site_name.strip():
            raise ValueError(f"adguard_mw: site_name must be non-empty text, got {site_name!r}")
        if message is not None and not isinstance(message, Message | Messages):
            raise TypeError(
                f"adguard_mw: message must be an adguard_mw.Message or Messages, got {type(message).__name__}"
            )
        if not isinstance(cookie_max_age, int) or cookie_max_age <= 0:
            raise ValueError(f"adguard_mw: cookie_max_age must be a positive number of seconds, got {cookie_max_age!r}")
        if not isinstance(page_view_sample_rate, int | float) or not 0 <= page_view_sample_rate <= 1:
            raise ValueError(
                f"adguard_mw: page_view_sample_rate must be between 0 and 1, got {page_view_sample_rate!r}"
            )
        if third_party_bait is not None and not _is_origin(third_party_bait):
            raise ValueError(
                "adguard_mw: third_party_bait must be an origin such as 'https://ads.example.com', "
                f"got {third_party_bait!r}"
            )
        if silent_detector not in (None, "unknown", "blocked"):
            raise ValueError(f"adguard_mw: silent_detector must be 'unknown' or 'blocked', got {silent_detector!r}")
        if silent_detector == "blocked" and not beacon:
            raise ValueError(
                "adguard_mw: silent_detector='blocked' needs the beacon (a silence is noticed by the server)"
            )
        if silent_detector == "blocked" and consent_event is not None:
            raise ValueError(
                "adguard_mw: silent_detector='blocked' cannot work with consent_event (the server cannot tell a "
                "reader who has not consented from a silenced detector); use consent_cookie, or 'unknown'"
            )
        if honor_gpc is not None:
            warnings.warn(
                "adguard_mw: honor_gpc is deprecated; use gpc='skip' (never check GPC readers) or gpc='anonymous'",
                DeprecationWarning,
                stacklevel=2,
            )
            gpc = "skip" if honor_gpc else "anonymous"
        if gpc not in ("anonymous", "skip"):
            raise ValueError(f"adguard_mw: gpc must be 'anonymous' or 'skip', got {gpc!r}")
        if preview_token is not None and (not isinstance(preview_token, str) or len(preview_token) < 16):
            raise ValueError("adguard_mw: preview_token must be at least 16 random characters (or None: no preview)")
        if paywall_selector is not None and (not isinstance(paywall_selector, str) or not paywall_selector.strip()):
            raise ValueError(f"adguard_mw: paywall_selector must be a CSS selector such as '.article-body', got "
                             f"{paywall_selector!r}")  # fmt: skip
        self.app: ASGIApp = app
        self.site_name = site_name
        self.names = Names.derive(name_seed or keys[0], prefix=path_prefix, cookie=cookie_name)
        self.cookie = StateCookie(
            keys, name=self.names.cookie, companion=self.names.companion, max_age=cookie_max_age, secure=https_only
        )
        self.events = events if isinstance(events, EventLog) else EventLog.to(events, site=site_name)
        self.sample_rate = float(page_view_sample_rate)
        self.gpc = gpc
        self.honor_gpc = gpc == "skip"  # kept for code that read it: whether GPC readers are left alone
        self.metrics_path = metrics_path
        self._metrics: ASGIApp | None = None
        if metrics_path is not None:
            if not _is_prefix(metrics_path):
                raise ValueError(f"adguard_mw: metrics_path {metrics_path!r} must look like '/metrics'")
            from .metrics import MetricsEndpoint, process_sink

            self.events.sinks.append(process_sink())
            self._metrics = MetricsEndpoint()
        # By default a detector that never reports counts, on the server's own evidence (silence.py).
        # With a consent event the server cannot know whether the check was allowed to run: silence proves nothing.
        default = "blocked" if beacon and consent_event is None else "unknown"
        self.watch_silence = (silent_detector or default) == "blocked"
        # With a consent cookie, only page views of readers who consented can count (and set a cookie).
        self._consent_needle = f"{consent_cookie}=".encode() if consent_cookie is not None else None
        self.beacon = beacon
        # How the detector runs: fixed for the process's life (a reload rebuilds the assets with the same values).
        self._detection: dict[str, Any] = {
            "third_party_bait": third_party_bait,
            "skip_gpc": gpc == "skip",
            "consent_event": consent_event,
            "consent_cookie": consent_cookie,
            "beacon": beacon,
        }
        self._editorial = self.build_editorial(
            policy=policy,
            message=message,
            variant_messages=variant_messages,
            theme=theme,
            allowed_hosts=allowed_hosts,
            template_dir=template_dir,
            paywall_selector=paywall_selector,
            preview_token=preview_token,
            ad_slots=ad_slots,
            ad_slots_in_observe=ad_slots_in_observe,
        )
        origins = SiteOrigins(trusted_origins, forwarded_allow_ips)
        self.endpoints = Endpoints(
            self.names, self.cookie, self.events, self._editorial, gpc=gpc, origins=origins, exempted=_exempted
        )
        self._plain_tag = self.detector_tag("", None).encode()
        self.reloader: Reloader | None = None

    def build_editorial(
        self,
        *,
        policy: Policy | Mode | str = Mode.OBSERVE,
        message: Message | Messages | None = None,
        variant_messages: Mapping[str, Message | Messages] | None = None,
        theme: Theme | None = None,
        allowed_hosts: Sequence[str] = (),
        template_dir: str | os.PathLike[str] | None = None,
        paywall_selector: str | None = None,
        preview_token: str | None = None,
        ad_slots: str | bool = False,
        ad_slots_in_observe: bool = False,
    ) -> Editorial:
        """Check and build everything editors own; raises ValueError in one line, changing nothing."""
        slots = self._slot_selector(ad_slots, ad_slots_in_observe)
        checked = policy if isinstance(policy, Policy) else Policy(mode=Mode(_mode(policy)))
        names = {variant.name for variant in checked.variants}
        by_variant: dict[str, Messages] = {}
        for name, texts in (variant_messages or {}).items():
            if name not in names:
                raise ValueError(
                    f"adguard_mw: variant_messages names {name!r}, which is not one of the policy's variants"
                )
            if not isinstance(texts, Message | Messages):
                raise TypeError(f"adguard_mw: variant_messages[{name!r}] must be an adguard_mw.Message or Messages")
            by_variant[name] = texts if isinstance(texts, Messages) else Messages({"en": texts})
        if theme is not None and not isinstance(theme, Theme):
            raise TypeError(f"adguard_mw: theme must be an adguard_mw.Theme, got {type(theme).__name__}")
        if not self.beacon and Mode.HARD in checked.modes:
            raise ValueError("adguard_mw: the hard mode needs the beacon (the server must know the verdict); "
                             "use soft, or turn the beacon on")  # fmt: skip
        extra = [texts[locale] for texts in by_variant.values() for locale in texts]
        renderer = MessageRenderer(
            message or Message(),
            site_name=self.site_name,
            allowed_hosts=allowed_hosts,
            template_dir=template_dir,
            extra=extra,
        )
        if template_dir is not None:
            _try_templates(renderer, template_dir)
        assets = Assets.build(
            self.names,
            **self._detection,
            dismiss_cooldown=checked.dismiss_cooldown,
            theme=theme,
            override_dir=Path(template_dir) if template_dir is not None else None,
            slots=slots is not None,
        )
        paywall = b""
        if paywall_selector is not None:
            data = {
                "@context": "https://schema.org",
                "@type": "WebPage",
                "isAccessibleForFree": False,
                "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": False, "cssSelector": paywall_selector},
            }
            ld_json = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
            paywall = f'<script type="application/ld+json">{ld_json}</script>'.encode()
        return Editorial(checked, renderer, assets, by_variant, preview_token, paywall, slots, ad_slots_in_observe)

    def _slot_selector(self, ad_slots: object, in_observe: object) -> str | None:
        """The selector the slot script looks for: the site's own (if any) and this deployment's data attribute."""
        if not isinstance(in_observe, bool):
            raise ValueError(f"adguard_mw: ad_slots_in_observe must be true or false, got {in_observe!r}")
        if ad_slots is False or ad_slots is None:
            return None
        if ad_slots is not True and not (isinstance(ad_slots, str) and ad_slots.strip() and "{" not in ad_slots):
            raise ValueError(
                f"adguard_mw: ad_slots must be a CSS selector such as '.ad-slot', true (slots marked with "
                f"{self.names.slot_attribute}) or false, got {ad_slots!r}"
            )
        if not self.beacon:
            raise ValueError("adguard_mw: ad_slots needs the beacon (the server sends house messages only to readers "
                             "it knows are blocking); turn the beacon on, or leave ad_slots off")  # fmt: skip
        marked = f"[{self.names.slot_attribute}]"
        return marked if ad_slots is True else f"{ad_slots.strip()}, {marked}"

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

    @classmethod
    def from_config(
        cls, app: AnyASGIApp, path: str | os.PathLike[str] | None = None, /, **overrides: Any
    ) -> AdGuardMiddleware:
        """Settings from an `adguard-mw.toml` (or the file named by ADGUARD_MW_CONFIG); keywords override them."""
        from .config import load_settings

        try:
            settings = load_settings(path)
            middleware = cls(app, **{**settings.options, **overrides})
        except (ValueError, TypeError) as exc:
            _log_build_error(exc)
            raise
        if settings.watch or settings.signal:
            middleware.reloader = Reloader(middleware, settings, overrides)
        return middleware

    @classmethod
    def check(cls, path: str | os.PathLike[str] | None = None, /, **options: Any) -> None:
        """Raise now what building the middleware would raise later, for frameworks that build it lazily (on the
        first request or lifespan event): `AdGuardMiddleware.check(CONFIG)` checks the file as `from_config` reads
        it; `AdGuardMiddleware.check(secret_key=..., policy=...)` checks the constructor's keywords."""
        if "secret_key" in options:
            cls(_unused_app, **options)
        else:
            from .config import load_settings

            cls(_unused_app, **{**load_settings(path).options, **options, "events": None})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or SCOPE_FLAG in scope:
            await self.app(scope, receive, send)
            return
        scope[SCOPE_FLAG] = True
        if self.reloader is not None:
            self.reloader.check()
        path = _local_path(scope)
        if path == self.metrics_path and self._metrics is not None:
            await self._metrics(scope, receive, send)
        elif path in self.endpoints.paths:  # exact paths only: the site's own files may share our folder
            await self.endpoints(scope, receive, send, path[len(self.names.prefix) :])
        elif scope["method"] == "GET":
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
        if self.gpc == "skip" and _header(scope, b"sec-gpc") == "1":
            # The site chose to leave Global Privacy Control readers alone: no cookie read or written, no event,
            # never asked. The page gets the same tag as everyone (so a shared cache never keeps a tag-less copy).
            return Rewrite(insert=self._tag_for(scope, headers, editorial, path))
        now = int(time.time())
        sampled = self.sample_rate >= 1 or (self.sample_rate > 0 and random.random() < self.sample_rate)
        needs_state = sampled or editorial.may_ask or self.watch_silence
        state = self._read_state(scope) if needs_state else None
        added: list[tuple[bytes, bytes]] = []
        changed = False
        if self.watch_silence and self._may_watch(scope):
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
            self.events.emit("page_view", verdict=verdict, kind=kind, sample_rate=self.sample_rate, **fields)
        if decision.state is not None:
            state, changed = decision.state, True
        if changed and state is not None:
            https = scope["scheme"] == "https"
            added.append(self.cookie.set_cookie_header(state, https=https))
            added.append(self.cookie.set_companion_header(state, https=https))
        tag = self._tag_for(scope, headers, editorial, path)
        if not self.beacon:
            tag += self._local_message(scope, path, headers, editorial)
        if decision.show is None and not added:
            return Rewrite(insert=tag)  # the same for every reader: the page stays cacheable as the app says
        added.extend(_PRIVATE)
        if decision.show is None:
            return Rewrite(insert=tag, add_headers=added, remove_headers=_CACHE_HEADERS)
        return self._message(scope, path, decision.show, state, tag, headers, added, editorial)

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
        return editorial.renderer.render("overlay.html", **context).encode()

    def _context(
        self, scope: Scope, path: str, mode: Mode, state: VisitorState | None, headers: Headers, editorial: Editorial
    ) -> dict[str, Any]:
        root_path = scope.get("root_path", "")
        assets = editorial.assets
        visitor = state.visitor_id if state is not None else None
        locale, message = editorial.message_for(
            editorial.policy.variant_for(visitor), _header(scope, b"accept-language")
        )
        return {
            "message": message,
            "locale": locale,
            "cta_url": self._url(root_path, self.names.follow),
            "mode": mode.value,
            "css": self.names.css_class,
            "next": url_path("", path),  # a URL like the others; "check again" decodes and resolves it
            "check_url": self._url(root_path, self.names.recheck),
            "stylesheet_url": self._url(root_path, self.names.stylesheet)
            + f"?{self.names.version(assets.stylesheet.version)}",
            "message_url": self._url(root_path, self.names.message_script)
            + f"?{self.names.version(assets.message_script.version)}",
            # Inline with the page where its policy allows, so that blocking a request cannot hide the message.
            "page_style": assets.inline_style if allows_inline(headers, "style-src") else None,
            "page_script": assets.inline_message_script if allows_inline(headers, "script-src") else None,
            "data": self.names.data,
            "seen_url": self._url(root_path, self.names.seen),
            "dismiss_url": self._url(root_path, self.names.dismiss),
            "client": describe_client(_header(scope, b"user-agent"), _header(scope, b"sec-ch-ua")),
            "kind": state.kind if state is not None else None,
            "nonce": csp_nonce(headers),  # the page's policy stays in force: our tags carry its nonces
            "style_nonce": csp_nonce(headers, "style-src"),
        }

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
        renderer = editorial.renderer
        if mode is Mode.HARD:
            # The wall replaces the page: it is on screen as surely as the page would have been.
            self.events.emit("message_shown", verdict=Verdict.BLOCKED.value, kind=context["kind"], **fields)
            page = renderer.render("wall.html", detector_tag=Markup(tag.decode()), **context)
            return Rewrite(replace_body=page.encode(), add_headers=added)
        overlay = renderer.render("overlay.html", **context)
        return Rewrite(insert=tag + overlay.encode(), add_headers=added, remove_headers=_CACHE_HEADERS)

    def _may_watch(self, scope: Scope) -> bool:
        """Whether this page view can count toward a silence: a page the reader opened, in a browser that may run
        the detector; never a prefetch or prerender, a crawler, or HTML fetched by a script."""
        if not _is_navigation(scope) or is_crawler(_header(scope, b"user-agent")):
            return False
        if self._consent_needle is not None and self._consent_needle not in _header_bytes(scope, b"cookie"):
            return False  # no consent yet: the check does not run, and nothing may be stored
        purpose = _header(scope, b"sec-purpose") or _header(scope, b"purpose") or _header(scope, b"x-moz")
        return "prefetch" not in purpose and "prerender" not in purpose

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


async def _exempted(policy: Policy, scope: Scope) -> bool:
    """The site's exempt hook, given `policy.exempt_timeout` seconds: one that raises or takes longer counts as
    exempt (the reader gets the page, unasked) and is logged once. A sync hook runs in a worker thread, so that
    even a hook blocked on I/O holds up neither this page nor the server's other requests."""
    hook = policy.exempt
    assert hook is not None
    try:
        with anyio.fail_after(policy.exempt_timeout):
            if _is_async(hook):
                answer: object = await hook(Request(scope))  # type: ignore[misc]
            else:
                answer = await _HOOK_THREADS.run(hook, Request(scope))
            if inspect.isawaitable(answer):
                answer = await answer
        return bool(answer)
    except TimeoutError as exc:
        report_fault(
            "the policy's exempt hook (too slow)",
            exc,
            f"it took longer than exempt_timeout ({policy.exempt_timeout:g} s), so the reader was treated as exempt "
            "and not asked; make the hook faster or raise Policy(exempt_timeout=...)",
        )
    except Exception as exc:
        report_fault("the policy's exempt hook", exc, "the reader was treated as exempt and not asked")
    return True


class _HookThreads:
    """Runs a sync hook in a worker thread, at most `limit` at once. A thread cannot be stopped: one whose hook
    hangs is abandoned when the page moves on, and this bound keeps a hook that never returns from taking a new
    thread on every page view (beyond it, the hook counts as too slow at once)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy = 0
        self._lock = threading.Lock()

    async def run(self, hook: Callable[[Request], object], request: Request) -> object:
        with self._lock:
            if self.busy >= self.limit:
                raise TimeoutError(f"{self.limit} earlier calls of the hook have not returned yet")
            self.busy += 1
        started = dropped = False

        def call() -> object:
            nonlocal started
            with self._lock:
                if dropped:
                    return None  # the page moved on before a thread was free: do not run the hook at all
                started = True
            try:
                return hook(request)
            finally:
                with self._lock:
                    self.busy -= 1

        try:
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        except BaseException:
            with self._lock:
                if not started:
                    dropped = True
                    self.busy -= 1
            raise


_HOOK_THREADS = _HookThreads(16)


def _is_async(hook: object) -> bool:
    while isinstance(hook, partial):
        hook = hook.func
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(type(hook).__call__)


# What a page's message is rendered with, as _context gives it, for trying the editors' templates.
_SAMPLE_CONTEXT: dict[str, Any] = {
    "cta_url": "/_sample/cta",
    "check_url": "/_sample/check",
    "stylesheet_url": "/_sample/style.css",
    "message_url": "/_sample/message.js",
    "css": "sample",
    "next": "/",
    "nonce": None,
    "style_nonce": None,
}


def _try_templates(renderer: MessageRenderer, template_dir: str | os.PathLike[str]) -> None:
    """Render the editors' templates once in every mode, as pages and as previews, so that a mistake in them stops
    the start (or the reload) in one line instead of failing on readers' pages. Any exception counts: a template
    may divide by zero, include itself (RecursionError) or call something that raises."""
    for mode in (Mode.NOTICE, Mode.INSTRUCTIONS, Mode.SOFT, Mode.HARD):
        try:
            renderer.preview_page(mode.value, stylesheet="")
            page = "wall.html" if mode is Mode.HARD else "overlay.html"
            extra: dict[str, Any] = {"detector_tag": Markup("")} if mode is Mode.HARD else {}
            renderer.render(page, client=UNKNOWN_CLIENT, kind=None, mode=mode.value, **_SAMPLE_CONTEXT, **extra)
        except Exception as exc:
            where = f" line {exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if not isinstance(exc, jinja2.TemplateError):
                problem = f"{type(exc).__name__}: {problem}"  # ZeroDivisionError, RecursionError, ...
            raise ValueError(
                f"adguard_mw: the templates in {os.fspath(template_dir)!r} fail in {mode.value} mode{where}: {problem}"
            ) from None
    try:
        renderer.render("slot.html", client=UNKNOWN_CLIENT, kind=None, slot_class="sample", cta_url="/_sample/cta")
    except Exception as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"adguard_mw: the templates in {os.fspath(template_dir)!r} fail in slot.html: {problem}"
        ) from None


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


def _mode(value: object) -> str:
    allowed = ", ".join(mode.value for mode in Mode)
    if not isinstance(value, str) or value not in {mode.value for mode in Mode}:
        raise ValueError(f"adguard_mw: policy must be a Policy or one of: {allowed}; got {value!r}")
    return value


def _is_prefix(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) > 1
        and value.startswith("/")
        and not value.startswith("//")  # "//host" would make our URLs point at another host
        and not value.endswith("/")
        and value.isascii()
        and all(c.isalnum() or c in "/-_." for c in value)
    )


def _is_origin(value: object) -> bool:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        return False
    rest = value.split("://", 1)[1]
    return bool(rest) and "/" not in rest and all(c.isalnum() or c in ".-:" for c in rest)


_build_errors_logged: set[str] = set()


def _log_build_error(exc: BaseException) -> None:
    """Starlette and FastAPI build middleware on the first request, and servers take a failed lifespan for "not
    supported": a bad setting then fails every request. Say what is wrong in one line, once per process."""
    problem = "; ".join(str(exc).removeprefix("adguard_mw: ").splitlines())
    if problem not in _build_errors_logged:
        _build_errors_logged.add(problem)
        logging.getLogger("adguard_mw").error(
            "adguard_mw: the middleware cannot start, so every request fails until this is fixed: %s", problem
        )


async def _unused_app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover - never called
    raise RuntimeError("AdGuardMiddleware.check builds the middleware only to check it")


def _secret_keys(secret_key: object) -> list[str]:
    keys = [secret_key] if isinstance(secret_key, str | bytes) else list(secret_key or [])  # type: ignore[call-overload]
    if not keys:
        raise ValueError(f"adguard_mw: secret_key is missing; {_KEY_HINT}")
    checked = []
    for index, key in enumerate(keys):
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if not isinstance(key, str):
            raise TypeError(f"adguard_mw: secret_key must be a string or a list of strings; item {index} is {key!r}")
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(
                f"adguard_mw: secret_key{f' item {index}' if len(keys) > 1 else ''} is {len(key)} characters long; "
                f"use at least {MIN_KEY_LENGTH} random characters; {_KEY_HINT}"
            )
        checked.append(key)
    return checked
