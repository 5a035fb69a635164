"""The reader-facing message: its words in each language, the allow-list steps for the reader's browser, rendering.

Editors own the words, so everything they write is checked when the renderer is built (one line per mistake)
rather than discovered by a reader. Templates are Jinja2 with autoescaping on, so a site name or a text containing
`<` can never become markup; the body alone is limited Markdown, rendered and sanitised by `markup`.
"""

from __future__ import annotations

import base64
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from . import locales
from .clients import UNKNOWN_CLIENT, ClientFacts
from .markup import FORMATS, LinkRules, links, to_html

_TEXT_FIELDS = (
    "title", "body", "check_label", "continue_label", "still_blocked", "network_body", "instructions_title",
    "steps_heading", "slot_label", "slot_body",
)  # fmt: skip
_CTA_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def _slug(label: str) -> str:
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_label).strip("-")[:64].strip("-") or "cta"


@dataclass(frozen=True)
class CallToAction:
    """A link the message offers besides allowing ads ("Subscribe", "Donate"); `name` labels it in events."""

    label: str
    url: str
    name: str = ""  # defaults to a slug of the label: "Become a member" -> "become-a-member"

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError(f"adguard_mw: message call to action label must be non-empty text, got {self.label!r}")
        if not isinstance(self.url, str) or not self.url.strip():
            raise ValueError(f"adguard_mw: message call to action {self.label!r} needs a url, got {self.url!r}")
        if not isinstance(self.name, str):
            raise ValueError(f"adguard_mw: message call to action name must be text, got {self.name!r}")
        if not self.name:
            object.__setattr__(self, "name", _slug(self.label))
        elif not _CTA_NAME.fullmatch(self.name):
            raise ValueError(
                f"adguard_mw: message call to action name {self.name!r} must be lower-case letters, digits, '-' or "
                "'_' (at most 64)"
            )


@dataclass(frozen=True)
class Message:
    """The words of the message in one language. `{site}` in any text is replaced by the site's name.

    `body` and `network_body` are limited Markdown (paragraphs, *emphasis*, **strong**, [links](/path), lists,
    a line break where a line ends in a backslash), or sanitised HTML with `body_format="html"`; every other text
    is plain (escaped when rendered).
    """

    title: str = "Please support {site} by allowing ads"
    body: str = (
        "{site} is free to read because advertising pays for the reporting. It looks like an ad blocker is "
        "hiding our ads. If you can, please allow ads on this site; it keeps our journalism free for everyone."
    )
    check_label: str = "I've allowed ads, check again"
    continue_label: str = "Continue reading"
    still_blocked: str = "We still detect an ad blocker. It can take a reload for a change to apply."
    # For readers whose ads are filtered outside the browser (a DNS filter, a workplace network).
    network_body: str = (
        "{site} is free to read because advertising pays for the reporting. Our ads seem to be filtered by your "
        "network (for example a DNS filter such as Pi-hole or NextDNS, or a workplace or school network), so your "
        "browser cannot allow them. If the filter is yours, please consider adding this site to its allow-list."
    )
    instructions_title: str = "How to allow ads on {site}"
    steps_heading: str = "How to allow ads on {site}"
    # The quiet house message in an ad slot the reader's blocker emptied (`ad_slots`): its landmark's name, and
    # its text in the same limited Markdown as `body`; the calls to action follow it as links.
    slot_label: str = "A note from {site}"
    slot_body: str = "Advertising helps pay for the reporting on {site}. Thank you for reading, and for supporting us."
    body_format: str = "markdown"  # or "html"
    logo: str | None = None  # a path on the site ("/static/logo.svg") or an https:// URL on an allowed host
    logo_alt: str = ""  # required with a logo: what it shows, usually the site's name
    ctas: tuple[CallToAction, ...] = ()

    def __post_init__(self) -> None:
        for key in _TEXT_FIELDS:
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"adguard_mw: message {key} must be non-empty text, got {value!r}")
        if self.body_format not in FORMATS:
            raise ValueError(f"adguard_mw: message body_format must be 'markdown' or 'html', got {self.body_format!r}")
        if self.logo is not None and (not isinstance(self.logo, str) or not self.logo.strip()):
            raise ValueError(f"adguard_mw: message logo must be a URL or None, got {self.logo!r}")
        if not isinstance(self.logo_alt, str) or (self.logo is not None and not self.logo_alt.strip()):
            raise ValueError("adguard_mw: message logo_alt must say what the logo shows (the site's name, say)")
        if isinstance(self.ctas, list):
            object.__setattr__(self, "ctas", tuple(self.ctas))
        if not isinstance(self.ctas, tuple) or not all(isinstance(cta, CallToAction) for cta in self.ctas):
            raise ValueError(f"adguard_mw: message ctas must be CallToAction(label, url) items, got {self.ctas!r}")
        names = [cta.name for cta in self.ctas]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"adguard_mw: message ctas name {name!r} twice; give each a different name")


def default_message(locale: str = "en", **fields: Any) -> Message:
    """Our built-in texts in `locale` (English where we have no translation), with the editor's `fields` on top."""
    return Message(**{**locales.default_texts(locale), **fields})


@dataclass(frozen=True)
class Messages:
    """The message in each language the editors wrote, and the default for readers who read none of them.

    Only these locales are offered: a reader is never shown a language the editors did not write (or choose).
    """

    by_locale: Mapping[str, Message] = field(default_factory=lambda: {"en": Message()})
    default: str = "en"
    _available: frozenset[str] = field(init=False, repr=False, compare=False)  # the locales, as a cache key

    def __post_init__(self) -> None:
        if not isinstance(self.by_locale, Mapping) or not self.by_locale:
            raise ValueError(f"adguard_mw: message locales must map locale codes to Messages, got {self.by_locale!r}")
        normalised: dict[str, Message] = {}
        for code, message in self.by_locale.items():
            locale = _locale(code)
            if not isinstance(message, Message):
                raise ValueError(f"adguard_mw: message for locale {locale} must be an adguard_mw.Message")
            normalised[locale] = message
        default = _locale(self.default)
        if default not in normalised:
            raise ValueError(f"adguard_mw: message default locale {default!r} has no message; add one or change it")
        object.__setattr__(self, "by_locale", normalised)
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "_available", frozenset(normalised))

    def __getitem__(self, locale: str) -> Message:
        return self.by_locale[locale.lower()]

    def __contains__(self, locale: object) -> bool:
        return isinstance(locale, str) and locale.lower() in self.by_locale

    def __iter__(self) -> Iterator[str]:
        """The locales, the default first."""
        yield self.default
        yield from sorted(locale for locale in self.by_locale if locale != self.default)

    def choose(self, accept_language: str) -> tuple[str, Message]:
        """The locale and message for a reader's Accept-Language header."""
        header = (accept_language or "")[: locales.MAX_HEADER]
        locale = _negotiate(header, self._available, self.default)
        return locale, self.by_locale[locale]


@lru_cache(maxsize=1024)
def _negotiate(header: str, available: frozenset[str], default: str) -> str:
    """Readers send few distinct headers: each is parsed once (at most 1024 of them, each at most 1 KiB, kept)."""
    return locales.negotiate(header, available, default)


def _locale(code: object) -> str:
    if not isinstance(code, str) or not locales.LOCALE_CODE.fullmatch(code.lower()):
        raise ValueError(f"adguard_mw: message locale {code!r} must be a language code such as 'de' or 'pt-br'")
    return code.lower()


# Chrome on Android has no extensions: its readers block with a browser that blocks by itself, an app or a
# Private DNS, hence the "mobile" steps. Brave is told by its client hint (clients.describe_client).
_FAMILIES = {"Chrome": "Chrome", "Chrome Mobile": "mobile", "Chromium": "Chrome", "Edge": "Edge",
             "Edge Mobile": "mobile", "Opera": "Opera", "Opera Mobile": "mobile", "Firefox": "Firefox",
             "Firefox Mobile": "Firefox", "Safari": "Safari", "Mobile Safari": "Safari", "Brave": "Brave",
             "Samsung Internet": "mobile", "Chrome Mobile WebView": "mobile"}  # fmt: skip


def steps_family(client: ClientFacts) -> str:
    """Which steps a reader's browser needs ("Chrome", "mobile", "Brave", ... or "other")."""
    family = _FAMILIES.get(client.browser, "other")
    if family == "Chrome" and client.device in ("mobile", "tablet"):
        return "mobile"  # however the parser names a phone's Chrome, it has no extensions
    return family


def allow_list_steps(
    client: ClientFacts, kind: str | None = None, locale: str | None = None, *, check_label: str | None = None
) -> tuple[str, ...]:
    """The steps for this reader's browser (or network filter) in `locale`, English where we have no translation.

    The last step names the "check again" button: `check_label`, by default our own label in that locale.
    """
    table = locales.steps(locale)
    steps = table["network"] if kind == "network" else table[steps_family(client)]
    label = check_label if check_label is not None else default_message(locale or "en").check_label
    return tuple(step.replace("{check}", label) for step in steps)


# Values that differ on every request; rendered as markers and filled in (escaped) after the cached render.
_PER_REQUEST = ("next", "nonce", "style_nonce")
PREVIEW_MODES = ("notice", "soft", "instructions", "hard")
_RENDERED_CHARS = 1_000_000  # characters of rendered messages (and their keys) kept for reuse


def _marker(name: str) -> str:
    return f"@@adguard-mw-{name}@@"


_MARKERS = re.compile("@@adguard-mw-(" + "|".join(_PER_REQUEST) + ")@@")  # split keeps the names: text, name, ...


def fill(parts: tuple[bytes, ...], values: Mapping[str, Any], before: bytes = b"") -> bytes:
    """The page from its cut `parts` (text, marker name, text, ...) with the per-request `values` escaped in, after
    `before` (the detector's tag, say): one copy of the whole."""
    if len(parts) == 1 and not before:
        return parts[0]
    pieces = [before, parts[0]]
    for number in range(1, len(parts), 2):
        pieces.append(_escaped(values[_NAMES[parts[number]]]))
        pieces.append(parts[number + 1])
    return b"".join(pieces)


_NAMES = {name.encode(): name for name in _PER_REQUEST}  # a marker's name in the parts, as `values` names it


def _escaped(value: object) -> bytes:
    """`value` as the renderer writes it (autoescaped, UTF-8). The values are URL paths and nonces, in which HTML
    escapes nothing: a look for the five characters it escapes costs a fifth of `escape`'s Markup."""
    text = str(value)
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        text = str(escape(text))
    return text.encode()


class MessageRenderer:
    """Renders the message for a kind of reader, once, and checks every message it may show when it is built.

    `messages` is one Message (English) or Messages per locale; `extra` are further messages it may be asked to
    show (A/B variants). Every link in them must be a path on this site or https:// to `allowed_hosts`.
    `template_dir` holds the editors' own panel.html, overlay.html or wall.html, used instead of ours.
    """

    def __init__(
        self,
        messages: Messages | Message,
        *,
        site_name: str,
        allowed_hosts: Iterable[str] = (),
        template_dir: str | os.PathLike[str] | None = None,
        extra: Iterable[Message] = (),
    ) -> None:
        self.messages = messages if isinstance(messages, Messages) else Messages({"en": messages})
        self.site_name = site_name
        self.links = LinkRules(allowed_hosts)
        loader: jinja2.BaseLoader = jinja2.PackageLoader("adguard_mw", "templates")
        if template_dir is not None:
            folder = Path(template_dir)
            if not folder.is_dir():
                raise ValueError(f"adguard_mw: message template_dir {str(folder)!r} does not exist or is not a folder")
            loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder), loader])
        self._env = jinja2.Environment(
            loader=loader,
            autoescape=True,
            undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly in tests, not silently for readers
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # the templates do not change while it runs: no stat() per render
        )
        self._rendered: dict[tuple[Any, ...], tuple[bytes, ...]] = {}
        self._rendered_chars = 0
        self._known: set[Message] = set()
        self._targets: list[tuple[str, str]] = []
        for locale in self.messages:
            self.register(self.messages[locale], where=f"locale {locale}")
        for number, message in enumerate(extra, 1):
            self.register(message, where=f"extra message {number}")

    @property
    def message(self) -> Message:
        """The default locale's message."""
        return self.messages[self.messages.default]

    @property
    def cta_targets(self) -> tuple[tuple[str, str], ...]:
        """(name, url) of every call to action of every registered message; a CTA link carries its index here.

        The order depends only on the messages given (default locale, other locales sorted, then extras in order),
        so every instance of a site built from the same settings numbers them alike.
        """
        return tuple(self._targets)

    def register(self, message: Message, *, where: str = "extra message") -> None:
        """Check `message` (its links) and allow it to be rendered; call before serving. `where` names it in errors."""
        if not isinstance(message, Message):
            raise ValueError(f"adguard_mw: {where} must be an adguard_mw.Message, got {type(message).__name__}")
        urls: list[tuple[str, str]] = []
        for key in ("body", "network_body", "slot_body"):
            found = links(getattr(message, key), body_format=message.body_format, site_name=self.site_name)
            urls.extend((key, url) for url in found)
        if message.logo is not None:
            urls.append(("logo", message.logo))
        urls.extend((f"ctas[{number}].url", cta.url) for number, cta in enumerate(message.ctas))
        for key, url in urls:
            problem = self.links.problem(url)
            if problem is not None:
                raise ValueError(
                    f"adguard_mw: message {key} ({where}) links to {url!r}, which is not allowed: {problem}"
                )
        for cta in message.ctas:
            if (cta.name, cta.url) not in self._targets:
                self._targets.append((cta.name, cta.url))
        self._known.add(message)

    def texts(self, kind: str | None = None, message: Message | None = None) -> dict[str, str]:
        """The plain texts of `message` (default: the default locale's) with `{site}` filled in."""
        message = message or self.message
        texts = {key: getattr(message, key).replace("{site}", self.site_name) for key in _TEXT_FIELDS}
        if kind == "network":
            texts["body"] = texts["network_body"]
        return texts

    def _select(self, message: Message | None, locale: str | None) -> tuple[str, Message]:
        locale = _locale(locale) if locale is not None else self.messages.default
        if message is None:
            if locale not in self.messages:
                raise ValueError(
                    f"adguard_mw: message locale {locale!r} is not configured ({', '.join(self.messages)})"
                )
            message = self.messages[locale]
        return locale, message

    def _context(self, client: ClientFacts, kind: str | None, message: Message, locale: str) -> dict[str, Any]:
        """What every template gets for this reader, besides what the caller passes."""
        if message not in self._known:
            raise ValueError("adguard_mw: message was not given to the renderer; pass it in extra= or register() it")
        text = self.texts(kind, message)
        source = message.network_body if kind == "network" else message.body
        body = to_html(source, body_format=message.body_format, site_name=self.site_name, rules=self.links)
        return {
            "site_name": self.site_name,
            "text": text,
            "body": Markup(body),  # sanitised by nh3 to the few tags the message allows
            "slot_body": Markup(
                to_html(message.slot_body, body_format=message.body_format, site_name=self.site_name, rules=self.links)
            ),
            "steps": allow_list_steps(client, kind, locale, check_label=text["check_label"]),
            "logo": message.logo if message.logo is not None and self.links.problem(message.logo) is None else None,
            "logo_alt": message.logo_alt.replace("{site}", self.site_name),
            "lang": locale,
            "direction": locales.direction(locale),
        }

    def _ctas(self, message: Message, cta_url: str | None) -> list[dict[str, Any]]:
        ctas = []
        for cta in message.ctas:
            index = self._targets.index((cta.name, cta.url))
            href = f"{cta_url}?to={index}" if cta_url is not None else cta.url
            ctas.append({"label": cta.label, "name": cta.name, "url": cta.url, "index": index, "href": href})
        return ctas

    def parts(
        self,
        template: str,
        *,
        client: ClientFacts,
        kind: str | None,
        message: Message | None = None,
        locale: str | None = None,
        **context: Any,
    ) -> tuple[bytes, ...]:
        """Render once per kind of reader, then reuse: only the page's path and the CSP nonces vary per request.
        The page is kept in UTF-8 and cut at those values (text, name, text, ...), so a message page costs a join,
        not a search and an encoding of ~13 KB per request: `fill(parts, values)` makes it, with the values given
        (or None) as they were here; a caller that keeps the parts (message_page.py) fills them itself.

        `locale` and `message` choose what to show (by default the default locale's message; a `message` of
        another locale, an A/B variant say, must have been registered). `cta_url`, when given, is the address
        that counts a call to action before redirecting to it: CTA links go to `{cta_url}?to={index}`.
        """
        values = {key: context.pop(key) for key in _PER_REQUEST if key in context}
        return self._cached(template, client, kind, message, locale, context, values)

    def render_bytes(self, template: str, /, **arguments: Any) -> bytes:
        """`parts(template, **arguments)` filled with this request's values: the page in UTF-8, for a response."""
        values = {key: arguments[key] for key in _PER_REQUEST if key in arguments}
        return fill(self.parts(template, **arguments), values)

    def render(self, template: str, /, **arguments: Any) -> str:
        """`render_bytes(template, **arguments)` as text: a fragment, or a part of a page made elsewhere."""
        return self.render_bytes(template, **arguments).decode()

    def _cached(
        self,
        template: str,
        client: ClientFacts,
        kind: str | None,
        message: Message | None,
        locale: str | None,
        context: dict[str, Any],
        given: dict[str, Any],
    ) -> tuple[bytes, ...]:
        """The page as UTF-8 parts cut at the per-request values `given` (text, marker name, text, ...); a value
        that is None leaves no marker."""
        locale, message = self._select(message, locale)
        varying = tuple(key for key in _PER_REQUEST if given.get(key) is not None)
        family = steps_family(client)  # all the steps depend on
        key = (template, kind, locale, message, family, varying, tuple(sorted(context.items())))
        entry = self._rendered.get(key)
        if entry is None:
            markers = {name: _marker(name) if name in varying else value for name, value in given.items()}
            values = self._context(client, kind, message, locale)
            values["ctas"] = self._ctas(message, context.get("cta_url"))
            page = self._env.get_template(template).render(**values, **context, **markers)
            parts = tuple(part.encode() for part in _MARKERS.split(page))
            # A bound, not an LRU: the set of kinds of readers is small. The context holds URLs made from the
            # request's mount point (the reader's text under Mount("/{lang}")), so the bound is in characters too.
            size = len(page) + sum(len(str(value)) for value in context.values())
            if len(self._rendered) >= 256 or self._rendered_chars + size > _RENDERED_CHARS:
                self._rendered.clear()
                self._rendered_chars = 0
            entry = self._rendered[key] = parts
            self._rendered_chars += size
        return entry

    def preview_page(
        self,
        mode: str,
        *,
        kind: str | None = None,
        client: ClientFacts = UNKNOWN_CLIENT,
        message: Message | None = None,
        locale: str | None = None,
        stylesheet: str,
        css_class: str = "support-note",
    ) -> str:
        """A standalone HTML page showing the message in `mode`, to open from disk: no server, no JavaScript.

        notice, soft and instructions show over a sample article; hard is the wall page. `stylesheet` is the
        served CSS (`theme.stylesheet_source(css_class, ...)`, the same `css_class`), put inline.
        """
        if mode not in PREVIEW_MODES:
            raise ValueError(f"adguard_mw: preview mode must be one of {', '.join(PREVIEW_MODES)}, got {mode!r}")
        locale, message = self._select(message, locale)
        inline = stylesheet.replace("</", "<\\/")  # the stylesheet cannot end the <style> element
        context = self._context(client, kind, message, locale)
        context.update(
            ctas=self._ctas(message, None),
            mode=mode,
            css=css_class,
            next="/",
            check_url="#",
            nonce=None,
            style_nonce=None,
            inline_style=Markup(inline),  # the site's own stylesheet, made inert above
            # For an editor's wall.html that links them: a stylesheet and an empty script that work from disk.
            stylesheet_url="data:text/css;base64," + base64.b64encode(stylesheet.encode()).decode(),
            message_url="data:text/javascript,",
            detector_tag=Markup(""),
        )
        return self._env.get_template("wall.html" if mode == "hard" else "preview.html").render(**context)
