"""Who is asked, when, and how: a pure function of plain data.

`decide` reads the visitor's state, the path and the clock and returns what to show. It does no I/O, so every
rule here is tested exhaustively without a server. The guiding rules: a reader without a verdict (a first visit,
no JavaScript, a crawler, no cookie) is never asked; only a fresh `blocked` verdict ever is.

What a reader meets is the policy, narrowed three ways, all sticky and computed from data we already have:
the first path rule that matches the page (sections can differ), the reader's A/B variant and whether the
reader is in the rollout (both a hash of the pseudonymous visitor id, so nothing more is stored).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from starlette.requests import Request

from . import checks
from .checks import Invalid, count, duration, member, pattern, patterns, percent, seconds
from .state import Verdict, VisitorState


class Mode(StrEnum):
    OBSERVE = "observe"  # detect and log only
    NOTICE = "notice"  # a small dismissible banner
    INSTRUCTIONS = "instructions"  # a dismissible banner with just the steps to allow-list the site
    SOFT = "soft"  # a dismissible dialog over the page
    HARD = "hard"  # the message instead of the content, with a way to check again


class Meter(StrEnum):
    """When the free page views start again."""

    VERDICT = "verdict"  # once per blocked verdict
    DAY = "day"
    WEEK = "week"  # weeks start on Monday, UTC
    MONTH = "month"


# The members tested on every page, as module constants: in Python 3.11 reading a member from its Enum class costs
# about what a function call does (~0.9k instructions), reading a global ~0.05k.
HARD, OBSERVE, PER_VERDICT, _BLOCKED = Mode.HARD, Mode.OBSERVE, Meter.VERDICT, Verdict.BLOCKED
DISMISSIBLE = frozenset({Mode.NOTICE, Mode.INSTRUCTIONS, Mode.SOFT})
_STRENGTH = {Mode.OBSERVE: 0, Mode.NOTICE: 1, Mode.INSTRUCTIONS: 1, Mode.SOFT: 2, Mode.HARD: 3}
_T = TypeVar("_T")

ExemptHook = Callable[[Request], bool | Awaitable[bool]]


@dataclass(frozen=True)
class Setting:
    """How one field of `Policy`, `Rule` or `Variant` is checked and documented. The constructors check with it,
    and config.py's `[policy]`, `[[policy.rules]]` and `[[policy.variants]]` tables are made from it."""

    check: Callable[[Any], Any]  # the value as given (in code or in the file) -> the value used; raises Invalid
    help: str
    shown: str | None = None  # the default as the docs say it, when the value itself would not say it well


REQUIRED: Any = object()  # the default of a setting that has none


def setting(default: Any, check: Callable[[Any], Any], help: str, *, shown: str | None = None) -> Any:
    """A field described by a `Setting`; `default=REQUIRED` for one that has none."""
    metadata = {"setting": Setting(check, help, shown)}
    return field(metadata=metadata) if default is REQUIRED else field(default=default, metadata=metadata)


_mode, _meter = member(Mode), member(Meter)
_MODES = ", ".join(f'`"{m.value}"`' for m in Mode)
_METERS = ", ".join(f'`"{m.value}"`' for m in Meter)


def _inherited(check: Callable[[Any], Any], help: str) -> Any:
    return setting(None, check, help, shown="(inherited)")


def _check_settings(record: Any, where: Callable[[str], str]) -> None:
    """Checks (and converts) each described field; None stays for a field whose default is None (unset)."""
    for described in dataclasses.fields(record):
        about: Setting | None = described.metadata.get("setting")
        value = getattr(record, described.name)
        if about is None or (value is None and described.default is None):
            continue
        try:
            object.__setattr__(record, described.name, about.check(value))
        except Invalid as exc:
            text = exc.wording.format(name=where(described.name), allowed=exc.allowed, value=value)
            raise _fail(text) from None


def _fail(what: str) -> ValueError:
    return ValueError(f"adguard_mw: policy {what}")


@dataclass(frozen=True)
class Rule:
    """Settings for the pages matching `path` (fnmatch: `*` matches across `/`); unset values are inherited."""

    path: str = setting(REQUIRED, pattern, 'A path pattern such as "/news/*".', shown="(required)")
    mode: Mode | None = _inherited(_mode, "The mode on these pages.")
    network_mode: Mode | None = _inherited(_mode, "The mode for network-level blocking on these pages.")
    free_page_views: int | None = _inherited(count, "Free page views on these pages.")
    meter: Meter | None = _inherited(_meter, "When those free page views start again.")
    dismiss_cooldown: int | None = _inherited(duration, "How long a dismissal lasts on these pages.")

    def __post_init__(self) -> None:
        _check_settings(self, lambda key: "rule path" if key == "path" else f"rule {self.path!r} {key}")


@dataclass(frozen=True)
class Variant:
    """One arm of an A/B test. Readers are assigned by a hash of their visitor id, so they stay in it.

    `mode` replaces the policy's mode (a path rule that sets a mode still wins: a section kept quiet stays
    quiet); the variant's message, if any, is the middleware's business.
    """

    name: str = setting(
        REQUIRED, checks.short_name, "The variant's name, as events and the report show it.", shown="(required)"
    )
    weight: float = setting(1.0, checks.weight, "Its share relative to the other variants' weights.", shown="1")
    mode: Mode | None = setting(None, _mode, "The mode readers in this variant meet.", shown="(the policy's)")

    def __post_init__(self) -> None:
        _check_settings(self, lambda key: "variant name" if key == "name" else f"variant {self.name!r} {key}")


@dataclass(frozen=True, slots=True)
class Effective:
    """The settings that apply to one reader on one page."""

    mode: Mode
    network_mode: Mode
    free_page_views: int
    meter: Meter
    dismiss_cooldown: int


_EVERY_PATH = ("/*",)  # the default `include`: a policy with it (and no `exclude`) covers a path without a regex


@dataclass(frozen=True)
class Policy:
    """What the site owner decides. Every value is checked here, so a mistake fails at start-up in one line."""

    mode: Mode = setting(
        Mode.OBSERVE,
        _mode,
        f"{_MODES}: detect and log only, a banner, a banner with only the allow-list steps, a dismissible dialog, "
        "or the message instead of the page. The hard wall replaces only a page the app answered with `200` and "
        "HTML (the app always runs): a 404, a redirect or JSON under a walled path goes out as the app sent it.",
    )
    # Readers behind a network filter (Pi-hole, a workplace proxy) cannot allow-list the site from their browser:
    # by default they get a notice, never a wall.
    network_mode: Mode = setting(
        Mode.NOTICE,
        _mode,
        "The mode for readers whose ads are filtered by their network (a DNS filter, a workplace proxy): they "
        "cannot allow-list the site from their browser. Never stronger than `mode`.",
    )
    free_page_views: int = setting(0, count, "Page views a blocking reader gets before the message, per meter.")
    meter: Meter = setting(Meter.VERDICT, _meter, f"{_METERS}: when the free page views start again (UTC periods).")
    dismiss_cooldown: int = setting(
        24 * 3600, duration, "How long a dismissed notice or dialog stays away.", shown='"24h"'
    )
    verdict_ttl: int = setting(7 * 24 * 3600, duration, "How old a verdict may be and still be acted on.", shown='"7d"')
    include: tuple[str, ...] = setting(
        _EVERY_PATH, patterns, "Path patterns where a message may appear (`*` matches anything)."
    )
    exclude: tuple[str, ...] = setting((), patterns, "Path patterns where it never does; checked first.")
    rules: tuple[Rule, ...] = ()  # per-section settings; the first rule whose path matches wins
    rollout: float = setting(
        100.0,
        percent,
        "Percent of readers the policy applies to, chosen by a hash of their pseudonymous id; the rest are "
        'observed (their events say `mode = "observe"`).',
        shown="100",
    )
    variants: tuple[Variant, ...] = ()  # A/B arms, split by weight
    exempt: ExemptHook | None = None  # e.g. subscribers or logged-in readers; sync or async
    exempt_timeout: float = setting(
        1.0,
        seconds,
        "Seconds the site's `exempt` hook (set in code) may take; a slower answer counts as exempt, so the "
        "reader gets the page unasked, and is logged once.",
        shown="1",
    )
    _include_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _exclude_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _rules_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False, default=())
    # Every mode some reader may meet somewhere: the policy's, its rules' and its variants'.
    modes: frozenset[Mode] = field(init=False, repr=False, compare=False, default=frozenset())
    # Every event's mode and variant labels when they are the same for all readers and pages (no rules, no
    # variants, everyone in the rollout): made once, not read from the enum on every event.
    _same_labels: tuple[str, None] | None = field(init=False, repr=False, compare=False, default=None)
    # ... and the settings every reader meets on every page then (a frozen dataclass costs ~10k to make).
    _same_effective: Effective | None = field(init=False, repr=False, compare=False, default=None)
    # Whether `include` and `exclude` are the defaults (every path, none excluded): no pattern to match per page.
    _every_path: bool = field(init=False, repr=False, compare=False, default=False)

    def __post_init__(self) -> None:
        _check_settings(self, str)
        if isinstance(self.rules, Rule) or not all(isinstance(rule, Rule) for rule in self.rules):
            raise _fail(f"rules must be a list of adguard_mw.Rule, got {self.rules!r}")
        object.__setattr__(self, "rules", tuple(self.rules))
        if isinstance(self.variants, Variant) or not all(isinstance(v, Variant) for v in self.variants):
            raise _fail(f"variants must be a list of adguard_mw.Variant, got {self.variants!r}")
        names = [variant.name for variant in self.variants]
        if len(set(names)) != len(names):
            raise _fail(f"variant names must differ, got {names!r}")
        object.__setattr__(self, "variants", tuple(self.variants))
        if self.exempt is not None and not callable(self.exempt):
            raise _fail(f"exempt must be a callable taking the request, got {self.exempt!r}")
        object.__setattr__(self, "_include_re", _compile(self.include))
        object.__setattr__(self, "_exclude_re", _compile(self.exclude))
        object.__setattr__(self, "_rules_re", _compile_rules(self.rules))
        total, running = sum(variant.weight for variant in self.variants), 0.0
        cumulative = []
        for variant in self.variants:
            running += variant.weight / total
            cumulative.append(running)
        object.__setattr__(self, "_cumulative", tuple(cumulative))
        named = (self.mode, *(rule.mode for rule in self.rules), *(variant.mode for variant in self.variants))
        object.__setattr__(self, "modes", frozenset(mode for mode in named if mode is not None))
        if not self.rules and not self.variants and self.rollout >= 100:
            object.__setattr__(self, "_same_labels", (self.mode.value, None))
            same = Effective(self.mode, self.network_mode, self.free_page_views, self.meter, self.dismiss_cooldown)
            object.__setattr__(self, "_same_effective", same)
        object.__setattr__(self, "_every_path", self.include == _EVERY_PATH and not self.exclude)

    def covers(self, path: str) -> bool:
        """Whether the message may appear on this path (exclusions win)."""
        if self._every_path:
            return path.startswith("/")  # what `_EVERY_PATH`'s one pattern, "/*", matches
        if self._exclude_re is not None and self._exclude_re.match(path):
            return False
        return self._include_re is not None and self._include_re.match(path) is not None

    def rule_for(self, path: str) -> Rule | None:
        match = self._rules_re.match(path) if self._rules_re is not None else None
        return self.rules[int(match.lastgroup[1:])] if match is not None and match.lastgroup else None

    def may_wall(self, path: str) -> bool:
        """Whether a hard wall can hide this page from some reader: then crawlers are told so (no cloaking)."""
        if not self.covers(path):
            return False
        rule = self.rule_for(path)
        if rule is not None and rule.mode is not None:
            return rule.mode is Mode.HARD
        return self.mode is Mode.HARD or any(variant.mode is Mode.HARD for variant in self.variants)

    def variant_for(self, visitor_id: str | None) -> Variant | None:
        """The reader's A/B arm: the same for as long as the visitor id lives."""
        if not self.variants or visitor_id is None:
            return None
        point = _bucket(visitor_id, "variant")
        for variant, edge in zip(self.variants, self._cumulative, strict=True):
            if point < edge:
                return variant
        return self.variants[-1]

    def in_rollout(self, visitor_id: str | None) -> bool:
        if self.rollout >= 100:
            return True
        return visitor_id is not None and _bucket(visitor_id, "rollout") * 100 < self.rollout

    def effective(self, path: str, visitor_id: str | None) -> Effective:
        """The settings for this reader on this page: rule over variant over the policy; outside the rollout,
        observe."""
        if self._same_effective is not None:
            return self._same_effective
        rule = self.rule_for(path) if self.rules else None
        variant = self.variant_for(visitor_id)
        mode = self.mode
        if variant is not None and variant.mode is not None:
            mode = variant.mode
        if rule is not None and rule.mode is not None:
            mode = rule.mode
        if not self.in_rollout(visitor_id):
            mode = Mode.OBSERVE
        if rule is None:
            return Effective(mode, self.network_mode, self.free_page_views, self.meter, self.dismiss_cooldown)
        return Effective(
            mode,
            _pick(rule.network_mode, self.network_mode),
            _pick(rule.free_page_views, self.free_page_views),
            _pick(rule.meter, self.meter),
            _pick(rule.dismiss_cooldown, self.dismiss_cooldown),
        )

    def labels(self, path: str, visitor_id: str | None) -> tuple[str, str | None]:
        """The mode this reader meets on this page and their variant's name, as every event records them."""
        if self._same_labels is not None:
            return self._same_labels
        variant = self.variant_for(visitor_id)
        return self.effective(path, visitor_id).mode.value, variant.name if variant is not None else None

    def replace(self, **changes: object) -> Policy:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _pick(value: _T | None, default: _T) -> _T:
    return default if value is None else value


class Decision(NamedTuple):
    """A page view's outcome; a named tuple, cheaper to make than a frozen dataclass."""

    show: Mode | None = None  # the message to show, if any
    state: VisitorState | None = None  # the new state when this page view changes it (the meter)


NOTHING = Decision()


def decide(policy: Policy, state: VisitorState | None, path: str, now: int) -> Decision:
    """What this HTML page view gets. The exemption hook and crawler check come after, only when a message is due."""
    if state is None or state.verdict is not _BLOCKED or state.checked_at is None:
        return NOTHING
    if now - state.checked_at > policy.verdict_ttl or not policy.covers(path):
        return NOTHING
    settings = policy._same_effective or policy.effective(path, state.visitor_id)  # a call saved for most sites
    mode = settings.mode
    if state.kind == "network" and _STRENGTH[settings.network_mode] < _STRENGTH[mode]:
        mode = settings.network_mode
    if mode is OBSERVE:
        return NOTHING
    period = None if settings.meter is PER_VERDICT else meter_period(settings.meter, now)
    views = state.views if period is None or state.meter == period else 0
    if views < settings.free_page_views:
        return Decision(state=state.replace(views=views + 1, meter=period))
    if mode in DISMISSIBLE and state.dismissed_at is not None and now - state.dismissed_at < settings.dismiss_cooldown:
        return NOTHING
    return _SHOWN[mode]


_SHOWN = {mode: Decision(show=mode) for mode in Mode}  # a named tuple is immutable: one per mode will do


def meter_period(meter: Meter, now: int) -> int | None:
    """A number naming the meter's current period (UTC), or None when the meter runs per verdict."""
    if meter is Meter.VERDICT:
        return None
    day = now // 86400
    if meter is Meter.DAY:
        return day
    if meter is Meter.WEEK:
        return (day + 3) // 7  # 1970-01-01 was a Thursday: weeks turn over on Mondays
    moment = datetime.fromtimestamp(now, UTC)
    return moment.year * 12 + moment.month - 1


def _bucket(visitor_id: str, purpose: str) -> float:
    """A stable, uniform number in [0, 1) for this visitor and purpose (independent across purposes)."""
    digest = hashlib.blake2b(f"{purpose}:{visitor_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns))


def _compile_rules(rules: tuple[Rule, ...]) -> re.Pattern[str] | None:
    """One regex for all rules; alternatives are tried in order, so the first matching rule is `lastgroup`."""
    if not rules:
        return None
    return re.compile("|".join(f"(?P<r{index}>{fnmatch.translate(rule.path)})" for index, rule in enumerate(rules)))


# Crawlers carry no cookie and so are never asked; this guards the rare crawler that keeps cookies.
_CRAWLER = re.compile(r"bot|crawl|spider|slurp|mediapartners|facebookexternalhit|preview", re.IGNORECASE)


_MAX_USER_AGENT = 512  # characters of User-Agent looked at; real ones are under 300, crawlers' names come early


def is_crawler(user_agent: str) -> bool:
    """Cached on a bounded prefix: a reader's header of any length costs at most 512 characters of cache."""
    return _is_crawler(user_agent[:_MAX_USER_AGENT])


@lru_cache(maxsize=1024)
def _is_crawler(user_agent: str) -> bool:
    return not user_agent or _CRAWLER.search(user_agent) is not None


def is_crawler_header(user_agent: bytes) -> bool:
    """`is_crawler` by the header's bytes as they came: nothing decoded for a browser seen before."""
    return _is_crawler_header(user_agent[:_MAX_USER_AGENT])


@lru_cache(maxsize=1024)  # keys of at most 512 bytes, as `_is_crawler`'s
def _is_crawler_header(user_agent: bytes) -> bool:
    return _is_crawler(user_agent.decode("latin-1"))
