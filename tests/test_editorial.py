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
    marker = f'{app.names.data}="'
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
    app = wrapped(policy="hard", paywall_selector='[title="</script><script>alert(1)</script>"]')  # valid CSS
    async with client(app) as c:
        text = (await c.get("/news/1")).text
    assert "<script>alert(1)" not in text and "\\u003c/script>" in text


@pytest.mark.parametrize(
    "policy",
    [
        Policy(mode=Mode.HARD),
        Policy(mode=Mode.SOFT, rules=(Rule("/news/*", mode=Mode.HARD),)),
        Policy(mode=Mode.SOFT, variants=(Variant("calm"), Variant("firm", mode=Mode.HARD))),
    ],
    ids=["policy", "rule", "variant"],
)
def test_without_the_beacon_there_is_no_hard_wall(policy: Policy) -> None:
    with pytest.raises(ValueError, match=r"^adguard_mw: the hard mode needs the beacon"):
        wrapped(policy=policy, beacon=False)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preview_token": "short"}, "preview_token must be at least 16 random characters"),
        ({"paywall_selector": " "}, "paywall_selector must be a CSS selector"),
        ({"consent_event": "a b"}, "consent_event 'a b' must be 1 to 64 letters"),
        ({"consent_event": "ok", "consent_cookie": "ok"}, "give consent_event or consent_cookie, not both"),
        ({"silent_detector": "blocked", "beacon": False}, "silent_detector='blocked' needs the beacon"),
    ],
)
def test_editorial_mistakes_fail_in_one_line(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^adguard_mw: " + re.escape(message)):
        wrapped(**options)


from adguard_mw.message import CallToAction, Message, Messages  # noqa: E402

SUBSCRIBE = CallToAction("Subscribe", "/subscribe")
ENGLISH = Message(title="Keep the lamps lit", ctas=(SUBSCRIBE,))
GERMAN = Message(title="Halten Sie die Lampen am Leuchten", ctas=(CallToAction("Abonnieren", "/abo", "subscribe"),))
TOKEN = "a-preview-token-for-editors"


async def test_readers_get_the_language_they_prefer_among_those_written() -> None:
    app = wrapped(policy="soft", message=Messages({"en": ENGLISH, "de": GERMAN}))
    async with client(app) as c:
        await report(c, app, "blocked")
        german = (await c.get("/news/1", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"})).text
        french = (await c.get("/news/1", headers={"Accept-Language": "fr-FR,fr;q=0.9"})).text
    assert "Halten Sie die Lampen am Leuchten" in german and 'lang="de"' in german
    assert "Keep the lamps lit" in french  # no French written: the default


async def test_a_variant_with_its_own_words_shows_them_to_its_readers(tmp_path: Path) -> None:
    policy = Policy(mode=Mode.SOFT, variants=(Variant("plain"), Variant("warm")))
    warm = Message(title="We need you, reader")
    seen = set()
    for run in range(12):
        app = wrapped(policy=policy, variant_messages={"warm": warm}, events=tmp_path / str(run))
        async with client(app) as c:
            await report(c, app, "blocked")
            text = (await c.get("/news/1")).text
        (variant,) = {event["variant"] for event in logged(app, tmp_path / str(run)) if event["visitor"]}
        assert ("We need you, reader" in text) is (variant == "warm")
        seen.add(variant)
    assert seen == {"plain", "warm"}


async def test_a_call_to_action_is_counted_on_its_way_to_the_editors_link(tmp_path: Path) -> None:
    app = wrapped(policy="soft", message=ENGLISH, events=tmp_path)
    async with client(app) as c:
        await report(c, app, "blocked")
        page = (await c.get("/news/1")).text
        follow = f"{app.names.prefix}/{app.names.follow}?to="
        assert follow in page
        href = follow + page.split(follow, 1)[1].split('"', 1)[0]
        followed = await c.get(href, headers={"Referer": "http://news.test/news/1"})
    assert followed.status_code == 303 and followed.headers["location"] == "/subscribe"
    clicks = [event for event in logged(app, tmp_path) if event["event"] == "cta_clicked"]
    assert [(click["cta"], click["path"]) for click in clicks] == [("subscribe", "/news/1")]


@pytest.mark.parametrize("query", ["", "?to=", "?to=7", "?to=-1", "?to=0x1", "?to=%D9%A0"])
async def test_a_call_to_action_link_goes_only_where_editors_said(query: str, tmp_path: Path) -> None:
    app = wrapped(policy="soft", message=ENGLISH, events=tmp_path)
    async with client(app) as c:
        response = await c.get(f"{app.names.prefix}/{app.names.follow}{query}")
    assert response.status_code == 400 and "location" not in response.headers
    assert [event for event in logged(app, tmp_path) if event["event"] == "cta_clicked"] == []


async def test_the_preview_is_off_unless_a_token_is_configured() -> None:
    app = wrapped(policy="soft")
    async with client(app) as c:
        assert (await c.get(f"{app.names.prefix}/{app.names.preview}?token=anything")).status_code == 404


async def test_the_preview_shows_the_live_message_to_token_holders_only() -> None:
    app = wrapped(policy="hard", message=Messages({"en": ENGLISH, "de": GERMAN}), preview_token=TOKEN)
    url = f"{app.names.prefix}/{app.names.preview}"
    async with client(app) as c:
        assert (await c.get(url)).status_code == 403
        assert (await c.get(f"{url}?token=wrong-token-for-editors")).status_code == 403
        hard = await c.get(f"{url}?token={TOKEN}")
        soft_de = await c.get(f"{url}?token={TOKEN}&mode=soft&locale=de")
        network = await c.get(f"{url}?token={TOKEN}&mode=notice&kind=network")
        bad = await c.get(f"{url}?token={TOKEN}&mode=loud")
        unknown_locale = await c.get(f"{url}?token={TOKEN}&locale=fr")
    assert hard.status_code == 200 and "Keep the lamps lit" in hard.text and 'data-mode="hard"' in hard.text
    assert hard.headers["cache-control"] == "no-store" and hard.headers["x-robots-tag"] == "noindex"
    assert "set-cookie" not in hard.headers
    assert "Halten Sie die Lampen am Leuchten" in soft_de.text and 'data-mode="soft"' in soft_de.text
    assert 'data-mode="notice"' in network.text and "network" in network.text.lower()
    assert bad.status_code == 400 and "mode must be one of notice, instructions, soft, hard" in bad.text
    assert unknown_locale.status_code == 400 and "locale must be one of: en, de" in unknown_locale.text


async def test_editors_templates_and_css_override_ours(tmp_path: Path) -> None:
    (tmp_path / "panel.html").write_text(
        '<div class="{{ css }}" data-mode="{{ mode }}" lang="{{ lang }}"><h2>{{ text.title }}</h2>Our own panel</div>'
    )
    (tmp_path / "message.css").write_text(".__C__-title { letter-spacing: 0.1em }")
    app = wrapped(policy="soft", template_dir=tmp_path)
    async with client(app) as c:
        await report(c, app, "blocked")
        page = (await c.get("/news/1")).text
        css = (await c.get(f"{app.names.prefix}/{app.names.stylesheet}")).text
    assert "Our own panel" in page
    assert f".{app.names.css_class}-title {{ letter-spacing: 0.1em }}" in css  # after ours, so it wins


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{% if %}", "fail in notice mode line 1"),
        ("{{ text.no_such_text }}", "fail in notice mode: 'dict object' has no attribute 'no_such_text'"),
    ],
)
def test_a_broken_editors_template_stops_the_start_in_one_line(tmp_path: Path, template: str, error: str) -> None:
    (tmp_path / "panel.html").write_text(template)
    with pytest.raises(ValueError, match=re.escape(error)) as caught:
        wrapped(policy="soft", template_dir=tmp_path)
    assert "\n" not in str(caught.value)
