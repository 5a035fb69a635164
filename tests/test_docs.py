"""The documentation site builds with `mkdocs build --strict`: no broken links, no page missing from the nav."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def nav_pages() -> list[str]:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with mkdocs (pip install 'adguard-mw[docs]')")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return [page for entry in config["nav"] for page in entry.values()]


def test_every_page_in_the_nav_exists() -> None:
    missing = [page for page in nav_pages() if not (ROOT / "docs" / page).is_file()]
    assert missing == [], f"mkdocs.yml lists pages that docs/ does not have: {missing}"


def test_the_docs_build_strictly(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install 'adguard-mw[docs]')")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()


def test_the_configuration_reference_is_generated_from_the_settings_model() -> None:
    from adguard_mw.config import reference

    written = (ROOT / "docs" / "configuration.md").read_text()
    assert written == reference(), "docs/configuration.md is stale: run python scripts/config_reference.py"


def test_every_key_the_file_accepts_is_in_the_reference() -> None:
    from adguard_mw.config import SECTIONS

    written = (ROOT / "docs" / "configuration.md").read_text()
    for section in SECTIONS:
        assert section.name in written
        for key in section.keys:
            assert f"| `{key.name}` |" in written, f"{section.name}.{key.name} is missing from the reference"


def test_the_readme_table_of_options_is_generated_from_the_settings_model() -> None:
    from adguard_mw.options import OPTIONS, README_END, README_START, readme_table

    readme = (ROOT / "README.md").read_text()
    table = readme.partition(README_START)[2].partition(README_END)[0]
    stale = "README.md's table of options is stale: run python scripts/config_reference.py"
    assert table.strip() == readme_table().strip(), stale
    for option in OPTIONS:
        assert f"| `{option.name}` |" in table
