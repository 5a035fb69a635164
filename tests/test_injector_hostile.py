"""Hostile pages: the tag lands only where a browser's parser makes it an element of the page's head or body.

Markup lookalikes in a script's strings, a comment, an attribute value, a <textarea>, the CDATA of an inline SVG or
a <title> must never be taken for the head, and a valid page that leaves its <head> and <body> tags out still gets
the tag where its head starts. The judge is html5lib, a parser that follows the HTML standard: with the tag
inserted, the page must parse to the same document plus one script element, child of the head or the body.
"""

from __future__ import annotations

from typing import Any
from xml.dom import minidom

import html5lib
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adguard_mw.injector import CHARSET_WINDOW, HtmlRewriter, Rewrite, find_insertion_point
from adguard_mw.lookahead import Lookahead

from .asgi import Sent, body, start

PROBE = b'<script id="probe" src="/probe.js" defer></script>'
HTML = (b"content-type", b"text/html; charset=utf-8")


def parse(page: bytes) -> tuple[Any, minidom.Document]:
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("dom"), namespaceHTMLElements=False)
    return parser, parser.parse(page.decode("latin-1"), scripting=True)  # as Chromium, with scripting on


def assert_lands_as_an_element(page: bytes, offset: int) -> None:
    """`PROBE` at `offset` becomes a script element of the head or body, and the page is otherwise unchanged."""
    parser, original = parse(page)
    _, edited = parse(page[:offset] + PROBE + page[offset:])
    probes = [s for s in edited.getElementsByTagName("script") if s.getAttribute("id") == "probe"]
    assert len(probes) == 1, f"the tag did not become an element at {offset}: {page[offset - 20 : offset + 20]!r}"
    [probe] = probes
    assert probe.parentNode.tagName in ("head", "body"), probe.parentNode.tagName
    probe.parentNode.removeChild(probe)
    edited.normalize()  # the text on either side of the tag is one text node again
    original.normalize()
    assert parser.tree.testSerializer(edited) == parser.tree.testSerializer(original)


def inserted_at(page: bytes) -> int:
    offset = find_insertion_point(page, final=True)
    assert offset is not None
    return offset


HOSTILE = {
    "strings in an inline script of a page without <head>": (
        b"<!doctype html><html lang=en><meta charset=utf-8><title>T</title>"
        b"<script>var a = '<head>', b = \"</body>\", c = '<!--';</script><p>story</p></html>",
        b"<meta charset=utf-8>",
    ),
    "a <textarea> holding a head and a body": (
        b"<!doctype html><textarea><head></head><body></body></textarea><p>x</p>",
        b"<!doctype html>",
    ),
    "the CDATA of an inline SVG": (
        b"<!doctype html><svg><script><![CDATA[ if (a < b) document.write('<head></body>') ]]></script></svg>",
        b"<!doctype html>",
    ),
    "comments": (
        b"<!doctype html><!-- <head> --><html><!-- </head><body> --><head><!-- <meta charset=x> --><title>T</title>",
        b"<html><!-- </head><body> --><head>",
    ),
    "attribute values": (
        b'<!doctype html><html data-a="<head>" data-b=\'</body>\'><head data-c="<meta charset=x>"><title>T</title>',
        b'<head data-c="<meta charset=x>">',
    ),
    "a > inside a <meta>'s quoted value": (
        b'<!doctype html><head><meta content="a>b" charset="utf-8"><title>T</title></head>',
        b'<meta content="a>b" charset="utf-8">',
    ),
    "a <meta charset> inside a <title>": (
        b"<!doctype html><head><title><meta charset=utf-8></title><meta name=x></head><body>",
        b"<head>",
    ),
    "an old page's escaped script": (
        b"<!doctype html><head><script><!-- document.write('<script>x</script><meta charset=utf-8>') --></script>"
        b"<meta charset=utf-8></head>",
        b"<meta charset=utf-8>",
    ),
    "a <noscript> in the head": (
        b"<!doctype html><head><noscript><meta charset=utf-8><link rel=stylesheet href=x.css></noscript></head>",
        b"<head>",
    ),
    "a <template> in the head": (
        b"<!doctype html><head><template><meta charset=utf-8><head></template><meta charset=utf-8></head>",
        b"<head>",
    ),
    "a <style> with > selectors": (
        b"<!doctype html><head><style>body > p::after { content: '</style-not><head>' }</style></head><body>",
        b"<head>",
    ),
    "an XML declaration and a byte order mark": (
        b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?><html><head><title>T</title></head>",
        b"<head>",
    ),
    "only a body": (b"<body><p>x</p></body>", b""),
    "text right after the doctype": (b"<!doctype html>Hello <b>world</b>", b"<!doctype html>"),
}


@pytest.mark.parametrize(("page", "after"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_the_tag_lands_where_the_parser_makes_it_an_element(page: bytes, after: bytes) -> None:
    offset = inserted_at(page)
    assert offset >= 0 and page[:offset].endswith(after)
    assert_lands_as_an_element(page, offset)


@pytest.mark.parametrize(
    "fragment",
    [
        b'<div id="results"><p>Found 3</p></div>',  # what htmx or Turbo fetch: not a page of its own
        b"<title>New title</title><tr><td>1</td></tr>",
        b"<!-- a comment, then --> some text",
        b"",
    ],
)
def test_a_fragment_gets_nothing(fragment: bytes) -> None:
    assert inserted_at(fragment) == -1


PIECES = [
    b"<!doctype html>", b"<html>", b"<html lang='<head>'>", b"<head>", b"<HEAD data-x=\"</head>\">", b"</head>",
    b"<body>", b"</body>", b"</html>", b"<meta charset=utf-8>", b"<meta content='a>b' charset=\"utf-8\">",
    b"<meta name=x content=charset>", b"<title>T <head></title>", b"<title>", b"</title>", b"<style>a>b{}</style>",
    b"<script>var s='<head></body>';</script>", b"<script><!--<script>'</script>'</script>--></script>", b"<script>",
    b"</script>", b"<noscript><head></noscript>", b"<template><head></template>", b"<textarea><head></textarea>",
    b"<svg><![CDATA[</body><head>]]></svg>", b"<!-- <head> -->", b"<!--", b"-->", b"<!-->", b'<div title="<head>">',
    b"<a href='x>y'>", b"<p>", b"text", b" ", b"\n", b"<", b">", b'"', b"'", b"=", b"<?xml version='1.0'?>",
    b"<![CDATA[x]]>", b"</br>", b"<br/>", b"<link rel=stylesheet href=a.css>", b"<plaintext>", b"<xmp><head></xmp>",
    b"<iframe><head></iframe>", b"<math><mi>x</mi></math>", b"</>", b"<!x>", b"</ x>",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
@example([b"<!doctype html>", b"<title>", b"<head>", b"</title>", b"<p>"])
@example([b"<html>", b"<script>", b"<!--", b"<script>", b"</script>", b"<head>", b"-->", b"</script>", b"<head>"])
def test_any_page_gets_the_tag_only_where_the_parser_makes_it_an_element(pieces: list[bytes]) -> None:
    page = b"".join(pieces)
    offset = inserted_at(page)
    if offset >= 0:
        assert_lands_as_an_element(page, offset)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12), st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_a_page_streamed_in_any_chunks_gets_the_same_answer(pieces: list[bytes], sizes: list[int]) -> None:
    page = b"".join(pieces)
    assert len(page) < CHARSET_WINDOW
    lookahead, seen, answer = Lookahead(), 0, None
    for size in sizes * (len(page) // sum(sizes) + 1):
        seen = min(len(page), seen + size)
        answer = lookahead.feed(page[:seen], final=seen == len(page))
        if answer is not None:
            break
    assert answer == find_insertion_point(page, final=True)


async def test_a_streamed_page_is_read_as_a_browser_reads_it() -> None:
    page = b'<!doctype html><html data-x="<head>"><title>T</title><script>s="</body>"</script><p>x</p></html>'
    sent = Sent()
    send = HtmlRewriter(sent, _insert_probe)
    await send(start(headers=[HTML]))
    for at in range(0, len(page), 5):
        await send(body(page[at : at + 5], more=True))
    await send(body(b""))
    assert sent.body == page.replace(b"<title>", PROBE + b"<title>", 1)


async def _insert_probe(headers: list[tuple[bytes, bytes]]) -> Rewrite:
    return Rewrite(insert=PROBE)
