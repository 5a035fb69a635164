"""The message body: limited Markdown (or HTML) rendered to a small safe subset, and the rules for its links."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adguard_mw.markup import TAGS, LinkRules, links, to_html

RULES = LinkRules(["shop.example.com", "*.example.org"])


def md(text: str, site_name: str = "The Lantern", rules: LinkRules = RULES) -> str:
    return to_html(text, body_format="markdown", site_name=site_name, rules=rules)


def html(text: str, site_name: str = "The Lantern") -> str:
    return to_html(text, body_format="html", site_name=site_name, rules=RULES)


class TestMarkdown:
    def test_plain_text_is_a_paragraph_exactly_as_written_and_escaped(self) -> None:
        assert (
            md("Ads pay for {site} & its <reporting>.") == "<p>Ads pay for The Lantern &amp; its &lt;reporting&gt;.</p>"
        )

    def test_paragraphs_emphasis_strong_and_line_breaks(self) -> None:
        out = md("First *line*\\\nsecond **line**  \nthird\n\nNew paragraph")
        assert out == ("<p>First <em>line</em><br>\nsecond <strong>line</strong><br>\nthird</p>\n<p>New paragraph</p>")

    def test_a_single_newline_is_a_space_so_long_texts_can_be_wrapped(self) -> None:
        assert md("A long sentence\nwrapped in the file.") == "<p>A long sentence\nwrapped in the file.</p>"

    def test_bullet_and_numbered_lists(self) -> None:
        assert md("- one\n- two") == "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"
        assert md("3. three\n4. four") == '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'

    def test_links_to_this_site_open_without_opener_or_referrer(self) -> None:
        assert md("[Subscribe](/subscribe?plan=1)") == (
            '<p><a href="/subscribe?plan=1" rel="noopener noreferrer">Subscribe</a></p>'
        )
        assert 'href="https://shop.example.com/a"' in md("<https://shop.example.com/a>")

    def test_raw_html_is_shown_as_text(self) -> None:
        assert md('<b onclick="x()">hi</b><script>alert(1)</script>') == (
            '<p>&lt;b onclick="x()"&gt;hi&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;</p>'
        )

    def test_an_image_shows_its_alt_text_only(self) -> None:
        assert md("![Our logo](/logo.png) here") == "<p>Our logo here</p>"

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("# Not a heading", "<p># Not a heading</p>"),
            ("Not a heading\n===", "<p>Not a heading\n===</p>"),
            ("    not code", "<p>not code</p>"),
            ("```\nnot code\n```", "<p>```\nnot code\n```</p>"),
            ("`not code`", "<p>`not code`</p>"),
            ("> not a quote", "<p>&gt; not a quote</p>"),
            ("---", "<p>---</p>"),
        ],
    )
    def test_headings_code_quotes_and_rules_stay_plain_text(self, text: str, expected: str) -> None:
        assert md(text) == expected

    def test_the_site_name_is_filled_in_as_text_never_as_markdown_or_markup(self) -> None:
        assert md("Read {site}", site_name="*The* <Lantern>") == "<p>Read *The* &lt;Lantern&gt;</p>"


class TestHtml:
    def test_html_keeps_the_same_safe_subset(self) -> None:
        text = '<p>Hello <strong>you</strong> <em>there</em><br><a href="/x" title="t">link</a></p><ul><li>a</li></ul>'
        assert html(text) == (
            '<p>Hello <strong>you</strong> <em>there</em><br><a href="/x" title="t" rel="noopener noreferrer">link</a>'
            "</p><ul><li>a</li></ul>"
        )

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("<script>alert(1)</script>ok", "ok"),
            ("<style>p{}</style>ok", "ok"),
            ('<p onclick="x()" style="color:red" class="c" id="i">ok</p>', "<p>ok</p>"),
            ('<img src="/x.png" onerror="x()">ok', "ok"),
            ("<h1>Title</h1>", "Title"),
            ("<b>bold</b> <i>it</i>", "bold it"),
            ('<iframe src="https://shop.example.com"></iframe>ok', "ok"),
            ("<!-- note -->ok", "ok"),
            ('<form action="/x"><input name="a"></form>ok', "ok"),
        ],
    )
    def test_anything_else_is_removed(self, text: str, expected: str) -> None:
        assert html(text) == expected


class TestLinkRules:
    @pytest.mark.parametrize(
        "url",
        [
            "/",
            "/subscribe",
            "/a/b?c=d#e",
            "https://shop.example.com",
            "https://SHOP.example.com/path",
            "https://shop.example.com:8443/x",
            "https://www.example.org/",
            "https://a.b.example.org/",
        ],
    )
    def test_paths_on_this_site_and_https_to_listed_hosts_are_allowed(self, url: str) -> None:
        assert RULES.problem(url) is None

    @pytest.mark.parametrize(
        ("url", "fix"),
        [
            ("https://evil.example.net/", "add its host 'evil.example.net' to message.allowed_hosts"),
            ("https://example.org/", "add its host 'example.org' to message.allowed_hosts"),  # "*." is subdomains
            ("https://shop.example.com.evil.net/", "add its host"),
            ("http://shop.example.com/", "use https://"),
            ("http://other.net/", "use https:// and add its host 'other.net' to message.allowed_hosts"),
            ("//shop.example.com/x", "write it in full as https://shop.example.com/x"),
            ("javascript:alert(1)", "only https:// addresses and paths on this site"),
            ("JavaScript:alert(1)", "only https:// addresses"),
            ("data:text/html,<b>x</b>", "only https:// addresses"),
            ("mailto:a@b.c", "only https:// addresses"),
            ("subscribe", "only https:// addresses and paths on this site (starting with a single '/')"),
            ("#top", "only https:// addresses"),
            ("/\\evil.example.net", "backslash"),
            ("/\t/evil.example.net", "control character"),
            ("https://shop.example.com@evil.net/", "remove the user name"),  # it would go to evil.net
            ("https://evil.net@shop.example.com/", "remove the user name"),
            ("https://[::1", "not a valid address"),
            ("https://shop.example.com:99999/", "not a valid address"),
            ("", "it is empty"),
        ],
    )
    def test_anything_else_is_refused_with_how_to_fix_it(self, url: str, fix: str) -> None:
        problem = RULES.problem(url)
        assert problem is not None and fix in problem

    @pytest.mark.parametrize("host", ["https://shop.example.com", "shop.example.com/x", "*", "*.", "a..b", "*.*.x", ""])
    def test_an_allowed_host_must_be_a_host_name(self, host: str) -> None:
        with pytest.raises(ValueError, match=r"^adguard_mw: message.allowed_hosts item .* must be a host name"):
            LinkRules([host])

    def test_one_host_given_as_text_is_one_host(self) -> None:
        assert LinkRules("shop.example.com").hosts == ("shop.example.com",)


class TestLinksThatSlipThroughAreDropped:
    @pytest.mark.parametrize(
        "text",
        [
            "[x](javascript:alert(1))",
            "[x](//evil.net/)",
            "[x](http://shop.example.com/)",
            "[x](https://evil.net/)",
            "[x](data:text/html,hi)",
        ],
    )
    def test_in_markdown_the_link_goes_and_its_text_stays(self, text: str) -> None:
        assert md(text) == '<p><a rel="noopener noreferrer">x</a></p>'

    @pytest.mark.parametrize(
        "href",
        ["java&#x09;script:alert(1)", "&#106;avascript:alert(1)", "//evil.net", "/&#92;evil.net", "https://evil.net"],
    )
    def test_in_html_even_disguised(self, href: str) -> None:
        assert html(f'<a href="{href}">x</a>') == '<a rel="noopener noreferrer">x</a>'

    def test_the_site_name_cannot_turn_a_path_into_another_host(self) -> None:
        assert html('<a href="/{site}">x</a>', site_name="/evil.net") == '<a rel="noopener noreferrer">x</a>'

    def test_every_link_is_listed_for_the_start_up_check(self) -> None:
        text = "[a](/ok) [b](javascript:alert(1)) <https://evil.net> ![i](http://img.net/x.png)"
        assert links(text, body_format="markdown", site_name="S") == ["/ok", "javascript:alert(1)", "https://evil.net"]
        assert links('<a href="&#47;&#47;evil.net">x</a>', body_format="html", site_name="S") == ["//evil.net"]


_TAG = re.compile(r"<(/?)([a-zA-Z0-9]+)([^>]*)>")


_PIECES = [*"ab <>/=\"'*_[]()!#-:&;\n\\`", "javascript:", "href=", "http://", "https://evil.net", "<a ", "](", "//"]


@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_whatever_the_editor_writes_only_allowed_tags_and_links_come_out(text: str) -> None:
    for body_format in ("markdown", "html"):
        out = to_html(text, body_format=body_format, site_name="S", rules=RULES)
        for _, tag, attributes in _TAG.findall(out):
            assert tag in TAGS, out
            for href in re.findall(r'href="([^"]*)"', attributes):
                assert RULES.problem(href.replace("&amp;", "&")) is None, out
