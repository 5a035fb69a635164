"""Editors' text to safe HTML: limited Markdown (or HTML) in, a small sanitised subset out, links checked.

Editors write the message; every blocking reader's browser runs it. Markdown is parsed with raw HTML off, and the
result goes through nh3 (the ammonia sanitiser) anyway, so neither a parser quirk nor an editor's HTML can add a
script, a style, an image or a link to a host nobody allowed. The link rules are checked at start-up, where a
mistake is one clear line, and again while sanitising, where a link that slipped through is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from markupsafe import escape

FORMATS = ("markdown", "html")
TAGS = frozenset({"p", "br", "em", "strong", "a", "ul", "ol", "li"})
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
_HOST = re.compile(r"(\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")  # browsers drop tabs and newlines and read "\" as "/"
_ALLOWED_HOSTS = "message.allowed_hosts"


class LinkRules:
    """Where the message may link: a path on this site ("/subscribe") or https:// to a host the editors listed.

    `allowed_hosts` are exact host names; a leading "*." allows the subdomains of a name (not the name itself).
    """

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        if isinstance(allowed_hosts, str):
            allowed_hosts = (allowed_hosts,)
        hosts = []
        for host in allowed_hosts:
            if not isinstance(host, str) or not _HOST.fullmatch(host.lower().rstrip(".")):
                raise ValueError(
                    f"adguard_mw: {_ALLOWED_HOSTS} item {host!r} must be a host name such as 'shop.example.com' "
                    "or '*.example.com'"
                )
            hosts.append(host.lower().rstrip("."))
        self.hosts = tuple(host for host in hosts if not host.startswith("*."))
        self.suffixes = tuple(host[1:] for host in hosts if host.startswith("*."))

    def host_allowed(self, host: str) -> bool:
        return host in self.hosts or any(host.endswith(suffix) for suffix in self.suffixes)

    def problem(self, url: str) -> str | None:
        """None when `url` is allowed, else what is wrong with it and how to fix it (never raises)."""
        if not url:
            return "it is empty"
        if _UNSAFE_CHARACTERS.search(url):
            return "it contains a space, a control character or a backslash; percent-encode them or remove them"
        if url.startswith("/") and not url.startswith("//"):
            return None
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".")
            host = host.encode("idna").decode("ascii").lower() if host else ""
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except (ValueError, UnicodeError):
            return "it is not a valid address"
        if url.startswith("//"):
            return f"write it in full as https:{url} and add its host to {_ALLOWED_HOSTS}"
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http") or not host:
            return "only https:// addresses and paths on this site (starting with a single '/') are allowed"
        if parts.username is not None or parts.password is not None:
            return "remove the user name before '@'"
        allowed = self.host_allowed(host)
        if scheme == "http":
            return "use https://" + ("" if allowed else f" and add its host {host!r} to {_ALLOWED_HOSTS}")
        return None if allowed else f"add its host {host!r} to {_ALLOWED_HOSTS}"

    def filter(self, tag: str, attribute: str, value: str) -> str | None:
        """nh3's attribute filter: drop a link the rules do not allow (the text of the link stays)."""
        if attribute in ("href", "src"):
            return value if self.problem(value) is None else None
        return value


def _render_image_as_text(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any) -> str:
    """No images in the message: `![alt](src)` shows its alt text."""
    token = tokens[idx]
    return str(escape(self.renderInlineAsText(token.children or [], options, env)))


def _markdown() -> MarkdownIt:
    """CommonMark with only paragraphs, emphasis, links, lists and line breaks.

    As in CommonMark, a line ending in a backslash (or two spaces) is a line break and a single newline is a space,
    so editors may wrap long texts in adguard-mw.toml; a blank line starts a new paragraph.
    """
    md = MarkdownIt("commonmark", {"html": False, "breaks": False, "linkify": False, "typographer": False})
    md.disable(["heading", "lheading", "code", "fence", "blockquote", "hr", "html_block", "html_inline"])
    md.disable(["backticks", "reference", "table", "strikethrough"], ignoreInvalid=True)
    md.add_render_rule("image", _render_image_as_text)
    # Let every link through the parser: the rules below judge it, and say so at start-up instead of showing the
    # editor's Markdown as literal text.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


_MD = _markdown()


def _unsanitised(text: str, body_format: str, site_name: str) -> str:
    """The editor's text as HTML, `{site}` filled in (escaped) before anything is checked or sanitised."""
    if body_format not in FORMATS:
        raise ValueError(f"adguard_mw: message body_format must be 'markdown' or 'html', got {body_format!r}")
    site = str(escape(site_name))
    if body_format == "html":
        return text.replace("{site}", site)
    html: str = _MD.render(text)
    return html.replace("{site}", site)  # hrefs are percent-encoded, so "{site}" is only in text


def to_html(text: str, *, body_format: str, site_name: str, rules: LinkRules) -> str:
    """Safe HTML for the message body: only TAGS, links with rel="noopener noreferrer", disallowed links dropped."""
    clean: str = nh3.clean(
        _unsanitised(text, body_format, site_name),
        tags=set(TAGS),
        clean_content_tags={"script", "style", "template", "textarea", "title", "noscript", "iframe", "object"},
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        attribute_filter=rules.filter,
        url_schemes={"https"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return clean.strip()


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.urls.extend(value or "" for name, value in attrs if name == "href")


def links(text: str, *, body_format: str, site_name: str) -> list[str]:
    """Every address the text links to, as a browser would read it; for the start-up check (images are dropped)."""
    collector = _LinkCollector()
    collector.feed(_unsanitised(text, body_format, site_name))
    collector.close()
    return collector.urls
