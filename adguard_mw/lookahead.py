"""Where a tag can go in the start of an HTML page: a bounded look-ahead that reads it as the browser does.

Searching the bytes for `<head>` or `</body>` is not enough: the same text inside a script's string, a comment, an
attribute value, a <textarea> or an SVG's CDATA is not markup, and a tag inserted there breaks the page. So this
module reads the page's first tokens the way the HTML tokenizer does (the doctype, comments, tags with their
quoted attribute values, the raw text of <script>, <style>, <title>, <noscript>…) up to the end of the head, and
answers with a point between two tokens: after the head's `<meta charset>` when it has one, else at the start of
the head, be it written (`<head>`) or implied (a valid page may leave `<head>` out: its head then starts at its
first element). Nothing past the head is read, so no markup lookalike further down can be taken for a place.
A page whose Content-Type names UTF-8 (`charset_certain`) gets the start of its head as soon as that is read (or,
with the usual start, the end of the `<meta charset>` that opens it): a browser reads it as UTF-8 whatever its
`<meta>` says, so there is none to wait for. The rest of its head is not read, and a streamed head goes out with its
first chunk instead of being held to its end.

The search stops at the first thing that cannot be in a head (any other element, text, `</head>`): everything
before it has been tokenized. It is resumable, so a page streamed in small chunks is tokenized once.
"""

from __future__ import annotations

import re

# How far into a body we look for an insertion point before giving up and sending the page unchanged.
LOOKAHEAD = 64 * 1024
# The HTML standard only honours a <meta charset> within the first 1024 bytes: wait at most that long for one.
CHARSET_WINDOW = 1024

_BOM = b"\xef\xbb\xbf"
_SPACE = b"\t\n\f\r "
_LESS_THAN = ord("<")
_TAG_OPENERS = frozenset(bytes([c]) for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# A start or end tag, as the tokenizer reads it: a value quoted after `=` may hold `>` (and a quote cut off by the
# end of the buffer runs to its end: the tag is incomplete); a quote anywhere else is just a character. Possessive,
# so a tag still incomplete at the end of the buffer fails in linear time. (The tokenizer also reads a quote after
# an `=` that starts an attribute's name, or sits in an unquoted value, as a character: markup errors that only
# make us read on further than it does, to the end of the quote.) Written as runs of plain characters between an `=`
# (with its quoted value, the usual `="…"` first) or a stray quote: a third fewer steps than a loop over each.
_ATTRIBUTES = rb"""[^>"'=]*+(?:="[^"]*+"?[^>"'=]*+|=[\t\n\f\r ]*+(?:"[^"]*+"?|'[^']*+'?|)[^>"'=]*+|["'][^>"'=]*+)*+>"""
_TAG = rb"<(?P<end>/?)(?P<name>[A-Za-z][^\t\n\f\r />]*+)" + _ATTRIBUTES
# What never matters to us, skipped in one search: white space (and NUL, which the parser drops or ends the head
# with) and comments; before the head, also the doctype and <html> (noted: they make a page, not a fragment); in a
# head, also the void elements that cannot declare a charset, and a <title>, <style>, <noscript> or <noframes> whose
# text holds no "<" but the one of its end tag (`_raw_text_end` reads the others). Then the next token, if it is a
# complete tag (in a head, the usual <meta charset="…"> is read at once): most pages take two searches.
_SKIPPED = rb"[\t\n\f\r \x00]++|<!--(?:-?>|(?s:.*?)--!?>)"
_NEXT = re.compile(
    rb"(?:" + _SKIPPED + rb"|(?P<marker><!(?i:doctype)[^>]*+>|<(?i:html)(?=[\t\n\f\r />])" + _ATTRIBUTES + rb"))*+"
    rb"(?:" + _TAG + rb")?"
)
_PLAIN_RAW_TEXT = (
    rb"<(?i:(?P<raw>title|style|noscript|noframes))(?=[\t\n\f\r />])" + _ATTRIBUTES
    + rb"[^<]*+</(?i:(?P=raw))(?=[\t\n\f\r />])" + _ATTRIBUTES
)  # fmt: skip
_VOID_IN_HEAD = rb"<(?i:link|base|basefont|bgsound)(?=[\t\n\f\r />])" + _ATTRIBUTES
_NEXT_IN_HEAD = re.compile(
    rb"(?:" + _SKIPPED + rb"|" + _VOID_IN_HEAD + rb"|" + _PLAIN_RAW_TEXT + rb")*+"
    rb"""(?:<(?i:meta)[\t\n\f\r /]++(?i:charset)[\t\n\f\r ]*+=[\t\n\f\r ]*+"""
    rb"""(?P<charset>"[^"]*+"|'[^']*+'|[^\t\n\f\r >"'/]++)[\t\n\f\r /]*+>|""" + _TAG + rb")?"
)
_END_TAG = re.compile(_TAG)
_SPACE_RUN = re.compile(rb"[\t\n\f\r \x00]*+")  # what `_SKIPPED` skips of a run with no ">" in it
# The usual start of a page, read in one match: an optional `<!doctype html>`, `<html>` whose attributes are all
# `name="value"`, `name='value'` or bare names, `<head>`, and mostly `<meta charset="…">` as the head's first element,
# separated by white space only. Without that <meta>, the match ends after `<head>`, where the full reading below goes
# on. Whatever else a page starts with (a comment, a BOM, unquoted values, capitals…) is left to the full reading from
# its first byte, which gives the same answers for these pages at several times the cost.
_USUAL_START = re.compile(
    rb"(?:<!(?:doctype|DOCTYPE) html>)?[\t\n\f\r ]*+"
    rb"""<html((?:[\t\n\f\r ]++[A-Za-z0-9:_-]++(?:="[^"<>]*+"|='[^'<>]*+')?+)*+)[\t\n\f\r ]*+>[\t\n\f\r ]*+"""
    rb'<head>(?:[\t\n\f\r ]*+<meta[\t\n\f\r ]++charset="([A-Za-z0-9_.:-]++)"[\t\n\f\r /]*+>)?+'
)
# The usual starts read so far, as they were, with their <meta charset>: a site's pages share a few, and comparing a
# page's first bytes with one costs a fraction of the match (what `_USUAL_START` finds in a page depends on nothing
# past the `>` that ends its match). Each with its charset and whether its <html> has an attribute that may be AMP's.
# (A start without the <meta> is not kept: a page beginning with it may still have one.) Bounded: the first 8 starts
# of at most 256 bytes.
_SEEN_STARTS: list[tuple[bytes, bytes, bool]] = []
_STARTS_KEPT = 8
_START_KEPT = 256
_ATTRIBUTE = re.compile(
    rb"([^\t\n\f\r />][^\t\n\f\r />=]*)"
    rb"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*("[^"]*"|'[^']*'|[^\t\n\f\r >"'][^\t\n\f\r >]*))?"""
)
_CHARSET_PARAMETER = re.compile(
    rb"""charset[\t\n\f\r ]*=[\t\n\f\r ]*("[^"]*"|'[^']*'|[^\t\n\f\r ;"']+)""", re.IGNORECASE
)
_COMMENT_END = re.compile(rb"--!?>")
_SCRIPT_MARKS = re.compile(rb"<!--|-->|<(/?)script[\t\n\f\r />]", re.IGNORECASE)
_RAW_TEXT_END = {
    name: re.compile(b"</" + name + rb"[\t\n\f\r />]", re.IGNORECASE)
    for name in (b"title", b"style", b"noscript", b"noframes")
}
# What a head may hold (the "in head" insertion mode); `template` is left out: its content is a document fragment
# of its own, so the search stops before it rather than reading it.
_HEAD_ELEMENTS = frozenset({b"meta", b"link", b"base", b"basefont", b"bgsound", b"script", b"noscript", *_RAW_TEXT_END})
# End tags that close the head (and, before any head, imply and close one); the parser ignores the others here.
_HEAD_ENDING_END_TAGS = frozenset({b"head", b"body", b"html", b"br"})


class Lookahead:
    """The search of one response. `feed` it the body seen so far (each call with more of the same bytes)."""

    __slots__ = (
        "_document",
        "_head_start",
        "_meta_end",
        "_pos",
        "_stalled_at",
        "_unusual",
        "charset",
        "charset_certain",
    )

    def __init__(self, *, charset_certain: bool = False) -> None:
        self._pos = 0  # every token before this offset has been read
        self._document = False  # a doctype, <html>, <head> or <body>: a page, not a fragment fetched by a script
        self._head_start = -1  # where the head's content starts, once it has
        self._meta_end = -1  # just after the head's first <meta> that declares a charset
        self._stalled_at = -1  # the length of the buffer when a token was last cut off by its end
        self._unusual = -1  # the length of a buffer found not to begin with the usual start (`_usual_start`)
        self.charset: bytes | None = None  # the charset that <meta> declares
        self.charset_certain = charset_certain  # the transport's charset stands, whatever a <meta> says

    def feed(self, buffer: bytes, final: bool) -> int | None:
        """Where to insert: an offset, -1 for "nowhere, send unchanged", None for "wait for more"."""
        pos, end = self._pos, len(buffer)
        if pos == 0:
            if self._meta_end < 0 and end > self._unusual:  # not read yet (by `is_amp`), or more to read
                self._usual_start(buffer)
            if self._meta_end >= 0:  # the usual start, read now or by `is_amp` before
                return self._meta_end
            if self._pos:  # a usual start without its <meta charset>: read on from its `<head>`
                pos = self._pos
            elif buffer.startswith(_BOM):
                pos = len(_BOM)
            elif _BOM.startswith(buffer) and not final:
                return None
        if self._stalled_at >= 0 and not final and buffer.find(b">", self._stalled_at) < 0:
            return self._undecided(end, final)  # every token ends with ">": none can have ended since
        self._stalled_at = -1
        # Every token but text ends with ">", so none past the last ">" is complete yet: the search stops there
        # rather than fail on a token cut off by the end of a chunk (what follows is read below, as it was).
        limit = max(buffer.rfind(b">") + 1, pos)
        while True:
            in_head = self._head_start >= 0
            if in_head and self.charset_certain and self._document:
                return self._head_start
            token = (_NEXT_IN_HEAD if in_head else _NEXT).match(buffer, pos, limit)
            assert token is not None  # it matches the empty string
            if not in_head and token.group("marker") is not None:
                self._document = True  # a doctype or <html> on the way
            name = token.group("name")
            if name is not None:
                at, after = token.start("end") - 1, token.end()
                name = name.lower()
                if token.group("end"):
                    if name in _HEAD_ENDING_END_TAGS:
                        return self._head_ends(at)
                elif name in _HEAD_ELEMENTS:
                    if self._head_start < 0:
                        self._head_start = at  # a head with its start tag left out starts here
                    if name == b"meta":
                        if self._meta_end < 0 and (charset := meta_charset(buffer[at:after])) is not None:
                            self._meta_end, self.charset = after, charset
                            if self._document:
                                return after
                    elif name in _RAW_TEXT_END or name == b"script":
                        closed = _raw_text_end(buffer, after, name)
                        if closed is None:
                            pos = at
                            self._stalled_at = end
                            break
                        after = closed
                elif name == b"head":
                    self._document = True
                    if self._head_start < 0:
                        self._head_start = after
                elif name == b"html":
                    self._document = True
                else:
                    if name == b"body":
                        self._document = True
                    return self._head_ends(at)  # anything else is body content (or a <template>)
                pos = after
                continue
            at = token.end()
            if in_head and (charset := token.group("charset")) is not None:  # the usual <meta charset="…">
                if self._meta_end < 0 and (label := _unquoted(charset).strip(_SPACE)):
                    self._meta_end, self.charset = at, label
                    if self._document:
                        return at
                pos = at
                continue
            if at == limit < end:  # past the last ">": white space, then text or a token not complete yet
                at = _SPACE_RUN.match(buffer, at).end()  # type: ignore[union-attr]  # it matches the empty string
            if at == end:
                pos = at
                break
            if buffer[at] != _LESS_THAN:
                return self._head_ends(at)  # text is body content
            token_end = None if buffer[at + 1 : at + 2] in _TAG_OPENERS else _token(buffer, at)
            if token_end is None:  # cut off by the end of what we have
                pos = at
                self._stalled_at = end if end - at > 3 else -1
                break
            if token_end < 0:  # a `<` that starts nothing is text
                return self._head_ends(at)
            if buffer[at + 1 : at + 9].lower() == b"!doctype":
                self._document = True
            pos = token_end  # a doctype in the head, a processing instruction or another bogus comment
        self._pos = pos
        return self._undecided(end, final)

    def is_amp(self, buffer: bytes, final: bool) -> bool | None:
        """`is_amp(buffer, final)`, keeping what its reading of the usual start found for `feed` (same buffer)."""
        if self._usual_start(buffer) is False:  # a usual start whose <html> has no attribute of AMP's
            return False
        return _is_amp(buffer, final)

    def _usual_start(self, buffer: bytes) -> bool | None:
        """Reads the usual start: None if the page has none, else whether its <html> may be AMP's."""
        for seen in _SEEN_STARTS:
            if buffer.startswith(seen[0]):
                break
        else:
            usual = _USUAL_START.match(buffer)
            if usual is None:
                self._unusual = len(buffer)
                return None
            maybe_amp = b"amp" in usual.group(1).lower()
            self._document = True
            if usual.group(2) is None:  # no <meta charset> first: the head is read on from `<head>`, as the full
                self._head_start = self._pos = usual.end()  # reading would after reading the tags before it
                return maybe_amp
            seen = (usual.group(), usual.group(2), maybe_amp)
            if len(_SEEN_STARTS) < _STARTS_KEPT and len(seen[0]) <= _START_KEPT:
                _SEEN_STARTS.append(seen)
        start, self.charset, maybe_amp = seen
        self._document = True
        self._meta_end = len(start)
        return maybe_amp

    def _undecided(self, end: int, final: bool) -> int | None:
        """The answer when the head has not ended within the `end` bytes read so far."""
        if (
            self._head_start >= 0
            and self._document
            and (final or self.charset_certain or end - self._head_start >= CHARSET_WINDOW)
        ):
            return self._head_start  # no <meta charset> to wait for, or a long head without one in its first kilobyte
        if final or end >= LOOKAHEAD:
            return self._head_ends(end) if final and self._head_start >= 0 else -1
        return None

    def _head_ends(self, at: int) -> int:
        """The head ends at `at` (or the body starts there): the answer, now that the whole head has been read."""
        if not self._document:
            return -1  # a fragment (an HTML snippet fetched by a script) is not a page of its own
        if self._meta_end >= 0:
            return self._meta_end
        return self._head_start if self._head_start >= 0 else at


def find_insertion_point(buffer: bytes, final: bool) -> int | None:
    """Where to insert in the body seen so far: an offset, -1 for "nowhere, send unchanged", None for "wait"."""
    return Lookahead().feed(buffer, final)


def meta_charset(tag: bytes) -> bytes | None:
    """The charset a `<meta …>` tag declares, by its `charset` or its `http-equiv="Content-Type"` `content`."""
    if tag.lower().find(b"charset") < 0:  # `find`, not `in`: see `_is_amp`
        return None
    attributes: dict[bytes, bytes] = {}
    for match in _ATTRIBUTE.finditer(tag, 5, len(tag) - 1):  # between "<meta" and ">"
        value = match.group(2) or b""
        attributes.setdefault(match.group(1).lower(), value[1:-1] if value[:1] in (b'"', b"'") else value)
    if b"charset" in attributes:
        return attributes[b"charset"].strip(_SPACE) or None
    if attributes.get(b"http-equiv", b"").strip(_SPACE).lower() == b"content-type":
        return charset_parameter(attributes.get(b"content", b""))
    return None


def _unquoted(value: bytes) -> bytes:
    return value[1:-1] if value[:1] in (b'"', b"'") else value


def charset_parameter(value: bytes) -> bytes | None:
    """The `charset=` of a Content-Type value (a header's, or a <meta http-equiv>'s content)."""
    match = _CHARSET_PARAMETER.search(value)
    if match is None:
        return None
    label = match.group(1)
    return (label[1:-1] if label[:1] in (b'"', b"'") else label).strip(_SPACE) or None


def _token(buffer: bytes, at: int) -> int | None:
    """Where the token other than a tag that starts with the `<` at `at` ends (a doctype, a comment, a bogus
    comment such as `<?xml …>`), -1 for a `<` that starts no token and is text, or None while it is cut off."""
    following = buffer[at + 1 : at + 2]
    if following.isalpha() or (following == b"/" and buffer[at + 2 : at + 3].isalpha()):
        return None  # a tag, which `_NEXT` did not find complete
    if following == b"!":
        if len(buffer) < at + 4:
            return None  # may still become "<!--"
        if buffer.startswith(b"--", at + 2):
            return _comment_end(buffer, at)
    elif following == b"/":
        if buffer.startswith(b">", at + 2):
            return at + 3  # "</>" is dropped
        if len(buffer) < at + 3:
            return None
    elif following != b"?":
        return None if not following else -1
    closed = buffer.find(b">", at + 2)  # a doctype, or a bogus comment ("<?xml …>", "<![CDATA[…]]>" in HTML)
    return None if closed < 0 else closed + 1


def _comment_end(buffer: bytes, at: int) -> int | None:
    start = at + 4
    if buffer.startswith(b">", start):  # "<!-->" and "<!--->" are whole (empty) comments
        return start + 1
    if buffer.startswith(b"->", start):
        return start + 2
    closed = _COMMENT_END.search(buffer, start)
    return None if closed is None else closed.end()


def _raw_text_end(buffer: bytes, start: int, name: bytes) -> int | None:
    """Where the raw text of a <script>, <style>, <title>… that starts at `start` ends, with its end tag."""
    if name == b"script":
        close = _script_end(buffer, start)
    else:
        match = _RAW_TEXT_END[name].search(buffer, start)
        close = match.start() if match is not None else None
    if close is None:
        return None
    end_tag = _END_TAG.match(buffer, close)
    return end_tag.end() if end_tag is not None else None


def _script_end(buffer: bytes, start: int) -> int | None:
    """The `</script` that ends a script, past the "escaped" `<!-- <script> … </script> -->` of old pages."""
    state = 0  # 0: script data, 1: escaped (after "<!--"), 2: double escaped (after "<!-- <script>")
    pos = start
    while (mark := _SCRIPT_MARKS.search(buffer, pos)) is not None:
        pos = mark.end()
        text = mark.group()
        if text == b"<!--":
            if state == 0:
                state, pos = 1, pos - 2  # the "--" may already be the start of "-->"
        elif text == b"-->":
            state = 0
        elif mark.group(1):  # </script
            if state != 2:
                return mark.start()
            state = 1
        elif state == 1:  # <script
            state = 2
    return None


# The attributes that make a page AMP (amp.dev: an AMP page, email or ad "MUST contain a top-level <html ⚡>"
# tag, or its spelled-out twin). Attribute names are case-insensitive in HTML; the bolt is UTF-8, as AMP requires.
_AMP_ATTRIBUTES = frozenset(
    {b"amp", b"\xe2\x9a\xa1", b"amp4email", b"\xe2\x9a\xa14email", b"amp4ads", b"\xe2\x9a\xa14ads"}
)
# What may precede <html>: white space, comments and the doctype (each whole).
_PROLOGUE = re.compile(rb"(?:" + _SKIPPED + rb"|<!(?i:doctype)[^>]*+>)*+")
_TAG_ENDS = (b"\t", b"\n", b"\f", b"\r", b" ", b"/", b">")
_START_TAG = re.compile(
    rb"(?:" + _SKIPPED + rb"|<!(?i:doctype)[^>]*+>)*+(?P<tag><(?i:html)(?=[\t\n\f\r />])" + _ATTRIBUTES + rb")"
)


def is_amp(buffer: bytes, final: bool) -> bool | None:
    """Whether the page starting with `buffer` is an AMP page (its `<html>` tag carries `amp`, `⚡`, `amp4email`…):
    True, False, or None for "wait for more" while that tag may still come. Only the prologue is read: a page whose
    first tag is anything else is not AMP (the AMP validator requires `<html ⚡>` at the top)."""
    return Lookahead().is_amp(buffer, final)


def _is_amp(buffer: bytes, final: bool) -> bool | None:
    """`is_amp` for a page whose start is not the usual one: its prologue read token by token."""
    start = len(_BOM) if buffer[:1] == b"\xef" and buffer.startswith(_BOM) else 0
    tag = _START_TAG.match(buffer, start)  # most pages: one search, and no attribute to read
    if tag is not None:
        text = tag.group("tag")
        # `find`, not `in`: CPython reads `bytes in bytes` as "an int in bytes?" first, and formats the TypeError
        # it then drops (twice the cost of `find`).
        if text.find(b"\xe2\x9a\xa1") < 0 and text.lower().find(b"amp") < 0:
            return False
        names = {match.group(1).lower() for match in _ATTRIBUTE.finditer(text, 5, len(text) - 1)}
        return not names.isdisjoint(_AMP_ATTRIBUTES)
    if not final and len(buffer) < 3 and _BOM.startswith(buffer):
        return None  # a byte order mark cut off
    pos = _PROLOGUE.match(buffer, start).end()  # type: ignore[union-attr]  # it matches the empty string
    rest = buffer[pos : pos + 6].lower()
    # <html cut off before its attributes end, or a doctype or comment cut off
    undecided = rest.startswith(b"<!") or (b"<html".startswith(rest[:5]) and rest[5:6] in (b"", *_TAG_ENDS))
    if final or len(buffer) >= LOOKAHEAD or not undecided:
        return False
    return None
