"""The message on a page: what the templates are given, the page or insert that shows it, an editor's preview,
and the fragment a client-side navigation puts in place. When to show it is the policy's call (pageview.py)."""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

from markupsafe import Markup
from starlette.types import Scope

from .clients import MAX_USER_AGENT, describe_browser, describe_client, names_brave
from .csp import allows_inline, csp_nonce, has_policy
from .editorial import Editorial
from .injector import Headers, Rewrite
from .locales import MAX_HEADER
from .message import fill, steps_family
from .names import Names
from .pageview import PageViews
from .policy import HARD, Mode
from .previewed import PreviewAs
from .request_headers import HEADERS_KEY, header, header_bytes
from .state import Verdict, VisitorState
from .story import wall_in_page
from .urls import url_path

# A page shaped by the reader's cookie drops the app's caching and validators: no cache may keep it for others.
CACHE_HEADERS = frozenset({b"cache-control", b"expires", b"etag", b"last-modified"})
_NONE_REMOVED: frozenset[bytes] = frozenset()
_BLOCKED = Verdict.BLOCKED.value  # what message events say of the reader (an Enum's value is a Python call)
_PREVIEWED = ((b"cache-control", b"no-store"), (b"vary", b"Cookie"), (b"x-robots-tag", b"noindex"))


class MessagePages:
    """Renders the message for one middleware, with its names, and records that it was served (and shown)."""

    def __init__(self, names: Names, views: PageViews, *, render_message: str) -> None:
        self.names = names
        self.views = views  # the event fields of the page view the message is for
        self.render_message = render_message  # "site": notices and soft dialogs are the site's own (page-api.md)
        self._kept_messages: dict[tuple[Any, ...], tuple[bytes, ...]] = {}  # see _kept
        self._kept_for: Editorial | None = None
        self._kept_size = 0
        self._readers: dict[tuple[str | None, bytes, bytes, bytes], tuple[str, str]] = {}  # see _reader
        self._readers_size = 0
        self._filled: dict[tuple[tuple[bytes, ...], str, bytes], bytes] = {}  # see _fill
        self._filled_size = 0

    def serve(
        self,
        scope: Scope,
        path: str,
        mode: Mode,
        state: VisitorState | None,
        tag: bytes,
        headers: Headers,
        added: list[tuple[bytes, bytes]],
        editorial: Editorial,
        *,
        now: int,
    ) -> Rewrite:
        """The page with the message the policy decided on, recorded as served (`now`: the page view's second)."""
        hard = mode is HARD
        events = self.views.events
        if events.wanted(now):  # the fields are made only for a sink that writes them
            fields = self.views.fields(scope, state, path, editorial)  # a dict of our own: queued as it is
            fields["verdict"], fields["kind"] = _BLOCKED, state.kind if state is not None else None
            events.put("message_served", fields.copy() if hard else fields)
            if hard:  # the wall replaces the page: it is on screen as surely as the page would have been
                events.put("message_shown", fields)
        if self.render_message == "site" and not hard:  # the site shows it, told by the page API
            return Rewrite(insert=tag, add_headers=added, remove_headers=CACHE_HEADERS)
        if hard and editorial.story_selector is not None:  # the wall inside the site's page: made for each page
            return _show(mode, self.context(scope, path, mode, state, headers, editorial), tag, added, editorial)
        shown = self._kept(scope, path, mode, state, tag, headers, editorial)
        # By position (insert, add_headers, remove_headers, replace_body): ~1.6k less than by keyword, per page.
        if hard:
            return Rewrite(b"", added, _NONE_REMOVED, shown)
        return Rewrite(shown, added, CACHE_HEADERS)

    def _kept(
        self,
        scope: Scope,
        path: str,
        mode: Mode,
        state: VisitorState | None,
        tag: bytes,
        headers: Headers,
        editorial: Editorial,
    ) -> bytes:
        """The wall page, or the tag and the overlay, from the cache of whole messages: the page's path and the
        CSP nonces are the only values of the request filled in (escaped, as the renderer does) on a hit.

        Keyed by what the message depends on: the reader's words (variant and the locale their Accept-Language
        chose), their kind, their browser's steps (`_reader`), the page's CSP (inline allowed? nonces?) and the
        mount point; the wall also by the tag it holds. Emptied when the editorial settings change; at most 256
        messages and ~1 MB."""
        if self._kept_for is not editorial:
            self._kept_for, self._kept_size = editorial, 0
            self._kept_messages.clear()
            self._readers.clear()
            self._readers_size = 0
            self._filled.clear()
            self._filled_size = 0
        root_path: str = scope.get("root_path", "")
        style_inline, script_inline, nonce, style_nonce = _csp_shape(headers)
        hard = mode is HARD
        kind = state.kind if state is not None else None
        variant = editorial.policy.variant_for(state.visitor_id if state is not None else None)
        variant_name = variant.name if variant is not None else None
        locale, family = self._reader(scope, variant_name, editorial)
        key = (
            mode,  # a StrEnum: hashed and compared as its str, no Python call (`.value` is one)
            variant_name,
            locale,
            kind,
            family,
            style_inline,
            script_inline,
            nonce is not None,
            style_nonce is not None,
            root_path,
            tag if hard else b"",
        )
        # The reader's text (a long mount point) or a key used once (a wall holding a nonce) is not kept.
        keep = len(root_path) <= 128 and not (hard and nonce is not None)
        parts = self._kept_messages.get(key) if keep else None
        if parts is None:
            context = self.context(scope, path, mode, state, headers, editorial)
            if hard:
                context["detector_tag"] = Markup(tag.decode())
            parts = editorial.renderer.parts("wall.html" if hard else "overlay.html", **context)
            if keep:
                size = sum(len(part) for part in parts) + len(root_path) + len(key[-1])
                if len(self._kept_messages) >= 256 or self._kept_size + size > 1_000_000:
                    self._kept_messages.clear()
                    self._kept_size = 0
                    self._filled.clear()  # they hold the messages' parts as keys
                    self._filled_size = 0
                self._kept_messages[key] = parts
                self._kept_size += size
        before = b"" if hard else tag
        if keep and nonce is None and style_nonce is None:  # a nonce is the page's own: a key used once
            return self._fill(parts, path, before)
        return fill(parts, {"next": url_path("", path), "nonce": nonce, "style_nonce": style_nonce}, before)

    def _fill(self, parts: tuple[bytes, ...], path: str, before: bytes) -> bytes:
        """`fill` for a page without nonces, kept: the readers of one page who see one message get the same
        bytes, so a page read by many blocked readers costs them a lookup, not a copy of ~18 KB and the path's
        quoting. At most 64 messages and ~1 MB (a wall or an overlay is 15-20 KB), emptied with the kept messages;
        a long path is not kept."""
        key = (parts, path, before)
        filled = self._filled.get(key)
        if filled is None:
            filled = fill(parts, {"next": url_path("", path), "nonce": None, "style_nonce": None}, before)
            if len(path) <= 256:
                if len(self._filled) >= 64 or self._filled_size + len(filled) > 1_000_000:
                    self._filled.clear()
                    self._filled_size = 0
                self._filled[key] = filled
                self._filled_size += len(filled) + len(path)
        return filled

    def _reader(self, scope: Scope, variant: str | None, editorial: Editorial) -> tuple[str, str]:
        """The locale (of the variant's texts) and the browser's steps family (`steps_family`) for this reader,
        by the request's headers as they came: a reader like one seen before costs one lookup, nothing decoded.
        Only the parts that decide them are the key (as `Messages.choose` and `describe_client` read them; the
        Sec-CH-UA hint as it came: asking it for Brave is a `find` that costs more than a slice); at most 1024 keys
        and ~256 KB of them, emptied with the kept messages."""
        raw: dict[bytes, bytes] | None = scope.get(HEADERS_KEY)  # as a rule the page view has indexed them
        if raw is None:
            header_bytes(scope, b"user-agent")  # indexes the request's headers, read by name below
            raw = scope[HEADERS_KEY]
        key = (
            variant,
            raw.get(b"accept-language", b"")[:MAX_HEADER],
            raw.get(b"user-agent", b"")[:MAX_USER_AGENT],
            raw.get(b"sec-ch-ua", b"")[:MAX_USER_AGENT],  # the part `names_brave` reads
        )
        found = self._readers.get(key)
        if found is None:
            locale, _ = editorial.messages_for(variant).choose(key[1].decode("latin-1"))
            found = locale, steps_family(describe_browser(key[2].decode("latin-1"), names_brave(key[3])))
            size = len(key[1]) + len(key[2]) + len(key[3])
            if len(self._readers) >= 1024 or self._readers_size + size > 256_000:
                self._readers.clear()
                self._readers_size = 0
            self._readers[key] = found
            self._readers_size += size
        return found

    def preview(self, scope: Scope, path: str, seen: PreviewAs, headers: Headers, editorial: Editorial) -> Rewrite:
        """An editor's preview of this page as a blocked reader (live_preview.py): nothing recorded or cached."""
        names = {variant.name for variant in editorial.policy.variants}
        messages = editorial.messages_for(seen.variant if seen.variant in names else None)
        if seen.locale is not None and seen.locale in messages:
            locale, message = seen.locale.lower(), messages[seen.locale]
        else:
            locale, message = messages.choose(header(scope, b"accept-language"))
        context = self.context(scope, path, seen.mode, None, headers, editorial)
        # No CTA counting (links go straight to their targets); the message's posts are answered by live_preview.
        context.update(message=message, locale=locale, kind=seen.kind, cta_url=None)
        # No detector: in the editor's browser it would find no blocker and take the message away.
        return _show(seen.mode, context, b"", list(_PREVIEWED), editorial)

    def hidden(self, scope: Scope, path: str, headers: Headers, editorial: Editorial) -> bytes:
        """Without the beacon the page itself decides: every page in scope carries the (hidden) message."""
        policy = editorial.policy
        if not policy.covers(path):
            return b""
        settings = policy.effective(path, None)
        if settings.mode is Mode.OBSERVE:
            return b""
        context = self.context(scope, path, settings.mode, None, headers, editorial)
        context["cooldown"] = settings.dismiss_cooldown
        return editorial.renderer.render_bytes("overlay.html", **context)

    def fragment(
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
        context = self.context(scope, path, mode, state, [], editorial)
        if counted:
            fields = self.views.fields(scope, state, path, editorial)
            events = self.views.events
            events.emit("message_served", verdict=Verdict.BLOCKED.value, kind=context["kind"], **fields)
            if mode is Mode.HARD:  # nothing of the page can be reached around it: shown as surely as a wall
                events.emit("message_shown", verdict=Verdict.BLOCKED.value, kind=context["kind"], **fields)
        html = editorial.renderer.render("layer.html" if mode is Mode.HARD else "panel.html", **context)
        return {"html": html, "style": context["stylesheet_url"]}

    def context(
        self, scope: Scope, path: str, mode: Mode, state: VisitorState | None, headers: Headers, editorial: Editorial
    ) -> dict[str, Any]:
        """What the message's templates are given for this reader and page."""
        root_path = scope.get("root_path", "")
        assets = editorial.assets
        visitor = state.visitor_id if state is not None else None
        locale, message = editorial.message_for(
            editorial.policy.variant_for(visitor), header(scope, b"accept-language")
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
            "client": describe_client(header(scope, b"user-agent"), header(scope, b"sec-ch-ua")),
            "kind": state.kind if state is not None else None,
            "nonce": csp_nonce(headers),  # the page's policy stays in force: our tags carry its nonces
            "style_nonce": csp_nonce(headers, "style-src"),
        }


def _show(
    mode: Mode, context: dict[str, Any], tag: bytes, added: list[tuple[bytes, bytes]], editorial: Editorial
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
        return Rewrite(replace_body=page, whole_page=in_page, add_headers=added, remove_headers=CACHE_HEADERS)
    overlay = renderer.render_bytes("overlay.html", **context)
    return Rewrite(insert=tag + overlay, add_headers=added, remove_headers=CACHE_HEADERS)


_NO_POLICY = (True, True, None, None)


def _csp_shape(headers: Headers) -> tuple[bool, bool, str | None, str | None]:
    """What the message needs of the page's CSP: inline style allowed, inline script allowed, the script and the
    style nonces. Read once (most pages have no policy: one look at the header names)."""
    if not has_policy(headers):
        return _NO_POLICY
    return (
        allows_inline(headers, "style-src"),
        allows_inline(headers, "script-src"),
        csp_nonce(headers),
        csp_nonce(headers, "style-src"),
    )


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
