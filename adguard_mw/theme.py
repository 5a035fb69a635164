"""The message's colours, checked for legibility, and the stylesheet that is served with them.

Editors pick colours to match their site; a pale grey on white would make the message unreadable for many readers,
so every text colour is checked against its background at start-up (WCAG 2 contrast, at least 4.5:1, in the light
and the dark scheme). The stylesheet is `static/message.css` with the theme's block swapped in, and then the site's
own `message.css` (if any) after ours, so an editor's rule wins over ours without editing the package.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .files import static_dir

MIN_CONTRAST = 4.5
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_START, _END = "/* theme: start */", "/* theme: end */"
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _rgb(colour: str) -> tuple[int, int, int]:
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _luminance(colour: str) -> float:
    """Relative luminance as WCAG 2 defines it (sRGB channels linearised)."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in _rgb(colour))]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two #rgb/#rrggbb colours, from 1 (the same) to 21 (black on white)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _hex(colour: str) -> str:
    return "#{:02x}{:02x}{:02x}".format(*_rgb(colour))


def _mix(one: str, other: str, share: float) -> str:
    """`share` of `one` and the rest of `other`: for borders and the page behind the wall, never for text."""
    return "#{:02x}{:02x}{:02x}".format(
        *(round(a * share + b * (1 - share)) for a, b in zip(_rgb(one), _rgb(other), strict=True))
    )


@dataclass(frozen=True)
class Scheme:
    """The colours of one scheme: text on background, and the button's accent_text on accent."""

    background: str
    text: str
    accent: str
    accent_text: str

    def __post_init__(self) -> None:
        for key, value in vars(self).items():
            if not isinstance(value, str) or not _COLOUR.fullmatch(value):
                raise ValueError(f"adguard_mw: theme {key} must be a colour such as '#1d1d1f' or '#fff', got {value!r}")


@dataclass(frozen=True)
class Theme:
    """Colours for readers in light mode and in dark mode (`prefers-color-scheme: dark`)."""

    light: Scheme = field(default_factory=lambda: Scheme("#ffffff", "#1d1d1f", "#0b57d0", "#ffffff"))
    dark: Scheme = field(default_factory=lambda: Scheme("#1f1f23", "#f2f2f5", "#8ab4f8", "#0d1b2e"))

    def __post_init__(self) -> None:
        for name, scheme in (("light", self.light), ("dark", self.dark)):
            if not isinstance(scheme, Scheme):
                raise ValueError(f"adguard_mw: theme {name} must be an adguard_mw.Scheme, got {scheme!r}")
            for fore, back in (("text", "background"), ("accent_text", "accent")):
                ratio = contrast_ratio(getattr(scheme, fore), getattr(scheme, back))
                if ratio < MIN_CONTRAST:
                    shown = math.floor(ratio * 100) / 100  # never round 4.497 up to a passing "4.50"
                    raise ValueError(
                        f"adguard_mw: theme {name} {fore} {getattr(scheme, fore)} on {back} {getattr(scheme, back)} "
                        f"has a contrast of {shown:.2f}:1; WCAG 2 asks for at least {MIN_CONTRAST}:1, so make one "
                        "darker or lighter"
                    )


def _properties(scheme: Scheme, indent: str) -> str:
    values = {
        "bg": scheme.background,
        "fg": scheme.text,
        "accent": scheme.accent,
        "accent-fg": scheme.accent_text,
        "line": _mix(scheme.text, scheme.background, 0.3),
        "page": _mix(scheme.text, scheme.background, 0.05),
    }
    return "".join(f"{indent}--__C__-{name}: {_hex(value)};\n" for name, value in values.items())


def theme_css(theme: Theme) -> str:
    """The custom properties of `theme` for both schemes, with "__C__" for the class prefix."""
    return (
        ".__C__, .__C__-page {\n"
        + _properties(theme.light, "  ")
        + "  color-scheme: light;\n}\n"
        + "@media (prefers-color-scheme: dark) {\n  .__C__, .__C__-page {\n"
        + _properties(theme.dark, "    ")
        + "    color-scheme: dark;\n  }\n}\n"
    )


def compact(css: str) -> str:
    """`css` without its comments, indentation and blank lines: the rules alone, one per line as written. Our
    stylesheet goes inline into every soft message page (copied twice per page), where its comments were a fifth
    of its bytes. Safe for ours: no string or URL in it holds "/*" or a line break."""
    lines = (line.strip() for line in _COMMENT.sub("", css).splitlines())
    return "".join(f"{line}\n" for line in lines if line)


def stylesheet_source(css_class: str, theme: Theme | None = None, override_dir: Path | None = None) -> str:
    """The served message stylesheet: ours with `theme` (`compact`), then the site's `override_dir/message.css` if it
    exists, as the site wrote it.

    "__C__" is replaced by `css_class` everywhere, in the site's file too: editors write `.__C__-title` to
    restyle the title without knowing this deployment's neutral class names.
    """
    ours = (static_dir() / "message.css").read_text(encoding="utf-8")
    head, start, rest = ours.partition(_START)
    _, end, tail = rest.partition(_END)
    if not start or not end:
        raise RuntimeError("adguard_mw: message.css has lost its theme markers; the package is damaged")
    source = compact(f"{head}{_START}\n{theme_css(theme or Theme())}{_END}{tail}")
    if override_dir is not None:
        folder = Path(override_dir)
        if not folder.is_dir():
            raise ValueError(f"adguard_mw: message folder {str(folder)!r} does not exist or is not a folder")
        theirs = folder / "message.css"
        if theirs.is_file():
            source += f"\n/* The site's own {theirs.name}, after ours so that its rules win. */\n"
            source += theirs.read_text(encoding="utf-8")
    return source.replace("__C__", css_class)
