"""The charset of a page, so that what we insert reads the same as the page around it.

What we insert is written in UTF-8. On a page in another charset its letters would show as mojibake ("CafÃ©" for
"Café"), so it is re-encoded into the page's charset, with character references (`&#8217;`) for what that charset
cannot hold: every charset a browser reads as ASCII-compatible carries those. The page's charset is the one the
browser uses: its byte order mark, else the charset of its Content-Type header, else the one its head's `<meta>`
declares; a page that declares none is read by a guess, so it gets ASCII and references only. A label no browser
or no Python codec reads as an ASCII-compatible charset leaves us no safe encoding: the caller inserts nothing.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

from .lookahead import charset_parameter

# The encodings of the WHATWG Encoding Standard (what browsers decode), by Python's names for them.
_BROWSER_ENCODINGS = frozenset(
    {
        "utf-8", "cp866", "koi8-r", "koi8-u", "mac-roman", "mac-cyrillic", "cp874", "iso8859-11", "gbk", "gb2312",
        "gb18030", "big5", "big5hkscs", "euc_jp", "iso2022_jp", "shift_jis", "cp932", "euc_kr", "cp949",
        *(f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)),
        *(f"cp{n}" for n in range(1250, 1259)),
    }
)  # fmt: skip
# Labels browsers know under names Python does not.
_BROWSER_LABELS = {
    b"windows-874": "cp874",
    b"x-mac-cyrillic": "mac-cyrillic",
    b"x-mac-ukrainian": "mac-cyrillic",
    b"iso-8859-8-i": "iso8859-8",
    b"windows-31j": "cp932",
    b"x-sjis": "shift_jis",
    b"x-euc-jp": "euc_jp",
    b"x-gbk": "gbk",
}
_READ_AS_WINDOWS_1252 = frozenset({"ascii", "iso8859-1"})  # a browser reads "iso-8859-1" and "us-ascii" so
_UTF_16 = frozenset({"utf-16", "utf-16-le", "utf-16-be"})
_UTF_8_BOM = b"\xef\xbb\xbf"
_UTF_16_BOMS = (b"\xfe\xff", b"\xff\xfe")
_BOM_STARTS = frozenset((b"\xef", b"\xfe", b"\xff"))


def page_codec(headers: list[tuple[bytes, bytes]], body: bytes, meta_label: bytes | None) -> str | None:
    """The Python codec to write into this page with, or None when there is no safe one."""
    if body[:1] in _BOM_STARTS:  # most pages have no byte order mark: one lookup, not two `startswith`
        if body.startswith(_UTF_8_BOM):
            return "utf-8"
        if body.startswith(_UTF_16_BOMS):
            return None
    for name, value in headers:
        if len(name) == 12 and name.lower() == b"content-type":  # the length first: no new bytes for the others
            codec = _header_codec(value)
            if codec != _NO_LABEL:
                return codec
            break
    if meta_label is not None:
        return codec_for(meta_label, in_meta=True)
    return "ascii"  # the browser guesses: only ASCII reads the same in every guess


# The labels browsers read as UTF-8 (the WHATWG Encoding Standard), and the Content-Type values seen that name one.
_UTF_8_LABELS = frozenset(
    {b"utf-8", b"utf8", b"unicode-1-1-utf-8", b"unicode11utf8", b"unicode20utf8", b"x-unicode20utf8"}
)
_UTF_8_VALUES: dict[bytes, bool] = {}  # bounded like `_HEADER_CODECS` below


def declares_utf8(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the Content-Type header names UTF-8 by a label every browser knows: then the page is read as UTF-8
    whatever its `<meta>` says (only a byte order mark could change that, and it would say UTF-8 or be unwritable)."""
    for name, value in headers:
        if len(name) == 12 and name.lower() == b"content-type":
            try:
                return _UTF_8_VALUES[value]
            except (KeyError, TypeError):  # not seen yet, or not bytes
                pass
            label = charset_parameter(value)
            utf8 = label is not None and label.lower() in _UTF_8_LABELS
            if len(_UTF_8_VALUES) < 64 and type(value) is bytes and len(value) <= 128:
                _UTF_8_VALUES[value] = utf8
            return utf8
    return False


_NO_LABEL = "no label"  # what `_header_codec` says of a Content-Type without a charset (no codec has this name)
# Content-Type values seen and the codec they name: a page with a message in it asks on every view, and a site sends
# few values. Bounded like the injector's table of values: 64 of at most 128 bytes.
_HEADER_CODECS: dict[bytes, str | None] = {}


def _header_codec(value: bytes) -> str | None:
    """The codec a Content-Type value's charset names (None: none we can write in), or _NO_LABEL."""
    try:
        return _HEADER_CODECS[value]
    except (KeyError, TypeError):  # not seen yet, or not bytes
        pass
    label = charset_parameter(value)
    codec = _NO_LABEL if label is None else codec_for(label)
    if len(_HEADER_CODECS) < 64 and type(value) is bytes and len(value) <= 128:
        _HEADER_CODECS[value] = codec
    return codec


def codec_for(label: bytes, *, in_meta: bool = False) -> str | None:
    """The Python codec a browser's reading of `label` matches, or None for a label we cannot write safely in."""
    if len(label) <= _CACHED_LABEL:  # a page with a message in it asks for its charset on every view
        return _codec_for(label, in_meta)
    return _codec_for.__wrapped__(label, in_meta)


_CACHED_LABEL = 64  # real labels are short: the cache holds at most 64 keys of at most 64 bytes


@lru_cache(maxsize=64)
def _codec_for(label: bytes, in_meta: bool) -> str | None:
    key = label.strip(b"\t\n\f\r ").lower()
    codec = _BROWSER_LABELS.get(key)
    if codec is None:
        try:
            codec = codecs.lookup(key.decode("ascii")).name
        except (LookupError, ValueError):  # ValueError covers a label that is not ASCII
            return None
    if codec in _READ_AS_WINDOWS_1252:
        return "cp1252"
    if codec in _UTF_16:
        # A <meta> saying UTF-16 in bytes we could read as ASCII is read as UTF-8 (the HTML standard says so).
        return "utf-8" if in_meta else None
    return codec if codec in _BROWSER_ENCODINGS else None


def encode_for_page(utf8: bytes, codec: str) -> bytes:
    """`utf8` re-encoded in `codec`, with character references for what it cannot hold."""
    if codec == "utf-8" or utf8.isascii():
        return utf8
    return utf8.decode("utf-8").encode(codec, "xmlcharrefreplace")
