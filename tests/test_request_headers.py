"""A page's request headers, read once: what each lookup sees is what the request said, however it was sent."""

from __future__ import annotations

import pytest

from adguard_mw.request_headers import header, header_bytes, is_navigation


def scope_with(headers: object) -> dict[str, object]:
    return {"type": "http", "headers": headers}


@pytest.mark.parametrize("container", [list, tuple, iter])
def test_the_first_of_a_repeated_header_counts_and_every_cookie_crumb_is_read(container: type) -> None:
    raw = [(b"accept", b"text/html"), (b"cookie", b"a=1"), (b"accept", b"*/*"), (b"cookie", b"b=2")]
    scope = scope_with(container(raw))
    assert header_bytes(scope, b"cookie") == b"a=1; b=2"  # HTTP/2 sends cookies in crumbs, one header each
    assert header_bytes(scope, b"accept") == b"text/html"
    assert header_bytes(scope, b"user-agent") == b""


@pytest.mark.parametrize("container", [list, tuple, iter])
def test_headers_sent_once_each_are_read_as_they_are(container: type) -> None:
    scope = scope_with(container([(b"user-agent", b"Caf\xe9/1"), (b"cookie", b"a=1")]))
    assert header(scope, b"user-agent") == "Café/1" and header_bytes(scope, b"cookie") == b"a=1"


@pytest.mark.parametrize(
    ("headers", "navigation"),
    [
        ([(b"sec-fetch-dest", b"document"), (b"accept", b"*/*")], True),
        ([(b"sec-fetch-dest", b"empty"), (b"accept", b"text/html")], False),
        ([(b"accept", b"text/html,application/xhtml+xml")], True),
        ([(b"accept", b"*/*")], False),
        ([], False),
    ],
)
def test_a_navigation_is_told_by_sec_fetch_dest_else_by_accept(
    headers: list[tuple[bytes, bytes]], navigation: bool
) -> None:
    assert is_navigation(scope_with(headers)) is navigation
