"""adguard-mw.toml: a valid file configures the middleware; every mistake is one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adguard_mw import AdGuardMiddleware, Mode
from adguard_mw.config import ConfigError, load_settings

from .site import bare_site

KEYS = {"ADGUARD_MW_SECRET_KEYS": "an-older-key-0123456789abcdef, the-current-key-0123456789abcdef"}
VALID = """
[site]
name = "The Daily Lantern"

[policy]
mode = "soft"
free_page_views = 2
dismiss_cooldown = "12h"
verdict_ttl = "7d"
exclude = ["/account/*"]

[message]
title = "Please support {site}"

[events]
page_view_sample_rate = 0.5

[detection]
silent_detector = "unknown"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "adguard-mw.toml"
    path.write_text(text)
    return path


def test_a_valid_file_configures_the_middleware(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID), environ=KEYS)
    options = settings.options
    assert options["secret_key"] == ["an-older-key-0123456789abcdef", "the-current-key-0123456789abcdef"]
    assert options["policy"].mode is Mode.SOFT and options["policy"].dismiss_cooldown == 12 * 3600
    assert options["policy"].verdict_ttl == 7 * 86400 and options["policy"].exclude == ("/account/*",)
    assert options["message"]["en"].title == "Please support {site}" and options["page_view_sample_rate"] == 0.5
    app = AdGuardMiddleware(bare_site(), **options)
    assert app.renderer.site_name == "The Daily Lantern"


def test_from_config_reads_the_file_named_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADGUARD_MW_CONFIG", str(write(tmp_path, VALID)))
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)
    app = AdGuardMiddleware.from_config(bare_site(), site_name="Overridden")
    assert app.policy.mode is Mode.SOFT and app.renderer.site_name == "Overridden"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[policy]\nmode = "wall"',
            "policy.mode = 'wall' is not allowed: one of observe, notice, instructions, soft, hard",
        ),
        ("[policy]\nfree_page_views = -1", "policy.free_page_views = -1 is not allowed: a whole number"),
        ('[policy]\ndismiss_cooldown = "soon"', "policy.dismiss_cooldown = 'soon' is not allowed: a duration"),
        ('[policy]\ninclude = "/news/*"', "policy.include = '/news/*' is not allowed: a list of path patterns"),
        ("[policy]\ncolour = 1", "policy.colour = 1 is not allowed: keys of [policy] are"),
        ("[layout]\nx = 1", "layout = '...' is not allowed: sections are"),
        ('[message]\ntitle = ""', "message.title = '' is not allowed: non-empty text"),
        (
            "[events]\npage_view_sample_rate = 2",
            "events.page_view_sample_rate = 2 is not allowed: a number from 0 to 1",
        ),
        ('[detection]\nthird_party_bait = "ads.example.com"', "detection.third_party_bait = 'ads.example.com'"),
        ('[detection]\nsilent_detector = "yes"', "detection.silent_detector = 'yes' is not allowed"),
        ("[site]\nhttps_only = 1", "site.https_only = 1 is not allowed: true or false"),
        ("[policy\nmode = 1", "not valid TOML"),
    ],
)
def test_each_mistake_is_one_line_naming_the_key_the_value_and_what_is_allowed(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), environ=KEYS)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert str(error.value).startswith("adguard-mw.toml: ")


def test_missing_secret_keys_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"environment variable ADGUARD_MW_SECRET_KEYS .* holds no secret keys"):
        load_settings(write(tmp_path, VALID), environ={})


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nowhere.toml", environ=KEYS)


def test_check_config_on_the_command_line(tmp_path: Path) -> None:
    good, bad = write(tmp_path, VALID), tmp_path / "bad.toml"
    bad.write_text('[policy]\nmode = "wall"')
    env = {"PATH": "/usr/bin:/bin", **KEYS}
    ok = subprocess.run(
        [sys.executable, "-m", "adguard_mw.cli", "check-config", str(good)], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0 and "ok (policy soft, 2 secret key(s))" in ok.stdout
    failed = subprocess.run(
        [sys.executable, "-m", "adguard_mw.cli", "check-config", str(bad)], capture_output=True, text=True, env=env
    )
    assert failed.returncode == 1 and failed.stderr.strip() == (
        "bad.toml: policy.mode = 'wall' is not allowed: one of observe, notice, instructions, soft, hard"
    )


FULL = """
[site]
name = "The Daily Lantern"

[policy]
mode = "soft"
free_page_views = 3
meter = "week"
rollout = 50
paywall_selector = ".article-body"

[[policy.rules]]
path = "/live/*"
mode = "observe"

[[policy.rules]]
path = "/news/*"
free_page_views = 5

[[policy.variants]]
name = "calm"
weight = 3
mode = "notice"

[[policy.variants]]
name = "firm"

[detection]
consent = "cookie"
consent_cookie = "cookie_consent"

[preview]
token_env = "PREVIEW_TOKEN"

[reload]
interval = "30s"
signal = "SIGHUP"
"""


def test_every_policy_setting_reaches_the_policy(tmp_path: Path) -> None:
    environ = {**KEYS, "PREVIEW_TOKEN": "a-preview-token-0123456789"}
    settings = load_settings(write(tmp_path, FULL), environ=environ)
    policy = settings.options["policy"]
    assert (policy.free_page_views, policy.meter.value, policy.rollout) == (3, "week", 50.0)
    assert [(rule.path, rule.mode, rule.free_page_views) for rule in policy.rules] == [
        ("/live/*", Mode.OBSERVE, None),
        ("/news/*", None, 5),
    ]
    assert [(v.name, v.weight, v.mode) for v in policy.variants] == [("calm", 3.0, Mode.NOTICE), ("firm", 1.0, None)]
    assert settings.options["paywall_selector"] == ".article-body"
    assert settings.options["consent_cookie"] == "cookie_consent"
    assert settings.options["preview_token"] == "a-preview-token-0123456789"
    assert (settings.watch, settings.interval, settings.signal) == (True, 30, "SIGHUP")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[policy]\nmeter = "year"', "policy.meter = 'year' is not allowed: one of verdict, day, week, month"),
        ("[policy]\nrollout = 101", "policy.rollout = 101 is not allowed: a percentage from 0 to 100"),
        ('[[policy.rules]]\npath = "news"', "policy.rules[0].path = 'news' is not allowed: a path pattern"),
        ('[[policy.rules]]\nmode = "soft"', "policy.rules[0].path is missing: a path pattern such as"),
        (
            '[[policy.rules]]\npath = "/x"\nlimit = 1',
            "policy.rules[0].limit = 1 is not allowed: keys of [policy.rules]",
        ),
        ("[policy]\nrules = 1", "policy.rules = 1 is not allowed: a list of tables: [[policy.rules]]"),
        ('[[policy.variants]]\nname = "a b"', "policy.variants[0].name = 'a b' is not allowed: 1 to 32 letters"),
        (
            '[[policy.variants]]\nname = "A"\n[[policy.variants]]\nname = "A"',
            "[policy] policy variant names must differ, got ['A', 'A']",
        ),
        ('[detection]\nconsent = "cookie"', "detection.consent = 'cookie' is not allowed: 'cookie' together with"),
        ('[detection]\nconsent = "maybe"', "detection.consent = 'maybe' is not allowed: one of none, event, cookie"),
        ('[preview]\ntoken_env = "A B"', "preview.token_env = 'A B' is not allowed: the name of an environment"),
        ('[reload]\nsignal = "SIGKILL"', "reload.signal = 'SIGKILL' is not allowed: one of , SIGHUP"),
    ],
)
def test_each_new_mistake_is_one_line_too(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), environ=KEYS)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_short_preview_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the preview token in PREVIEW_TOKEN is 5 characters long; use 16 or more"):
        load_settings(
            write(tmp_path, '[preview]\ntoken_env = "PREVIEW_TOKEN"'), environ={**KEYS, "PREVIEW_TOKEN": "short"}
        )


MESSAGES = """
[site]
name = "The Daily Lantern"

[message]
default_locale = "en"
title = "Keep {site} lit"
body = "Ads pay for our *reporting*. [Read why](/about/ads)."
logo = "/static/logo.svg"
logo_alt = "The Daily Lantern"
allowed_hosts = ["shop.lantern.example"]

[[message.ctas]]
label = "Subscribe"
url = "https://shop.lantern.example/subscribe"

[message.locales.de]
title = "Halten Sie {site} am Leuchten"

[message.theme.light]
background = "#fffdf7"
text = "#1a1a1a"
accent = "#8a1c1c"
accent_text = "#ffffff"

[[policy.variants]]
name = "plain"

[[policy.variants]]
name = "warm"
[policy.variants.message]
title = "We need you, reader"
[policy.variants.message.locales.de]
title = "Wir brauchen Sie"
"""


def test_messages_locales_theme_and_variants_reach_the_middleware(tmp_path: Path) -> None:
    options = load_settings(write(tmp_path, MESSAGES), environ=KEYS).options
    messages = options["message"]
    assert list(messages) == ["en", "de"]
    english, german = messages["en"], messages["de"]
    assert english.title == "Keep {site} lit" and german.title == "Halten Sie {site} am Leuchten"
    assert german.check_label != english.check_label  # our German where the editor wrote none
    assert german.logo == english.logo and german.ctas == english.ctas  # shared from [message]
    assert [(cta.name, cta.url) for cta in english.ctas] == [("subscribe", "https://shop.lantern.example/subscribe")]
    assert options["allowed_hosts"] == ("shop.lantern.example",)
    assert options["theme"].light.accent == "#8a1c1c"
    warm = options["variant_messages"]["warm"]
    assert warm["en"].title == "We need you, reader" and warm["de"].title == "Wir brauchen Sie"
    assert warm["en"].body == english.body and warm["en"].ctas == english.ctas  # the rest is the site's message
    assert "plain" not in options["variant_messages"]
    AdGuardMiddleware(bare_site(), **options)  # and the middleware accepts all of it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[message]\nbody_format = "rtf"', "message.body_format = 'rtf' is not allowed: one of markdown, html"),
        ('[message]\nlogo = "/l.svg"', "[message] message logo_alt must say what the logo shows"),
        ('[[message.ctas]]\nlabel = "Give"', "message.ctas[0].url is missing"),
        ('[message.locales.xx_YY]\ntitle = "x"', "message.locales = 'xx_YY' is not allowed: a language code"),
        ("[message.locales.de]\nallowed_hosts = []", "message.locales.de.allowed_hosts = [] is not allowed: keys of"),
        ('[message.theme.light]\nbackground = "#fff"', "message.theme.light needs all four colours; missing text"),
        (
            '[message.theme.light]\nbackground = "#fff"\ntext = "#eee"\naccent = "#000"\naccent_text = "#fff"',
            "[message.theme] theme light text #eee on background #fff",
        ),
        ('[message]\ntemplate_dir = "nowhere"', "message template_dir"),
        ('[message]\nallowed_hosts = ["evil"]', "message.allowed_hosts = ['evil'] is not allowed: a list of host"),
        (
            '[[message.ctas]]\nlabel = "Give"\nurl = "https://evil.example/"',
            "links to 'https://evil.example/', which is not allowed",
        ),
        ('[detection]\nconsent = "event"', "detection.consent = 'event' is not allowed: 'event' together with"),
        ('[events]\ndirectory = ["a", "b"]', "events.directory = ['a', 'b'] is not allowed: a folder path, or a URL"),
        ('[detection]\nconsent_event = "a b"', "detection.consent_event = 'a b' is not allowed: consent_event 'a b'"),
    ],
)
def test_each_message_mistake_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises((ConfigError, ValueError)) as error:
        options = load_settings(write(tmp_path, text), environ=KEYS).options
        AdGuardMiddleware(bare_site(), **options)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_an_events_url_in_the_file_is_kept_as_a_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`[events] directory = "s3://..."` names a bucket, not a folder next to the file."""
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", "a-secret-key-0123456789abcdefghij")
    path = tmp_path / "adguard-mw.toml"
    path.write_text('[events]\ndirectory = "s3://news-events/adguard"\n')
    assert load_settings(path).options["events"] == "s3://news-events/adguard"
