"""AdGuardMiddleware end to end in-process: what each kind of reader and response gets."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from adguard_mw import AdGuardMiddleware, EventLog, Policy
from adguard_mw.events import JsonLinesSink

from .asgi import app_sending, body, call, http_scope, no_request_body, start
from .site import CHROME, KEY, PAGE, SAME_ORIGIN, bare_site, client, logged, own_url, report, wrapped

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def detector_tag(app: AdGuardMiddleware) -> str:
    version = app.names.version(app.assets.detector.version)
    tag = f'<script src="{app.names.prefix}/{app.names.script}?{version}" defer></script>'
    return tag + f'<noscript><link rel="stylesheet" href="{app.names.prefix}/{app.names.fallback}"></noscript>'


class TestConfiguration:
    def test_works_through_add_middleware(self) -> None:
        site = Starlette(middleware=[Middleware(AdGuardMiddleware, secret_key=KEY, policy="soft")])
        site.build_middleware_stack()

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"secret_key": ""}, "secret_key is 0 characters long; use at least 24 random characters"),
            ({"secret_key": []}, "secret_key is missing"),
            ({"secret_key": "short"}, "secret_key is 5 characters long"),
            ({"secret_key": [KEY, "old"]}, "secret_key item 1 is 3 characters long"),
            (
                {"secret_key": KEY, "policy": "strict"},
                "policy must be a Policy or one of: observe, notice, instructions, soft, hard",
            ),
            ({"secret_key": KEY, "path_prefix": "support/"}, "path_prefix 'support/' must look like '/_support'"),
            ({"secret_key": KEY, "cookie_max_age": 0}, "cookie_max_age must be a positive number of seconds"),
            ({"secret_key": KEY, "page_view_sample_rate": 2}, "page_view_sample_rate must be a number from 0 to 1"),
            ({"secret_key": KEY, "third_party_bait": "ads.example.com"}, "third_party_bait must be an origin"),
            ({"secret_key": KEY, "silent_detector": "yes"}, "silent_detector must be 'unknown' or 'blocked'"),
        ],
    )
    def test_a_wrong_configuration_fails_at_start_up_in_one_line(
        self, options: dict[str, object], message: str
    ) -> None:
        with pytest.raises(ValueError) as error:
            AdGuardMiddleware(bare_site(), **options)  # type: ignore[arg-type]
        assert str(error.value).startswith("adguard_mw: ") and message in str(error.value)
        assert "\n" not in str(error.value)

    def test_a_missing_key_is_a_type_error_from_python_itself(self) -> None:
        with pytest.raises(TypeError, match="secret_key"):
            AdGuardMiddleware(bare_site())  # type: ignore[call-arg]


class TestInjection:
    async def test_html_pages_get_the_detector_at_the_start_of_their_head(self) -> None:
        app = wrapped()
        async with client(app) as c:
            response = await c.get("/news/1")  # served as UTF-8 by its Content-Type: its <meta charset> changes nothing
        assert response.text == PAGE.replace("<head>", "<head>" + detector_tag(app))
        assert int(response.headers["content-length"]) == len(response.content)
        assert response.headers["etag"].startswith('W/"')  # derived from the app's and ours: see test_validators

    async def test_an_anonymous_page_keeps_its_own_caching(self) -> None:
        app = wrapped(policy="soft")
        async with client(app) as c:
            response = await c.get("/news/1")
        assert response.headers["cache-control"] == "public, max-age=600"
        assert "vary" not in response.headers and "set-cookie" not in response.headers

    async def test_streamed_html_is_injected_as_it_flows(self) -> None:
        app = wrapped()
        async with client(app) as c:
            response = await c.get("/stream")
        assert response.text == f"<html><head>{detector_tag(app)}<title>Live</title></head><body></body></html>"

    async def test_json_passes_through_untouched(self) -> None:
        async with client(wrapped()) as c:
            response = await c.get("/api")
        assert response.json() == {"ok": True} and response.headers["content-length"] == "11"

    async def test_head_and_post_pass_through(self) -> None:
        app = wrapped()
        async with client(app) as c:
            head = await c.head("/news/1")
            post = await c.post("/login")
        assert head.headers["content-length"] == str(len(PAGE)) and head.content == b""
        assert post.headers.get_list("set-cookie") == [
            "session=s1; Path=/; SameSite=lax",
            "theme=dark; Path=/; SameSite=lax",
        ]

    async def test_two_instances_inject_once(self) -> None:
        app = AdGuardMiddleware(wrapped(), secret_key=KEY)
        async with client(app) as c:
            response = await c.get("/news/1")
        assert response.text.count("<script") == 1

    async def test_mounted_under_a_root_path(self) -> None:
        app = wrapped()
        scope = http_scope("/blog/news/1", root_path="/blog")
        sent = await call(app, scope)
        assert f'src="/blog{app.names.prefix}/{app.names.script}' in sent.body.decode()

    @pytest.mark.parametrize(
        ("path", "root_path", "ours"),
        [
            ("{own}", "", True),
            ("/blog{own}", "/blog", True),  # a server that puts the root path in `path`
            ("{own}", "/blog", True),  # one that does not
            ("/metrics", "", True),  # outside our folder, still ours
            ("/blog/metrics", "/blog", True),
            ("/blog{own}", "", False),  # our path inside another: the app's
            ("{own}x", "", False),
            ("{folder}/app.js", "", False),  # the site's own file in our folder
            ("/api/story", "", False),
        ],
    )
    async def test_our_paths_are_answered_below_any_root_path_and_no_other(
        self, path: str, root_path: str, ours: bool
    ) -> None:
        """Most requests are told they are not ours by one substring search; whichever way a request is written,
        it reaches the app exactly when its path below the root path is none of ours."""
        reached: list[str] = []

        async def inner(scope: Scope, receive: Receive, send: Send) -> None:
            reached.append(scope["path"])
            await send(start(204, headers=()))
            await send(body(b""))

        metrics_path = "/metrics" if "metrics" in path else None  # outside our folder: every path is looked up
        app = AdGuardMiddleware(inner, secret_key=KEY, metrics_path=metrics_path)
        own, folder = own_url(app, app.names.script), app.names.prefix
        sent = await call(app, http_scope(path.format(own=own, folder=folder), root_path=root_path))
        assert (reached == []) is ours and sent.status == (200 if ours else 204)

    @pytest.mark.parametrize("method", ["HEAD", "POST", "PUT"])
    async def test_an_html_answer_to_any_other_method_than_get_goes_out_as_sent(self, method: str) -> None:
        """Only a GET is ever rewritten: the answer to a form or a HEAD passes whole, HTML or not."""
        page = b"<html><head><title>Thanks</title></head><body>Sent</body></html>"
        headers = [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(page))]
        messages = (start(headers=headers), body(page))
        sent = await call(AdGuardMiddleware(app_sending(*messages), secret_key=KEY), http_scope(method=method))
        assert sent.messages == [dict(message) for message in messages]

    async def test_a_message_before_the_start_leaves_the_page_to_be_rewritten(self) -> None:
        """Starlette's TestClient asks templates for a `http.response.debug` message, sent before the start: only
        the start is glanced at."""
        debug = {"type": "http.response.debug", "info": {"template": "page.html"}}
        inner = app_sending(debug, start(), body(b"<html><head></head><body></body></html>"))
        sent = await call(AdGuardMiddleware(inner, secret_key=KEY), http_scope())
        assert sent.messages[0] == debug and b"<script" in sent.body

    async def test_a_response_that_is_no_page_goes_out_message_by_message_as_sent(self) -> None:
        """Past the glance at its start, every message of any other response is handed on as it came."""
        messages = [
            start(headers=[(b"content-type", b"application/x-ndjson")]),
            *(body(b'{"n": %d}\n' % n, more=True) for n in range(3)),
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]},
            body(b"<html><head></head><body></body></html>"),
        ]  # a second start (an app's mistake) is not glanced at either: the server judges it
        handed: list[Message] = []

        async def inner(scope: Scope, receive: Receive, send: Send) -> None:
            for message in messages:
                await send(message)

        async def server(message: Message) -> None:
            handed.append(message)

        await AdGuardMiddleware(inner, secret_key=KEY)(http_scope(), no_request_body(), server)
        assert len(handed) == len(messages) and all(a is b for a, b in zip(handed, messages, strict=True))

    async def test_the_page_csp_nonce_is_copied_onto_the_tag(self) -> None:
        csp = (b"content-security-policy", b"default-src 'self'; script-src 'nonce-r4nd0m' 'strict-dynamic'")
        inner = app_sending(start(headers=[(b"content-type", b"text/html"), csp]), body(b"<head></head>"))
        app = AdGuardMiddleware(inner, secret_key=KEY)
        sent = await call(app, http_scope())
        assert b'defer nonce="r4nd0m"></script>' in sent.body
        assert sent.header("content-security-policy") == csp[1].decode()  # never weakened

    async def test_a_fragment_opened_as_a_page_goes_out_as_the_app_sent_it(self) -> None:
        """No place for the tag (an HTML fragment, no document around it): no tag, and no cookie either, so a page
        without a detector can never count as a silent one."""
        fragment = b"<li>One more story</li>"
        inner = app_sending(start(headers=[(b"content-type", b"text/html"), (b"etag", b'"f1"')]), body(fragment))
        navigation = [("accept", "text/html"), ("sec-fetch-dest", "document")]
        sent = await call(AdGuardMiddleware(inner, secret_key=KEY), http_scope(headers=navigation))
        assert sent.body == fragment and sent.header("set-cookie") is None and sent.header("etag") == '"f1"'

    async def test_django_style_capitalised_headers_and_chunking(self) -> None:
        page = b"<html><head><title>T</title></head><body>" + b"x" * 70_000 + b"</body></html>"
        inner = app_sending(
            start(headers=[(b"Content-Type", b"text/html; charset=utf-8"), (b"Set-Cookie", b"csrftoken=1")]),
            body(page[:65536], more=True),
            body(page[65536:]),
        )
        sent = await call(AdGuardMiddleware(inner, secret_key=KEY), http_scope())
        assert sent.body.count(b"<script") == 1 and len(sent.body) > len(page)
        assert sent.header_values("set-cookie") == ["csrftoken=1"]

    @pytest.mark.parametrize(
        ("content_type", "tagged"),
        [
            (b"text/html; charset=utf-8", True),
            (b"Text/HTML", True),
            (b"application/xhtml+xml", True),
            (b"application/json", False),
            (b"text/plain; charset=utf-8", False),
        ],
    )
    async def test_the_content_type_is_judged_alike_on_every_response(self, content_type: bytes, tagged: bool) -> None:
        """The glance at Content-Type keeps what it learnt of a value for the next response: the answer must stay
        the same, whatever else was seen in between."""
        page = b"<html><head></head><body>x</body></html>"
        app = AdGuardMiddleware(
            app_sending(start(headers=[(b"content-type", content_type)]), body(page)), secret_key=KEY
        )
        for _ in range(3):
            sent = await call(app, http_scope())
            assert (b"<script" in sent.body) is tagged

    @pytest.mark.parametrize("kind", ["websocket", "lifespan"])
    async def test_other_scope_types_pass_through(self, kind: str) -> None:
        seen: list[str] = []

        async def inner(scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["type"])

        await AdGuardMiddleware(inner, secret_key=KEY)({"type": kind}, None, None)  # type: ignore[arg-type]
        assert seen == [kind]


class TestAsking:
    async def test_observe_never_shows_anything(self) -> None:
        app = wrapped(policy="observe")
        async with client(app) as c:
            await report(c, app, "blocked")
            response = await c.get("/news/1")
        assert response.text.count("<script") == 1 and "template" not in response.text
        assert response.headers["cache-control"] == "public, max-age=600"

    async def test_soft_message_is_a_dialog_over_the_page(self) -> None:
        app = wrapped(policy="soft", site_name="The Lantern")
        async with client(app) as c:
            await report(c, app, "blocked")
            response = await c.get("/news/1")
        text = response.text
        assert "<article>Text</article>" in text  # the content is still there, under the dialog
        assert f'<template id="{app.names.css_class}-message">' in text
        assert 'role="dialog" aria-modal="true"' in text and "Please support The Lantern" in text
        assert response.headers["cache-control"] == "private, no-cache"
        assert response.headers["vary"] == "Cookie"

    async def test_the_message_is_rendered_once_and_filled_in_safely_per_page(self) -> None:
        app = wrapped(policy="soft")
        async with client(app) as c:
            await report(c, app, "blocked")
            first = (await c.get("/news/1")).text
            hostile = (await c.get("/news/%22%3E%3Cscript%3Ealert(1)")).text
        assert '<input type="hidden" name="next" value="/news/1">' in first
        assert 'value="/news/%22%3E%3Cscript%3Ealert%281%29"' in hostile  # a URL, percent-encoded
        assert "<script>alert(1)" not in hostile and "@@adguard-mw" not in hostile

    async def test_notice_is_a_banner(self) -> None:
        app = wrapped(policy="notice")
        async with client(app) as c:
            await report(c, app, "blocked")
            text = (await c.get("/news/1")).text
        assert f'{app.names.data}="notice"' in text and 'role="region"' in text and "aria-modal" not in text

    async def test_hard_message_replaces_the_content(self) -> None:
        app = wrapped(policy="hard")
        async with client(app) as c:
            await report(c, app, "blocked")
            response = await c.get("/news/1")
            api = await c.get("/api")
        assert response.status_code == 200
        assert "<article>" not in response.text and "<h1" in response.text
        assert 'name="robots" content="noindex, nofollow"' in response.text
        assert detector_tag(app) in response.text  # the wall can check again in place
        assert int(response.headers["content-length"]) == len(response.content)
        assert response.headers["cache-control"] == "private, no-cache" and response.headers["vary"] == "Cookie"
        assert api.json() == {"ok": True}  # only HTML pages are walled

    async def test_the_wall_replaces_only_a_page_the_app_served(self) -> None:
        """Decided on the app's answer, never before it: a 404, a redirect or JSON under a walled path goes out
        as the app sent it, with its own headers (docs/performance.md, "the hard wall is decided on the app's
        answer")."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            status, kind, extra = {
                "/news/gone": (404, b"text/html", []),
                "/news/moved": (302, b"text/html", [(b"location", b"/news/1")]),
                "/news/data": (200, b"application/json", []),
                "/news/1": (200, b"text/html", []),
            }[scope["path"]]
            headers = [(b"content-type", kind), (b"set-cookie", b"site=1"), *extra]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"<p>the app's own</p>"})

        walled = AdGuardMiddleware(app, secret_key=KEY, policy="hard")
        cookie = await self._blocked_cookie()
        async with client(walled) as c:
            c.cookies.set(walled.names.cookie, cookie)
            answers = [
                await c.get(path, follow_redirects=False) for path in ("/news/gone", "/news/moved", "/news/data")
            ]
            page = await c.get("/news/1")
        assert page.status_code == 200 and "the app's own" not in page.text  # the page itself is walled
        assert [r.status_code for r in answers] == [404, 302, 200]
        assert all(r.text == "<p>the app's own</p>" and r.headers["set-cookie"] == "site=1" for r in answers)

    @staticmethod
    async def _blocked_cookie() -> str:
        app = wrapped(policy="hard")
        async with client(app) as c:
            await report(c, app, "blocked")
            assert "<article>" not in (await c.get("/news/1")).text  # this reader is walled
            return c.cookies[app.names.cookie]

    async def test_free_page_views_then_the_message(self) -> None:
        app = wrapped(policy=Policy(mode="soft", free_page_views=2))  # type: ignore[arg-type]
        async with client(app) as c:
            await report(c, app, "blocked")
            pages = [await c.get("/news/1") for _ in range(4)]
        shown = ['role="dialog"' in page.text for page in pages]
        assert shown == [False, False, True, True]
        assert ["set-cookie" in page.headers for page in pages] == [True, True, False, False]

    async def test_a_reader_who_stopped_blocking_reads_freely(self) -> None:
        app = wrapped(policy="hard")
        async with client(app) as c:
            await report(c, app, "blocked")
            await report(c, app, "not_blocked")
            assert "<article>" in (await c.get("/news/1")).text

    async def test_unknown_is_never_accused(self) -> None:
        app = wrapped(policy="hard")
        async with client(app) as c:
            await report(c, app, "unknown")
            assert "<article>" in (await c.get("/news/1")).text

    async def test_exempted_readers_are_never_asked(self) -> None:
        async def subscribers(request: Request) -> bool:
            return request.cookies.get("plan") == "paid"

        app = wrapped(policy=Policy(mode="hard", exempt=subscribers))  # type: ignore[arg-type]
        async with client(app) as c:
            await report(c, app, "blocked")
            c.cookies.set("plan", "paid")
            assert "<article>" in (await c.get("/news/1")).text
            c.cookies.set("plan", "free")
            assert "<article>" not in (await c.get("/news/1")).text

    async def test_a_crawler_is_never_walled_even_with_a_cookie(self) -> None:
        app = wrapped(policy="hard")
        async with client(app) as c:
            await report(c, app, "blocked")
            response = await c.get("/news/1", headers={"User-Agent": GOOGLEBOT})
        assert "<article>" in response.text

    async def test_excluded_paths_are_never_walled(self) -> None:
        app = wrapped(policy=Policy(mode="hard", exclude=("/",)))  # type: ignore[arg-type]
        async with client(app) as c:
            await report(c, app, "blocked")
            assert "<article>" in (await c.get("/")).text
            assert "<article>" not in (await c.get("/news/1")).text

    async def test_message_shown_is_logged_without_personal_data(self, tmp_path: Path) -> None:
        app = wrapped(policy="soft", events=tmp_path)
        async with client(app) as c:
            await report(c, app, "blocked")
            await c.get("/news/1?utm_source=newsletter&email=reader@example.com", headers={"Accept-Language": "de-CH"})
            # The page itself confirms that the message stayed on screen; only then is it "shown".
            seen = {"path": "/news/1", "mode": "soft"}
            headers = {**SAME_ORIGIN, "Accept-Language": "de-CH"}
            confirmed = await c.post(own_url(app, app.names.seen), json=seen, headers=headers)
        page_view, served, shown = logged(app, tmp_path)[-3:]
        assert confirmed.status_code == 204
        assert page_view["event"] == "page_view" and page_view["verdict"] == "blocked" and page_view["sample_rate"] == 1
        assert served["event"] == "message_served" and served["mode"] == "soft"
        assert shown["event"] == "message_shown" and shown["mode"] == "soft" and shown["path"] == "/news/1"
        assert shown["locale"] == "de" and shown["kind"] == "extension" and shown["site"] == "this site"
        common = {"v", "id", "time", "event", "site", "instance", "path", "locale", "variant", "mode", "visitor"}
        assert set(shown) == common | {"browser", "browser_major", "os", "device", "verdict", "kind"}
        raw = "".join(file.read_text() for file in tmp_path.rglob("*.jsonl"))
        assert "127.0.0.1" not in raw and CHROME not in raw and "reader@example.com" not in raw and "utm" not in raw

    async def test_page_views_are_sampled(self, tmp_path: Path) -> None:
        app = wrapped(events=tmp_path, page_view_sample_rate=0.25)
        async with client(app) as c:
            for _ in range(400):
                await c.get("/news/1")
        views = [e for e in logged(app, tmp_path) if e["event"] == "page_view"]
        assert 50 < len(views) < 150 and all(v["sample_rate"] == 0.25 and v["verdict"] is None for v in views)

    async def test_a_page_view_nobody_would_write_makes_no_fields(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Logging below INFO and no other sink (the default set-up): the page view costs no event fields."""
        from adguard_mw.events import LoggingSink
        from adguard_mw.pageview import PageViews

        made: list[str] = []
        real_fields = PageViews.fields
        monkeypatch.setattr(PageViews, "fields", lambda *a, **k: made.append("fields") or real_fields(*a, **k))
        quiet = logging.getLogger("adguard_mw.events.test-page-views")
        quiet.setLevel(logging.WARNING)
        got: list[dict[str, object]] = []
        for events, fields_made in ((EventLog([LoggingSink(quiet)]), 0), (EventLog.to(got.append, site="s"), 1)):
            made.clear()
            app = wrapped(events=events)
            async with client(app) as c:
                assert "<article>" in (await c.get("/news/1")).text
            app.events.flush()
            assert len(made) == fields_made
        assert [event["event"] for event in got] == ["page_view"]  # a site's own sink still gets every page view

    @pytest.mark.parametrize("mode", ["soft", "hard"])
    async def test_a_message_nobody_would_record_makes_no_fields(
        self, mode: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from adguard_mw.events import LoggingSink
        from adguard_mw.pageview import PageViews

        made: list[str] = []
        real_fields = PageViews.fields
        monkeypatch.setattr(PageViews, "fields", lambda *a, **k: made.append("fields") or real_fields(*a, **k))
        quiet = logging.getLogger("adguard_mw.events.test-messages")
        quiet.setLevel(logging.WARNING)
        app = wrapped(policy=mode, events=EventLog([LoggingSink(quiet)]), site_name="The Lantern")
        async with client(app) as c:
            await report(c, app, "blocked")
            made.clear()
            page = (await c.get("/news/1")).text
        assert "Please support The Lantern" in page  # the message is served as ever, only not recorded
        assert made == []

    async def test_exemptions_are_logged(self, tmp_path: Path) -> None:
        app = wrapped(policy="hard", events=tmp_path)
        async with client(app) as c:
            await report(c, app, "blocked")
            await c.get("/news/1", headers={"User-Agent": GOOGLEBOT})
        exempted = [e for e in logged(app, tmp_path) if e["event"] == "exempted"]
        assert [e["reason"] for e in exempted] == ["crawler"]


class TestPrivacy:
    async def test_global_privacy_control_readers_are_asked_but_never_logged_with_an_id(self, tmp_path: Path) -> None:
        app = wrapped(policy="hard", events=tmp_path)
        async with client(app) as c:
            c.headers["Sec-GPC"] = "1"
            await report(c, app, "blocked")
            page = await c.get("/news/1")
        assert "<article>Text</article>" not in page.text  # a first-party check and message are neither sale nor share
        events = logged(app, tmp_path)
        assert {event["event"] for event in events} >= {"verdict", "message_shown"}
        assert all(event.get("visitor") is None for event in events)

    async def test_the_site_can_leave_them_alone(self, tmp_path: Path) -> None:
        app = wrapped(policy="hard", events=tmp_path, gpc="skip")
        async with client(app) as c:
            await report(c, app, "blocked")
            events_before = len(logged(app, tmp_path))
            page = await c.get("/news/1", headers={"Sec-GPC": "1"})
            beacon = await c.post(
                f"{app.names.prefix}/{app.names.beacon}",
                json={"signals": {"script": "blocked"}, "path": "/"},
                headers={**SAME_ORIGIN, "Sec-GPC": "1"},
            )
        # The anonymous page, as a cache may hold it for everyone: the tag (its script stays idle), nothing else.
        assert "<article>Text</article>" in page.text and app.names.script in page.text
        assert "set-cookie" not in page.headers and page.headers["cache-control"] == "public, max-age=600"
        assert beacon.status_code == 204 and "set-cookie" not in beacon.headers
        assert len(logged(app, tmp_path)) == events_before

    def test_the_old_switch_still_works_and_says_it_is_deprecated(self) -> None:
        with pytest.warns(DeprecationWarning, match="gpc='skip'"):
            app = wrapped(honor_gpc=True)
        assert app.gpc == "skip"


class TestNeverBreakTheSite:
    async def test_a_broken_template_serves_the_original_page_and_logs_once(
        self, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        app = wrapped(policy="hard")

        def explode(*args: object, **kwargs: object) -> str:
            raise RuntimeError("template exploded")

        monkeypatch.setattr(app.renderer._env, "get_template", explode)  # every message, text or bytes, fails
        async with client(app) as c:
            await report(c, app, "blocked")
            responses = [await c.get("/news/1") for _ in range(3)]
        assert all(r.status_code == 200 and r.text == PAGE for r in responses)
        assert all(r.headers["etag"] == '"v1"' for r in responses)  # untouched, validators and all
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "original response was served unchanged" in errors[0].getMessage()

    async def test_a_garbage_cookie_is_a_new_reader(self) -> None:
        app = wrapped(policy="hard")
        async with client(app) as c:
            c.cookies.set(app.names.cookie, "eyJhIjoxfQ.garbage.sig")
            response = await c.get("/news/1")
        assert "<article>" in response.text and "set-cookie" not in response.headers

    async def test_a_full_disk_does_not_fail_the_beacon(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        day = tmp_path / f"dt={dt.datetime.now(dt.UTC):%Y-%m-%d}"
        day.mkdir()
        (day / "web-1.jsonl").symlink_to("/dev/full")  # every write fails with "No space left on device"
        app = wrapped(events=EventLog([JsonLinesSink(tmp_path, "web-1")], instance="web-1"))
        async with client(app) as c:
            responses = [await report(c, app, "blocked") for _ in range(3)]
            app.events.flush()
            responses.append(await report(c, app, "not_blocked"))
            app.events.flush()
        assert all(r.status_code == 200 for r in responses)
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "No space left on device" in str(errors[0].exc_info)

    async def test_a_failing_exempt_hook_means_nobody_is_asked(self, caplog: pytest.LogCaptureFixture) -> None:
        def broken(request: Request) -> bool:
            raise KeyError("subscriber database down")

        app = wrapped(policy=Policy(mode="hard", exempt=broken))  # type: ignore[arg-type]
        async with client(app) as c:
            await report(c, app, "blocked")
            assert "<article>" in (await c.get("/news/1")).text
        assert any("exempt hook" in r.getMessage() for r in caplog.records)
