"""Where the package's own browser files are: the one thing both the assets and the theme need to find."""

from __future__ import annotations

from pathlib import Path


def static_dir() -> Path:
    """`adguard_mw/static` in an installed wheel; the repository's `static/` in a source checkout."""
    packaged = Path(__file__).parent / "static"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "static"
