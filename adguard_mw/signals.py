"""From the detector's separate signals to one verdict, and to the kind of blocking behind it.

The browser reports raw signals; the verdict is decided here, on the server, so the rule is in one place:
any `blocked` signal means blocked, all `not_blocked` means not blocked, anything else is `unknown`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache

from .state import Verdict

# Signals about first-party requests and elements: only a blocker inside the browser can act on them.
IN_BROWSER = ("cosmetic", "script", "image", "detector")
# A request to another host: DNS and network filters (Pi-hole, NextDNS, a filtering proxy) block those too.
ELSEWHERE = ("third_party",)
SIGNALS = frozenset(IN_BROWSER + ELSEWHERE)
VALUES = tuple(verdict.value for verdict in Verdict)


class Kind(StrEnum):
    EXTENSION = "extension"  # in the browser: an extension or built-in blocking; the reader can allow-list us
    NETWORK = "network"  # outside the browser: the reader cannot allow-list us from the browser


def combine(signals: Mapping[str, str]) -> tuple[Verdict, Kind | None]:
    """One verdict from a report's signals (checked: known names, each a verdict's value)."""
    return _combined(tuple(signals.items()))


# Reports repeat a handful of shapes: each is combined once. At most 256 keys of at most five short pairs.
@lru_cache(maxsize=256)
def _combined(items: tuple[tuple[str, str], ...]) -> tuple[Verdict, Kind | None]:
    signals = dict(items)
    values = set(signals.values())
    if Verdict.BLOCKED in values:
        verdict = Verdict.BLOCKED
    elif values == {Verdict.NOT_BLOCKED}:
        verdict = Verdict.NOT_BLOCKED
    else:
        verdict = Verdict.UNKNOWN
    if any(signals.get(name) == Verdict.BLOCKED for name in IN_BROWSER):
        return verdict, Kind.EXTENSION
    if any(signals.get(name) == Verdict.BLOCKED for name in ELSEWHERE):
        return verdict, Kind.NETWORK
    return verdict, None
