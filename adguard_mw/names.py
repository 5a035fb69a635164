"""Per-deployment names for everything a filter list could target, and per-deployment shapes for them.

Filter lists defeat detectors by name: one line such as ``/adblock-detector.js`` or ``##.adblock-notice`` covers
every site using a package. Per-site *words* are not enough either: if every site's detector lives at
``/_`` + six letters + ``.js?v=`` + ten hex digits, one regular expression covers them all. So each deployment
draws, from its secret, both the words and the *shape* of every name: the folder (one of the folders ordinary
asset pipelines use), the file-name pattern (webpack's ``main.3f2a9c1b.js``, Vite's ``index-Bx3k_9Qa.js``,
Next's ``app-4f3e2a1b9c8d7e6f.js``, ``theme.min.js``…), the cache-busting parameter and its format, the probe's
one-time parameter, the endpoints' look, the cookie's and the CSS classes' make-up. A pattern that matches our
URLs on two sites must then also match the hashed bundles of a large share of ordinary sites (the argument for
each name is in docs/detection.md). Names are stable across restarts, differ between sites, and carry no word
such as "ad", "block" or "detect"; only the bait resources look like ads, on purpose, and even they vary.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from dataclasses import dataclass

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_HEX = "0123456789abcdef"
_BASE64URL = string.ascii_letters + string.digits + "-_"

# Folders that ordinary sites serve their scripts from (bundlers, CMSs, frameworks): the default prefix is one of
# them, sometimes with a word of its own below. Only our exact paths are answered there; the site's own files in
# the same folder still reach the site.
ASSET_FOLDERS = (
    "/assets", "/static", "/static/js", "/static/chunks", "/dist", "/dist/js", "/build", "/build/js", "/js",
    "/public/js", "/_app/immutable/chunks", "/bundles", "/scripts", "/lib", "/res", "/media/js", "/site/js",
    "/theme/js", "/frontend", "/web/js",
)  # fmt: skip
# Words that bundlers and CMSs give their files; names are drawn from these and from made-up words.
_FILE_WORDS = (
    "main", "app", "index", "vendor", "runtime", "common", "bundle", "site", "theme", "global", "framework",
    "polyfills", "scripts", "core", "init", "lib", "ui", "utils", "client", "chunk", "entry", "shell", "base",
    "layout", "home", "page", "view", "nav", "menu", "search", "forms", "media", "vendors", "shared", "webpack",
)  # fmt: skip
# Parameter names that sites use for cache busting, and formats of their values.
_VERSION_PARAMS = ("v", "ver", "version", "rev", "h", "hash", "build", "t", "_", "cb", "vsn", "r")
_TOKEN_PARAMS = ("_", "t", "cb", "r", "ts", "rnd", "c", "k", "x", "z", "q", "s", "n", "id", "u", "nc")
# Folders for endpoints that scripts post to.
_API_SHAPES = ("{w}", "{w}/{w}", "{w}.json", "v{d}/{w}", "{w}-{w}", "api/{w}", "{w}/{w}.json")

# Bait resources, each blocked by the real lists on a first-party page (checked against EasyList and the uBlock
# Origin lists with Brave's engine in the tests); each deployment takes one of each kind, some with a hash added.
BAIT_SCRIPTS = ("adserver.js", "adserver.{h}.js", "prebid.{h}.js", "gpt.js")  # EasyList: /adserver., /prebid., /gpt.js
BAIT_SURROGATE_SCRIPTS = ("prebid-ads.js", "ads-prebid.js")  # uBlock filters: redirect=prebid-ads.js
BAIT_IMAGES = ("adserver.png", "adserver.{h}.png", "banner-ad.{h}.png", "728x90.png", "banner_468x60.png")
# Kept for code written against earlier releases: the first of each menu.
BAIT_SCRIPT, BAIT_SURROGATE_SCRIPT, BAIT_IMAGE = BAIT_SCRIPTS[0], BAIT_SURROGATE_SCRIPTS[0], BAIT_IMAGES[0]
# Class names that EasyList hides on every site (generic element hiding).
BAIT_CLASSES = ("ad_banner", "ad-unit", "banner-ad", "top-ad", "ad-wrapper", "adunit", "ad-text")
# Elements the probes are made of, and the ways they are kept out of sight: varied, so that no one CSS selector
# finds them on every site (see the detector's probes).
PROBE_TAGS = ("div", "section", "aside", "span", "ins", "figure", "p", "article")

# Letter runs that ad-related filter rules key on (e.g. "-ad.", "/pub/", "banner"); a name containing one is redrawn.
_AVOID = ("ad", "ban", "pop", "pub", "tag", "spon", "pro", "mark", "block", "detect", "bait", "guard")


class _Draw:
    """Deterministic choices from the site's secret: the same seed and purpose always give the same answer."""

    def __init__(self, seed: bytes, purpose: str) -> None:
        self._seed, self._purpose, self._counter, self._pool = seed, purpose, 0, b""

    def byte(self) -> int:
        if not self._pool:
            message = f"{self._purpose}:{self._counter}".encode()
            self._pool = hmac.new(self._seed, message, hashlib.sha256).digest()
            self._counter += 1
        value, self._pool = self._pool[0], self._pool[1:]
        return value

    def below(self, n: int) -> int:
        return (self.byte() << 8 | self.byte()) % n

    def pick(self, options: tuple[str, ...] | str) -> str:
        return options[self.below(len(options))]

    def chars(self, alphabet: str, length: int) -> str:
        return "".join(self.pick(alphabet) for _ in range(length))

    def made_up(self) -> str:
        """A pronounceable word of 2 to 4 syllables, sometimes ending in a consonant: "toreva", "kimun"."""
        word = "".join(self.pick(_CONSONANTS) + self.pick(_VOWELS) for _ in range(2 + self.below(3)))
        return word + self.pick(_CONSONANTS) if self.below(3) == 0 else word

    def word(self) -> str:
        """A common asset word ("vendor"), a made-up one, or both joined the way bundlers join them."""
        choice = self.below(4)
        if choice == 0:
            return self.pick(_FILE_WORDS)
        if choice == 1:
            return f"{self.pick(_FILE_WORDS)}-{self.made_up()}"
        return self.made_up()


def _clean(name: str) -> bool:
    lowered = name.lower()
    return not any(avoided in lowered for avoided in _AVOID)


def _derive(seed: bytes, purpose: str, make: object, taken: set[str]) -> str:
    """The first clean name, not yet taken in this deployment, that `make(draw)` gives for this purpose."""
    draw = _Draw(seed, purpose)
    for _ in range(200):
        name = make(draw)  # type: ignore[operator]
        if isinstance(name, str) and _clean(name) and name not in taken:
            taken.add(name)
            return name
    raise AssertionError("unreachable: a clean name turns up within a few attempts")  # pragma: no cover


def _file(draw: _Draw, extension: str) -> str:
    """A file name as some asset pipeline would write it."""
    word = draw.word()
    shape = draw.below(8)
    if shape == 0:
        return f"{word}.{draw.chars(_HEX, 8)}.{extension}"  # webpack / Create React App
    if shape == 1:
        return f"{word}-{draw.chars(_BASE64URL, 8)}.{extension}"  # Vite / Rollup
    if shape == 2:
        return f"{word}-{draw.chars(_HEX, 16)}.{extension}"  # Next.js
    if shape == 3:
        return f"{draw.below(1000)}.{draw.chars(_HEX, 8 + 12 * draw.below(2))}.{extension}"  # numbered chunk
    if shape == 4:
        return f"{word}.min.{extension}"
    if shape == 5:
        return f"{word}.{draw.chars(_HEX, 20)}.chunk.{extension}"
    if shape == 6:
        return f"{word}.bundle.{extension}"
    return f"{word}.{extension}"


def _endpoint(draw: _Draw) -> str:
    shape = draw.pick(_API_SHAPES)
    while "{w}" in shape:
        shape = shape.replace("{w}", draw.word(), 1)
    return shape.replace("{d}", str(1 + draw.below(3)))


def _folder(draw: _Draw) -> str:
    shape = draw.below(3)
    if shape == 0:
        return draw.word()
    if shape == 1:
        return f"{draw.word()}/{draw.made_up()}"
    return draw.chars(_HEX, 2 + draw.below(7))


def _bait(draw: _Draw, menu: tuple[str, ...]) -> str:
    return draw.pick(menu).replace("{h}", draw.chars(_HEX, 8))


def _cookie(draw: _Draw) -> str:
    shape = draw.below(4)
    word = draw.made_up()
    if shape == 0:
        return "_" + word
    if shape == 1:
        return f"{word}_{draw.chars(_HEX, 4)}"
    if shape == 2:
        return f"__{word}{draw.below(100)}"
    return word


def _css(draw: _Draw) -> str:
    """A class prefix: letters (CSS identifiers cannot start with a digit), sometimes a hash like CSS modules'."""
    shape = draw.below(3)
    if shape == 0:
        return draw.made_up()
    if shape == 1:
        return f"{draw.pick(string.ascii_lowercase)}{draw.chars(string.ascii_lowercase + string.digits, 5)}"
    return f"{draw.made_up()}_{draw.chars(_BASE64URL.replace('-', ''), 5)}"


def _probe_style(draw: _Draw) -> str:
    """Out of sight but laid out (a box, an offsetParent), in one of several ways, so no one selector fits all."""
    far, up, width, height = 2000 + draw.below(10000), 500 + draw.below(4500), 1 + draw.below(12), 1 + draw.below(12)
    box = f"width:{width}px;height:{height}px"
    recipes = (
        f"position:absolute;left:-{far}px;top:-{up}px;{box};display:block",
        f"display:block;position:absolute;top:0;left:0;{box};clip-path:inset(50%);pointer-events:none",
        f"position:absolute;{box};display:block;transform:translate(-{far}px,-{up}px)",
        f"display:block;position:absolute;{box};margin-left:-{far}px;overflow:hidden",
        f"{box};display:block;position:absolute;opacity:0;z-index:-1;pointer-events:none;top:0",
    )
    return draw.pick(recipes)


@dataclass(frozen=True)
class Names:
    """Every name the middleware shows to the browser, derived once at start-up."""

    prefix: str  # URL path prefix of all our own endpoints, e.g. "/static/js" or "/assets/kimun"
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
    seen: str = "seen"  # the message script confirms here that the message is on screen
    navigate: str = "go"  # the page tells the server of a client-side navigation here (navigation.py)
    companion: str = ""  # the script-readable summary cookie (verdict and time of the last report)
    bait_script: str = BAIT_SCRIPT
    bait_surrogate: str = BAIT_SURROGATE_SCRIPT
    bait_image: str = BAIT_IMAGE
    version_param: str = "v"  # the cache-busting query parameter of our files
    version_format: int = 0  # ... and how its value is written (see `version`)
    token_param: str = "n"  # the probes' one-time value
    token_radix: int = 16  # ... written in this base
    data: str = "data-x"  # the data attribute our markup's behaviour hangs on
    probe_tag: str = "div"
    neutral: str = "x-n"  # the control probe's class: hidden by no list
    trusted_types: str = "x"  # the Trusted Types policy the detector asks for (pages may need to allow it)
    probe_style: str = "position:absolute;left:-9999px;top:-999px;width:9px;height:9px;display:block"
    slot_script: str = "s.js"  # the house message for blocked ad slots, loaded only for blocked readers
    slot_attribute: str = "data-s"  # the attribute a site may mark its ad slots with (besides its own selector)
    slot_class: str = "x-s"  # class of the house message we put next to a blocked slot

    @classmethod
    def derive(cls, seed: str | bytes, *, prefix: str | None = None, cookie: str | None = None) -> Names:
        seed_bytes = seed.encode() if isinstance(seed, str) else seed
        taken: set[str] = set()

        def name(purpose: str, make: object) -> str:
            return _derive(seed_bytes, purpose, make, taken)

        pick = BAIT_CLASSES
        start = hmac.new(seed_bytes, b"bait-classes", hashlib.sha256).digest()[0] % len(pick)
        made_prefix = name(
            "prefix",
            lambda d: d.pick(ASSET_FOLDERS) + (f"/{d.made_up()}" if d.below(2) else ""),
        )
        cookie_name = cookie if cookie is not None else name("cookie", _cookie)
        return cls(
            prefix=prefix if prefix is not None else made_prefix,
            script=name("script", lambda d: _file(d, "js")),
            message_script=name("message-script", lambda d: _file(d, "js")),
            stylesheet=name("stylesheet", lambda d: _file(d, "css")),
            fallback=name("fallback", lambda d: _file(d, "css")),
            control=name("control", lambda d: _file(d, "js")),
            bait_dir=name("bait-dir", _folder),
            beacon=name("beacon", _endpoint),
            dismiss=name("dismiss", _endpoint),
            recheck=name("recheck", _endpoint),
            follow=name("follow", _endpoint),
            preview=name("preview", _endpoint),
            seen=name("seen", _endpoint),
            cookie=cookie_name,
            companion=name("companion", _cookie),
            css_class=name("class", _css),
            event=name("event", lambda d: d.made_up() if d.below(2) else f"{d.made_up()}:{d.made_up()}"),
            # Three of the hidden classes, a different three per site.
            bait_classes=tuple(pick[(start + i) % len(pick)] for i in range(3)),
            bait_script=_bait(_Draw(seed_bytes, "bait-script"), BAIT_SCRIPTS),
            bait_surrogate=_bait(_Draw(seed_bytes, "bait-surrogate"), BAIT_SURROGATE_SCRIPTS),
            bait_image=_bait(_Draw(seed_bytes, "bait-image"), BAIT_IMAGES),
            version_param=_Draw(seed_bytes, "version-param").pick(_VERSION_PARAMS),
            version_format=_Draw(seed_bytes, "version-format").below(3),
            token_param=_Draw(seed_bytes, "token-param").pick(_TOKEN_PARAMS),
            token_radix=(16, 36)[_Draw(seed_bytes, "token-radix").below(2)],
            data="data-" + name("data", lambda d: d.made_up()),
            probe_tag=_Draw(seed_bytes, "probe-tag").pick(PROBE_TAGS),
            neutral=name("neutral", _css),
            trusted_types=name("trusted-types", lambda d: d.made_up()),
            probe_style=_probe_style(_Draw(seed_bytes, "probe-style")),
            navigate=name("navigate", _endpoint),  # drawn last: the names drawn before it stay as they were
            slot_script=name("slot-script", lambda d: _file(d, "js")),
            slot_attribute="data-" + name("slot-attribute", lambda d: d.made_up()),
            slot_class=name("slot-class", _css),
        )

    def version(self, content_hash: str) -> str:
        """The cache-busting query string for a file with this content hash, in this deployment's format."""
        digits = int(content_hash[:10], 16)
        if self.version_format == 0:
            value = content_hash[: 6 + digits % 7]  # a short hash
        elif self.version_format == 1:
            value = str(digits)  # a build number
        else:
            value = f"{digits % 9 + 1}.{digits // 9 % 20}.{digits // 180 % 100}"  # a release number
        return f"{self.version_param}={value}"
