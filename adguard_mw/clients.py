"""Coarse facts about the reader's browser, for the event log and the allow-list instructions.

Only these facts leave this module; the raw user-agent string is never stored. Parsing is slow (tens of
microseconds), so it happens only for events and messages, never for ordinary page views, and is cached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from user_agents import parse


@dataclass(frozen=True, slots=True)
class ClientFacts:
    browser: str  # family, e.g. "Chrome", "Firefox", "Mobile Safari"
    browser_major: str  # major version only
    os: str  # family, e.g. "Windows", "Android", "iOS"
    device: str  # "desktop", "mobile", "tablet", "bot" or "other"


UNKNOWN_CLIENT = ClientFacts("Other", "", "Other", "other")


MAX_USER_AGENT = 512  # characters of User-Agent that are parsed (real ones are under 300)


def describe_client(user_agent: str, brands: str = "") -> ClientFacts:
    """`brands` is the Sec-CH-UA client hint: Brave's user-agent says Chrome, its hint says Brave (on https).

    Both headers are the reader's text, of any length: only a bounded prefix of the user-agent and one fact of
    the hint become the cache key, so the cache holds at most 1024 keys of at most 512 characters each.
    """
    return _describe(user_agent[:MAX_USER_AGENT], '"Brave"' in brands[:MAX_USER_AGENT])


def names_brave(brands: bytes) -> bool:
    """Whether a Sec-CH-UA header as it came names Brave, read as `describe_client` reads it, nothing decoded.
    `find`, not `in`: bytes' `in` first tries its operand as an int and formats a TypeError (~1k more)."""
    return brands.find(b'"Brave"', 0, MAX_USER_AGENT) >= 0


def describe_browser(user_agent: str, brave: bool) -> ClientFacts:
    """`describe_client` for a caller that has read the hint already (`names_brave`)."""
    return _describe(user_agent[:MAX_USER_AGENT], brave)


@lru_cache(maxsize=1024)
def _describe(user_agent: str, brave: bool) -> ClientFacts:
    if not user_agent:
        return UNKNOWN_CLIENT
    if brave:
        facts = _describe(user_agent, False)
        return ClientFacts("Brave", facts.browser_major, facts.os, facts.device)
    agent = parse(user_agent)
    if agent.is_bot:
        device = "bot"
    elif agent.is_tablet:
        device = "tablet"
    elif agent.is_mobile:
        device = "mobile"
    elif agent.is_pc:
        device = "desktop"
    else:
        device = "other"
    major = agent.browser.version[0] if agent.browser.version else ""
    return ClientFacts(agent.browser.family, str(major), agent.os.family, device)


_DERIVED_CACHES: list[Callable[[], None]] = []  # caches of what is derived from these facts (events.py)


def clear_cache() -> None:
    """Forget every parsed user-agent (tests that break the parser need it really called)."""
    _describe.cache_clear()
    for clear in _DERIVED_CACHES:
        clear()
