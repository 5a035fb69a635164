"""Fail open, and say so once.

The middleware sits in front of every page of a site: when one of its own parts breaks, the reader must get the
site's original response and the operator one clear log record, not a page of errors or a log flooded on every
request. Each kind of fault is logged with its traceback the first time, then only counted.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

logger = logging.getLogger("adguard_mw")

_lock = threading.Lock()
_counts: Counter[str] = Counter()


def report_fault(where: str, exc: BaseException, outcome: str = "the original response was served unchanged") -> None:
    """Log the first fault of each kind with its traceback, saying what the reader got instead; count the rest."""
    with _lock:
        _counts[where] += 1
        first = _counts[where] == 1
    if first:
        logger.error(
            "adguard_mw: %s failed; %s (logged once per process, later occurrences are counted)",
            where,
            outcome,
            exc_info=exc,
        )


def fault_counts() -> dict[str, int]:
    """How often each kind of fault happened in this process, for health checks and tests."""
    with _lock:
        return dict(_counts)


def reset_fault_counts() -> None:
    with _lock:
        _counts.clear()


_build_errors_logged: set[str] = set()


def log_build_error(exc: BaseException) -> None:
    """Starlette and FastAPI build middleware on the first request, and servers take a failed lifespan for "not
    supported": a bad setting then fails every request. Say what is wrong in one line, once per process."""
    problem = "; ".join(str(exc).removeprefix("adguard_mw: ").splitlines())
    if problem not in _build_errors_logged:
        _build_errors_logged.add(problem)
        logger.error("adguard_mw: the middleware cannot start, so every request fails until this is fixed: %s", problem)
