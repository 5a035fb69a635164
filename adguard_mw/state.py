"""The visitor's state, kept in a signed cookie.

The server stores nothing per visitor: what the middleware remembers (the last verdict, the meter, a dismissal)
travels in one small cookie signed with itsdangerous. Signing uses a salt of our own, so the cookie can never be
confused with the app's session cookie even when both share a secret, and accepts a list of keys (oldest to
newest) so keys can rotate without logging everybody out. A cookie that is tampered with, expired, truncated or
from an unknown key is treated as absent: the visitor is simply new again.
"""

from __future__ import annotations

import binascii
import hmac
import os
import re
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from itsdangerous import BadSignature, TimestampSigner
from itsdangerous.encoding import want_bytes
from itsdangerous.signer import HMACAlgorithm

SALT = "adguard_mw.visitor-state"
# Browsers silently drop cookies over ~4096 bytes; ours is about 120, and anything far larger is not ours.
MAX_COOKIE_LENGTH = 1024
# Verified cookie values remembered per process: a reader's cookie is the same on every page view until it changes,
# and checking its signature is most of what a page costs us. Bounded; cleared when full.
VERIFIED_CACHE_SIZE = 4096


class Verdict(StrEnum):
    BLOCKED = "blocked"
    NOT_BLOCKED = "not_blocked"
    UNKNOWN = "unknown"


_VERDICT_CODES = {Verdict.BLOCKED: "b", Verdict.NOT_BLOCKED: "n", Verdict.UNKNOWN: "u"}
_CODE_VERDICTS = {code: verdict for verdict, code in _VERDICT_CODES.items()}


# Pseudonymous ids rotate: an id is replaced once it is this many days old, so no id follows a reader for long.
VISITOR_ID_DAYS = 30


def new_visitor_id(now: float | None = None) -> str:
    """A random pseudonymous id: it identifies a browser's cookie for a while, never a person.

    It starts with the day it was made (hex days since 1970), so its age can be told without storing more.
    """
    global _day_prefix
    day = int((time.time() if now is None else now) // 86400)
    known, prefix = _day_prefix
    if known != day:
        prefix = f"{day:x}-"
        _day_prefix = (day, prefix)
    # secrets.token_urlsafe(9) without its four Python calls: 9 random bytes are 12 characters, no padding.
    return prefix + binascii.b2a_base64(os.urandom(9), newline=False).translate(_URL_SAFE).decode("ascii")


_day_prefix = (-1, "")  # the last day an id was made for, and its "4fc1-": formatted once a day, not per id
_URL_SAFE = bytes.maketrans(b"+/", b"-_")  # base64's alphabet to the URL-safe one, as secrets.token_urlsafe


def visitor_id_expired(visitor_id: str, now: float | None = None) -> bool:
    """Ids older than VISITOR_ID_DAYS, and ids without a readable day (older versions), are replaced."""
    day, sep, _ = visitor_id.partition("-")
    try:
        born = int(day, 16) if sep else -1
    except ValueError:
        return True
    today = int((time.time() if now is None else now) // 86400)
    return born < 0 or not 0 <= today - born < VISITOR_ID_DAYS


class VisitorState(NamedTuple):
    """Immutable (verified states are shared from a cache), and a named tuple rather than a frozen dataclass: a
    frozen dataclass sets each of its eleven fields through `object.__setattr__`, four times the cost of a tuple,
    and the beacon and the silence count make states on every call."""

    visitor_id: str
    verdict: Verdict | None = None
    checked_at: int | None = None  # unix seconds of the last verdict
    views: int = 0  # page views seen while blocked, for the free-views meter
    dismissed_at: int | None = None  # unix seconds of the last "continue" on a dismissible message
    kind: str | None = None  # "extension" or "network" for a blocked verdict (see signals.Kind)
    meter: int | None = None  # the period `views` counts in (policy.meter_period), when the meter is periodic
    # The server's own evidence that the detector works (see silence.py): set only by the server, never by a script.
    reported_at: int | None = None  # unix seconds of the last report that reached the real beacon
    pending_at: int | None = None  # unix seconds of the latest page view served since that report
    silent: int = 0  # page views in a row whose detector had time to report and did not
    scriptless: bool = False  # this browser loaded the <noscript> stylesheet: it runs no JavaScript

    def replace(self, **changes: Any) -> VisitorState:
        try:
            return self._replace(**changes)
        except ValueError:
            unknown = sorted(changes.keys() - set(self._fields))
            raise TypeError(f"VisitorState has no field {unknown[0]!r}") from None


class StateCookie:
    """Reads and writes `VisitorState` as a signed, timestamped, expiring cookie."""

    def __init__(
        self,
        secret_keys: Sequence[str],
        *,
        name: str,
        max_age: int,
        secure: bool | None = None,
        companion: str | None = None,
    ) -> None:
        self.name = name
        self.max_age = max_age
        self.secure = secure  # None: decided per request from the scheme
        # A plain timestamp signer over a short text: a JSON serializer costs several times more per request.
        self._signer = _Signer(list(secret_keys), salt=SALT, algorithm=_KeyedHMAC())
        self._needle = name.encode("latin-1") + b"="
        self.companion_name = companion or name + "_v"
        self._companion_needle = self.companion_name.encode("latin-1") + b"="
        self._verified: dict[bytes, tuple[VisitorState | None, float]] = {}  # value -> (state, signed at)
        # What follows "name=value" in our Set-Cookie headers, by (HttpOnly, Secure, deleting): made once. Our
        # values are URL-safe base64, digits, "." and "~": nothing to quote, so no SimpleCookie needed.
        self._attributes = {
            (http_only, secure, deleting): _attributes(0 if deleting else max_age, http_only, secure)
            for http_only in (False, True)
            for secure in (False, True)
            for deleting in (False, True)
        }

    def carried_by(self, cookie_header: bytes) -> bool:
        """A cheap test that avoids parsing and verifying anything for visitors without our cookie."""
        return self._needle in cookie_header

    def load(self, cookie_header: bytes) -> VisitorState | None:
        value = _cookie_bytes(cookie_header, self._needle)  # found in the bytes: no decoding, no split of the rest
        if value is None or len(value) > MAX_COOKIE_LENGTH:
            return None
        known = self._verified.get(value)
        if known is not None:
            state, signed_at = known
            # The same value was verified with the same keys; only its age can have changed since.
            return state if time.time() - signed_at <= self.max_age else None
        # Never signed (itsdangerous joins value, time and signature with "."): a marker? `find`, not `in`: see
        # events.raw_reader_fields.
        if value.find(b".") < 0:
            return self._first_page(value)
        try:
            raw, signed = self._signer.unsign(value, max_age=self.max_age, return_timestamp=True)
            payload = raw.decode("ascii")
        except (BadSignature, ValueError, UnicodeError):
            return None
        state = _from_payload(payload)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[value] = (state, signed.timestamp())
        return state

    def dump(self, state: VisitorState) -> str:
        return self._signer.sign(_to_payload(state)).decode("ascii")

    def set_cookie_header(self, state: VisitorState, *, https: bool) -> tuple[bytes, bytes]:
        value = first_page_marker(state)  # a first page view's state needs no signature (see below)
        return self._header(self._needle, value or self.dump(state), https=https, http_only=True)

    def _first_page(self, value: bytes) -> VisitorState | None:
        """The state a first-page marker stands for, or None (not a marker, malformed, expired or from the future).

        The marker is unsigned on purpose: signing every first page view of every new reader was most of what it
        cost. It can only say "this reader has a pseudonym and a page view pending since": forging it can make a
        reader count one more silent view (against themselves), never clear evidence, which only a signed state
        holds; and the cookie is HttpOnly, so no script or filter list reads or writes it.
        """
        match = _MARKER.fullmatch(value)
        if match is None:
            return None
        visitor_id, pending = match.group(1).decode("ascii"), int(match.group(2))
        now = time.time()
        if not -60 <= now - pending <= self.max_age or visitor_id_expired(visitor_id, now):
            return None
        state = VisitorState(visitor_id, pending_at=pending)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[value] = (state, pending)
        return state

    def companion_current(self, cookie_header: bytes, state: VisitorState) -> bool:
        """Whether the browser already holds the companion `state` calls for (none, when it calls for none)."""
        wanted = companion_value(state)
        held = _cookie_bytes(cookie_header, self._companion_needle) if cookie_header else None  # a first visit: none
        return held == wanted.encode() if wanted else not held

    def set_companion_header(self, state: VisitorState, *, https: bool) -> tuple[bytes, bytes]:
        value = companion_value(state)  # none called for: the browser's copy is deleted
        return self._header(self._companion_needle, value, https=https, http_only=False, deleting=not value)

    def _header(
        self, name_equals: bytes, value: str, *, https: bool, http_only: bool, deleting: bool = False
    ) -> tuple[bytes, bytes]:
        secure = self.secure if self.secure is not None else https
        attributes = self._attributes[http_only, secure, deleting]
        return (b"set-cookie", name_equals + value.encode("latin-1") + attributes)


def _attributes(max_age: int, http_only: bool, secure: bool) -> bytes:
    attributes = f"; Max-Age={max_age}; Path=/; SameSite=Lax"
    return (attributes + ("; HttpOnly" if http_only else "") + ("; Secure" if secure else "")).encode("latin-1")


class _Signer(TimestampSigner):
    """itsdangerous' timestamp signer, deriving each key once instead of on every signature (a hash per call).

    The derived keys are the ones the library derives (`derive_key` of the base class, at start); the signature,
    its check and the cookie's format stay the library's, so values signed before and after verify alike."""

    def __init__(self, secret_keys: list[str], *, salt: str, algorithm: HMACAlgorithm) -> None:
        super().__init__(secret_keys, salt=salt, algorithm=algorithm)
        self._derived = {key: super(_Signer, self).derive_key(key) for key in self.secret_keys}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        derived = self._derived.get(key)
        return derived if derived is not None else super().derive_key(key)


class _KeyedHMAC(HMACAlgorithm):
    """HMAC-SHA256 as itsdangerous' `HMACAlgorithm` computes it (the standard library's `hmac`, on OpenSSL),
    from a copy of a state keyed once per key: the key's two padded blocks are not hashed again on every call.

    Only the signer's own derived keys reach it, so it keeps one state per configured key."""

    def __init__(self) -> None:
        super().__init__("sha256")  # named by string: OpenSSL's fast path (itsdangerous' default passes a function)
        self._keyed: dict[bytes, hmac.HMAC] = {}

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        keyed = self._keyed.get(key)
        if keyed is None:
            keyed = self._keyed[key] = hmac.new(key, digestmod="sha256")
        mac = keyed.copy()
        mac.update(value)
        return mac.digest()


# A first page view's state: a pseudonym (as new_visitor_id makes them) and when the page was served. No ".":
# a signed value always has two.
_MARKER = re.compile(rb"([0-9a-f]{1,8}-[A-Za-z0-9_-]{12})~(\d{1,12})")
# The fields around pending_at, each at its default: a first page view's state sets none of them. Compared as
# slices: making a state to compare with costs more than the comparison.
_PENDING = VisitorState._fields.index("pending_at")
_UNSET_BEFORE, _UNSET_AFTER = VisitorState("")[1:_PENDING], VisitorState("")[_PENDING + 1 :]


def first_page_marker(state: VisitorState) -> str | None:
    """The unsigned value that stands for `state` when it is a first page view's (a pseudonym and a pending page
    view, nothing else), else None: anything else the server learnt is signed."""
    if state.pending_at is None or state[1:_PENDING] != _UNSET_BEFORE or state[_PENDING + 1 :] != _UNSET_AFTER:
        return None
    value = f"{state.visitor_id}~{state.pending_at}"
    return value if _MARKER.fullmatch(value.encode()) else None


_KIND_CODES = {"extension": "e", "network": "n"}
_CODE_KINDS = {code: kind for kind, code in _KIND_CODES.items()}


def companion_value(state: VisitorState) -> str:
    """What the detector may read of the state (verdict and when), so it reports only when something changed.

    Unsigned and readable by scripts on purpose: it decides nothing on the server, it only saves beacons.
    """
    if state.verdict is None or state.checked_at is None:
        return ""
    # The detector re-reports once this time is old: the time of its last report when there is one, so that the
    # server's expectation (silence.py) and the detector's schedule run on one clock.
    return f"{_VERDICT_CODES[state.verdict]}.{state.reported_at or state.checked_at}"


def _to_payload(state: VisitorState) -> str:
    visitor_id, verdict, checked_at, views, dismissed_at, kind, meter, reported_at, pending_at, silent, bare = state
    return (
        f"{visitor_id}~{_VERDICT_FIELD[verdict]}~{_number(checked_at)}~{views}~{_number(dismissed_at)}"
        f"~{_KIND_CODES.get(kind, '') if kind is not None else ''}~{_number(meter)}~{_number(reported_at)}"
        f"~{_number(pending_at)}~{silent}~{'s' if bare else ''}"
    )


_VERDICT_FIELD: dict[Verdict | None, str] = {None: "", **{verdict: code for verdict, code in _VERDICT_CODES.items()}}


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


_PAYLOAD = re.compile(
    r"([A-Za-z0-9_-]{1,32})~([bnu]?)~(\d{0,12})~(\d{1,9})~(\d{0,12})~([en]?)"
    r"(?:~(\d{0,9}))?"  # meter (added in 0.2)
    r"(?:~(\d{0,12})~(\d{0,12})~(\d{1,3})~(s?))?"  # reported, pending, silent, scriptless (added in 0.3)
)


def _from_payload(payload: str) -> VisitorState | None:
    """Strict parsing: a well-signed cookie from another version must not crash anything either."""
    match = _PAYLOAD.fullmatch(payload)
    if match is None:
        return None
    visitor_id, code, checked_at, views, dismissed_at, kind, meter, reported, pending, silent, bare = match.groups()
    return VisitorState(
        visitor_id,
        _CODE_VERDICTS[code] if code else None,
        int(checked_at) if checked_at else None,
        int(views),
        int(dismissed_at) if dismissed_at else None,
        _CODE_KINDS[kind] if kind else None,
        int(meter) if meter else None,
        int(reported) if reported else None,
        int(pending) if pending else None,
        int(silent) if silent else 0,
        bool(bare),
    )


def _cookie_bytes(header: bytes, needle: bytes) -> bytes | None:
    """The value of the cookie `needle` (its name and "=") in a `Cookie` header, read as `cookie_value` reads it:
    the first of the header's `;`-separated parts that starts with `needle` after spaces and tabs. By `partition`,
    which takes its one argument directly: `find` parses an argument tuple first (~1k instructions a call, twice)."""
    before, found, rest = header.partition(needle)
    first = True
    while found:
        lead = before.rstrip(b" \t")
        if lead[-1:] == b";" or (first and not lead):  # just after a ";", or the header's first part
            return rest.partition(b";")[0].strip().strip(b'"')
        first = False  # a later `before` starts inside the header: empty, it follows the last needle's "="
        before, found, rest = rest.partition(needle)
    return None


def cookie_value(cookie_header: str, name: str) -> str | None:
    """The value of one cookie in a `Cookie` header, or None."""
    for chunk in cookie_header.split(";"):
        key, sep, value = chunk.partition("=")
        if sep and key.strip() == name:
            return value.strip().strip('"')
    return None
