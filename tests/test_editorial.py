"""What editors set reaches readers: path rules, rollout, A/B variants in every event, paywall markup, no beacon."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware, Policy
from adguard_mw.policy import Mode, Rule, Variant

from .site import KEY, article, client, logged, report


def wrapped(**options: object) -> AdGuardMiddleware:
    """Every path of this site is an article page."""
    site = Starlette(routes=[Route("/{path:path}", article)])
    return AdGuardMiddleware(site, secret_key=KEY, **options)  # type: ignore[arg-type]


async def message_mode(app, path: str = "/news/1") -> str | None:  # type: ignore[no-untyped-def]
    """The mode of the message a blocking reader gets on `path`, or None."""
    async with client(app) as c:
        await report(c, app, "blocked")
        text = (await c.get(path)).text
    marker = 'data-mode="'
    if marker not in text:
        return None
    return text.split(marker, 1)[1].split('"', 1)[0]


async def test_path_rules_give_sections_their_own_mode() -> None:
    policy = Policy(mode=Mode.SOFT, rules=(Rule("/news/*", mode=Mode.NOTICE), Rule("/live/*", mode=Mode.OBSERVE)))
    assert await message_mode(wrapped(policy=policy), "/news/1") == "notice"
    assert await message_mode(wrapped(policy=policy), "/live/1") is None
    assert await message_mode(wrapped(policy=policy), "/about") == "soft"


async def test_the_instructions_mode_shows_a_banner() -> None:
    assert await message_mode(wrapped(policy="instructions")) == "instructions"


async def test_readers_outside_the_rollout_are_only_observed(tmp_path: Path) -> None:
    app = wrapped(policy=Policy(mode=Mode.SOFT, rollout=0), events=tmp_path)
    assert await message_mode(app) is None
    assert {event["mode"] for event in logged(app, tmp_path) if event["visitor"]} == {"observe"}


async def test_every_event_records_the_readers_variant(tmp_path: Path) -> None:
    policy = Policy(mode=Mode.SOFT, variants=(Variant("calm", mode=Mode.NOTICE), Variant("firm", mode=Mode.HARD)))
    seen: dict[str, str | None] = {}
    for _ in range(12):
        app = wrapped(policy=policy, events=tmp_path / str(len(seen)))
        shown = await message_mode(app)
        events = [event for event in logged(app, tmp_path / str(len(seen))) if event["visitor"]]
        variants = {event["variant"] for event in events}
        assert len(variants) == 1, events  # every event of one reader carries the same variant
        (variant,) = variants
        assert shown == {"calm": "notice", "firm": "hard"}[variant]
        assert {event["mode"] for event in events} == {shown}
        seen[events[0]["visitor"]] = variant
    assert set(seen.values()) == {"calm", "firm"}  # twelve readers: both arms are used (p of failing 2^-11)


async def test_pages_a_hard_wall_may_hide_say_so_to_search_engines() -> None:
    policy = Policy(mode=Mode.HARD, rules=(Rule("/free/*", mode=Mode.OBSERVE),))
    app = wrapped(policy=policy, paywall_selector=".article-body")
    async with client(app) as c:
        walled, free = (await c.get("/news/1")).text, (await c.get("/free/1")).text
    assert '"isAccessibleForFree":false' in walled and '"cssSelector":".article-body"' in walled
    assert '<script type="application/ld+json">' in walled
    assert "ld+json" not in free
    soft = wrapped(policy="soft", paywall_selector=".article-body")
    async with client(soft) as c:
        assert "ld+json" not in (await c.get("/news/1")).text


async def test_the_paywall_selector_cannot_break_out_of_its_script() -> None:
    app = wrapped(policy="hard", paywall_selector="</script><script>alert(1)</script>")
    async with client(app) as c:
        text = (await c.get("/news/1")).text
    assert "<script>alert(1)" not in text and "\\u003c/script>" in text


def test_without_the_beacon_there_is_no_hard_wall() -> None:
    with pytest.raises(ValueError, match=r"^adguard_mw: the hard mode needs the beacon"):
        wrapped(policy="hard", beacon=False)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preview_token": "short"}, "preview_token must be at least 16 random characters"),
        ({"paywall_selector": " "}, "paywall_selector must be a CSS selector"),
        ({"consent_event": "a b"}, "consent_event 'a b' must be letters"),
        ({"consent_event": "ok", "consent_cookie": "ok"}, "give consent_event or consent_cookie, not both"),
    ],
)
def test_editorial_mistakes_fail_in_one_line(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^adguard_mw: " + re.escape(message)):
        wrapped(**options)
