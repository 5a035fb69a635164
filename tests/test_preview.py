"""`adguard-mw preview FILE`: every message of a configuration as a static page editors can open from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from adguard_mw.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[site]
name = "The Daily Lantern"

[policy]
mode = "soft"

[[policy.variants]]
name = "plain"

[[policy.variants]]
name = "warm"
[policy.variants.message]
title = "We need you, reader"

[message]
title = "Keep {site} lit"

[message.locales.de]
title = "Halten Sie {site} am Leuchten"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", "the-current-key-0123456789abcdef")
    path = tmp_path / "adguard-mw.toml"
    path.write_text(CONFIG)
    return path


def test_every_mode_locale_variant_and_kind_is_written(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = config.parent / "preview"
    assert main(["preview", str(config), "--out", str(out)]) == 0
    written = sorted(path.name for path in out.iterdir())
    modes, locales, kinds = ("notice", "instructions", "soft", "hard"), ("en", "de"), ("", "-network")
    expected = [f"{m}-{loc}{v}{k}.html" for m in modes for loc in locales for v in ("", "-warm") for k in kinds]
    assert written == sorted(expected)
    assert sorted(capsys.readouterr().out.splitlines()) == [str(out / name) for name in sorted(expected)]


def test_each_page_shows_its_own_words(config: Path) -> None:
    out = config.parent / "preview"
    assert (
        main(["preview", str(config), "--out", str(out), "--mode", "hard", "--locale", "de", "--kind", "extension"])
        == 0
    )
    german = (out / "hard-de.html").read_text()
    assert "Halten Sie The Daily Lantern am Leuchten" in german and '<html lang="de"' in german
    assert (
        main(["preview", str(config), "--out", str(out), "--mode", "soft", "--variant", "warm", "--variant", "plain"])
        == 0
    )
    assert "We need you, reader" in (out / "soft-en-warm.html").read_text()
    assert "Keep The Daily Lantern lit" in (out / "soft-en-plain.html").read_text()


def test_pages_stand_alone(config: Path) -> None:
    out = config.parent / "preview"
    assert (
        main(["preview", str(config), "--out", str(out), "--mode", "soft", "--locale", "en", "--kind", "network"]) == 0
    )
    page = (out / "soft-en-network.html").read_text()
    assert "<style" in page and 'data-mode="soft"' in page
    assert 'src="/' not in page and 'href="/_' not in page  # nothing to fetch from a server that is not there


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (["--locale", "fr"], "no locale 'fr' in the configuration; it has: en, de"),
        (["--variant", "bold"], "no variant 'bold' in the configuration; it has: plain, warm"),
        (["--mode", "loud"], "mode must be one of notice, instructions, soft, hard, got 'loud'"),
        (["--browser", "netscape"], "browser must be one of chrome, edge, firefox, safari, opera, brave, android"),
    ],
)
def test_a_wrong_choice_is_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], extra: list[str], error: str
) -> None:
    assert main(["preview", str(config), "--out", str(config.parent / "p"), *extra]) == 1
    assert error in capsys.readouterr().err


def test_the_examples_configuration_previews(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", "the-current-key-0123456789abcdef")
    assert main(["preview", str(ROOT / "examples" / "adguard-mw.toml"), "--out", str(tmp_path)]) == 0
    assert "Abonnieren" in (tmp_path / "soft-de.html").read_text()


def test_check_config_prints_the_live_preview_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", "the-current-key-0123456789abcdef")
    monkeypatch.setenv("PREVIEW_TOKEN", "a-preview-token-0123456789")
    path = tmp_path / "adguard-mw.toml"
    path.write_text('[preview]\ntoken_env = "PREVIEW_TOKEN"\n')
    assert main(["check-config", str(path)]) == 0
    line, on_pages = capsys.readouterr().out.splitlines()[-2:]
    assert line.startswith("live preview: /") and "?token=<the preview token>" in line
    assert on_pages.startswith("on your pages: /") and "&page=/" in on_pages
    assert "a-preview-token" not in line + on_pages  # the token itself is never printed
