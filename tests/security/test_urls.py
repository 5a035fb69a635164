"""URLs built from the request: the mount point and the page's path are the reader's text, written into pages
and `Location` headers. Whatever they hold, pages gain no markup and redirects stay under the mount point.

Under `Mount("/{lang}", ...)` the reader chooses `root_path`; behind some servers the path carries `..`. The
browser side of the first is proved in Chromium (`tests/browser/test_mount_point.py`); here, the same through raw
ASGI for any text, and every redirect resolved the way a browser resolves it.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adguard_mw import AdGuardMiddleware, CallToAction, Message
from adguard_mw.state import Verdict, VisitorState, new_visitor_id
from adguard_mw.urls import url_path

from ..asgi import call, http_scope
from ..site import CHROME, KEY, ORIGIN, bare_site

HOST = "news.test"
SOME = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE_ROOTS = [
    '/x" onload="document.title=\'PWNED\'"',
    "/x' onload='alert(1)'",
    "/x><script>alert(1)</script>",
    "/a&quot;b",
    "//evil.example",
    "/",
    "/\\evil.example",
    "/caf\u00e9 \u3000\t\n",
]


def site(policy: str, **options: Any) -> AdGuardMiddleware:
    cta = CallToAction("Subscribe", "/subscribe")
    return AdGuardMiddleware(
        bare_site(), secret_key=KEY, policy=policy, message=Message(ctas=(cta,)), silent_detector="blocked", **options
    )


APPS = {policy: site(policy) for policy in ("observe", "soft", "hard")}


def blocked_cookie(app: AdGuardMiddleware) -> bytes:
    state = VisitorState(new_visitor_id(), verdict=Verdict.BLOCKED, kind="extension", checked_at=int(time.time()))
    return app.cookie.set_cookie_header(state, https=False)[1].split(b";", 1)[0]


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: bytes) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page.decode())
    return parser.tags


async def page_under(app: AdGuardMiddleware, root_path: str, path: str = "/news/1") -> bytes:
    scope = http_scope(root_path + path, root_path=root_path)
    scope["headers"] = [(b"host", HOST.encode()), (b"user-agent", CHROME.encode()), (b"cookie", blocked_cookie(app))]
    sent = await call(app, scope)
    assert sent.status == 200
    return sent.body


def shape(found: list[tuple[str, dict[str, str | None]]]) -> list[tuple[str, list[str]]]:
    return [(tag, sorted(attrs)) for tag, attrs in found]


class TestPagesUnderAnyMountPoint:
    @SOME
    @given(root_path=st.sampled_from(HOSTILE_ROOTS) | st.text(max_size=30).map(lambda text: "/" + text))
    @example(root_path=HOSTILE_ROOTS[0])
    async def test_the_mount_point_is_only_ever_part_of_a_url(self, root_path: str) -> None:
        for policy, app in APPS.items():
            plain = tags(await page_under(app, ""))
            hostile = tags(await page_under(app, root_path))
            assert shape(hostile) == shape(plain), policy  # not one tag or attribute more or less
            prefix = quote(root_path.rstrip("/"), safe="/")
            prefix = "/%2F" + prefix[2:] if prefix.startswith("//") else prefix
            for (tag, attrs), (_, plain_attrs) in zip(hostile, plain, strict=True):
                for name in ("src", "href", "action"):
                    value = attrs.get(name)
                    if value is not None and value != plain_attrs.get(name):
                        assert value == prefix + (plain_attrs[name] or ""), (policy, tag, name)
                        assert not value.startswith("//") and re.fullmatch(r"[A-Za-z0-9/%._~?=-]*", value)

    async def test_the_form_carries_the_page_path_as_a_url(self) -> None:
        page = await page_under(APPS["hard"], "", '/news/"><svg onload=alert(1)>')
        form_fields = [attrs for tag, attrs in tags(page) if tag == "input" and attrs.get("name") == "next"]
        assert form_fields == [
            {"type": "hidden", "name": "next", "value": "/news/%22%3E%3Csvg%20onload%3Dalert%281%29%3E"}
        ]


def browser_resolves(location: str, base: str) -> str:
    """The path a browser goes to: percent-encoded dots are dots to it (WHATWG URL), then RFC 3986 resolution."""
    parts = urlsplit(urljoin(base, re.sub("%2e", ".", location, flags=re.IGNORECASE)))
    assert parts.scheme == "http" and parts.netloc == HOST, location
    return parts.path


async def check_again(app: AdGuardMiddleware, root_path: str, target: str) -> tuple[int, str | None]:
    scope = http_scope(root_path + f"{app.names.prefix}/{app.names.recheck}", method="POST", root_path=root_path)
    scope["headers"] = [
        (b"host", HOST.encode()),
        (b"origin", ORIGIN.encode()),
        (b"content-type", b"application/x-www-form-urlencoded"),
    ]
    body = urlencode({"next": target}).encode()
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    sent = await call(app, scope, receive)
    return sent.status, sent.header("location")


DOT_TRICKS = [
    "/..//evil.example",
    "/%2e%2e//evil.example",
    "/.%2E//evil.example",
    "/%2E./%2Fevil.example",
    "/a/../..//evil.example",
    "/./..//evil.example",
    "/%252e%252e//evil.example",
]


class TestRedirectsStayUnderTheMountPoint:
    async def test_dot_segments_cannot_climb_out_of_the_mount_point(self) -> None:
        app = APPS["hard"]
        for target in DOT_TRICKS:
            status, location = await check_again(app, "/blog", target)
            if status == 303:
                assert location is not None and browser_resolves(location, f"http://{HOST}/blog/x").startswith(
                    "/blog/"
                ), (target, location)
            else:
                assert status == 400, target
        assert await check_again(app, "/blog", "/..//evil.example") == (400, None)
        assert await check_again(app, "/blog", "/news/../sport/./") == (303, "/blog/sport/")
        assert await check_again(app, "/blog", "/news/caf%C3%A9") == (303, "/blog/news/caf%C3%A9")

    @SOME
    @given(
        target=st.sampled_from(DOT_TRICKS)
        | st.lists(st.sampled_from(["..", ".", "%2e", "%2E%2e", "", "a", "evil.example", "%2F", "\\"]), max_size=6).map(
            lambda parts: "/" + "/".join(parts)
        )
        | st.text(max_size=30).map(lambda text: "/" + text),
        root_path=st.sampled_from(["", "/blog", "/de/", "//evil.example", '/x"y']),
    )
    async def test_every_check_again_redirect_resolves_under_the_mount_point(self, target: str, root_path: str) -> None:
        status, location = await check_again(APPS["hard"], root_path, target)
        if status != 303:
            assert status == 400
            return
        assert location is not None and location.isascii() and location.isprintable() and " " not in location
        assert not location.startswith("//") and not urlsplit(location).netloc
        mount = quote(root_path.rstrip("/"), safe="/")
        mount = "/%2F" + mount[2:] if mount.startswith("//") else mount
        resolved = browser_resolves(location, f"http://{HOST}{mount}/x")
        assert resolved.startswith(browser_resolves(mount + "/", f"http://{HOST}/")), (target, location)

    async def test_a_call_to_action_under_any_mount_point_stays_on_this_host(self) -> None:
        app = APPS["hard"]
        for root_path in ("", "/blog", "//evil.example", "/"):
            scope = http_scope(root_path + f"{app.names.prefix}/{app.names.follow}", root_path=root_path)
            scope["query_string"] = b"to=0"
            scope["headers"] = [(b"host", HOST.encode())]
            sent = await call(app, scope)
            assert sent.status == 303
            location = sent.header("location") or ""
            assert browser_resolves(location, f"http://{HOST}/").endswith("/subscribe"), location
            assert not location.startswith("//")


@SOME
@given(st.text(alphabet=st.sampled_from("/-._~aZ09%?#\"'<> \u00e9\\"), max_size=12), st.text(max_size=12))
@example("//evil.example", "")
@example("", "//evil.example/x")
def test_a_path_with_nothing_to_quote_is_taken_as_it_is(root_path: str, path: str) -> None:
    """url_path skips `quote` for the usual path: it must make exactly what quoting would."""
    quoted = quote(root_path.rstrip("/") + path, safe="/")
    assert url_path(root_path, path) == ("/%2F" + quoted[2:] if quoted.startswith("//") else quoted)
