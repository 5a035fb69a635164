"""The files the browser loads from us, prepared once at start-up.

The scripts and styles are real files in `static/` (shipped inside the wheel); here they get this deployment's
neutral names filled in and a content hash for their URLs, so browsers may cache them for a year and still pick
up a new release at once. Bait and control scripts are tiny and built per request: each echoes the one-time value
the detector sent, which a blocker's stand-in script cannot do.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import rjsmin

from .names import BAIT_IMAGE, BAIT_SCRIPT, BAIT_SURROGATE_SCRIPT, Names
from .theme import Theme, stylesheet_source

# Detector timings in milliseconds: a probe gives up after `timeout`; the cosmetic check waits `settle` after load.
PROBE_TIMEOUT_MS = 1500
SETTLE_MS = 400
CHECK_FALLBACK_MS = 8000
TOKEN = re.compile(r"[0-9a-f]{8,64}")
# A verdict that has not changed is reported again only once it is this old (seconds): one beacon per verdict.
REFRESH_AFTER = 3600
# Without a beacon, a "continue" on the message is remembered in the browser for this long by default (seconds).
DISMISS_COOLDOWN = 24 * 3600
# Names a site chooses for its consent event or cookie: they end up in a cookie lookup and an attribute name.
CONSENT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# The bait image is 2x1 pixels: a blocker's stand-in image (uBlock's 1x1.gif) is told apart by its size.
BAIT_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000010806000000f4227f8a0000000b49444154789c636080020000090001fb52"
    "b8a90000000049454e44ae426082"
)


def static_dir() -> Path:
    """`adguard_mw/static` in an installed wheel; the repository's `static/` in a source checkout."""
    packaged = Path(__file__).parent / "static"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "static"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    version: str  # short content hash, put in the URL so the file can be cached "forever"


def _asset(body: str, media_type: str) -> Asset:
    data = body.encode()
    return Asset(data, media_type, hashlib.sha256(data).hexdigest()[:10])


@dataclass(frozen=True)
class Assets:
    detector: Asset
    message_script: Asset
    stylesheet: Asset

    @classmethod
    def build(
        cls,
        names: Names,
        *,
        third_party_bait: str | None = None,
        pending_cookie: str | None = None,
        honor_gpc: bool = True,
        consent_event: str | None = None,
        consent_cookie: str | None = None,
        beacon: bool = True,
        dismiss_cooldown: int = DISMISS_COOLDOWN,
        theme: Theme | None = None,
        override_dir: Path | None = None,
    ) -> Assets:
        """The three files, configured for this deployment.

        `consent_event` / `consent_cookie`: the detector does nothing until the page dispatches that event on
        `document` (or `<html>` carries `data-<consent_event>`), or until that cookie exists (see privacy.md).
        `beacon=False`: the detector decides the verdict in the browser and sends nothing; the message script
        shows the overlay the server inserted only for a `blocked` verdict of kind `extension`, and remembers a
        dismissal in `localStorage` for `dismiss_cooldown` seconds. `theme` and the editors' `override_dir` shape
        the stylesheet (`theme.stylesheet_source`).
        """
        for key, value in (("consent_event", consent_event), ("consent_cookie", consent_cookie)):
            if value is not None and not (isinstance(value, str) and CONSENT_NAME.fullmatch(value)):
                raise ValueError(f"adguard_mw: {key} {value!r} must be 1 to 64 letters, digits, '_', '-' or '.'")
        if consent_event is not None and consent_cookie is not None:
            raise ValueError("adguard_mw: give consent_event or consent_cookie, not both")
        if not beacon and pending_cookie is not None:
            raise ValueError(
                "adguard_mw: silent_detector='blocked' needs the beacon (a silence is noticed by the server)"
            )
        if not isinstance(dismiss_cooldown, int) or isinstance(dismiss_cooldown, bool) or dismiss_cooldown < 0:
            raise ValueError(
                f"adguard_mw: dismiss_cooldown must be a number of seconds (0 or more), got {dismiss_cooldown!r}"
            )
        folder = static_dir()
        # Keys whose value is None are left out of the script: absent reads as unset, and every byte counts.
        detector_config = {
            "event": names.event,
            "beacon": names.beacon if beacon else None,  # none: the verdict stays in the browser
            "control": names.control,
            "baits": [f"{names.bait_dir}/{BAIT_SCRIPT}", f"{names.bait_dir}/{BAIT_SURROGATE_SCRIPT}"],
            "classes": list(names.bait_classes),
            "neutral": f"{names.css_class}-n",
            "image": f"{names.bait_dir}/{BAIT_IMAGE}",
            "thirdParty": f"{third_party_bait}{names.prefix}/{names.control}" if third_party_bait else None,
            "companion": names.cookie + "_v" if beacon else None,
            "pending": pending_cookie,
            "refresh": REFRESH_AFTER if beacon else None,
            "consentEvent": consent_event,
            "consentCookie": consent_cookie,
            "gpc": honor_gpc,
            "timeout": PROBE_TIMEOUT_MS,
            "settle": SETTLE_MS,
        }
        message_config = {
            "event": names.event,
            "css": names.css_class,
            "dismiss": names.dismiss,
            "fallback": CHECK_FALLBACK_MS,
            # Without a beacon: shown only on the detector's word, dismissals remembered in the browser.
            "local": None if beacon else True,
            "cooldown": None if beacon else dismiss_cooldown,
        }
        return cls(
            detector=_asset(_fill(folder / "detector.js", detector_config), "text/javascript"),
            message_script=_asset(_fill(folder / "message.js", message_config), "text/javascript"),
            stylesheet=_asset(stylesheet_source(names.css_class, theme, override_dir), "text/css"),
        )


def _fill(path: Path, config: Mapping[str, object]) -> str:
    """The readable source in static/, minified (every reader downloads it) and with this site's settings."""
    source = path.read_text()
    if "__CONFIG__" not in source:
        raise RuntimeError(f"adguard_mw: {path.name} has no __CONFIG__ placeholder; the package is damaged")
    minified: str = rjsmin.jsmin(source)
    settings = {key: value for key, value in config.items() if value is not None}  # absent reads as unset
    return minified.replace("__CONFIG__", json.dumps(settings, separators=(",", ":")))


def echo_script(event: str, token: str) -> bytes:
    """The body of a bait or control script: announce the detector's one-time value, and nothing else."""
    return f'document.dispatchEvent(new CustomEvent("{event}",{{detail:"{token}"}}));'.encode()
