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


# What ordinary asset pipelines name their files: every detector file name we draw must look like one of them.
PIPELINE_SHAPES = {
    "webpack / Create React App": r"[a-z0-9-]+\.[0-9a-f]{8}\.js",
    "Vite / Rollup": r"[a-z0-9-]+-[A-Za-z0-9_-]{8}\.js",
    "Next.js": r"[a-z0-9-]+-[0-9a-f]{16}\.js",
    "numbered chunk": r"\d{1,3}\.[0-9a-f]{8}([0-9a-f]{12})?\.js",
    "minified": r"[a-z0-9-]+\.min\.js",
    "chunk": r"[a-z0-9-]+\.[0-9a-f]{20}\.chunk\.js",
    "bundle": r"[a-z0-9-]+\.bundle\.js",
    "plain": r"[a-z0-9-]+\.js",
}


def shape_of(file_name: str) -> str:
    import re

    for shape, pattern in PIPELINE_SHAPES.items():
        if re.fullmatch(pattern, file_name):
            return shape
    raise AssertionError(f"{file_name} looks like no asset pipeline's file")


def test_each_deployment_draws_its_shapes_too() -> None:
    """No one pattern: file-name shapes, folders, parameters and formats all vary between deployments."""
    deployments = [Names.derive(seed) for seed in SEEDS]
    assert {shape_of(names.script) for names in deployments} == set(PIPELINE_SHAPES)
    assert len({names.prefix.split("/")[1] for names in deployments}) >= 10  # top-level folders
    assert len({names.prefix.count("/") for names in deployments}) >= 3  # depths
    assert len({names.version_param for names in deployments}) >= 10
    assert len({names.version_format for names in deployments}) == 3
    assert len({names.token_param for names in deployments}) >= 12 and {n.token_radix for n in deployments} == {16, 36}
    assert len({names.probe_tag for names in deployments}) >= 6 and len({n.probe_style[:12] for n in deployments}) >= 4
    assert len({names.bait_script.split(".")[0] for names in deployments}) >= 3
    assert any("/" in names.beacon for names in deployments) and any("/" not in n.beacon for n in deployments)


def test_the_default_folder_is_one_ordinary_sites_use() -> None:
    from adguard_mw.names import ASSET_FOLDERS

    for seed in SEEDS[:100]:
        prefix = Names.derive(seed).prefix
        assert any(prefix == folder or prefix.startswith(folder + "/") for folder in ASSET_FOLDERS), prefix


@pytest.mark.parametrize("seed", SEEDS[:50])
def test_new_names_carry_no_ad_block_word_either(seed: str) -> None:
    names = Names.derive(seed)
    for name in (names.seen, names.companion, names.data, names.neutral, names.trusted_types, names.fallback):
        assert not any(word in name.lower().removeprefix("data-") for word in AD_BLOCK_WORDS), name
