"""The reader an editor previews as: one reading of a preview's query, for the preview page and the site's pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .editorial import Editorial
from .policy import Mode

KINDS = ("extension", "network")


@dataclass(frozen=True)
class PreviewAs:
    """The reader an editor previews as."""

    mode: Mode
    kind: str = "extension"
    variant: str | None = None
    locale: str | None = None  # None: the browser's Accept-Language, as for a reader


def choose(query: Mapping[str, str], editorial: Editorial) -> PreviewAs:
    """The reader a preview's query asks for; ValueError naming what is allowed for anything else (a 400)."""
    policy = editorial.policy
    modes = [mode.value for mode in Mode if mode is not Mode.OBSERVE]
    mode = query.get("mode", policy.mode.value if policy.mode is not Mode.OBSERVE else Mode.SOFT.value)
    if mode not in modes:
        raise ValueError(f"mode must be one of {', '.join(modes)}")
    kind = query.get("kind", "extension")
    if kind not in KINDS:
        raise ValueError("kind must be extension or network")
    variants = [variant.name for variant in policy.variants]
    variant = query.get("variant")
    if variant is not None and variant not in variants:
        raise ValueError(f"variant must be one of: {', '.join(variants) or '(none configured)'}")
    locale = query.get("locale")
    if locale is not None and locale not in editorial.messages_for(variant):
        raise ValueError(f"locale must be one of: {', '.join(editorial.messages_for(variant))}")
    return PreviewAs(Mode(mode), kind, variant, locale)
