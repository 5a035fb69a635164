"""The visitor's state survives a round trip, rotates keys, and is treated as absent whenever it is not ours."""

from __future__ import annotations

import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import TimestampSigner
from itsdangerous.signer import HMACAlgorithm

from adguard_mw.state import (
    MAX_COOKIE_LENGTH,
    SALT,
    VISITOR_ID_DAYS,
    StateCookie,
    Verdict,
    VisitorState,
    _cookie_bytes,
    first_page_marker,
    new_visitor_id,
    visitor_id_expired,
)

OLD_KEY = "old-key-0123456789abcdefghij"
NEW_KEY = "new-key-0123456789abcdefghij"
STATE = VisitorState("visitor-1", Verdict.BLOCKED, checked_at=1_700_000_000, views=2, dismissed_at=None, kind="network")


def signer(key: str) -> TimestampSigner:
    """Signs exactly as the cookie does, to hand-craft well-signed payloads."""
    return TimestampSigner(key, salt=SALT, algorithm=HMACAlgorithm("sha256"))


def cookie_jar(keys: list[str], **options: object) -> StateCookie:
    return StateCookie(keys, name="_st", max_age=3600, **options)  # type: ignore[arg-type]


def header(value: str, name: str = "_st") -> bytes:
    return f"theme=dark; {name}={value}; other=1".encode()


def test_round_trip() -> None:
    jar = cookie_jar([NEW_KEY])
    assert jar.load(header(jar.dump(STATE))) == STATE


def test_the_meter_period_travels_too() -> None:
    jar = cookie_jar([NEW_KEY])
    metered = STATE.replace(meter=20_500)
    assert jar.load(header(jar.dump(metered))) == metered


def test_a_cookie_from_before_the_meter_period_existed_still_reads() -> None:
    value = signer(NEW_KEY).sign("visitor-1~b~1700000000~2~~n").decode()
    assert cookie_jar([NEW_KEY]).load(header(value)) == STATE


def test_cookie_is_small() -> None:
    assert len(cookie_jar([NEW_KEY]).dump(STATE)) < 200


def test_signed_with_the_newest_key_and_accepted_from_older_ones() -> None:
    before_rotation = cookie_jar([OLD_KEY]).dump(STATE)
    rotated = cookie_jar([OLD_KEY, NEW_KEY])
    assert rotated.load(header(before_rotation)) == STATE
    assert cookie_jar([NEW_KEY]).load(header(rotated.dump(STATE))) == STATE


def test_a_retired_key_is_no_longer_accepted() -> None:
    assert cookie_jar([NEW_KEY]).load(header(cookie_jar([OLD_KEY]).dump(STATE))) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v[:-1],  # truncated
        lambda v: v[:10],
        lambda v: "x" + v[1:],  # tampered payload
        lambda v: v.replace(".", "!", 1),
        lambda v: "",
        lambda v: "not-a-cookie",
        lambda v: v + "A" * (MAX_COOKIE_LENGTH + 1),  # oversized
    ],
    ids=["truncated", "stub", "tampered", "bad-separator", "empty", "garbage", "oversized"],
)
def test_anything_not_ours_is_absent(mangle) -> None:  # type: ignore[no-untyped-def]
    jar = cookie_jar([NEW_KEY])
    assert jar.load(header(mangle(jar.dump(STATE)))) is None


def test_expired_cookie_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    jar = cookie_jar([NEW_KEY])
    value = jar.dump(STATE)
    later = time.time() + 3601
    monkeypatch.setattr(time, "time", lambda: later)
    assert jar.load(header(value)) is None


def test_a_cookie_read_before_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verified values are remembered per process (a reader sends the same cookie on every page); age still counts."""
    jar = cookie_jar([NEW_KEY])
    value = jar.dump(STATE)
    assert jar.load(header(value)) == STATE
    assert jar.load(header(value)) == STATE  # remembered
    later = time.time() + 3601
    monkeypatch.setattr(time, "time", lambda: later)
    assert jar.load(header(value)) is None


def test_only_genuine_values_are_remembered() -> None:
    jar = cookie_jar([NEW_KEY])
    forged = jar.dump(STATE)[:-2] + "xx"
    assert jar.load(header(forged)) is None and jar.load(header(forged)) is None


def test_the_app_session_cookie_signed_with_the_same_key_is_not_ours() -> None:
    """Starlette's SessionMiddleware signs with itsdangerous and no salt: our salt keeps the two apart."""
    session_like = TimestampSigner(NEW_KEY).sign("visitor-1~b~1~0~~e").decode()
    assert cookie_jar([NEW_KEY]).load(header(session_like)) is None
    assert signer(NEW_KEY).unsign(cookie_jar([NEW_KEY]).dump(STATE))


@pytest.mark.parametrize(
    "payload",
    [
        '{"verdict": "blocked"}',
        "v~b~1~0~",  # a field missing
        "v~x~1~0~~",  # an unknown verdict
        "~b~1~0~~",  # no visitor id
        "v~b~one~0~~",
        "v~b~1~-1~~",
        "v~b~1~0~~dns",  # an unknown kind
        "v w~b~1~0~~",
        "v~b~1~0~~~extra",
        "v~b~" + "9" * 20 + "~0~~",  # an absurd time
    ],
)
def test_well_signed_but_malformed_state_is_absent(payload: str) -> None:
    signed = signer(NEW_KEY).sign(payload).decode()
    assert signer(NEW_KEY).unsign(signed)  # well signed indeed: only the payload is wrong
    assert cookie_jar([NEW_KEY]).load(header(signed)) is None


def test_only_our_cookie_name_is_read() -> None:
    jar = cookie_jar([NEW_KEY])
    assert jar.load(header(jar.dump(STATE), name="_other")) is None
    assert jar.carried_by(b"a=1; _st=xyz") and not jar.carried_by(b"a=1")


def test_set_cookie_attributes() -> None:
    name, value = cookie_jar([NEW_KEY]).set_cookie_header(STATE, https=False)
    attributes = value.decode().split("; ")
    assert name == b"set-cookie"
    assert {"HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=3600"} <= set(attributes)
    assert "Secure" not in attributes


def test_secure_on_https_or_when_forced() -> None:
    assert b"Secure" in cookie_jar([NEW_KEY]).set_cookie_header(STATE, https=True)[1]
    assert b"Secure" in cookie_jar([NEW_KEY], secure=True).set_cookie_header(STATE, https=False)[1]
    assert b"Secure" not in cookie_jar([NEW_KEY], secure=False).set_cookie_header(STATE, https=True)[1]


def test_the_readable_summary_carries_only_the_verdict_and_its_time() -> None:
    value = cookie_jar([NEW_KEY]).set_companion_header(STATE, https=False)[1]
    assert value.decode() == "_st_v=b.1700000000; Max-Age=3600; Path=/; SameSite=Lax"
    cleared = cookie_jar([NEW_KEY]).set_companion_header(STATE.replace(verdict=None), https=False)[1]
    assert cleared.decode() == "_st_v=; Max-Age=0; Path=/; SameSite=Lax"  # removed


@pytest.mark.parametrize(
    ("cookie_header", "state", "current"),
    [
        (b"", STATE.replace(verdict=None), True),  # a first visit: none held, none called for
        (b"", STATE, False),  # none held, one called for
        (b"theme=dark", STATE.replace(verdict=None), True),
        (b"theme=dark; _st_v=n.1", STATE.replace(verdict=None), False),  # held, none called for: to be deleted
        (b"theme=dark; _st_v=b.1700000000", STATE, True),
        (b"_st_v=b.1600000000", STATE, False),  # an older one
    ],
)
def test_the_companion_is_written_only_when_the_browser_holds_another(
    cookie_header: bytes, state: VisitorState, current: bool
) -> None:
    assert cookie_jar([NEW_KEY]).companion_current(cookie_header, state) is current


def _cookie_value_by_parts(header: bytes, needle: bytes) -> bytes | None:
    """What `_cookie_bytes` is to read: the first `;`-separated part that starts with the name and "=" after spaces
    and tabs, its value stripped of white space, then of quotes."""
    for part in header.split(b";"):
        part = part.lstrip(b" \t")
        if part.startswith(needle):
            return part[len(needle) :].strip().strip(b'"')
    return None


@given(
    st.lists(
        st.sampled_from([b"_st=", b"_st", b"x_st=", b"_st_v=", b";", b"; ", b" ", b"\t", b"=", b'"', b"a.1", b"b"])
    )
)
def test_a_cookie_is_read_from_the_first_part_that_names_it(pieces: list[bytes]) -> None:
    header = b"".join(pieces)
    assert _cookie_bytes(header, b"_st=") == _cookie_value_by_parts(header, b"_st=")


@pytest.mark.parametrize(
    ("cookie_header", "value"),
    [
        (b"_st=a", b"a"),
        (b"theme=dark; _st=a; other=1", b"a"),
        (b"theme=dark;_st=a", b"a"),
        (b"theme=dark; \t_st= a ", b"a"),
        (b'_st="a"', b"a"),
        (b"x_st=b; _st=a", b"a"),  # another name that ends like ours
        (b"theme=_st=b; _st=a", b"a"),  # our name and "=" inside another cookie's value
        (b"_st=a; _st=b", b"a"),  # the first wins
        (b"_st=", b""),
        (b"theme=dark", None),
        (b"x_st=b", None),
    ],
)
def test_a_cookie_is_found_where_it_starts_a_part(cookie_header: bytes, value: bytes | None) -> None:
    assert _cookie_bytes(cookie_header, b"_st=") == value


def test_pseudonymous_ids_carry_their_day_and_expire() -> None:
    now = 1_800_000_000
    fresh = new_visitor_id(now)
    assert not visitor_id_expired(fresh, now)
    assert not visitor_id_expired(fresh, now + (VISITOR_ID_DAYS - 1) * 86400)
    assert visitor_id_expired(fresh, now + VISITOR_ID_DAYS * 86400)
    assert visitor_id_expired("Zx-unknown-format", now) and visitor_id_expired("visitor-1", now)
    assert new_visitor_id(now) != fresh  # random beyond the day


def test_a_pseudonym_is_its_day_and_twelve_url_safe_characters_drawn_afresh() -> None:
    now = 1_800_000_000
    ids = {new_visitor_id(now) for _ in range(1000)}
    assert len(ids) == 1000
    day, tokens = f"{now // 86400:x}", [visitor_id.split("-", 1) for visitor_id in ids]
    assert all(prefix == day and len(token) == 12 for prefix, token in tokens)
    # All 64 characters of the URL-safe alphabet turn up in 12,000 drawn, and nothing else: no "+", "/" or "=".
    alphabet = string.ascii_letters + string.digits + "-_"
    assert set("".join(token for _, token in tokens)) == set(alphabet)
    for later in (now + 86400, now, now + 86400 * 365):  # each id carries the day it was made on, as days turn
        assert new_visitor_id(later).startswith(f"{later // 86400:x}-")


def cookie_in(set_cookie: tuple[bytes, bytes]) -> str:
    return set_cookie[1].decode().split(";")[0].split("=", 1)[1]


def test_a_first_page_views_state_goes_out_unsigned_and_reads_back() -> None:
    jar = cookie_jar([NEW_KEY])
    first = VisitorState(new_visitor_id(), pending_at=int(time.time()))
    value = cookie_in(jar.set_cookie_header(first, https=False))
    assert "." not in value and first.visitor_id in value  # no signature: nothing it says can clear evidence
    assert jar.load(header(value)) == first
    assert "HttpOnly" in jar.set_cookie_header(first, https=False)[1].decode()  # still out of every script's reach


def test_anything_more_than_a_first_page_view_is_signed() -> None:
    jar = cookie_jar([NEW_KEY])
    first = VisitorState(new_visitor_id(), pending_at=int(time.time()))
    for more in (first.replace(silent=1), first.replace(verdict=Verdict.NOT_BLOCKED), first.replace(reported_at=1)):
        assert cookie_in(jar.set_cookie_header(more, https=False)).count(".") == 2
    marker = cookie_in(jar.set_cookie_header(first, https=False))
    for forged in (marker + "~1", marker + "~b", "v~" + marker, marker.replace("~", "~~")):
        assert jar.load(header(forged)) is None  # a marker says nothing but a pseudonym and a time


def test_a_marker_that_is_too_old_from_the_future_or_with_an_old_pseudonym_is_absent() -> None:
    jar = cookie_jar([NEW_KEY])
    now = int(time.time())
    visitor = new_visitor_id()
    assert jar.load(header(f"{visitor}~{now - 3601}")) is None  # older than the cookie's max age
    assert jar.load(header(f"{visitor}~{now + 3600}")) is None
    old = new_visitor_id(now - (VISITOR_ID_DAYS + 1) * 86400)
    assert jar.load(header(f"{old}~{now}")) is None


@pytest.mark.parametrize(
    "change",
    [
        {"verdict": Verdict.UNKNOWN},
        {"checked_at": 1},
        {"views": 1},
        {"dismissed_at": 1},
        {"kind": "network"},
        {"meter": 1},
        {"reported_at": 1},
        {"silent": 1},
        {"scriptless": True},
        {"pending_at": None},
    ],
)
def test_only_a_pseudonym_and_a_pending_page_view_go_out_unsigned(change: dict[str, object]) -> None:
    first = VisitorState(new_visitor_id(), pending_at=int(time.time()))
    assert first_page_marker(first) is not None
    assert first_page_marker(first.replace(**change)) is None  # anything else the server learnt is signed


def test_signed_exactly_as_plain_itsdangerous_signs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key derived once and the keyed HMAC change no byte: a value signed now is the one a plain signer makes
    at the same second, with the newest key, and either side reads the other's (cookies outlive deployments)."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_123.5)
    jar = cookie_jar([OLD_KEY, NEW_KEY])
    payload = "visitor-1~b~1700000000~2~~n~~~~0~"
    assert jar.dump(STATE) == signer(NEW_KEY).sign(payload).decode()
    assert jar.dump(STATE) == jar.dump(STATE)  # the keyed state is copied, never consumed
    assert jar.load(header(signer(OLD_KEY).sign(payload).decode())) == STATE
    assert jar.load(header(signer(NEW_KEY).sign(payload).decode())) == STATE
    assert signer(NEW_KEY).unsign(jar.dump(STATE)) == payload.encode()
    assert jar.load(header(TimestampSigner(NEW_KEY, salt="another").sign(payload).decode())) is None


def test_a_state_cannot_change_in_place() -> None:
    """Verified states are shared from a cache: a state is replaced, never changed, and only by its own fields."""
    with pytest.raises(AttributeError):
        STATE.views = 3  # type: ignore[misc]
    assert STATE.replace(views=3).views == 3 and STATE.views == 2
    with pytest.raises(TypeError, match="VisitorState has no field 'view'"):
        STATE.replace(view=3)
