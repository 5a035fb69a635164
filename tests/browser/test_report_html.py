"""The HTML report's tables fit a 1280 px screen, with counts in the hundreds of millions, in a real Chromium.

Each table sits in a box that scrolls sideways rather than push the page wider; the check is that none has to:
every rate shows its percentage over a fraction that may break after the slash, and long paths wrap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from adguard_mw.report.html import render_html
from adguard_mw.report.query import Group, Metrics, Rate, Report, build_report, find_inputs
from bench.synthetic_events import generate

pytest.importorskip("duckdb")

OVERFLOWING = """() => [...document.querySelectorAll('table')]
    .filter(table => table.parentElement.scrollWidth > table.parentElement.clientWidth
                     || table.getBoundingClientRect().right > document.documentElement.clientWidth)
    .map(table => table.rows[0].cells[0].textContent + ': ' + Math.round(table.getBoundingClientRect().width))"""


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html") / "events"
    generate(root, 10_000, days=14, end=dt.date(2026, 11, 25))
    return root


def scaled(value: Any, factor: int) -> Any:
    """Every count and rate of a metrics object multiplied: a site a thousand times bigger, same rates."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value * factor
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value, **{f.name: scaled(getattr(value, f.name), factor) for f in dataclasses.fields(value)}
        )
    return value


def bigger(report: Report, factor: int) -> Report:
    def groups(items: list[Group]) -> list[Group]:
        return [Group(group.key, scaled(group.metrics, factor)) for group in items]

    return dataclasses.replace(
        report,
        total=scaled(report.total, factor),
        groups=groups(report.groups),
        variants=groups(report.variants),
        days=groups(report.days),
        browsers=groups(report.browsers),
    )


@pytest.mark.parametrize("by", ["path", "week"])
async def test_every_table_fits_a_1280_pixel_screen(chromium: Browser, events: Path, by: str) -> None:
    report = bigger(build_report(find_inputs([events]), by=by, charts=True), 100_000)
    assert isinstance(report.total, Metrics) and isinstance(report.total.blocked, Rate)
    assert report.total.eligible > 100_000_000 and len(report.groups) > 1  # ten-digit counts in the fractions
    page = await chromium.new_page(viewport={"width": 1280, "height": 800})
    try:
        await page.set_content(render_html(report))
        assert await page.locator("table").count() == 2  # the variants and the `--by` groups
        assert await page.evaluate(OVERFLOWING) == []
        assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
    finally:
        await page.close()
