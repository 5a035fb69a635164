"""Write docs/configuration.md from the settings model in adguard_mw/config.py: python scripts/config_reference.py"""

from __future__ import annotations

from pathlib import Path

from adguard_mw.config import reference

if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    target.write_text(reference())
    print(f"wrote {target}")
