"""What editors own, bundled: a reload swaps the whole bundle at once, so a request never sees half of each.

`build` checks and builds it from the options, trying the editors' templates once in every mode, so that a mistake
in them stops the start (or the reload) in one line instead of failing on readers' pages.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .assets import Assets
from .clients import UNKNOWN_CLIENT
from .events import Record, raw_reader_fields, reader_fields
from .message import Message, MessageRenderer, Messages
from .names import Names
from .options import Options
from .policy import Mode, Policy, Variant


@dataclass(frozen=True)
class Editorial:
    policy: Policy
    renderer: MessageRenderer
    assets: Assets  # the stylesheet carries the theme
    variant_messages: Mapping[str, Messages]  # an A/B variant's own texts, by variant name
    preview_token: str | None
    paywall: bytes  # a JSON-LD <script> for pages a hard wall may hide, or b""
    ad_slots: str | None = None  # the selector of the site's ad slots (house messages for blocked readers), or off
    ad_slots_in_observe: bool = False  # house messages also for readers whose mode is observe
    story_selector: str | None = None  # the story a hard wall removes from the site's page (paywall_selector)
    # Whether any reader could meet a message: otherwise the cookie is read only for sampled events.
    may_ask: bool = field(init=False)

    def __post_init__(self) -> None:
        may_ask = self.policy.rollout > 0 and bool(self.policy.modes - {Mode.OBSERVE})
        object.__setattr__(self, "may_ask", may_ask)

    def messages_for(self, variant: str | None) -> Messages:
        """The texts a variant's readers get: its own if it has them, else the site's."""
        own = self.variant_messages.get(variant) if variant is not None else None
        return own if own is not None else self.renderer.messages

    def message_for(self, variant: Variant | None, accept_language: str) -> tuple[str, Message]:
        """The locale and words for a reader: their variant's texts, in the language they prefer."""
        return self.messages_for(variant.name if variant is not None else None).choose(accept_language)

    def event_fields(
        self, visitor: str | None, path: str, *, user_agent: str, accept_language: str, brands: str
    ) -> Record:
        """What every event carries about its reader, with the mode they met here and their variant."""
        mode, variant = self.policy.labels(path, visitor)
        return reader_fields(user_agent, accept_language, visitor, path, mode=mode, variant=variant, brands=brands)

    def raw_event_fields(self, visitor: str | None, path: str, headers: Mapping[bytes, bytes]) -> Record:
        """`event_fields` from a request's headers by lower-case name, undecoded (a page view's hot path)."""
        mode, variant = self.policy.labels(path, visitor)
        return raw_reader_fields(headers, visitor, path, mode=mode, variant=variant)


def build(options: Options, names: Names) -> Editorial:
    """Everything editors own, from checked options; raises ValueError in one line, changing nothing."""
    extra = [texts[locale] for texts in options.variant_messages.values() for locale in texts]
    renderer = MessageRenderer(
        options.message or Message(),
        site_name=options.site_name,
        allowed_hosts=options.allowed_hosts,
        template_dir=options.template_dir,
        extra=extra,
    )
    if options.template_dir is not None:
        try_templates(renderer, options.template_dir)
    assets = Assets.build(
        names,
        third_party_bait=options.third_party_bait,
        skip_gpc=options.gpc == "skip",
        consent_event=options.consent_event,
        consent_cookie=options.consent_cookie,
        beacon=options.beacon,
        render_message=options.render_message,
        dismiss_cooldown=options.policy.dismiss_cooldown,
        theme=options.theme,
        override_dir=Path(options.template_dir) if options.template_dir is not None else None,
        slots=options.ad_slots is not False,
    )
    paywall = paywall_data(options.paywall_selector) if options.paywall_selector is not None else b""
    slots = slot_selector(options.ad_slots, names)
    return Editorial(
        options.policy,
        renderer,
        assets,
        options.variant_messages,
        options.preview_token,
        paywall,
        slots,
        options.ad_slots_in_observe,
        options.paywall_selector,
    )


def slot_selector(ad_slots: str | bool, names: Names) -> str | None:
    """What the slot script looks for: the site's own selector (if any) and this deployment's data attribute."""
    if ad_slots is False:
        return None
    marked = f"[{names.slot_attribute}]"
    return marked if ad_slots is True else f"{ad_slots}, {marked}"


def paywall_data(selector: str) -> bytes:
    """Paywall structured data for pages a hard wall may hide: search engines then know it is not cloaking."""
    data = {
        "@context": "https://schema.org",
        "@type": "WebPage",
        "isAccessibleForFree": False,
        "hasPart": {"@type": "WebPageElement", "isAccessibleForFree": False, "cssSelector": selector},
    }
    ld_json = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/ld+json">{ld_json}</script>'.encode()


# What a page's message is rendered with, as the middleware's _context gives it, for trying the editors' templates.
SAMPLE_CONTEXT: dict[str, Any] = {
    "cta_url": "/_sample/cta",
    "check_url": "/_sample/check",
    "stylesheet_url": "/_sample/style.css",
    "message_url": "/_sample/message.js",
    "css": "sample",
    "next": "/",
    "nonce": None,
    "style_nonce": None,
}


def try_templates(renderer: MessageRenderer, template_dir: str | os.PathLike[str]) -> None:
    """Render the editors' templates once in every mode, as pages and as previews, so that a mistake in them stops
    the start (or the reload) in one line instead of failing on readers' pages. Any exception counts: a template
    may divide by zero, include itself (RecursionError) or call something that raises."""
    for mode in (Mode.NOTICE, Mode.INSTRUCTIONS, Mode.SOFT, Mode.HARD):
        try:
            renderer.preview_page(mode.value, stylesheet="")
            page = "wall.html" if mode is Mode.HARD else "overlay.html"
            extra: dict[str, Any] = {"detector_tag": Markup("")} if mode is Mode.HARD else {}
            renderer.render(page, client=UNKNOWN_CLIENT, kind=None, mode=mode.value, **SAMPLE_CONTEXT, **extra)
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
