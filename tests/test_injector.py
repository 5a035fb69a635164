"""The injector edits HTML responses as they stream, and leaves every other response exactly as it was."""

from __future__ import annotations

import gzip

import pytest
from starlette.types import Message

from adguard_mw.injector import LOOKAHEAD, AppStopped, HtmlRewriter, Rewrite, declares_html, find_insertion_point
from adguard_mw.lookahead import Lookahead

from .asgi import Sent, body, start

TAG = b"<script src=/x.js defer></script>"
HTML = (b"content-type", b"text/html; charset=utf-8")
HTML_NO_CHARSET = (b"content-type", b"text/html")  # the page's charset then depends on its <meta>


async def always_insert(headers: list[tuple[bytes, bytes]]) -> Rewrite:
    return Rewrite(insert=TAG)


async def rewrite(*messages: Message, decide=always_insert) -> Sent:  # type: ignore[no-untyped-def]
    sent = Sent()
    send = HtmlRewriter(sent, decide)
    for message in messages:
        await send(dict(message))
    return sent


def content_length_matches(sent: Sent) -> bool:
    declared = sent.header("content-length")
    return declared is None or int(declared) == len(sent.body)


class TestWhereTheTagGoes:
    @pytest.mark.parametrize(
        "content_type", [b"text/html", b"text/html; charset=windows-1252", b"text/html; charset=x"]
    )
    async def test_after_meta_charset_when_the_page_s_charset_may_depend_on_it(self, content_type: bytes) -> None:
        page = b"<!doctype html><html><head><meta charset=utf-8><title>T</title></head><body>x</body></html>"
        sent = await rewrite(start(headers=[(b"content-type", content_type)]), body(page))
        assert sent.body == page.replace(b"<meta charset=utf-8>", b"<meta charset=utf-8>" + TAG)

    @pytest.mark.parametrize("label", [b"utf-8", b"UTF-8", b'"utf8"', b"unicode-1-1-utf-8"])
    async def test_at_the_head_s_start_when_the_content_type_names_utf8(self, label: bytes) -> None:
        """A browser reads the page as UTF-8 whatever its <meta> says: there is no <meta charset> to wait for."""
        page = b"<!doctype html><html><head><title>T</title><meta charset=utf-8></head><body>x</body></html>"
        sent = await rewrite(start(headers=[(b"content-type", b"text/html; charset=" + label)]), body(page))
        assert sent.body == page.replace(b"<head>", b"<head>" + TAG)

    async def test_after_the_usual_start_s_meta_charset_whatever_the_content_type(self) -> None:
        page = b'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>T</title></head><body>x'
        sent = await rewrite(start(headers=[HTML]), body(page))
        assert sent.body == page.replace(b'"utf-8">', b'"utf-8">' + TAG)

    async def test_right_after_head_without_meta_charset(self) -> None:
        sent = await rewrite(start(headers=[HTML]), body(b"<html><head><title>T</title></head><body></body></html>"))
        assert sent.body == b"<html><head>" + TAG + b"<title>T</title></head><body></body></html>"

    async def test_head_with_attributes_and_upper_case_tags(self) -> None:
        page = b'<HTML><HEAD lang="en"><META HTTP-EQUIV="Content-Type" CONTENT="text/html; CHARSET=utf-8"></HEAD>'
        sent = await rewrite(start(headers=[HTML_NO_CHARSET]), body(page))
        assert sent.body == page.replace(b'utf-8">', b'utf-8">' + TAG)

    async def test_header_element_is_not_head(self) -> None:
        page = b"<html><body><header>Site</header><p>x</p></body></html>"
        sent = await rewrite(start(headers=[HTML]), body(page))
        assert sent.body == b"<html>" + TAG + b"<body><header>Site</header><p>x</p></body></html>"

    async def test_where_the_head_starts_when_the_page_leaves_its_tags_out(self) -> None:
        page = b"<!doctype html><title>T</title><script>var s='</body>';</script><p>x</p>"
        sent = await rewrite(start(headers=[HTML]), body(page))
        assert sent.body == b"<!doctype html>" + TAG + b"<title>T</title><script>var s='</body>';</script><p>x</p>"

    async def test_page_unchanged_when_there_is_neither_head_nor_body(self) -> None:
        sent = await rewrite(start(headers=[HTML]), body(b"<p>just a fragment"))
        assert sent.body == b"<p>just a fragment"
        assert content_length_matches(sent)

    async def test_only_once(self) -> None:
        page = b"<html><head></head><body><head></head></body></html>"
        sent = await rewrite(start(headers=[HTML]), body(page))
        assert sent.body.count(TAG) == 1

    @pytest.mark.parametrize(
        ("seen", "final", "expected"),
        [
            (b"<html><he", False, None),  # the tag may be split: wait
            (b"<html><head>", False, None),  # a <meta charset> may still come
            (b"<html><head><title>", True, 12),
            (b"<html><head>" + b" " * 1024, False, 12),  # past the charset window: insert after <head>
            (b"<p>" * (LOOKAHEAD // 3 + 1), False, -1),  # nothing found within the look-ahead: give up
        ],
    )
    def test_insertion_point_decisions(self, seen: bytes, final: bool, expected: int | None) -> None:
        assert find_insertion_point(seen, final) == expected


class TestStreaming:
    async def test_head_split_across_chunks(self) -> None:
        chunks = [
            b"<!doctype html><html><he",
            b"ad><meta cha",
            b"rset=utf-8><title>T</title></he",
            b"ad><body>",
            b"x</body>",
        ]
        sent = await rewrite(start(headers=[HTML_NO_CHARSET]), *[body(c, more=True) for c in chunks], body(b""))
        assert sent.body == b"".join(chunks).replace(b"utf-8>", b"utf-8>" + TAG)

    @pytest.mark.parametrize(
        "content_type", [b"text/html", b"text/html; charset=windows-1252", b"text/html; charset=x"]
    )
    async def test_a_streamed_head_waits_for_a_meta_charset_the_page_s_charset_may_depend_on(
        self, content_type: bytes
    ) -> None:
        chunks = [b"<!doctype html><html><head>", b"<meta charset=utf-8><title>T</title></head><body>", b"x</body>"]
        messages = [body(chunk, more=True) for chunk in chunks]
        sent = await rewrite(start(headers=[(b"content-type", content_type)]), *messages, body(b""))
        assert sent.body == b"".join(chunks).replace(b"utf-8>", b"utf-8>" + TAG)

    @pytest.mark.parametrize("label", [b"utf-8", b"UTF-8", b'"utf8"', b"unicode-1-1-utf-8"])
    async def test_a_streamed_head_known_to_be_utf8_gets_the_tag_at_its_start(self, label: bytes) -> None:
        """A browser reads the page as UTF-8 whatever its <meta> says: there is no <meta charset> to wait for."""
        chunks = [b"<!doctype html><html><head>", b"<meta charset=utf-8><title>T</title></head><body>", b"x</body>"]
        messages = [body(chunk, more=True) for chunk in chunks]
        sent = await rewrite(start(headers=[(b"content-type", b"text/html; charset=" + label)]), *messages, body(b""))
        assert sent.body == b"".join(chunks).replace(b"<head>", b"<head>" + TAG)

    async def test_a_head_in_a_page_known_to_be_utf8_goes_out_with_its_first_chunk(self) -> None:
        """Nothing waits for the rest of the head: the reader's browser starts on it at once."""
        sent = Sent()
        send = HtmlRewriter(sent, always_insert)
        await send(start(headers=[HTML]))
        await send(body(b"<!doctype html><html><head><title>Live</title><link rel=preload href=/a", more=True))
        assert sent.body == b"<!doctype html><html><head>" + TAG + b"<title>Live</title><link rel=preload href=/a"
        await send(body(b".woff2 as=font></head><body>x</body></html>"))
        assert sent.messages[-1]["body"] == b".woff2 as=font></head><body>x</body></html>"

    async def test_streamed_response_loses_its_content_length(self) -> None:
        headers = [HTML, (b"content-length", b"60")]
        sent = await rewrite(
            start(headers=headers), body(b"<html><head></head>", more=True), body(b"<body></body></html>")
        )
        assert sent.header("content-length") is None  # the server chunks it
        assert TAG in sent.body

    async def test_single_message_gets_the_exact_new_content_length(self) -> None:
        page = b"<html><head></head><body></body></html>"
        sent = await rewrite(start(headers=[HTML, (b"content-length", str(len(page)).encode())]), body(page))
        assert sent.header_values("content-length") == [str(len(page) + len(TAG))]
        assert content_length_matches(sent)

    async def test_only_a_bounded_prefix_is_held_back(self) -> None:
        chunk = b"<p>" + b"x" * 16_000 + b"</p>"
        sent = Sent()
        send = HtmlRewriter(sent, always_insert)
        await send(start(headers=[HTML]))
        for _ in range(20):
            await send(body(chunk, more=True))
        held = 20 * len(chunk) - len(sent.body)
        assert 0 <= held < LOOKAHEAD + len(chunk)  # a 320 KB page without a head is not buffered whole
        await send(body(b""))
        assert sent.body == chunk * 20

    async def test_later_chunks_pass_straight_through(self) -> None:
        sent = await rewrite(
            start(headers=[HTML]), body(b"<html><head></head>", more=True), body(b"<body>", more=True), body(b"</body>")
        )
        assert [m.get("body") for m in sent.messages[1:]] == [b"<html><head>" + TAG + b"</head>", b"<body>", b"</body>"]


class TestHeaders:
    async def test_the_etag_becomes_a_weak_one_derived_from_the_app_s_and_ours(self) -> None:
        headers = [HTML, (b"etag", b'"abc"'), (b"last-modified", b"Mon, 01 Jan 2024 00:00:00 GMT")]
        sent = await rewrite(start(headers=headers), body(b"<head></head>"))
        etag = sent.header("etag")
        assert etag is not None and etag.startswith('W/"') and "abc" not in etag
        assert sent.header("last-modified") == "Mon, 01 Jan 2024 00:00:00 GMT"

    async def test_a_rewrite_that_drops_validators_drops_them(self) -> None:
        async def one_reader(headers: list[tuple[bytes, bytes]]) -> Rewrite:
            return Rewrite(insert=TAG, remove_headers=frozenset({b"etag", b"last-modified"}))

        headers = [HTML, (b"etag", b'"abc"'), (b"last-modified", b"Mon, 01 Jan 2024 00:00:00 GMT")]
        sent = await rewrite(start(headers=headers), body(b"<head></head>"), decide=one_reader)
        assert sent.header("etag") is None and sent.header("last-modified") is None

    async def test_repeated_set_cookie_headers_survive(self) -> None:
        async def add_cookie(headers: list[tuple[bytes, bytes]]) -> Rewrite:
            return Rewrite(insert=TAG, add_headers=[(b"set-cookie", b"ours=1")])

        headers = [HTML, (b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2")]
        sent = await rewrite(start(headers=headers), body(b"<head></head>"), decide=add_cookie)
        assert sent.header_values("set-cookie") == ["a=1", "b=2", "ours=1"]

    async def test_capitalised_header_names_are_understood(self) -> None:
        headers = [(b"Content-Type", b"Text/HTML; charset=utf-8"), (b"Content-Length", b"13")]
        sent = await rewrite(start(headers=headers), body(b"<head></head>"))
        assert TAG in sent.body and content_length_matches(sent)

    async def test_headers_given_as_a_generator_are_read_once(self) -> None:
        message = {"type": "http.response.start", "status": 200, "headers": (h for h in [HTML])}
        sent = await rewrite(message, body(b"<head></head>"))
        assert sent.header("content-type") == "text/html; charset=utf-8"


class TestUntouched:
    @pytest.mark.parametrize(
        "headers",
        [
            [(b"content-type", b"application/json")],
            [(b"content-type", b"text/plain")],
            [],
            [HTML, (b"content-encoding", b"gzip")],
            [HTML, (b"content-encoding", b"identity")],
            [HTML, (b"content-disposition", b"attachment; filename=page.html")],
            [HTML, (b"content-range", b"bytes 0-10/100")],
        ],
        ids=["json", "text", "no-type", "gzip", "identity-encoding", "attachment", "range"],
    )
    async def test_responses_that_are_not_plain_html_pages(self, headers: list[tuple[bytes, bytes]]) -> None:
        messages = [start(headers=headers), body(b"<html><head></head>", more=True), body(b"</html>")]
        sent = await rewrite(*messages)
        assert sent.messages == messages

    @pytest.mark.parametrize("status", [201, 204, 206, 301, 304, 404, 500])
    async def test_statuses_other_than_200(self, status: int) -> None:
        messages = [start(status, headers=[HTML]), body(b"<html><head></head></html>")]
        assert (await rewrite(*messages)).messages == messages

    async def test_gzip_encoded_html_is_never_decoded(self) -> None:
        page = gzip.compress(b"<html><head></head></html>")
        messages = [start(headers=[HTML, (b"content-encoding", b"gzip")]), body(page)]
        assert (await rewrite(*messages)).body == page

    async def test_non_html_response_is_not_held_back(self) -> None:
        sent = Sent()
        send = HtmlRewriter(sent, always_insert)
        await send(start(headers=[(b"content-type", b"application/octet-stream")]))
        assert len(sent.messages) == 1  # sent at once, nothing buffered
        await send(body(b"\x00" * 65536, more=True))
        assert len(sent.messages) == 2

    async def test_pathsend_goes_out_after_the_held_start(self) -> None:
        pathsend = {"type": "http.response.pathsend", "path": "/srv/page.html"}
        sent = await rewrite(start(headers=[HTML]), pathsend)
        assert [m["type"] for m in sent.messages] == ["http.response.start", "http.response.pathsend"]

    async def test_no_rewrite_wanted(self) -> None:
        async def nothing(headers: list[tuple[bytes, bytes]]) -> None:
            return None

        messages = [start(headers=[HTML, (b"etag", b'"x"')]), body(b"<head></head>")]
        assert (await rewrite(*messages, decide=nothing)).messages == messages


class TestReplacement:
    async def test_the_app_page_is_replaced_and_its_body_discarded(self) -> None:
        async def wall(headers: list[tuple[bytes, bytes]]) -> Rewrite:
            return Rewrite(replace_body=b"<p>wall</p>", add_headers=[(b"vary", b"Cookie")])

        headers = [HTML, (b"set-cookie", b"session=1"), (b"etag", b'"1"'), (b"content-length", b"99")]
        with pytest.raises(AppStopped):  # the app's next send fails, as to a client that has gone
            await rewrite(start(headers=headers), body(b"secret " * 5, more=True), body(b"article"), decide=wall)
        sent = await rewrite(start(headers=headers), body(b"secret " * 5, more=True), decide=wall)
        assert sent.body == b"<p>wall</p>"
        assert b"secret" not in sent.body
        assert sent.header_values("set-cookie") == ["session=1"]  # the app's session survives
        assert sent.header("etag") is None and sent.header("vary") == "Cookie"
        assert content_length_matches(sent)


class TestFailOpen:
    async def test_a_failing_decision_serves_the_original_page_and_logs_once(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def broken(headers: list[tuple[bytes, bytes]]) -> Rewrite:
            raise RuntimeError("template exploded")

        page = b"<html><head></head><body>x</body></html>"
        for _ in range(3):
            sent = await rewrite(start(headers=[HTML, (b"content-length", b"40")]), body(page), decide=broken)
            assert sent.body == page and sent.header("content-length") == "40"
        assert [r.getMessage() for r in caplog.records].count(
            "adguard_mw: deciding what to show on a page failed; the original response was served unchanged "
            "(logged once per process, later occurrences are counted)"
        ) == 1

    @pytest.mark.parametrize("streamed", [False, True])
    async def test_a_crashing_parser_sends_the_page_on_unchanged(
        self, streamed: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        def crash(self: Lookahead, buffer: bytes, final: bool) -> int:
            raise ValueError("parser bug")

        monkeypatch.setattr(Lookahead, "feed", crash)
        chunks = [b"<html><head>", b"</head><body>x</body></html>"] if streamed else [b"<html><head></head></html>"]
        messages = [body(chunk, more=True) for chunk in chunks[:-1]] + [body(chunks[-1])]
        for _ in range(2):
            sent = await rewrite(start(headers=[HTML]), *messages)
            assert sent.body == b"".join(chunks)
        assert len([r for r in caplog.records if "failed" in r.getMessage()]) == 1

    async def test_malformed_headers_pass_through(self) -> None:
        messages = [start(headers=[(b"content-type", None)]), body(b"<head></head>")]  # type: ignore[list-item]
        sent = await rewrite(*messages)
        assert sent.body == b"<head></head>"


def test_the_names_a_rewrite_removes_are_united_once_per_set_and_the_table_is_bounded() -> None:
    from adguard_mw import injector

    headers = [(b"Content-Length", b"9"), (b"Cache-Control", b"max-age=60"), (b"X-Kept", b"1")]
    for round_ in range(2):  # the second round reads the table
        for number in range(40):
            rewrite = Rewrite(insert=b"<x>", remove_headers=frozenset({b"cache-control", f"x-{number}".encode()}))
            edited, _ = injector._edit_headers(headers, rewrite)
            assert edited == [(b"X-Kept", b"1")], round_
    assert len(injector._REMOVED_WITH) <= 16


def test_the_glance_at_a_start_reads_its_headers_once_and_may_find_none() -> None:
    """ASGI lets a response leave its headers out, or give them as any iterable: the glance says no HTML for the
    one, and keeps the other as a list for whoever reads the start next."""
    assert declares_html({"type": "http.response.start", "status": 204}) is False
    given = [(b"x-id", b"1"), (b"content-type", b"text/html; charset=utf-8")]
    message: Message = {"type": "http.response.start", "status": 200, "headers": (pair for pair in given)}
    assert declares_html(message) is True and message["headers"] == given
