"""Who is asked, when: `decide` is a pure function, so every rule is checked here without a server."""

from __future__ import annotations

import pytest

from adguard_mw.policy import Decision, Mode, Policy, decide, is_crawler
from adguard_mw.state import Verdict, VisitorState

NOW = 1_800_000_000
BLOCKED = VisitorState("v", Verdict.BLOCKED, checked_at=NOW - 60)


@pytest.mark.parametrize("mode", [Mode.NOTICE, Mode.SOFT, Mode.HARD])
def test_a_fresh_blocked_verdict_gets_the_message(mode: Mode) -> None:
    assert decide(Policy(mode=mode), BLOCKED, "/news/1", NOW) == Decision(show=mode)


@pytest.mark.parametrize(
    "state",
    [
        None,  # first visit, no JavaScript, a crawler: no cookie at all
        VisitorState("v"),  # no verdict yet (after "check again")
        VisitorState("v", Verdict.NOT_BLOCKED, checked_at=NOW),
        VisitorState("v", Verdict.UNKNOWN, checked_at=NOW),  # never accuse on doubt
    ],
    ids=["no-cookie", "no-verdict", "not-blocked", "unknown"],
)
def test_readers_without_a_blocked_verdict_are_never_asked(state: VisitorState | None) -> None:
    assert decide(Policy(mode=Mode.HARD), state, "/", NOW) == Decision()


def test_observe_only_watches() -> None:
    assert decide(Policy(mode=Mode.OBSERVE), BLOCKED, "/", NOW) == Decision()


def test_a_stale_verdict_is_not_acted_on() -> None:
    stale = BLOCKED.replace(checked_at=NOW - 8 * 24 * 3600)
    assert decide(Policy(mode=Mode.SOFT, verdict_ttl=7 * 24 * 3600), stale, "/", NOW) == Decision()


def test_free_page_views_are_counted_then_the_message_appears() -> None:
    policy = Policy(mode=Mode.SOFT, free_page_views=2)
    state = BLOCKED
    shown = []
    for _ in range(4):
        decision = decide(policy, state, "/", NOW)
        shown.append(decision.show)
        state = decision.state or state
    assert shown == [None, None, Mode.SOFT, Mode.SOFT]
    assert state.views == 2  # the meter stops counting (and the cookie stops changing) once it is used up


@pytest.mark.parametrize("mode", [Mode.NOTICE, Mode.SOFT])
def test_a_dismissal_is_respected_for_the_cool_down(mode: Mode) -> None:
    policy = Policy(mode=mode, dismiss_cooldown=3600)
    assert decide(policy, BLOCKED.replace(dismissed_at=NOW - 60), "/", NOW) == Decision()
    assert decide(policy, BLOCKED.replace(dismissed_at=NOW - 3601), "/", NOW) == Decision(show=mode)


def test_the_hard_message_cannot_be_dismissed() -> None:
    assert decide(Policy(mode=Mode.HARD), BLOCKED.replace(dismissed_at=NOW), "/", NOW) == Decision(show=Mode.HARD)


@pytest.mark.parametrize(
    ("include", "exclude", "path", "asked"),
    [
        (("/*",), (), "/anything", True),
        (("/news/*",), (), "/news/today", True),
        (("/news/*",), (), "/about", False),
        (("/*",), ("/account/*", "/"), "/account/settings", False),
        (("/*",), ("/account/*", "/"), "/", False),
        (("/news/*",), ("/news/free-*",), "/news/free-story", False),
    ],
)
def test_path_patterns(include: tuple[str, ...], exclude: tuple[str, ...], path: str, asked: bool) -> None:
    policy = Policy(mode=Mode.SOFT, include=include, exclude=exclude)
    assert (decide(policy, BLOCKED, path, NOW).show is not None) is asked


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "wall"}, "policy mode 'wall' is not one of: observe, notice, soft, hard"),
        ({"free_page_views": -1}, "policy free_page_views must be a whole number >= 0, got -1"),
        ({"dismiss_cooldown": 1.5}, "policy dismiss_cooldown must be a whole number >= 0, got 1.5"),
        ({"include": "/news/*"}, "policy include must be a list of path patterns starting with '/'"),
        ({"exclude": ["news"]}, "policy exclude must be a list of path patterns starting with '/'"),
        ({"exempt": "subscribers"}, "policy exempt must be a callable taking the request"),
    ],
)
def test_mistakes_fail_at_start_up_in_one_line(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^adguard_mw: " + message.replace("(", r"\(").replace(")", r"\)")):
        Policy(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("user_agent", "crawler"),
    [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", True),
        ("facebookexternalhit/1.1", True),
        ("", True),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0 Safari/537.36", False),
    ],
)
def test_crawler_recognition(user_agent: str, crawler: bool) -> None:
    assert is_crawler(user_agent) is crawler


def test_readers_behind_a_network_filter_get_a_notice_by_default() -> None:
    network = BLOCKED.replace(kind="network")
    assert decide(Policy(mode=Mode.HARD), network, "/", NOW) == Decision(show=Mode.NOTICE)
    assert decide(Policy(mode=Mode.HARD, network_mode=Mode.OBSERVE), network, "/", NOW) == Decision()
    assert decide(Policy(mode=Mode.NOTICE, network_mode=Mode.HARD), network, "/", NOW) == Decision(show=Mode.NOTICE)
