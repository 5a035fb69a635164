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
from functools import cached_property
from pathlib import Path

import rjsmin
from markupsafe import Markup

from .files import static_dir as static_dir  # kept importable from here
from .names import Names
from .theme import Theme, stylesheet_source, theme_css

# Detector timings in milliseconds: a probe gives up after `timeout`; the cosmetic check waits `settle` after load.
PROBE_TIMEOUT_MS = 1500
SETTLE_MS = 400
CHECK_FALLBACK_MS = 8000
CONFIRM_AFTER_MS = 1000  # a message still on screen this long after it appeared is confirmed as shown
# Ad slots (ad_slots): an empty slot on or near the screen waits this long for its ad before it gets the house
# message (sites fill slots late: lazy loading, slow auctions); the slot script looks again this often.
SLOT_WAIT_MS = 2500
SLOT_EVERY_MS = 250
TOKEN = re.compile(r"[0-9a-z]{6,64}")  # the probes' one-time value, in base 16 or 36
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
    slot_code: str = ""  # the slot script, minified, with "__CONFIG__" left for each reader's settings
    slot_style: str = ""  # its stylesheet: the theme's colours on this deployment's slot class

    @cached_property
    def inline_style(self) -> Markup:
        """The stylesheet for a `<style>` element: nothing in it (an editor's CSS included) can end the element."""
        return Markup(self.stylesheet.body.decode().replace("</", "<\\/"))

    @cached_property
    def inline_message_script(self) -> Markup:
        """The message script for an inline `<script>` element (checked at build time to be safe there)."""
        return Markup(self.message_script.body.decode())

    @classmethod
    def build(
        cls,
        names: Names,
        *,
        third_party_bait: str | None = None,
        skip_gpc: bool = False,
        consent_event: str | None = None,
        consent_cookie: str | None = None,
        beacon: bool = True,
        render_message: str = "ours",
        dismiss_cooldown: int = DISMISS_COOLDOWN,
        theme: Theme | None = None,
        override_dir: Path | None = None,
        slots: bool = False,
    ) -> Assets:
        """The three files, configured for this deployment.

        `consent_event` / `consent_cookie`: the detector does nothing until the page dispatches that event on
        `document` (or `<html>` carries `data-<consent_event>`), or until that cookie exists (see privacy.md).
        `beacon=False`: the detector decides the verdict in the browser and sends nothing; the message script
        shows the overlay the server inserted only for a `blocked` verdict of kind `extension`, and remembers a
        dismissal in `localStorage` for `dismiss_cooldown` seconds. `theme` and the editors' `override_dir` shape
        the stylesheet (`theme.stylesheet_source`). `slots`: the detector loads the slot script for a blocked
        reader (the site's `ad_slots`).
        """
        consent_name("consent_event", consent_event)
        consent_name("consent_cookie", consent_cookie)
        one_consent(consent_event, consent_cookie)
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
            "baits": [f"{names.bait_dir}/{names.bait_script}", f"{names.bait_dir}/{names.bait_surrogate}"],
            "image": f"{names.bait_dir}/{names.bait_image}",
            "classes": list(names.bait_classes),
            "neutral": names.neutral,
            "tag": names.probe_tag,
            "style": names.probe_style,
            "token": names.token_param,
            "radix": names.token_radix,
            "thirdParty": f"{third_party_bait}{names.prefix}/" if third_party_bait else None,
            "companion": names.companion if beacon else None,
            "refresh": REFRESH_AFTER if beacon else None,
            "consentEvent": consent_event,
            "consentCookie": consent_cookie,
            "gpc": True if skip_gpc else None,  # only where the site chose never to check GPC readers
            "tt": names.trusted_types,
            "slots": names.slot_script if slots else None,  # loaded only for a blocked reader
            "timeout": PROBE_TIMEOUT_MS,
            "settle": SETTLE_MS,
        }
        message_config = {
            "event": names.event,
            "css": names.css_class,
            "data": names.data,
            "dismiss": names.dismiss,
            "fallback": CHECK_FALLBACK_MS,
            "confirm": CONFIRM_AFTER_MS,
            # Without a beacon: shown only on the detector's word, dismissals remembered in the browser.
            "local": None if beacon else True,
            "cooldown": None if beacon else dismiss_cooldown,
            # Client-side navigation and the page API (navigation.py): where to tell the server, and the files
            # whose folder is ours (the detector's tag is found by its name).
            "script": names.script,
            "probe": names.probe_tag,
            "navigate": names.navigate if beacon else None,
            "beacon": names.beacon if beacon else None,
            "site": True if render_message == "site" else None,
        }
        message_script = _asset(_fill(folder / "message.js", message_config), "text/javascript")
        # The detector loads the message script when the page has none (for navigation and the page API).
        detector_config["ui"] = f"{names.message_script}?{names.version(message_script.version)}"
        slot_style = ""
        if slots:
            own = (folder / "slots.css").read_text(encoding="utf-8")
            css = re.sub(r"/\*.*?\*/", "", theme_css(theme or Theme()) + own, flags=re.S)  # sent with each reply
            slot_style = re.sub(r"\s+", " ", css).strip().replace("__C__", names.slot_class)
        return cls(
            detector=_asset(_fill(folder / "detector.js", detector_config), "text/javascript"),
            message_script=message_script,
            stylesheet=_asset(stylesheet_source(names.css_class, theme, override_dir), "text/css"),
            slot_code=_minified(folder / "slots.js") if slots else "",
            slot_style=slot_style,
        )

    def slot_script(self, config: Mapping[str, object]) -> bytes:
        """The slot script with one reader's settings (their house message, in their language)."""
        return _configured(self.slot_code, config).encode()


def consent_name(key: str, value: object) -> str | None:
    """A consent event's or cookie's name, as the site chose it; it ends up in a cookie lookup and an attribute."""
    if value is None or (isinstance(value, str) and CONSENT_NAME.fullmatch(value)):
        return value
    raise ValueError(f"adguard_mw: {key} {value!r} must be 1 to 64 letters, digits, '_', '-' or '.'")


def one_consent(consent_event: str | None, consent_cookie: str | None) -> None:
    if consent_event is not None and consent_cookie is not None:
        raise ValueError("adguard_mw: give consent_event or consent_cookie, not both")


def _minified(path: Path) -> str:
    """The readable source in static/, minified (every reader downloads it), "__CONFIG__" still in it."""
    source = path.read_text()
    if "__CONFIG__" not in source:
        raise RuntimeError(f"adguard_mw: {path.name} has no __CONFIG__ placeholder; the package is damaged")
    minified: str = rjsmin.jsmin(source)
    if "</script" in minified.lower() or "<!--" in minified:
        raise RuntimeError(f"adguard_mw: {path.name} could not be sent inline; the package is damaged")
    return minified


def _configured(minified: str, config: Mapping[str, object]) -> str:
    settings = {key: value for key, value in config.items() if value is not None}  # absent reads as unset
    return minified.replace("__CONFIG__", json.dumps(settings, separators=(",", ":")))


def _fill(path: Path, config: Mapping[str, object]) -> str:
    """The readable source in static/, minified and with this site's settings."""
    return _configured(_minified(path), config)


def echo_script(event: str, token: str | None) -> bytes:
    """The body of a bait or control script: announce the detector's one-time value, and nothing else.

    Without a well-formed value (a blocker stripped or rewrote the parameter) the script says nothing, exactly as
    a stand-in would: the detector counts that as blocked, never as a fault of ours.
    """
    if token is None:
        return b";"
    return f'document.dispatchEvent(new CustomEvent("{event}",{{detail:"{token}"}}));'.encode()
