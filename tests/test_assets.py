"""The browser files as configured by `Assets.build`: the settings each mode puts in, and the detector's size."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from adguard_mw.assets import DISMISS_COOLDOWN, Assets
from adguard_mw.names import Names

NAMES = Names.derive("assets-test-key-0123456789abcdef")
BUDGET = 2560  # bytes, minified and gzipped: the same budget bench/summary.py checks


def settings(body: bytes) -> dict[str, Any]:
    """The configuration filled into a script: the JSON argument of its wrapping function."""
    text = body.decode()
    assert text.endswith(");")
    parsed: dict[str, Any] = json.loads(text[text.rindex("})(") + 3 : -2])
    return parsed


def test_by_default_the_detector_reports_and_waits_for_nobody() -> None:
    assets = Assets.build(NAMES)
    detector, message = settings(assets.detector.body), settings(assets.message_script.body)
    assert detector["beacon"] == NAMES.beacon and detector["companion"] == NAMES.companion
    assert not {"consentEvent", "consentCookie", "thirdParty", "pending"} & set(detector)  # unset: left out
    assert not {"local", "cooldown"} & set(message)


@pytest.mark.parametrize(("keyword", "key"), [("consent_event", "consentEvent"), ("consent_cookie", "consentCookie")])
def test_consent_settings_reach_the_detector(keyword: str, key: str) -> None:
    keywords: dict[str, Any] = {keyword: "site.consent-1"}
    detector = settings(Assets.build(NAMES, **keywords).detector.body)
    assert detector[key] == "site.consent-1"


def test_without_a_beacon_nothing_tells_the_detector_where_to_report() -> None:
    assets = Assets.build(NAMES, beacon=False, dismiss_cooldown=600)
    detector, message = settings(assets.detector.body), settings(assets.message_script.body)
    assert not {"beacon", "companion", "refresh", "pending"} & set(detector)
    assert message["local"] is True and message["cooldown"] == 600
    assert settings(Assets.build(NAMES, beacon=False).message_script.body)["cooldown"] == DISMISS_COOLDOWN


@pytest.mark.parametrize(
    ("keywords", "error"),
    [
        ({"consent_event": "a b"}, "consent_event 'a b' must be"),
        ({"consent_cookie": ""}, "consent_cookie '' must be"),
        ({"consent_cookie": "x;y=1"}, "consent_cookie 'x;y=1' must be"),
        ({"consent_event": "a", "consent_cookie": "b"}, "not both"),
        ({"dismiss_cooldown": -1}, "dismiss_cooldown must be"),
        ({"dismiss_cooldown": True}, "dismiss_cooldown must be"),
    ],
)
def test_mistakes_are_refused_in_one_line(keywords: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Assets.build(NAMES, **keywords)


@pytest.mark.parametrize(
    "keywords",
    [
        {},
        {"third_party_bait": "https://ads.example.com", "skip_gpc": True},
        {"consent_event": "reader-consent-given", "beacon": False},
        {"consent_cookie": "reader_consent_cookie"},
        {"slots": True, "third_party_bait": "https://ads.example.com"},
    ],
    ids=["default", "third-party-and-silence", "consent-event-no-beacon", "consent-cookie", "ad-slots"],
)
def test_the_detector_stays_within_its_size_budget(keywords: dict[str, Any]) -> None:
    body = Assets.build(NAMES, **keywords).detector.body  # already minified, as served
    assert len(gzip.compress(body, 9, mtime=0)) <= BUDGET
