"""A hard wall inside the site's own page: the story taken out on the server, the message in its place.

Only a walled reader's page comes here, whole (the injector buffers it for them alone). It is parsed as a browser
parses it, with lexbor (selectolax): the HTML standard's tree construction, scripting on (a `<noscript>` in the
head stays text, as in the reader's browser), so the CSS selector matches what the site's own stylesheet would.
The elements it matches are removed from the tree: their text is not in the HTML the reader gets, so there is
nothing for a filter rule or the developer tools to unhide. The title, masthead and navigation stay.

Anything unexpected (the selector matches nothing or the whole page, a charset we cannot write, a parser error)
answers None: the caller falls back to the whole-page wall and says so once.
"""

from __future__ import annotations

import logging
import secrets

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode, SelectolaxError

from .charset import encode_for_page, page_codec
from .lookahead import Lookahead

logger = logging.getLogger("adguard_mw")

_BOM = b"\xef\xbb\xbf"
# A match that is, or sits inside, one of these is not a story in the page: the page itself, or its head.
_NOT_A_STORY = frozenset({"html", "head"})
_fallbacks_logged: set[str] = set()


def readable_selector(selector: str) -> bool:
    """Whether the parser can read `selector` (options.py refuses the others, in one line)."""
    try:
        LexborHTMLParser("<p></p>").css(selector)
    except (SelectolaxError, ValueError):
        return False
    return True


def wall_in_page(
    page: bytes, headers: list[tuple[bytes, bytes]], *, selector: str, head: str, panel: str
) -> bytes | None:
    """`page` with every element `selector` matches removed, `panel` where the first one was and `head` at the end
    of the head; None when that cannot be done safely (the caller serves the whole-page wall)."""
    lookahead = Lookahead()
    lookahead.feed(page, final=True)  # only for the charset its <meta> declares
    codec = page_codec(headers, page, lookahead.charset)
    if codec is None:
        return _fallback("the page's charset is not one we can write in")
    bom = page.startswith(_BOM)
    try:
        text = page[len(_BOM) if bom else 0 :].decode(codec)
    except UnicodeDecodeError:
        # "ascii" is our answer for a page that declares no charset: the browser guesses, and so would we.
        return _fallback("the page's bytes do not match its charset (or it declares none)")
    tree = LexborHTMLParser(text, scripting=True, options=LexborDocumentOptions.WO_EVENTS)
    stories = tree.css(selector)
    if not stories:
        return _fallback(f"paywall_selector {selector!r} matched nothing on a walled page")
    if tree.head is None or any(_in_head_or_page(node) for node in stories):
        return _fallback(f"paywall_selector {selector!r} matches the page itself or its head, not a story in it")
    marker = "m" + secrets.token_hex(16)  # no page can hold it by chance, nor on purpose
    for node in reversed(stories[1:]):  # a later match may sit inside an earlier one: inner ones go first
        node.decompose()
    stories[0].replace_with(marker + "body")
    tree.head.insert_child(marker + "head")
    html = tree.html
    if html is None or html.count(marker) != 2:
        return _fallback("the edited page could not be written back")
    before, rest = html.split(marker + "head", 1)
    if marker not in before:  # the head comes first; a marker elsewhere means a tree we do not understand
        middle, after = rest.split(marker + "body", 1)
        return _join(bom, codec, before, head, middle, panel, after)
    return _fallback("the edited page could not be written back")


def _join(bom: bool, codec: str, *parts: str) -> bytes:
    """The page's parts in its own charset; ours (the head and the panel, every other part) may hold letters it
    lacks, which become character references."""
    pieces = [_BOM] if bom else []
    for index, part in enumerate(parts):
        if index % 2:
            pieces.append(encode_for_page(part.encode(), codec))
        else:
            pieces.append(part.encode(codec, "xmlcharrefreplace"))
    return b"".join(pieces)


def _in_head_or_page(node: LexborNode) -> bool:
    """Whether a match is the page itself, its head, or something in the head (up to the body, all is well)."""
    current: LexborNode | None = node
    while current is not None and current.tag != "body":
        if current.tag in _NOT_A_STORY:
            return True
        current = current.parent
    return node.tag == "body"


def _fallback(reason: str) -> bytes | None:
    """Say once per reason that walled readers got the whole-page wall instead."""
    if reason not in _fallbacks_logged and len(_fallbacks_logged) < 100:
        _fallbacks_logged.add(reason)
        logger.warning("adguard_mw: %s, so walled readers get the whole-page wall instead (logged once)", reason)
    return None
