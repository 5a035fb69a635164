"""Who is asked, when: `decide` is a pure function, so every rule is checked here without a server."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adguard_mw import config
from adguard_mw.policy import Decision, Meter, Mode, Policy, Rule, Variant, decide, is_crawler, meter_period
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
        ({"mode": "wall"}, "policy mode 'wall' is not one of: observe, notice, instructions, soft, hard"),
        ({"free_page_views": -1}, "policy free_page_views must be a whole number, 0 or more, got -1"),
        ({"dismiss_cooldown": 1.5}, 'policy dismiss_cooldown must be a duration such as "30m", "24h", "7d"'),
        ({"include": "/news/*"}, "policy include must be a list of path patterns starting with '/'"),
        ({"exclude": ["news"]}, "policy exclude must be a list of path patterns starting with '/'"),
        ({"exempt": "subscribers"}, "policy exempt must be a callable taking the request"),
        ({"meter": "year"}, "policy meter 'year' is not one of: verdict, day, week, month"),
        ({"rollout": 120}, "policy rollout must be a percentage from 0 to 100, got 120"),
        ({"variants": [Variant("A"), Variant("A")]}, "policy variant names must differ, got ['A', 'A']"),
        ({"rules": "/news/*"}, "policy rules must be a list of adguard_mw.Rule, got '/news/*'"),
    ],
)
def test_mistakes_fail_at_start_up_in_one_line(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^adguard_mw: " + re.escape(message)):
        Policy(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Rule("news/*"), "policy rule path must be a path pattern starting with '/'"),
        (lambda: Rule("/news/*", mode="wall"), "policy rule '/news/*' mode 'wall' is not one of"),
        (lambda: Rule("/news/*", free_page_views=-2), "policy rule '/news/*' free_page_views must be a whole"),
        (lambda: Variant("A", weight=0), "policy variant 'A' weight must be a number above 0, got 0"),
        (lambda: Variant("A/B"), "policy variant name 'A/B' must be 1 to 32 letters"),
        (lambda: Variant("B", mode="loud"), "policy variant 'B' mode 'loud' is not one of"),
    ],
    ids=["rule-path", "rule-mode", "rule-views", "variant-weight", "variant-name", "variant-mode"],
)
def test_rules_and_variants_check_themselves(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match="^adguard_mw: " + re.escape(message)):
        make()


@pytest.mark.parametrize("record", [Policy, Rule, Variant])
def test_each_setting_is_described_once_and_the_file_reads_it_with_the_same_check(record: type) -> None:
    table = {Policy: config.POLICY, Rule: config.RULES, Variant: config.VARIANTS}[record]
    described = {item.name: item.metadata["setting"] for item in fields(record) if "setting" in item.metadata}
    keys = {key.name: key for key in table.keys if key.name in described}
    assert list(keys) == list(described)  # every described field is a key of its table, in the same order
    for name, about in described.items():
        assert (keys[name].parse, keys[name].help) == (about.check, about.help), name


def test_the_code_takes_what_the_file_takes() -> None:
    policy = Policy(dismiss_cooldown="12h", rollout=50, rules=[Rule("/news/*", dismiss_cooldown="1d")])
    assert (policy.dismiss_cooldown, policy.rollout, policy.rules[0].dismiss_cooldown) == (43200, 50.0, 86400)
    assert Policy(mode="soft").mode is Mode.SOFT and Variant("A", mode="hard").mode is Mode.HARD


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


def test_the_instructions_mode_is_dismissible_like_a_notice() -> None:
    policy = Policy(mode=Mode.INSTRUCTIONS, dismiss_cooldown=3600)
    assert decide(policy, BLOCKED, "/", NOW) == Decision(show=Mode.INSTRUCTIONS)
    assert decide(policy, BLOCKED.replace(dismissed_at=NOW - 60), "/", NOW) == Decision()


def _views_until_message(policy: Policy, state: VisitorState, now: int) -> tuple[int, VisitorState]:
    for free in range(50):
        decision = decide(policy, state, "/", now)
        if decision.show is not None:
            return free, state
        assert decision.state is not None
        state = decision.state
    raise AssertionError("the message never appeared")


@pytest.mark.parametrize(
    ("meter", "later", "fresh"),
    [
        (Meter.DAY, 86400, True),
        (Meter.WEEK, 86400, False),  # NOW is a Friday: the next day is the same week
        (Meter.WEEK, 4 * 86400, True),  # ... and the Tuesday after is a new one
        (Meter.MONTH, 86400, False),
        (Meter.MONTH, 40 * 86400, True),
        (Meter.VERDICT, 40 * 86400, False),  # per verdict: a new period never refills the meter
    ],
)
def test_the_meter_refills_when_its_period_turns_over(meter: Meter, later: int, fresh: bool) -> None:
    policy = Policy(mode=Mode.SOFT, free_page_views=3, meter=meter, verdict_ttl=90 * 86400)
    free, used_up = _views_until_message(policy, BLOCKED, NOW)
    assert free == 3
    again, _ = _views_until_message(policy, used_up, NOW + later)
    assert again == (3 if fresh else 0)


def test_meter_periods_follow_the_utc_calendar() -> None:
    monday = int(datetime(2026, 11, 23, tzinfo=UTC).timestamp())
    sunday_night = int(datetime(2026, 11, 29, 23, 59, tzinfo=UTC).timestamp())
    assert meter_period(Meter.WEEK, monday) == meter_period(Meter.WEEK, sunday_night)
    assert meter_period(Meter.WEEK, sunday_night + 60) == meter_period(Meter.WEEK, monday) + 1
    assert meter_period(Meter.MONTH, int(datetime(2026, 12, 31, tzinfo=UTC).timestamp())) + 1 == meter_period(
        Meter.MONTH, int(datetime(2027, 1, 1, tzinfo=UTC).timestamp())
    )
    assert meter_period(Meter.VERDICT, NOW) is None


def test_path_rules_let_sections_differ_and_the_first_match_wins() -> None:
    policy = Policy(
        mode=Mode.SOFT,
        free_page_views=0,
        rules=(
            Rule("/live/*", mode=Mode.OBSERVE),
            Rule("/news/opinion/*", mode=Mode.NOTICE),
            Rule("/news/*", mode=Mode.HARD, free_page_views=1),
            Rule("/news/opinion/special", mode=Mode.HARD),  # never reached: the rule above matches first
        ),
    )
    assert decide(policy, BLOCKED, "/live/match", NOW) == Decision()
    assert decide(policy, BLOCKED, "/news/opinion/special", NOW).show is Mode.NOTICE
    assert decide(policy, BLOCKED, "/news/today", NOW).show is None  # its own free page view
    assert decide(policy, BLOCKED.replace(views=1), "/news/today", NOW).show is Mode.HARD
    assert decide(policy, BLOCKED, "/about", NOW).show is Mode.SOFT  # no rule: the policy itself


def test_a_rule_inherits_what_it_does_not_set() -> None:
    policy = Policy(mode=Mode.HARD, network_mode=Mode.OBSERVE, rules=(Rule("/news/*", free_page_views=2),))
    settings = policy.effective("/news/x", "v")
    assert (settings.mode, settings.network_mode, settings.free_page_views) == (Mode.HARD, Mode.OBSERVE, 2)


def _visitors(count: int) -> list[str]:
    return [f"{0x4E20 + index % 30:x}-visitor{index}" for index in range(count)]


def test_rollout_applies_the_policy_to_a_stable_share_of_readers() -> None:
    policy = Policy(mode=Mode.SOFT, rollout=25)
    asked = [decide(policy, BLOCKED.replace(visitor_id=v), "/", NOW).show is Mode.SOFT for v in _visitors(20_000)]
    assert 0.24 < sum(asked) / len(asked) < 0.26
    assert asked == [
        decide(policy, BLOCKED.replace(visitor_id=v), "/", NOW).show is Mode.SOFT for v in _visitors(20_000)
    ]
    assert Policy(mode=Mode.SOFT, rollout=0).effective("/", "v").mode is Mode.OBSERVE
    assert Policy(mode=Mode.SOFT, rollout=100).effective("/", None).mode is Mode.SOFT


def test_variants_are_sticky_and_split_by_weight() -> None:
    policy = Policy(mode=Mode.SOFT, variants=(Variant("A", weight=3), Variant("B", weight=1, mode=Mode.NOTICE)))
    visitors = _visitors(20_000)
    arms = [policy.variant_for(v) for v in visitors]
    share_b = sum(arm is not None and arm.name == "B" for arm in arms) / len(arms)
    assert 0.24 < share_b < 0.26
    assert arms == [policy.variant_for(v) for v in visitors]  # sticky: the same reader, the same arm
    for visitor, arm in zip(visitors[:200], arms[:200], strict=True):
        assert arm is not None
        shown = decide(policy, BLOCKED.replace(visitor_id=visitor), "/", NOW).show
        assert shown is (Mode.NOTICE if arm.name == "B" else Mode.SOFT)
    assert policy.variant_for(None) is None
    assert Policy().variant_for("v") is None


def test_variant_and_rollout_assignments_are_independent() -> None:
    policy = Policy(mode=Mode.SOFT, rollout=50, variants=(Variant("A"), Variant("B")))
    visitors = _visitors(20_000)
    in_b = [v for v in visitors if policy.variant_for(v) == Variant("B")]
    share = sum(policy.in_rollout(v) for v in in_b) / len(in_b)
    assert 0.47 < share < 0.53


def test_a_rule_mode_wins_over_a_variant_mode() -> None:
    policy = Policy(
        mode=Mode.SOFT, variants=(Variant("only", mode=Mode.HARD),), rules=(Rule("/live/*", mode=Mode.OBSERVE),)
    )
    assert policy.effective("/live/x", "v").mode is Mode.OBSERVE
    assert policy.effective("/news/x", "v").mode is Mode.HARD


@pytest.mark.parametrize(
    "policy",
    [
        Policy(),
        Policy(mode=Mode.HARD),
        Policy(mode=Mode.SOFT).replace(mode=Mode.NOTICE),  # labels follow a replaced policy
        Policy(mode=Mode.SOFT, rollout=50),
        Policy(mode=Mode.SOFT, variants=(Variant("A"), Variant("B", mode=Mode.HARD))),
        Policy(mode=Mode.SOFT, rules=(Rule("/live/*", mode=Mode.OBSERVE),)),
    ],
    ids=["default", "hard", "replaced", "rollout", "variants", "rules"],
)
def test_every_event_is_labelled_with_the_mode_the_reader_meets_there_and_their_variant(policy: Policy) -> None:
    for path in ("/news/x", "/live/x"):
        for visitor in [None, *_visitors(200)]:
            mode, variant = policy.labels(path, visitor)
            arm = policy.variant_for(visitor)
            assert (mode, variant) == (policy.effective(path, visitor).mode.value, arm.name if arm else None)
            assert type(mode) is str  # a plain string, as events are written and read back


@given(path=st.text(max_size=30))
def test_the_default_patterns_cover_what_their_regex_covers(path: str) -> None:
    """With the default include and exclude no pattern is matched per page: the answer is the patterns' own."""
    default = Policy(mode="soft")  # type: ignore[arg-type]
    spelled = Policy(mode="soft", include=("/*", "/never-matched"))  # type: ignore[arg-type]  # read by its regex
    assert default.covers(path) == spelled.covers(path) == path.startswith("/")


@pytest.mark.parametrize(
    "policy",
    [
        Policy(mode="hard", free_page_views=2, meter="day", network_mode="soft"),  # type: ignore[arg-type]
        Policy(mode="notice", dismiss_cooldown="2h"),  # type: ignore[arg-type]
    ],
)
def test_the_settings_made_once_are_those_each_reader_would_get(policy: Policy) -> None:
    """No rules, no variants, everyone in the rollout: the settings are made once, the same as made per reader."""
    per_reader = policy.replace()
    object.__setattr__(per_reader, "_same_effective", None)  # the long way round, as with rules or variants
    for visitor in ("5136-aaaaaaaaaaaa", None):
        assert policy.effective("/news/1", visitor) == per_reader.effective("/news/1", visitor)
        assert policy.effective("/news/1", visitor) is policy.effective("/", visitor)


def test_a_message_due_is_the_same_decision_each_time() -> None:
    state = VisitorState("5136-aaaaaaaaaaaa", Verdict.BLOCKED, checked_at=1_800_000_000)
    first = decide(Policy(mode="hard"), state, "/news/1", 1_800_000_100)  # type: ignore[arg-type]
    assert first == Decision(show=Mode.HARD) and decide(Policy(mode="hard"), state, "/a", 1_800_000_100) is first  # type: ignore[arg-type]
