"""axe-core, the npm package, run inside a Playwright page: violations as text a developer can act on.

The file is not committed (it is a third-party build, MPL-2.0): ``scripts/test.sh`` downloads the pinned
tarball from the npm registry, checks it against the registry's sha512 integrity hard-coded below and extracts
``package/axe.min.js`` into ``.cache/axe-core/<version>/`` (git-ignored). To fetch it by hand::

    .venv/bin/python -m tests.browser.axe

Tests call ``axe_source()`` (which skips, naming scripts/test.sh, when the file is absent) and ``run_axe(page)``.
The script is injected inline with ``page.add_script_tag(content=...)``: use pages without a Content-Security-Policy.
To move to a newer axe-core, take ``dist.integrity`` from https://registry.npmjs.org/axe-core/<version>.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
AXE_INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
AXE_TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz"

ROOT = Path(__file__).resolve().parents[2]
AXE_FILE = ROOT / ".cache" / "axe-core" / AXE_VERSION / "axe.min.js"
SKIP_REASON = f"axe-core {AXE_VERSION} is not at {AXE_FILE.relative_to(ROOT)}: run scripts/test.sh, which fetches it"

# WCAG 2.0 and 2.1, levels A and AA, plus Deque's best practices.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")


def axe_source() -> str:
    """The text of axe.min.js; skips the calling test when scripts/test.sh has not fetched it yet."""
    if not AXE_FILE.is_file():
        import pytest

        pytest.skip(SKIP_REASON)
    return AXE_FILE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    help_url: str
    nodes: tuple[tuple[str, str, str], ...]  # (CSS target, HTML snippet, what to fix)

    def __str__(self) -> str:
        lines = [f"{self.rule} ({self.impact}): {self.help} <{self.help_url}>"]
        for target, html, fix in self.nodes:
            lines.append(f"  - {target}")
            lines.append(f"      {html}")
            lines.extend(f"      {line.strip()}" for line in fix.splitlines() if line.strip())
        return "\n".join(lines)


_RUN = """
async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    rule: v.id,
    impact: v.impact || "unknown",
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => [
      n.target.map((t) => Array.isArray(t) ? t.join(" >>> ") : t).join(" "),
      n.html.length > 160 ? n.html.slice(0, 157) + "..." : n.html,
      n.failureSummary || "",
    ]),
  }));
}
"""


async def run_axe(page: Any, tags: tuple[str, ...] = AXE_TAGS) -> list[Violation]:
    """Injects axe-core into ``page`` (a Playwright page without a CSP) once, runs it on the whole document."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(content=axe_source())
    found = await page.evaluate(_RUN, list(tags))
    return [
        Violation(v["rule"], v["impact"], v["help"], v["helpUrl"].split("?")[0], tuple(tuple(n) for n in v["nodes"]))
        for v in found
    ]


def report(violations: list[Violation], where: str) -> str:
    """A failure message: where, then each rule with every offending element and what to fix."""
    count = sum(len(v.nodes) for v in violations)
    return f"axe-core {AXE_VERSION}: {count} violation(s) on {where}:\n" + "\n".join(map(str, violations))


# Fetching: used by scripts/test.sh. Standard library only, so it runs before anything else is installed.


def fetch(url: str = AXE_TARBALL, integrity: str = AXE_INTEGRITY, target: Path = AXE_FILE) -> Path:
    """Download the pinned tarball, check its integrity, extract axe.min.js; raises on any mismatch."""
    with urllib.request.urlopen(url, timeout=60) as response:
        tarball = response.read()
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if actual != expected:
        raise RuntimeError(f"integrity mismatch for {url}: expected {integrity}, got {algorithm}-{actual}")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.getmember("package/axe.min.js")
        extracted = archive.extractfile(member)
        if extracted is None:
            raise RuntimeError(f"package/axe.min.js in {url} is not a regular file")
        source = extracted.read()
    if f"axe v{AXE_VERSION}".encode() not in source[:200]:
        raise RuntimeError(f"package/axe.min.js in {url} does not announce axe v{AXE_VERSION}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(source)
    partial.replace(target)
    return target


def main() -> int:
    if AXE_FILE.is_file():
        print(f"axe-core {AXE_VERSION}: {AXE_FILE.relative_to(ROOT)} (cached)")
        return 0
    print(f"Fetching axe-core {AXE_VERSION} from {AXE_TARBALL} ...")
    try:
        path = fetch()
    except Exception as exc:
        print(f"ERROR: could not fetch axe-core {AXE_VERSION}: {exc}", file=sys.stderr)
        return 1
    print(f"axe-core {AXE_VERSION}: {path.relative_to(ROOT)} (sha512 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
