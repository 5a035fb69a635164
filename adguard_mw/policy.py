"""Who is asked, when, and how: a pure function of plain data.

`decide` reads the visitor's state, the path and the clock and returns what to show. It does no I/O, so every
rule here is tested exhaustively without a server. The guiding rules: a reader without a verdict (a first visit,
no JavaScript, a crawler, no cookie) is never asked; only a fresh `blocked` verdict ever is.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from starlette.requests import Request

from .state import Verdict, VisitorState


class Mode(StrEnum):
    OBSERVE = "observe"  # detect and log only
    NOTICE = "notice"  # a small dismissible banner
    SOFT = "soft"  # a dismissible dialog over the page
    HARD = "hard"  # the message instead of the content, with a way to check again


DISMISSIBLE = frozenset({Mode.NOTICE, Mode.SOFT})

ExemptHook = Callable[[Request], bool | Awaitable[bool]]


@dataclass(frozen=True)
class Policy:
    """What the site owner decides. Every value is checked here, so a mistake fails at start-up in one line."""

    mode: Mode = Mode.OBSERVE
    # Readers behind a network filter (Pi-hole, a workplace proxy) cannot allow-list the site from their browser:
    # by default they get a notice, never a wall. Never stronger than `mode`.
    network_mode: Mode = Mode.NOTICE
    free_page_views: int = 0  # page views a blocking reader gets after detection before the message
    dismiss_cooldown: int = 24 * 3600  # seconds a "continue" on a notice or soft message is remembered
    verdict_ttl: int = 7 * 24 * 3600  # seconds after which a verdict is too old to act on
    include: tuple[str, ...] = ("/*",)  # path patterns (fnmatch) where the message may appear
    exclude: tuple[str, ...] = ()  # path patterns where it never does, checked first
    exempt: ExemptHook | None = None  # e.g. subscribers or logged-in readers; sync or async
    _include_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _exclude_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        for key in ("mode", "network_mode"):
            try:
                object.__setattr__(self, key, Mode(getattr(self, key)))
            except ValueError:
                allowed = ", ".join(mode.value for mode in Mode)
                raise ValueError(f"adguard_mw: policy {key} {getattr(self, key)!r} is not one of: {allowed}") from None
        for key in ("free_page_views", "dismiss_cooldown", "verdict_ttl"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"adguard_mw: policy {key} must be a whole number >= 0, got {value!r}")
        for key in ("include", "exclude"):
            patterns = getattr(self, key)
            if isinstance(patterns, str) or not all(isinstance(p, str) and p.startswith("/") for p in patterns):
                raise ValueError(
                    f"adguard_mw: policy {key} must be a list of path patterns starting with '/', got {patterns!r}"
                )
            object.__setattr__(self, key, tuple(patterns))
        if self.exempt is not None and not callable(self.exempt):
            raise ValueError(f"adguard_mw: policy exempt must be a callable taking the request, got {self.exempt!r}")
        object.__setattr__(self, "_include_re", _compile(self.include))
        object.__setattr__(self, "_exclude_re", _compile(self.exclude))

    def covers(self, path: str) -> bool:
        """Whether the message may appear on this path (exclusions win)."""
        if self._exclude_re is not None and self._exclude_re.match(path):
            return False
        return self._include_re is not None and self._include_re.match(path) is not None


@dataclass(frozen=True, slots=True)
class Decision:
    show: Mode | None = None  # the message to show, if any
    state: VisitorState | None = None  # the new state when this page view changes it (the meter)


NOTHING = Decision()


def decide(policy: Policy, state: VisitorState | None, path: str, now: int) -> Decision:
    """What this HTML page view gets. The exemption hook and crawler check come after, only when a message is due."""
    if policy.mode is Mode.OBSERVE or state is None or state.verdict is not Verdict.BLOCKED:
        return NOTHING
    if state.checked_at is None or now - state.checked_at > policy.verdict_ttl or not policy.covers(path):
        return NOTHING
    if state.views < policy.free_page_views:
        return Decision(state=state.replace(views=state.views + 1))
    mode = mode_for(policy, state)
    if mode is Mode.OBSERVE:
        return NOTHING
    if mode in DISMISSIBLE and state.dismissed_at is not None and now - state.dismissed_at < policy.dismiss_cooldown:
        return NOTHING
    return Decision(show=mode)


_STRENGTH = {Mode.OBSERVE: 0, Mode.NOTICE: 1, Mode.SOFT: 2, Mode.HARD: 3}


def mode_for(policy: Policy, state: VisitorState) -> Mode:
    if state.kind == "network" and _STRENGTH[policy.network_mode] < _STRENGTH[policy.mode]:
        return policy.network_mode
    return policy.mode


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns))


# Crawlers carry no cookie and so are never asked; this guards the rare crawler that keeps cookies.
_CRAWLER = re.compile(r"bot|crawl|spider|slurp|mediapartners|facebookexternalhit|preview", re.IGNORECASE)


def is_crawler(user_agent: str) -> bool:
    return not user_agent or _CRAWLER.search(user_agent) is not None
