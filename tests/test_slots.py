"""Ad slots (`ad_slots`): who gets the house message, what the server counts, and mistakes said in one line.

The browser side (slots hidden by EasyList, late fills, axe-core) is in tests/browser/test_slots.py; here the server
is spoken to as a browser would, with the signed cookie it gave.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from adguard_mw import AdGuardMiddleware, Message, Messages, Policy
from adguard_mw.config import ConfigError, load_settings
from adguard_mw.message import CallToAction
from adguard_mw.policy import Mode, Rule

from .site import SAME_ORIGIN, client, logged, own_url, report, wrapped

SUBSCRIBE = CallToAction("Subscribe", "/subscribe")


def slot_url(app: AdGuardMiddleware, path: str = "/news/1") -> str:
    return own_url(app, app.names.slot_script) + f"?{app.names.token_param}={path}"


def config_of(script: str) -> dict[str, Any]:
    """The reader's settings the server wrote into the slot script."""
    return dict(json.loads(script[script.rindex("})(") + 3 : -2]))


async def blocked(c: httpx.AsyncClient, app: AdGuardMiddleware) -> None:
    assert (await report(c, app, "blocked")).status_code == 200  # the cookie now says blocked, signed


async def test_a_blocked_reader_gets_the_house_message_in_their_language() -> None:
    texts = Messages(
        {
            "en": Message(slot_body="Support **{site}**.", ctas=(SUBSCRIBE,)),
            "de": Message(slot_body="Unterstützen Sie {site}.", slot_label="Von {site}", ctas=(SUBSCRIBE,)),
        }
    )
    app = wrapped(policy="soft", ad_slots=".ad-slot", message=texts, site_name="The Courier")
    async with client(app) as c:
        await blocked(c, app)
        response = await c.get(slot_url(app), headers={"Accept-Language": "de-CH,de;q=0.9"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "private, no-store" and response.headers["vary"] == "Cookie"
    config = config_of(response.text)
    assert config["selector"] == f".ad-slot, [{app.names.slot_attribute}]"
    assert config["cls"] == app.names.slot_class
    assert f'class="{app.names.slot_class}" lang="de"' in config["html"]
    assert 'aria-label="Von The Courier"' in config["html"] and "Unterstützen Sie The Courier." in config["html"]
    assert f'href="{own_url(app, app.names.follow)}?to=0">Subscribe</a>' in config["html"]  # counted on its way
    assert f".{app.names.slot_class} {{" in config["css"] and "__C__" not in config["css"]


@pytest.mark.parametrize(
    ("options", "verdict", "path"),
    [
        ({"policy": "soft"}, None, "/news/1"),
        ({"policy": "soft"}, "not_blocked", "/news/1"),
        ({"policy": "observe"}, "blocked", "/news/1"),
        ({"policy": Policy(mode=Mode.SOFT, exclude=("/account/*",))}, "blocked", "/account/me"),
        ({"policy": Policy(mode=Mode.SOFT, exempt=lambda request: True)}, "blocked", "/news/1"),
    ],
    ids=["no-verdict", "not-blocked", "observe", "excluded-path", "exempt-subscriber"],
)
async def test_everyone_else_gets_a_script_that_does_nothing(
    options: dict[str, Any], verdict: str | None, path: str
) -> None:
    app = wrapped(ad_slots=".ad-slot", **options)
    async with client(app) as c:
        if verdict is not None:
            await report(c, app, verdict)
        response = await c.get(slot_url(app, path))
    assert response.status_code == 200 and response.text == ";"
    assert response.headers["cache-control"] == "private, no-store"


async def test_another_site_including_the_script_learns_nothing() -> None:
    """A page on a sibling subdomain (same site, so the cookie goes along) includes the slot script."""
    app = wrapped(policy="soft", ad_slots=".ad-slot")
    async with client(app) as c:
        await blocked(c, app)
        assert (await c.get(slot_url(app), headers={"Sec-Fetch-Site": "same-origin"})).text != ";"
        response = await c.get(slot_url(app), headers={"Sec-Fetch-Site": "same-site"})
    assert response.text == ";"


async def test_observe_mode_fills_slots_when_the_site_asks() -> None:
    policy = Policy(mode=Mode.SOFT, rules=(Rule("/live/*", mode=Mode.OBSERVE),))
    app = wrapped(policy=policy, ad_slots=True, ad_slots_in_observe=True)
    async with client(app) as c:
        await blocked(c, app)
        response = await c.get(slot_url(app, "/live/1"))
    assert config_of(response.text)["selector"] == f"[{app.names.slot_attribute}]"


async def test_confirmed_house_messages_are_counted(tmp_path: Path) -> None:
    app = wrapped(policy="notice", ad_slots=".ad-slot", events=tmp_path)
    async with client(app) as c:
        await blocked(c, app)
        seen = own_url(app, app.names.seen)
        response = await c.post(seen, json={"path": "/news/1", "slots": 3}, headers=SAME_ORIGIN)
        assert response.status_code == 204
        for bad in ({"path": "/news/1", "slots": 0}, {"path": "/news/1", "slots": True}, {"path": "x", "slots": 1}):
            assert (await c.post(seen, json=bad, headers=SAME_ORIGIN)).status_code == 400
        assert (await c.post(seen, json={"path": "/", "slots": 1}, headers={"Origin": "https://evil.test"})).is_error
    filled = [e for e in logged(app, tmp_path) if e["event"] == "slot_filled"]
    assert [(e["slots"], e["path"], e["verdict"], e["kind"], e["mode"]) for e in filled] == [
        (3, "/news/1", "blocked", "extension", "notice")
    ]


async def test_a_clean_reader_cannot_report_filled_slots(tmp_path: Path) -> None:
    app = wrapped(policy="notice", ad_slots=".ad-slot", events=tmp_path)
    async with client(app) as c:
        await report(c, app, "not_blocked")
        response = await c.post(own_url(app, app.names.seen), json={"path": "/", "slots": 1}, headers=SAME_ORIGIN)
    assert response.status_code == 409
    assert not [e for e in logged(app, tmp_path) if e["event"] == "slot_filled"]


async def test_without_ad_slots_nothing_is_loaded_or_answered() -> None:
    app = wrapped(policy="soft")
    assert '"slots"' not in app.assets.detector.body.decode()
    async with client(app) as c:
        await blocked(c, app)
        assert (await c.get(slot_url(app))).status_code == 404
    with_slots = wrapped(policy="soft", ad_slots=".ad-slot")
    assert f'"slots":"{with_slots.names.slot_script}"' in with_slots.assets.detector.body.decode()


async def test_a_bad_path_is_a_clear_400() -> None:
    app = wrapped(policy="soft", ad_slots=".ad-slot")
    async with client(app) as c:
        response = await c.get(own_url(app, app.names.slot_script) + "?nothing=1")
    assert response.status_code == 400 and "the page's path" in response.text


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"ad_slots": ""}, "ad_slots must be a CSS selector such as '.ad-slot'"),
        ({"ad_slots": ".a { color: red }"}, "ad_slots must be a CSS selector"),
        ({"ad_slots": 3}, "ad_slots must be a CSS selector"),
        ({"ad_slots": ".ad-slot", "beacon": False}, "ad_slots needs the beacon"),
        ({"ad_slots_in_observe": "yes"}, "ad_slots_in_observe must be true or false"),
    ],
)
def test_mistakes_are_said_in_one_line(options: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        wrapped(**options)


def test_the_settings_file_takes_them_under_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", "k" * 32)
    path = tmp_path / "adguard-mw.toml"
    path.write_text(
        '[policy]\nmode = "soft"\nad_slots = ".ad-slot"\nad_slots_in_observe = true\n'
        '[message]\nslot_body = "Thanks for reading {site}."\n[message.locales.de]\nslot_label = "Von {site}"\n'
    )
    options = load_settings(path).options
    assert options["ad_slots"] == ".ad-slot" and options["ad_slots_in_observe"] is True
    assert options["message"]["de"].slot_label == "Von {site}"
    assert options["message"]["de"].slot_body.startswith("Werbung finanziert")  # our German where not written
    path.write_text('[policy]\nad_slots = ""\n')
    with pytest.raises(ConfigError, match="ad_slots"):
        load_settings(path)


async def test_under_a_mount_point_its_links_keep_the_prefix() -> None:
    app = wrapped(policy="soft", ad_slots=".ad-slot", message=Message(ctas=(SUBSCRIBE,)))
    transport = httpx.ASGITransport(app=app, root_path="/site")
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as c:
        await blocked(c, app)
        response = await c.get("/site" + slot_url(app))
    config = config_of(response.text)
    assert config["seen"] == f"/site{own_url(app, app.names.seen)}"
    assert f'href="/site{own_url(app, app.names.follow)}?to=0"' in config["html"]
