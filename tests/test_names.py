"""Per-deployment names: neutral, stable for one secret, different between sites."""

from __future__ import annotations

import pytest

from adguard_mw.names import Names

AD_BLOCK_WORDS = ("ad", "block", "detect", "bait", "guard", "adb")
SEEDS = [f"site-secret-{i:03d}-abcdefghijklmnop" for i in range(300)]


def visible_names(names: Names) -> list[str]:
    return [
        names.prefix, names.script, names.message_script, names.stylesheet, names.control, names.bait_dir,
        names.beacon, names.dismiss, names.recheck, names.cookie, names.css_class, names.event,
    ]  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
def test_no_name_carries_an_ad_block_word(seed: str) -> None:
    for name in visible_names(Names.derive(seed)):
        assert not any(word in name.lower() for word in AD_BLOCK_WORDS), name


@pytest.mark.parametrize("seed", SEEDS[:50])
def test_names_within_one_deployment_are_distinct(seed: str) -> None:
    names = visible_names(Names.derive(seed))
    assert len(set(names)) == len(names)


def test_stable_for_one_secret_and_different_between_sites() -> None:
    assert Names.derive("one-secret-abcdefghijklmnopqrstuvwxyz") == Names.derive(
        "one-secret-abcdefghijklmnopqrstuvwxyz"
    )
    scripts = {Names.derive(seed).script for seed in SEEDS}
    assert len(scripts) > 290  # one filter line cannot name every site's detector


def test_prefix_and_cookie_can_be_chosen() -> None:
    names = Names.derive("seed-abcdefghijklmnopqrstuvwxyz", prefix="/_support", cookie="reader")
    assert names.prefix == "/_support" and names.cookie == "reader"
