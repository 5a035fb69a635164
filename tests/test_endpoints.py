"""The middleware's own endpoints: strict about input, clear about errors, and changing nothing on bad input."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from starlette.types import Message

from adguard_mw.state import VISITOR_ID_DAYS, Verdict, VisitorState, new_visitor_id, visitor_id_expired

from .asgi import Sent, http_scope
from .site import ORIGIN, SAME_ORIGIN, client, logged, own_url, report, wrapped


class TestAssets:
    async def test_detector_script_is_served_with_its_names_filled_in(self) -> None:
        app = wrapped()
        async with client(app) as c:
            response = await c.get(own_url(app, app.names.script))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
        assert "__CONFIG__" not in response.text and app.names.beacon in response.text
        assert "immutable" in response.headers["cache-control"]

    async def test_stylesheet_and_message_script(self) -> None:
        app = wrapped()
        async with client(app) as c:
            css = await c.get(own_url(app, app.names.stylesheet))
            js = await c.get(own_url(app, app.names.message_script))
        assert css.status_code == js.status_code == 200
        assert "__C__" not in css.text and f".{app.names.css_class}-box" in css.text

    @pytest.mark.parametrize("kind", ["control", "script", "surrogate"])
    async def test_bait_and_control_scripts_echo_the_one_time_value(self, kind: str) -> None:
        app = wrapped()
        names = app.names
        bait = names.bait_script if kind == "script" else names.bait_surrogate
        name = names.control if kind == "control" else f"{names.bait_dir}/{bait}"
        async with client(app) as c:
            response = await c.get(own_url(app, name), params={names.token_param: "0123456789abcdef"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.text == (
            f'document.dispatchEvent(new CustomEvent("{app.names.event}",{{detail:"0123456789abcdef"}}));'
        )

    @pytest.mark.parametrize("value", [None, "", "short", "</script><script>alert(1)", "ABCDEF0123456789"])
    async def test_a_missing_or_rewritten_token_gets_a_script_that_says_nothing(self, value: str | None) -> None:
        """Stripping or rewriting the one-time value (`$removeparam`) must read as blocking, not as our error."""
        app = wrapped()
        query = "" if value is None else f"{app.names.token_param}={value}"
        async with client(app) as c:
            response = await c.get(own_url(app, app.names.control) + "?" + query)
        assert response.status_code == 200 and response.text == ";"

    async def test_other_paths_in_our_folder_belong_to_the_site(self) -> None:
        app = wrapped()
        async with client(app) as c:
            other = await c.get(own_url(app, "nothing-here"))
            assert other.status_code == 404 and other.text == "Not Found"  # the site's own 404, not ours
            assert (await c.post(own_url(app, app.names.script))).status_code == 405

    async def test_names_carry_no_ad_block_words(self) -> None:
        app = wrapped()
        names = [app.names.prefix, app.names.script, app.names.beacon, app.names.cookie, app.names.css_class]
        names += [app.names.event, app.names.control, app.names.message_script, app.names.stylesheet]
        for name in names:
            assert not any(word in name.lower() for word in ("ad", "block", "detect", "bait", "guard"))


class TestBeacon:
    async def test_a_report_sets_a_signed_cookie_and_a_readable_summary(self, tmp_path: Path) -> None:
        app = wrapped(events=tmp_path)
        async with client(app) as c:
            response = await report(c, app, "blocked")
        assert response.status_code == 200
        assert response.json() == {"verdict": "blocked", "kind": "extension"}
        assert response.headers["cache-control"] == "no-store"
        signed, summary = response.headers.get_list("set-cookie")
        assert signed.startswith(app.names.cookie + "=") and "HttpOnly" in signed and "SameSite=Lax" in signed
        # The detector may read the verdict and its age (to report once per verdict), nothing else.
        assert re.fullmatch(rf"{app.names.companion}=b\.\d+; Max-Age=2592000; Path=/; SameSite=Lax", summary)
        [event] = logged(app, tmp_path)
        assert event["event"] == "verdict" and event["verdict"] == "blocked" and event["kind"] == "extension"
        assert event["signals"] == {"cosmetic": "blocked", "script": "blocked", "image": "blocked"}
        assert event["browser"] == "Chrome" and event["device"] == "desktop" and event["path"] == "/news/1"
        assert event["previous"] is None and event["mode"] == "observe" and event["locale"] is None

    @pytest.mark.parametrize(
        ("signals", "verdict", "kind"),
        [
            ({"cosmetic": "blocked", "script": "not_blocked"}, "blocked", "extension"),
            ({"cosmetic": "not_blocked", "script": "unknown"}, "unknown", None),
            ({"cosmetic": "not_blocked", "script": "not_blocked", "third_party": "blocked"}, "blocked", "network"),
            ({"script": "blocked", "third_party": "blocked"}, "blocked", "extension"),
            ({"cosmetic": "not_blocked", "image": "not_blocked"}, "not_blocked", None),
        ],
    )
    async def test_the_server_decides_the_verdict_from_the_signals(
        self, signals: dict[str, str], verdict: str, kind: str | None
    ) -> None:
        app = wrapped()
        async with client(app) as c:
            response = await c.post(
                own_url(app, app.names.beacon), json={"signals": signals, "path": "/"}, headers=SAME_ORIGIN
            )
        assert response.json() == {"verdict": verdict, "kind": kind}

    async def test_the_cookie_is_re_sent_only_when_the_state_changes(self) -> None:
        app = wrapped()
        async with client(app) as c:
            first = await report(c, app, "blocked")
            again = await report(c, app, "blocked")
            changed = await report(c, app, "not_blocked")
        assert "set-cookie" in first.headers
        assert "set-cookie" not in again.headers
        assert "set-cookie" in changed.headers

    async def test_an_old_pseudonym_is_replaced_by_an_unlinkable_new_one(self, tmp_path: Path) -> None:
        app = wrapped(events=tmp_path)
        month_ago = time.time() - (VISITOR_ID_DAYS + 1) * 86400
        old = VisitorState(new_visitor_id(month_ago), Verdict.BLOCKED, checked_at=int(time.time()))
        async with client(app) as c:
            c.cookies.set(app.names.cookie, app.cookie.dump(old))
            response = await report(c, app, "blocked")
        renewed = app.cookie.load(f"{app.names.cookie}={response.cookies[app.names.cookie]}".encode())
        assert renewed is not None and renewed.verdict is Verdict.BLOCKED
        assert renewed.visitor_id != old.visitor_id and not visitor_id_expired(renewed.visitor_id)
        assert logged(app, tmp_path)[-1]["visitor"] == renewed.visitor_id

    async def test_recovery_is_logged(self, tmp_path: Path) -> None:
        app = wrapped(events=tmp_path)
        async with client(app) as c:
            await report(c, app, "blocked")
            await report(c, app, "not_blocked")
        assert [e["event"] for e in logged(app, tmp_path)] == ["verdict", "verdict", "recovered"]

    @pytest.mark.parametrize(
        ("content", "headers", "status", "reason"),
        [
            (b"{not json", {}, 400, "not valid JSON"),
            (b"[]", {}, 400, "JSON object"),
            (b'{"path": "/"}', {}, 400, "signals must map"),
            (b'{"signals": {}, "path": "/"}', {}, 400, "signals must map"),
            (b'{"signals": {"x": "blocked"}, "path": "/"}', {}, 400, "signals must map"),
            (b'{"signals": {"script": "maybe"}, "path": "/"}', {}, 400, "signals must map"),
            (b'{"signals": {"script": {}}, "path": "/"}', {}, 400, "signals must map"),
            (b'{"signals": ["blocked"], "path": "/"}', {}, 400, "signals must map"),
            (b'{"signals": {"script": "blocked"}, "path": "https://evil.example/"}', {}, 400, "path must be"),
            (b'{"signals": {"script": "blocked"}, "path": "/a?email=x@y"}', {}, 400, "path must be"),
            (b'{"signals": {"script": "blocked"}, "path": "/", "ip": "1.2.3.4"}', {}, 400, "unknown field 'ip'"),
            (b'{"signals": {"script": "blocked"}, "path": "/", "verdict": "not_blocked"}', {}, 400, "unknown field"),
            (b'{"signals": {"script": "blocked"}, "path": "/", "recheck": "yes"}', {}, 400, "recheck must be"),
            (
                b'{"signals": {"script": "blocked"}, "path": "/"}',
                {"Content-Type": "text/plain"},
                415,
                "application/json",
            ),
            (
                b'{"signals": {"script": "blocked"}, "path": "/"}',
                {"Origin": "https://evil.example"},
                403,
                "cross-origin",
            ),
            (b'{"signals": {"script": "blocked"}, "path": "/"}', {"Sec-Fetch-Site": "cross-site"}, 403, "cross-site"),
            (b'{"signals": {"script": "blocked"}, "path": "/' + b"x" * 2100 + b'"}', {}, 413, "larger than 2048 bytes"),
        ],
    )
    async def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
        self, tmp_path: Path, content: bytes, headers: dict[str, str], status: int, reason: str
    ) -> None:
        app = wrapped(events=tmp_path)
        async with client(app) as c:
            response = await c.post(
                own_url(app, app.names.beacon),
                content=content,
                headers={"Content-Type": "application/json", **SAME_ORIGIN, **headers},
            )
        assert response.status_code == status
        assert reason in response.text
        assert "set-cookie" not in response.headers
        assert logged(app, tmp_path) == []

    async def test_an_origin_once_judged_is_judged_again_for_another_host(self) -> None:
        """Answers are kept per (Origin, Host): the same Origin to another Host is refused, and heard again after."""
        app = wrapped()
        body = {"signals": {"script": "blocked"}, "path": "/"}
        async with client(app) as c:
            url = own_url(app, app.names.beacon)
            assert (await c.post(url, json=body, headers=SAME_ORIGIN)).status_code == 200
            other = await c.post(url, json=body, headers={**SAME_ORIGIN, "Host": "other.example"})
            assert other.status_code == 403 and "cross-origin" in other.text
            assert (await c.post(url, json=body, headers=SAME_ORIGIN)).status_code == 200

    async def test_a_trusted_proxys_forwarded_host_is_read_on_every_request(self) -> None:
        """Behind a trusted proxy the answer depends on what it forwards, so nothing is kept per (Origin, Host)."""
        app = wrapped(forwarded_allow_ips="*")
        body = {"signals": {"script": "blocked"}, "path": "/"}
        public = {"Origin": "https://www.news.example", "Sec-Fetch-Site": "same-origin", "Host": "backend:8000"}
        async with client(app) as c:
            url = own_url(app, app.names.beacon)
            forwarded = {"X-Forwarded-Host": "www.news.example", "X-Forwarded-Proto": "https"}
            assert (await c.post(url, json=body, headers={**public, **forwarded})).status_code == 200
            assert (await c.post(url, json=body, headers=public)).status_code == 403
            assert (await c.post(url, json=body, headers={**public, **forwarded})).status_code == 200

    @pytest.mark.parametrize(
        ("name", "value", "status"),
        [(b"Origin", b"https://evil.example", 403), (b"Sec-Fetch-Site", b"cross-site", 403), (b"ORIGIN", ORIGIN, 200)],
    )
    async def test_header_names_are_read_in_any_case(self, name: bytes, value: bytes | str, status: int) -> None:
        """ASGI servers should, not must, send names in lower case: a capitalised Origin is checked all the same."""
        app = wrapped()
        content = b'{"signals": {"script": "blocked"}, "path": "/"}'
        value = value.encode() if isinstance(value, str) else value
        headers = [(b"host", b"news.test"), (b"Content-Type", b"application/json"), (name, value)]
        sent = Sent()

        async def receive() -> Message:
            return {"type": "http.request", "body": content, "more_body": False}

        await app(
            http_scope(own_url(app, app.names.beacon), method="POST", headers=()) | {"headers": headers}, receive, sent
        )
        assert sent.status == status

    @pytest.mark.parametrize(
        ("content", "status"),
        [
            (b'\xef\xbb\xbf{"signals": {"script": "blocked"}, "path": "/"}', 200),  # a BOM: json reads it
            ('{"signals": {"script": "blocked"}, "path": "/"}'.encode("utf-16"), 200),  # so does UTF-16
            (b'{"signals": {"script": NaN}, "path": "/"}', 400),
            (b'{"signals": {"script": "blocked"}, "path": "/", "path": "https://evil.example/"}', 400),  # the last
        ],
    )
    async def test_a_body_is_read_as_json_reads_it(self, content: bytes, status: int) -> None:
        """orjson reads the usual body; what it refuses and `json` reads is still read, so nothing heard before is
        refused now, and duplicate fields still count as their last."""
        app = wrapped()
        async with client(app) as c:
            response = await c.post(
                own_url(app, app.names.beacon),
                content=content,
                headers={"Content-Type": "application/json", **SAME_ORIGIN},
            )
        assert response.status_code == status

    async def test_an_oversized_body_is_refused_while_reading(self) -> None:
        app = wrapped()
        sent_chunks = 0

        async def endless():  # type: ignore[no-untyped-def]
            nonlocal sent_chunks
            for _ in range(1000):
                sent_chunks += 1
                yield b"x" * 512

        async with client(app) as c:
            response = await c.post(
                own_url(app, app.names.beacon),
                content=endless(),
                headers={"Content-Type": "application/json", **SAME_ORIGIN},
            )
        assert response.status_code == 413
        assert sent_chunks < 10

    async def test_only_post(self) -> None:
        app = wrapped()
        async with client(app) as c:
            response = await c.get(own_url(app, app.names.beacon))
        assert response.status_code == 405 and response.headers["allow"] == "POST"


class TestDismissAndCheckAgain:
    async def test_dismissing_needs_a_message_to_dismiss(self) -> None:
        app = wrapped(policy="soft")
        async with client(app) as c:
            response = await c.post(own_url(app, app.names.dismiss), json={"path": "/"}, headers=SAME_ORIGIN)
        assert response.status_code == 409

    async def test_dismissal_is_remembered(self) -> None:
        app = wrapped(policy="soft")
        async with client(app) as c:
            await report(c, app, "blocked")
            assert 'role="dialog"' in (await c.get("/news/1")).text
            response = await c.post(own_url(app, app.names.dismiss), json={"path": "/news/1"}, headers=SAME_ORIGIN)
            assert response.status_code == 204 and "set-cookie" in response.headers
            assert 'role="dialog"' not in (await c.get("/news/2")).text

    async def test_check_again_forgets_the_verdict_and_goes_back(self) -> None:
        app = wrapped(policy="hard")
        async with client(app) as c:
            await report(c, app, "blocked")
            assert "<article>" not in (await c.get("/news/1")).text
            response = await c.post(own_url(app, app.names.recheck), data={"next": "/news/1"}, headers=SAME_ORIGIN)
            assert response.status_code == 303 and response.headers["location"] == "/news/1"
            assert "<article>" in (await c.get("/news/1")).text

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"])
    async def test_check_again_never_redirects_off_site(self, target: str) -> None:
        app = wrapped(policy="hard")
        async with client(app) as c:
            response = await c.post(own_url(app, app.names.recheck), data={"next": target}, headers=SAME_ORIGIN)
        assert response.status_code == 400 and "path on this site" in response.text

    async def test_check_again_refuses_other_sites_forms(self) -> None:
        app = wrapped(policy="hard")
        async with client(app) as c:
            response = await c.post(
                own_url(app, app.names.recheck), data={"next": "/"}, headers={"Origin": "https://evil.example"}
            )
        assert response.status_code == 403
