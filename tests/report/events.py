"""Helpers to write small event files by hand: one call per line, the fields that matter spelled out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

READER = {
    "site": "lantern",
    "instance": "web-1",
    "locale": "en",
    "mode": "soft",
    "browser_major": "131",
    "os": "Windows",
    "device": "desktop",
}


def event(time: str, name: str, **fields: Any) -> dict[str, Any]:
    """A v1 event at `time` ("2026-11-20T10:00:00.000Z"); fields not given take READER's values."""
    return {"v": 1, "time": time, "event": name, **READER, **fields}


def write_lines(path: Path, lines: Sequence[dict[str, Any] | str]) -> Path:
    """Write events (dicts) and raw text lines (str, for broken input) as a JSON lines file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text, encoding="utf-8")
    return path
