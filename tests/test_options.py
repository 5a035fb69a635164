"""Each option is described once (adguard_mw/options.py); the constructor, the file, the reload and the docs follow."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Any

import pytest

from adguard_mw import AdGuardMiddleware, Message, Policy, Variant, config, reload
from adguard_mw.options import EDITORIAL, OPTIONS, REQUIRED, RESTART_ONLY, Options

from .site import bare_site

KEY = "the-current-key-0123456789abcdef"


def test_the_constructor_takes_every_option_with_the_same_default() -> None:
    parameters = list(inspect.signature(AdGuardMiddleware.__init__).parameters.values())[2:]  # after self, app
    assert [p.name for p in parameters] == [option.name for option in OPTIONS]
    for parameter, option in zip(parameters, OPTIONS, strict=True):
        default = REQUIRED if parameter.default is inspect.Parameter.empty else parameter.default
        assert default == option.default, f"{option.name}: {default!r} in the constructor, {option.default!r} here"


def test_every_option_is_either_editorial_or_needs_a_restart() -> None:
    assert set(EDITORIAL) | set(RESTART_ONLY) == {option.name for option in OPTIONS}
    assert not set(EDITORIAL) & set(RESTART_ONLY)
    assert (reload.EDITORIAL, reload.RESTART_ONLY) == (EDITORIAL, RESTART_ONLY)  # the reloader's split is this one


def test_a_key_that_sets_an_option_is_checked_and_documented_by_the_option() -> None:
    for option in OPTIONS:
        if option.toml is None:
            continue
        section, name = option.toml.rsplit(".", 1)
        key = next(s for s in config.SECTIONS if s.name == section).key(name)
        assert key is not None and key.parse is option.check and key.help == option.help, option.name


@pytest.mark.parametrize("name", [option.name for option in OPTIONS])
def test_a_wrong_value_for_any_option_is_one_line_naming_it(name: str) -> None:
    given = {"secret_key": KEY, name: object()}
    with pytest.raises((ValueError, TypeError)) as error:
        Options.of(**given)
    text = str(error.value)
    assert text.startswith(f"adguard_mw: {name}") and "\n" not in text


def test_a_misspelt_option_is_named_with_the_nearest_one() -> None:
    with pytest.raises(TypeError, match=r"^adguard_mw: 'site_nam' is not an option; did you mean 'site_name'\?"):
        Options.of(secret_key=KEY, site_nam="The Lantern")


def test_the_import_time_check_names_a_misspelt_keyword_too(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"'beacn' is not an option; did you mean 'beacon'\?"):
        AdGuardMiddleware.check(secret_key=KEY, beacn=False)
    path = tmp_path / "adguard-mw.toml"
    path.write_text("[site]\n")
    with pytest.raises(TypeError, match=r"'site_nam' is not an option; did you mean 'site_name'\?"):
        AdGuardMiddleware.from_config(bare_site(), path, site_nam="The Lantern")


def test_a_subclass_keeps_its_own_keywords_and_misspelt_ones_are_still_named() -> None:
    class WithAudience(AdGuardMiddleware):
        def __init__(self, app: Any, *, audience: str = "all", **options: Any) -> None:
            super().__init__(app, **options)
            self.audience = audience

    class Named(AdGuardMiddleware):
        def __init__(self, app: Any, *, secret_key: str, audience: str = "all") -> None:
            super().__init__(app, secret_key=secret_key)
            self.audience = audience

    assert WithAudience(bare_site(), secret_key=KEY, audience="members").audience == "members"
    assert Named(bare_site(), secret_key=KEY, audience="members").audience == "members"
    with pytest.raises(TypeError, match=r"^adguard_mw: 'audiense' is not an option; did you mean 'audience'\?"):
        Named(bare_site(), secret_key=KEY, audiense="members")
    with pytest.raises(TypeError, match="site_nam"):  # one that takes any keyword checks its own, or Python does
        WithAudience(bare_site(), secret_key=KEY, site_nam="The Lantern")


def test_a_misspelt_key_in_the_file_is_named_with_the_nearest_one(tmp_path: Path) -> None:
    path = tmp_path / "adguard-mw.toml"
    path.write_text("[detection]\nbeacn = false\n[site]\nhttps_onyl = true\n")
    with pytest.raises(config.ConfigError) as error:
        config.load_settings(path, environ={"ADGUARD_MW_SECRET_KEYS": KEY})
    assert [problem.split(" is not allowed: ")[1].split("?")[0] for problem in error.value.problems] == [
        "did you mean 'https_only'",
        "did you mean 'beacon'",
    ]


def test_options_are_frozen_and_keep_the_checked_values() -> None:
    options = Options.of(secret_key=KEY, policy="soft", page_view_sample_rate=1, allowed_hosts=["shop.example.com"])
    assert options.policy == Policy(mode="soft") and options.page_view_sample_rate == 1.0
    assert options.secret_key == (KEY,) and options.allowed_hosts == ("shop.example.com",)
    with pytest.raises(AttributeError):
        options.site_name = "changed"  # type: ignore[misc]


def test_a_reload_changes_only_what_editors_own_and_says_what_it_is_not() -> None:
    app = AdGuardMiddleware(bare_site(), secret_key=KEY, policy="soft", paywall_selector=".story", beacon=True)
    editorial = app.build_editorial(policy="notice")
    assert editorial.policy.mode.value == "notice" and editorial.paywall == b""  # not given: back to its default
    with pytest.raises(TypeError, match="'beacon' is not an editorial option"):
        app.build_editorial(beacon=False)


def test_what_holds_between_options_holds_on_a_reload_too() -> None:
    app = AdGuardMiddleware(bare_site(), secret_key=KEY, beacon=False, policy="soft")
    with pytest.raises(ValueError, match=r"^adguard_mw: the hard mode needs the beacon"):
        app.build_editorial(policy="hard")
    policy = Policy(mode="soft", variants=(Variant("a"), Variant("b")))
    app.build_editorial(policy=policy, variant_messages={"a": Message(title="A")})
    with pytest.raises(ValueError, match="variant_messages names 'c'"):
        app.build_editorial(policy=policy, variant_messages={"c": Message(title="C")})


def test_the_options_never_show_a_secret() -> None:
    options = Options.of(secret_key=KEY, preview_token="a-preview-token-0123456789")
    assert KEY not in repr(options) and "a-preview-token" not in repr(options) and "site_name" in repr(options)


def test_the_deprecated_switch_still_warns_once_and_is_not_kept() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        options = Options.of(secret_key=KEY, honor_gpc=True)
    assert [w.category for w in caught] == [DeprecationWarning]
    assert (options.gpc, options.honor_gpc) == ("skip", None)


def test_the_file_sets_an_option_under_its_own_key(tmp_path: Path) -> None:
    path = tmp_path / "adguard-mw.toml"
    path.write_text('[site]\nname = "The Lantern"\n[detection]\nbeacon = false\nhonor_gpc = true\n')
    options = config.load_settings(path, environ={"ADGUARD_MW_SECRET_KEYS": KEY}).options
    assert (options["site_name"], options["beacon"], options["gpc"]) == ("The Lantern", False, "skip")
    assert "honor_gpc" not in options  # read as the old spelling of gpc, without the constructor's warning
