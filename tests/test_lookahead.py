"""The look-ahead's reading of the usual page start in one match gives the same answers as its full reading."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adguard_mw import lookahead
from adguard_mw.lookahead import Lookahead, is_amp

from .test_injector_hostile import assert_lands_as_an_element

USUAL = b'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>T</title></head><body><p>x</p>'

# Each part of a page start: the usual spellings first, then what the one match must leave to the full reading.
DOCTYPES = [b"<!doctype html>", b"<!DOCTYPE html>", b"", b"<!DOCTYPE HTML>", b"<!doctype html >", b"\xef\xbb\xbf"]
SPACES = [b"\n", b"", b" \n\t", b"\r\n", b"\x0b", b"\x00", b"<!-- <head> -->", b"text"]
HTML_TAGS = [
    b'<html lang="en">', b"<html>", b'<html lang="en" dir="ltr" class="no-js">', b"<html xmlns:og=\"x\" hidden>",
    b"<html amp>", b'<html lang="en" \xe2\x9a\xa1>', b'<html lang="en" amp4email>', b'<html data-camp="x">',
    b"<html lang='en'>", b"<html lang=en>", b'<html data-x="a>b">', b'<html a"b="c>d">', b'<html lang="en"dir="x">',
    b'<html data-x="<head>">', b"<HTML>", b"<htmlx>", b"<html/>", b'<html lang="en" >', b"",
]  # fmt: skip
HEADS = [b"<head>", b"<HEAD>", b"<head >", b'<head data-x="<meta charset=x>">', b"", b"<title>T</title><head>"]
METAS = [
    b'<meta charset="utf-8">', b'<meta charset="UTF-8" />', b'<meta charset="windows-1252"/>', b"<meta charset=utf-8>",
    b'<meta charset="utf-8/>', b'<meta charset="">', b'<meta charset="ut>f-8">', b'<meta  charset="utf-8">',
    b"<meta charset=utf-8/>", b'<meta name="viewport" content="width=device-width">', b'<meta\ncharset="utf-8">',
    b"<script>var s='<meta charset=x>'</script>", b"<title>T</title>", b"",
]  # fmt: skip
RESTS = [b"\n<title>T</title></head><body><p>x</p>", b"<p>x</p>", b"", b"</head>", b"<!--"]


def full_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookahead, "_USUAL_START", re.compile(rb"(?!)"))  # a pattern that never matches
    monkeypatch.setattr(lookahead, "_SEEN_STARTS", [])  # and no usual start kept from an earlier page


def answers(page: bytes, final: bool) -> tuple[int | None, bytes | None, bool | None]:
    reading = Lookahead()
    amp = reading.is_amp(page, final)
    offset = reading.feed(page, final)
    return offset, reading.charset if offset is not None and offset >= 0 else None, amp


def part(spellings: list[bytes]) -> st.SearchStrategy[bytes]:
    """The usual spelling about half the time, so that most pages differ from the usual start in a part or two."""
    return st.sampled_from(spellings[:1] * len(spellings) + spellings)


page_starts = st.tuples(
    part(DOCTYPES), part(SPACES), part(HTML_TAGS), part(SPACES), part(HEADS), part(SPACES), part(METAS), part(RESTS)
).map(b"".join)


def test_the_usual_start_is_read_in_one_match() -> None:
    assert lookahead._USUAL_START.match(USUAL) is not None  # else the fast path is dead code
    reading = Lookahead()
    assert reading.is_amp(USUAL, True) is False
    assert reading.feed(USUAL, True) == USUAL.index(b"\n<title>")
    assert reading.charset == b"utf-8"


def test_a_usual_start_without_its_meta_charset_is_read_on_from_its_head() -> None:
    page = b'<!doctype html>\n<html lang="en">\n<head>\n<title>T</title>\n<meta charset=utf-8></head><body>'
    reading = Lookahead()
    assert reading.is_amp(page, True) is False
    assert reading._pos == page.index(b"\n<title>")  # read in one match, not token by token
    assert reading.feed(page, True) == page.index(b"</head>")
    assert reading.charset == b"utf-8"


@settings(max_examples=500, deadline=None)
@given(page_starts, st.booleans())
@example(USUAL, True)
@example(b'<!doctype html>\n<html lang="en">\n<head>\n<title>T</title><meta charset="utf-8">', True)
@example(b"<html><head>", False)
@example(b"<!doctype html><html lang='en' class='no-js'><head><meta charset=\"utf-8\">", True)
@example(b"<html lang='en'x><head>", True)
@example(b'<!doctype html><html a"b="c>d"><head><meta charset="utf-8"><p>', True)
@example(b'<html lang="en" amp><head><meta charset="utf-8">', True)
@example(b'<html><head><meta charset="utf-8/><p>x</p>', True)
def test_any_page_start_gets_the_answers_of_the_full_reading(page: bytes, final: bool) -> None:
    fast = answers(page, final)
    with pytest.MonkeyPatch.context() as patch:
        full_reading(patch)
        assert answers(page, final) == fast
        assert is_amp(page, final) == fast[2]
    offset = fast[0]
    if final and offset is not None and offset >= 0:
        assert_lands_as_an_element(page, offset)


@settings(max_examples=300, deadline=None)
@given(page_starts, page_starts, st.booleans())
@example(USUAL, USUAL, True)
@example(b'<html lang="en"><head><meta charset="utf-8">', b'<html lang="en"><head><meta charset="utf-8/>', True)
def test_a_page_read_after_another_gets_the_answers_of_a_first_reading(before: bytes, page: bytes, final: bool) -> None:
    """The usual starts read before are kept, and a page is compared with them before the match: what a kept
    start says must be what the match would say of any page that begins with it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lookahead, "_SEEN_STARTS", [])
        first = answers(page, final)
        assert answers(page, final) == first  # its own start kept
        patch.setattr(lookahead, "_SEEN_STARTS", [])
        answers(before, True)
        assert answers(page, final) == first  # another page's start kept


@settings(max_examples=100, deadline=None)
@given(page_starts)
@example(USUAL)
def test_a_page_start_split_at_every_byte_gets_the_same_answer(page: bytes) -> None:
    whole = answers(page, True)[0]
    reading, answer = Lookahead(), None
    for seen in range(1, len(page) + 1):
        answer = reading.feed(page[:seen], final=seen == len(page))
        if answer is not None:
            break
    assert answer == whole


# A head's parts for the one search's run: raw text (<title>, <style>…) plain or not, tags with `>` in quoted values,
# stray quotes, end tags spelt every way, and what ends a head.
HEAD_PARTS = [
    b"<title>T</title>", b"<TITLE>T</Title >", b"<title>a<b</title>", b"<title>T</title/>", b"<title>T</titles>",
    b'<title x="a>b">T</title y=">">', b"<style>p>a{}</style>", b"<style>x</style-not></style>", b"<noscript>",
    b"<noscript><p></noscript>", b"<noframes>x</noframes>", b"</title>", b'<link rel="x" href="a>b">', b"<link x='>'>",
    b'<link a"b="c>d">', b"<link a= \"b>\">", b"<base href=/>", b'<meta name="a" content="b>c">', b"<meta charset=x>",
    b"<script>a</script>", b"<!-- </title> -->", b" ", b"\n", b"<p>", b"text", b"</head>", b"<", b'"', b"'", b"=",
]  # fmt: skip
heads = st.tuples(
    st.sampled_from([b"<!doctype html><head>", b"<html><head>", b"<head>", b""]),
    st.lists(st.sampled_from(HEAD_PARTS), min_size=1, max_size=8).map(b"".join),
).map(b"".join)


def token_by_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The head's search without its run over plain raw text: each such element read as a token of its own."""
    plain = lookahead._NEXT_IN_HEAD.pattern.replace(b"|" + lookahead._PLAIN_RAW_TEXT, b"")
    assert plain != lookahead._NEXT_IN_HEAD.pattern
    monkeypatch.setattr(lookahead, "_NEXT_IN_HEAD", re.compile(plain))


@settings(max_examples=300, deadline=None)
@given(heads, st.booleans())
@example(b"<!doctype html><head><title>a<b</title><meta charset=x>", True)
@example(b'<!doctype html><head><title x="a>b">T</title y=">"><meta charset=x>', True)
def test_a_head_s_plain_raw_text_read_in_one_search_gets_the_answers_of_reading_it_token_by_token(
    page: bytes, final: bool
) -> None:
    run = answers(page, final)
    with pytest.MonkeyPatch.context() as patch:
        token_by_token(patch)
        assert answers(page, final) == run
    if final and run[0] is not None and run[0] >= 0:
        assert_lands_as_an_element(page, run[0])


def streamed(page: bytes, sizes: list[int], *, charset_certain: bool = False) -> tuple[int | None, int]:
    """The answer to a page fed in chunks of these sizes, and how many bytes had been fed when it came."""
    reading, seen, answer = Lookahead(charset_certain=charset_certain), 0, None
    for size in sizes * (len(page) // sum(sizes) + 1):
        seen = min(len(page), seen + size)
        answer = reading.feed(page[:seen], final=seen == len(page))
        if answer is not None:
            break
    return answer, seen


@settings(max_examples=300, deadline=None)
@given(heads, st.lists(st.integers(1, 40), min_size=1, max_size=8))
@example(b'<!doctype html><head><link rel="x" href="a>b"><title>T</title></head>', [1])
@example(b"<!doctype html><head><meta charset=x> <title>T</title>", [37])
def test_a_head_streamed_in_any_chunks_gets_the_answer_of_reading_it_whole(page: bytes, sizes: list[int]) -> None:
    """A chunk's search stops at its last ">": a token cut off after it is read once it is complete."""
    assert streamed(page, sizes)[0] == answers(page, True)[0]


@settings(max_examples=300, deadline=None)
@given(heads, st.lists(st.integers(1, 40), min_size=1, max_size=8))
@example(b"<title>T</title><head><meta charset=x>", [1])
@example(b"<!doctype html><head><title>T", [5])
def test_a_head_known_to_be_utf8_gets_its_start_as_soon_as_it_is_read(page: bytes, sizes: list[int]) -> None:
    """With the charset certain, no <meta charset> is waited for: the answer is the head's start, never later in the
    page than without, and a streamed head gets it no later in the stream."""
    whole = Lookahead(charset_certain=True).feed(page, True)
    waiting = answers(page, True)[0]
    assert whole == waiting or (whole is not None and waiting is not None and 0 <= whole <= waiting)
    answer, seen = streamed(page, sizes, charset_certain=True)
    assert answer == whole
    assert seen <= streamed(page, sizes)[1]
    if whole is not None and whole >= 0:
        assert_lands_as_an_element(page, whole)


def test_a_utf8_head_is_answered_before_its_end_arrives() -> None:
    assert Lookahead(charset_certain=True).feed(b"<!doctype html><html><head><title>Li", False) == 27
    assert Lookahead().feed(b"<!doctype html><html><head><title>Li", False) is None  # a <meta charset> may come
