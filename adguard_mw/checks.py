"""The value checks settings are described with, shared by code and file: each returns the value to use or raises
`Invalid` with what is allowed; the caller names the setting (or the file's key) and the value, in one line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

_E = TypeVar("_E", bound=StrEnum)
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


class Invalid(Exception):
    """Raised by a check with what is allowed; the caller names the option (or the file's key) and the value.

    `wording` is how the constructor says it, for messages people already know; the file always says
    `key = value is not allowed: <allowed>`."""

    def __init__(
        self,
        allowed: str,
        *,
        error: type[Exception] = ValueError,
        wording: str = "{name} must be {allowed}, got {value!r}",
    ) -> None:
        super().__init__(allowed)
        self.allowed = allowed
        self.error = error
        self.wording = wording


def did_you_mean(value: Any, allowed: Any) -> str:
    """`did you mean 'soft'? ` for a near miss among `allowed`, else nothing; it goes first, where it is seen."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(a) for a in allowed if a], n=1, cutoff=0.7)
    return f"did you mean {close[0]!r}? " if close else ""


def count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Invalid("a whole number, 0 or more")
    return value


def duration(value: Any) -> int:
    """Seconds from 3600 or "1h", "90m", "7d", "2w"."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match:
            return int(match.group(1)) * _SECONDS[match.group(2)]
    raise Invalid('a duration such as "30m", "24h", "7d" or a number of seconds')


def seconds(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 60:
        raise Invalid("a number of seconds above 0 and at most 60, such as 0.5")
    return float(value)


def percent(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 100:
        raise Invalid("a percentage from 0 to 100")
    return float(value)


def weight(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
        raise Invalid("a number above 0")
    return float(value)


def choice(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in allowed:
            raise Invalid(did_you_mean(value, allowed) + "one of " + ", ".join(allowed))
        return str(value)

    return parse


def member(kind: type[_E]) -> Callable[[Any], _E]:
    """One of an enumeration's values (or members), as the member."""
    values = [item.value for item in kind]

    def parse(value: Any) -> _E:
        if not isinstance(value, str) or value not in values:
            listed = ", ".join(values)
            raise Invalid(
                did_you_mean(value, values) + "one of " + listed, wording="{name} {value!r} is not one of: " + listed
            )
        return kind(value)

    return parse


def patterns(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(p, str) and p.startswith("/") for p in value):
        raise Invalid("a list of path patterns starting with '/' such as [\"/news/*\"]")
    return tuple(value)


def pattern(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise Invalid("a path pattern starting with '/' such as \"/news/*\"")
    return value


def short_name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise Invalid("1 to 32 letters, digits, '_' or '-'", wording="{name} {value!r} must be {allowed}")
    return value
