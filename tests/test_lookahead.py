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


@settings(max_examples=500, deadline=None)
@given(page_starts, st.booleans())
@example(USUAL, True)
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
