"""Reloading `adguard-mw.toml` while the site runs.

Editors change the message and the policy without a deploy: the file is looked at, at most once per interval, on
the request that finds the interval passed (a clock comparison per request otherwise; no watcher thread, no
watcher library, and it works the same in every worker process); the reload itself runs on a short-lived thread,
so a slow one never holds up a reader's page. A signal can ask for a reload too. A broken new file
keeps the running settings and logs why, once per change of the file.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from types import FrameType
from typing import Any, Protocol

from ._faults import report_fault
from .config import ConfigError, Settings, load_settings
from .editorial import Editorial
from .options import EDITORIAL, RESTART_ONLY

logger = logging.getLogger("adguard_mw.config")

RELOAD_WAIT = 1.0  # seconds the request that finds a reload due waits for it
__all__ = ["EDITORIAL", "RELOAD_WAIT", "RESTART_ONLY", "Reloadable", "Reloader"]  # the option lists: options.py


class Reloadable(Protocol):
    """What a reload needs of the middleware: to build the editors' settings, and to switch to them."""

    def build_editorial(self, **options: Any) -> Editorial: ...

    def use(self, editorial: Editorial) -> None: ...


class Reloader:
    def __init__(self, middleware: Reloadable, settings: Settings, overrides: dict[str, Any]) -> None:
        assert settings.path is not None
        self.middleware = middleware
        self.path = settings.path
        self.overrides = overrides  # keywords given in code keep winning over the file
        self.watch = settings.watch
        self.interval = settings.interval
        self.options = settings.options
        self._seen = _signature(self.path)
        self._next_check = time.monotonic() + self.interval
        self._requested = False
        self._lock = threading.Lock()
        if settings.signal:
            self._listen(settings.signal)

    def check(self) -> None:
        """Called on every request: nearly free until the interval has passed or a signal came.

        The reload itself runs in a thread of its own, and the request that found it due waits for it at most
        RELOAD_WAIT seconds: a reload takes milliseconds, so that request usually sees the new settings, but a
        template that takes long to render (or anything else slow) never holds up a reader's page for longer,
        and nothing it raises reaches the request.
        """
        if not self._requested and (not self.watch or time.monotonic() < self._next_check):
            return
        if not self._lock.acquire(blocking=False):
            return  # another thread is at it
        worker = None
        try:
            self._next_check = time.monotonic() + self.interval
            seen = _signature(self.path)
            if self._requested or seen != self._seen:
                self._requested = False
                self._seen = seen
                worker = threading.Thread(target=self._reload_and_release, name="adguard-mw-reload", daemon=True)
                worker.start()
        except Exception as exc:
            report_fault(f"reloading {self.path.name}", exc, "the previous settings stay in force")
        finally:
            if worker is None:
                self._lock.release()
        if worker is not None:
            worker.join(RELOAD_WAIT)

    def _reload_and_release(self) -> None:
        try:
            self.reload()
        except Exception as exc:  # a reload never fails a reader's request, nor stops later reloads
            report_fault(f"reloading {self.path.name}", exc, "the previous settings stay in force")
        finally:
            self._lock.release()

    def reload(self) -> bool:
        """Read the file again and switch to it; on any mistake keep what runs. True when it switched."""
        try:
            options = {**load_settings(self.path).options, **self.overrides}
            editorial = self.middleware.build_editorial(**{key: options[key] for key in EDITORIAL if key in options})
        except (ConfigError, ValueError, TypeError) as exc:
            logger.error(
                "adguard_mw: %s was not reloaded, the previous settings stay in force: %s",
                self.path.name,
                "; ".join(str(exc).removeprefix("adguard_mw: ").splitlines()),  # every mistake, on one log line
            )
            return False
        self.middleware.use(editorial)
        ignored = [key for key in RESTART_ONLY if options.get(key) != self.options.get(key)]
        if ignored:
            logger.warning(
                "adguard_mw: %s reloaded; changes to %s take effect on the next restart",
                self.path.name,
                ", ".join(ignored),
            )
        else:
            logger.info("adguard_mw: %s reloaded", self.path.name)
        self.options = {**options, **{key: self.options.get(key) for key in RESTART_ONLY}}
        return True

    def _listen(self, name: str) -> None:
        number = getattr(signal, name, None)
        if number is None or threading.current_thread() is not threading.main_thread():
            logger.warning("adguard_mw: cannot listen for %s here; the file is still watched", name)
            return
        previous = signal.getsignal(number)

        def request_reload(signum: int, frame: FrameType | None) -> None:
            self._requested = True  # the next request reloads; nothing heavy happens inside a signal handler
            if callable(previous):
                previous(signum, frame)

        signal.signal(number, request_reload)


def _signature(path: os.PathLike[str]) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
