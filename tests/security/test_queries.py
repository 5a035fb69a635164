"""Every query string (and number) we parse from a request fails into a clear 4xx: never a 500, never a traceback.

The review found three anonymous GETs answered 500 with a traceback each time: more fields than `max_num_fields`,
`?to=` and 5,000 digits (`int()` refuses strings over 4,300 digits), and the preview with nine fields. The same
`int()` read the beacon's `Content-Length`. Each is listed here, then any query at all on every GET endpoint.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adguard_mw import AdGuardMiddleware, CallToAction, Message
from adguard_mw._faults import fault_counts, reset_fault_counts

from ..asgi import Sent, call, http_scope
from ..site import CHROME, KEY, bare_site

HOST = "news.test"
TOKEN = "a-preview-token-0123456789"
APP = AdGuardMiddleware(
    bare_site(),
    secret_key=KEY,
    policy="soft",
    message=Message(ctas=(CallToAction("Subscribe", "/subscribe"), CallToAction("Donate", "/donate"))),
    preview_token=TOKEN,
)
SOME = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


async def get(name: str, query: bytes, **headers: bytes) -> Sent:
    scope = http_scope(f"{APP.names.prefix}/{name}", query_string=query)
    scope["headers"] = [(b"host", HOST.encode()), (b"user-agent", CHROME.encode())]
    scope["headers"] += [(key.replace("_", "-").encode(), value) for key, value in headers.items()]
    return await call(APP, scope)


def assert_clear_4xx(sent: Sent, expected: str = "") -> None:
    assert 400 <= sent.status < 500, (sent.status, sent.body)
    assert sent.body.decode().startswith(f"{sent.status} ") and expected in sent.body.decode()
    assert sent.header("cache-control") == "no-store"


@pytest.fixture(autouse=True)
def no_faults(caplog: pytest.LogCaptureFixture) -> None:
    reset_fault_counts()
    caplog.set_level(logging.ERROR, logger="adguard_mw")


class TestTheQueriesTheReviewSent:
    async def test_more_fields_than_a_call_to_action_takes(self, caplog: pytest.LogCaptureFixture) -> None:
        assert_clear_4xx(await get(APP.names.follow, b"to=0&a&b&c&d"), "more than 4 query fields")
        assert fault_counts() == {} and caplog.records == []

    async def test_a_number_longer_than_python_converts(self, caplog: pytest.LogCaptureFixture) -> None:
        assert_clear_4xx(await get(APP.names.follow, b"to=" + b"7" * 5000))
        assert_clear_4xx(await get(APP.names.follow, b"to=" + b"7" * 2000), "number of a call to action, 0 to 1")
        assert_clear_4xx(await get(APP.names.follow, b"to=\xd9\xa1"), "0 to 1")  # an Arabic-Indic digit
        assert fault_counts() == {} and caplog.records == []

    async def test_the_preview_with_nine_fields_before_its_token(self, caplog: pytest.LogCaptureFixture) -> None:
        query = b"&".join(b"f%d=1" % number for number in range(9))
        assert_clear_4xx(await get(APP.names.preview, query), "more than 8 query fields")
        assert fault_counts() == {} and caplog.records == []

    async def test_a_query_longer_than_any_of_ours(self) -> None:
        assert_clear_4xx(await get(APP.names.follow, b"to=0&x=" + b"y" * 5000), "longer than 2048")

    async def test_the_calls_to_action_still_work(self) -> None:
        sent = await get(APP.names.follow, b"to=1&utm_source=mail")
        assert sent.status == 303 and sent.header("location") == "/donate"

    async def test_a_content_length_longer_than_python_converts(self, caplog: pytest.LogCaptureFixture) -> None:
        scope = http_scope(f"{APP.names.prefix}/{APP.names.beacon}", method="POST")
        scope["headers"] = [(b"host", HOST.encode()), (b"content-type", b"application/json")]
        scope["headers"].append((b"content-length", b"9" * 5000))
        sent = await call(APP, scope)
        assert_clear_4xx(sent, "body larger than 2048 bytes")
        assert sent.status == 413 and fault_counts() == {} and caplog.records == []


class TestAnyQuery:
    @SOME
    @given(
        name=st.sampled_from(["follow", "preview", "control", "fallback", "script"]),
        query=st.binary(max_size=120)
        | st.lists(st.sampled_from([b"to=0", b"to=9" * 50, b"a", b"token=" + TOKEN.encode(), b"mode=hard", b"&"])).map(
            b"&".join
        ),
    )
    async def test_any_query_on_any_get_endpoint_is_answered_without_a_fault(self, name: str, query: bytes) -> None:
        reset_fault_counts()
        sent = await get(getattr(APP.names, name), query)
        assert sent.status < 500, (sent.status, sent.body)
        if sent.status >= 400:
            assert_clear_4xx(sent)
        assert fault_counts() == {}
