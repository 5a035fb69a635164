"""The Daily Lantern: a small fictional news site used to demonstrate ``adguard_mw``.

It is a plain Starlette app with no middleware of ours inside, so the demo shows the package wrapping an
ordinary, unmodified site.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
