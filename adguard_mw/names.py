"""Per-deployment names for everything a filter list could target.

Filter lists defeat detectors by name: one line such as ``/adblock-detector.js`` or ``##.adblock-notice``
covers every site using a package. So the detector's URLs, its cookie and the message markup get neutral
names derived from the site's secret: stable across restarts, different from one site to the next, and free
of words like "ad", "block" or "detect". Only the bait resources look like ads, on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

# Consonant-vowel syllables make names that read like ordinary words ("toreva"), not like hashes.
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"

# Bait paths that the real, current filter lists block on a first-party page (checked against EasyList and
# the uBlock Origin lists with Brave's engine). Folklore names such as ``/ads.js`` are blocked by none of them.
BAIT_SCRIPT = "adserver.js"  # EasyList: /adserver.$~stylesheet,~xmlhttprequest
BAIT_SURROGATE_SCRIPT = "prebid-ads.js"  # uBlock filters: /prebid-ads.js$script,redirect=prebid-ads.js
BAIT_IMAGE = "adserver.png"  # EasyList: /adserver. (images too)
# Class names that EasyList hides on every site (generic element hiding).
BAIT_CLASSES = ("ad_banner", "ad-unit", "banner-ad", "top-ad", "ad-wrapper", "adunit", "ad-text")


# Letter runs that ad-related filter rules key on (e.g. "-ad.", "/pub/", "banner"); a name containing one is redrawn.
_AVOID = ("ad", "ban", "pop", "pub", "tag", "spon", "pro", "mark")


def _word(seed: bytes, purpose: str, syllables: int = 3) -> str:
    for attempt in range(100):
        digest = hmac.new(seed, f"{purpose}:{attempt}".encode(), hashlib.sha256).digest()
        word = "".join(
            _CONSONANTS[digest[2 * i] % len(_CONSONANTS)] + _VOWELS[digest[2 * i + 1] % len(_VOWELS)]
            for i in range(syllables)
        )
        if not any(avoided in word for avoided in _AVOID):
            return word
    raise AssertionError("unreachable: a clean word turns up within a few attempts")  # pragma: no cover


@dataclass(frozen=True)
class Names:
    """Every name the middleware shows to the browser, derived once at start-up."""

    prefix: str  # URL path prefix of all our own endpoints, e.g. "/_toreva"
    script: str  # detector script file name
    message_script: str
    stylesheet: str
    fallback: str  # stylesheet that only browsers without JavaScript load (from <noscript>)
    control: str  # neutral request that must succeed for a "blocked" verdict to count
    bait_dir: str  # folder of the bait resources, so their full paths differ per site
    beacon: str
    dismiss: str
    recheck: str  # the "check again" form's target, for readers without JavaScript
    follow: str  # calls to action link here, to be counted on their way to the editor's link
    preview: str  # the editors' live preview, when a token enables it
    cookie: str
    css_class: str  # class prefix of the message markup
    event: str  # DOM event the detector and the message talk through
    bait_classes: tuple[str, ...]

    @classmethod
    def derive(cls, seed: str | bytes, *, prefix: str | None = None, cookie: str | None = None) -> Names:
        seed_bytes = seed.encode() if isinstance(seed, str) else seed
        pick = BAIT_CLASSES
        start = hmac.new(seed_bytes, b"bait-classes", hashlib.sha256).digest()[0] % len(pick)
        return cls(
            prefix=prefix if prefix is not None else "/_" + _word(seed_bytes, "prefix"),
            script=_word(seed_bytes, "script") + ".js",
            message_script=_word(seed_bytes, "message-script") + ".js",
            stylesheet=_word(seed_bytes, "stylesheet") + ".css",
            fallback=_word(seed_bytes, "fallback") + ".css",
            control=_word(seed_bytes, "control") + ".js",
            bait_dir=_word(seed_bytes, "bait-dir", 2),
            beacon=_word(seed_bytes, "beacon"),
            dismiss=_word(seed_bytes, "dismiss"),
            recheck=_word(seed_bytes, "recheck"),
            follow=_word(seed_bytes, "follow"),
            preview=_word(seed_bytes, "preview"),
            cookie=cookie if cookie is not None else "_" + _word(seed_bytes, "cookie"),
            css_class=_word(seed_bytes, "class"),
            event=_word(seed_bytes, "event"),
            # Three of the hidden classes, a different three per site.
            bait_classes=tuple(pick[(start + i) % len(pick)] for i in range(3)),
        )
