"""The event log: one JSON object per line, to a file the site owner names and to Python logging.

Events carry coarse, pseudonymous facts only (see `docs/events.md`): never an IP address, a raw user-agent, a
query string or a full referrer. A failing disk must not fail a request, so a write error is reported once and
the event dropped. Each line goes out in a single `write` on a file opened for appending, so concurrent writers
(several workers) never interleave within a line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from ._faults import report_fault
from .clients import describe_client

SCHEMA_VERSION = 1
EVENT_NAMES = frozenset({"verdict", "message_shown", "message_dismissed", "check_again", "recovered"})

logger = logging.getLogger("adguard_mw.events")


class EventLog:
    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._fd: int | None = None
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        if event not in EVENT_NAMES:
            raise ValueError(f"adguard_mw: unknown event {event!r}; known events: {', '.join(sorted(EVENT_NAMES))}")
        record = {
            "v": SCHEMA_VERSION,
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": event,
            **fields,
        }
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=True)
        # ensure_ascii plus json escaping means no raw newline from a field can forge a second record.
        if logger.isEnabledFor(logging.INFO):
            logger.info(line)
        if self.path is not None:
            self._write(line.encode() + b"\n")

    def _write(self, data: bytes) -> None:
        try:
            with self._lock:
                if self._fd is None:
                    assert self.path is not None
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
                os.write(self._fd, data)
        except OSError as exc:
            report_fault(f"writing events to {self.path}", exc)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def reader_fields(user_agent: str, visitor_id: str | None, path: str) -> dict[str, Any]:
    """The coarse, pseudonymous facts every event carries about its reader."""
    client = describe_client(user_agent)
    return {
        "path": path,
        "visitor": visitor_id,
        "browser": client.browser,
        "browser_major": client.browser_major,
        "os": client.os,
        "device": client.device,
    }
