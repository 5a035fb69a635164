"""Write docs/configuration.md and the README's table of options from the settings model (adguard_mw/options.py
and adguard_mw/config.py): python scripts/config_reference.py"""

from __future__ import annotations

from pathlib import Path

from adguard_mw.config import reference
from adguard_mw.options import README_END, README_START, readme_table

ROOT = Path(__file__).resolve().parent.parent


def readme(text: str) -> str:
    """`text` (the README) with its table of options replaced by the generated one."""
    head, start, rest = text.partition(README_START)
    _, end, tail = rest.partition(README_END)
    if not start or not end:
        raise SystemExit(f"README.md has lost its markers {README_START!r} and {README_END!r}")
    return f"{head}{start}\n{readme_table()}{end}{tail}"


if __name__ == "__main__":
    target = ROOT / "docs" / "configuration.md"
    target.write_text(reference())
    print(f"wrote {target}")
    target = ROOT / "README.md"
    target.write_text(readme(target.read_text()))
    print(f"wrote the table of options in {target}")
