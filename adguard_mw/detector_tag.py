"""The tag every HTML page in scope gets: the detector script, under the page's mount point and with its CSP nonce;
the `<noscript>` stylesheet when silences are watched; the paywall data where a wall may hide the page."""

from __future__ import annotations

from starlette.types import Scope

from .assets import Assets
from .csp import csp_nonce, has_policy
from .editorial import Editorial
from .injector import Headers, Rewrite
from .names import Names
from .urls import attribute, url_path


class DetectorTag:
    """Makes the tag for one middleware's names; most pages (no mount point, no nonce) get the one made first."""

    def __init__(self, names: Names, assets: Assets, *, watch_silence: bool) -> None:
        self.names = names
        self.watch_silence = watch_silence
        self._plain_for = assets
        self.plain = self.make("", None, assets).encode()
        self.plain_rewrite = Rewrite(insert=self.plain)  # a page edited alike for every reader: made once per tag

    def make(self, root_path: str, nonce: str | None, assets: Assets) -> str:
        """The tag; `root_path` comes from the request, so every value goes through `urls` and escaping."""
        names = self.names
        nonce_attr = f' nonce="{attribute(nonce)}"' if nonce else ""
        version = names.version(assets.detector.version)
        src = attribute(f"{url_path(root_path, f'{names.prefix}/{names.script}')}?{version}")
        tag = f'<script src="{src}" defer{nonce_attr}></script>'
        if self.watch_silence:
            # Only a browser without JavaScript loads this: it tells us a silent detector is not a blocked one.
            href = attribute(url_path(root_path, f"{names.prefix}/{names.fallback}"))
            tag += f'<noscript><link rel="stylesheet" href="{href}"></noscript>'
        return tag

    def for_page(self, scope: Scope, headers: Headers, editorial: Editorial, path: str) -> bytes:
        """The tag for this page, with the paywall data when a hard wall can hide it: crawlers are told (no
        cloaking)."""
        root_path = scope.get("root_path", "")
        nonce = csp_nonce(headers) if has_policy(headers) else None
        if root_path or nonce is not None:
            tag = self.make(root_path, nonce, editorial.assets).encode()
        else:
            if editorial.assets is not self._plain_for:
                # A reload made new assets: the detector is served `immutable`, so its new content needs the new
                # version in the tag, or browsers keep the old script for a year.
                self._plain_for, self.plain = editorial.assets, self.make("", None, editorial.assets).encode()
                self.plain_rewrite = Rewrite(insert=self.plain)
            tag = self.plain
        if editorial.paywall and editorial.policy.may_wall(path):
            tag += editorial.paywall
        return tag
