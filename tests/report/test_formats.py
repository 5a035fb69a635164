"""CSV, JSON and HTML say the same thing; the HTML page stands alone and its charts carry the numbers."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from adguard_mw.cli import main

from .test_metrics import small_site

pytest.importorskip("duckdb")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return small_site(tmp_path / "events")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["report", *args]) == 0
    return capsys.readouterr().out


def test_csv_rows_match_the_json_report(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(run(capsys, str(site), "--by", "browser", "--format", "csv"))))
    report = json.loads(run(capsys, str(site), "--by", "browser", "--format", "json"))
    assert [(row["by"], row["group"]) for row in rows] == [
        ("all", ""),
        *[("browser", group["key"]) for group in report["groups"]],
        ("variant", "a"),
        ("variant", "b"),
    ]
    expected: list[dict[str, Any]] = [report["total"], *report["groups"], *report["variants"]["groups"]]
    for row, source in zip(rows, expected, strict=True):
        assert int(row["events"]) == source["events"]
        assert float(row["eligible_page_views"]) == source["eligible_page_views"]
        assert float(row["blocked_page_views"]) == source["block_rate"]["numerator"]
        block_rate = source["block_rate"]["value"]
        assert row["block_rate"] == "" if block_rate is None else float(row["block_rate"]) == pytest.approx(block_rate)
        assert int(row["shown_visitors"]) == source["recovery_rate"]["denominator"]
    b = rows[-1]
    difference = report["variants"]["groups"][1]["vs_baseline"]["recovery_rate"]
    assert float(b["recovery_rate_diff"]) == pytest.approx(difference["difference"])
    assert float(b["recovery_rate_diff_low"]) == pytest.approx(difference["low"])
    assert rows[-2]["recovery_rate_diff"] == ""  # the baseline


def test_csv_by_variant_carries_the_comparison_once(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(run(capsys, str(site), "--by", "variant", "--format", "csv"))))
    assert [(row["by"], row["group"]) for row in rows] == [
        ("all", ""),
        ("variant", "a"),
        ("variant", "b"),
    ]  # no "(none)" row: the only event without a variant is a crawler's exemption, with nothing to show
    assert rows[2]["dismissal_rate_diff"] != ""


def test_output_goes_to_a_file(site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.json"
    assert run(capsys, str(site), "--format", "json", "--output", str(target)) == ""
    assert json.loads(target.read_text())["total"]["events"] == 20


def test_html_is_one_file_without_scripts_or_remote_resources(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.html"
    run(capsys, str(site), "--format", "html", "--output", str(target))
    page = target.read_text()
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "Content-Security-Policy" in page
    assert "50.0% (4/8)" in page


@pytest.mark.browser
def test_html_opens_in_chromium_with_its_charts_and_no_requests(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("no chromium on PATH: the HTML report is checked in a real headless Chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    target = tmp_path / "report.html"
    run(capsys, str(site), "--format", "html", "--by", "section", "--output", str(target))
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(target.as_uri())
            page.wait_for_load_state("load")
            days = page.eval_on_selector_all(
                "svg[data-chart=block-rate-by-day] circle.point",
                "points => points.map(p => [p.dataset.label, Number(p.dataset.value), p.getBBox().width])",
            )
            bars = page.eval_on_selector_all(
                "svg[data-chart=block-rate-by-browser] rect.bar",
                "bars => bars.map(b => [b.dataset.label, b.dataset.kind, Number(b.dataset.numerator),"
                " b.getBoundingClientRect().width])",
            )
            intervals = page.eval_on_selector_all(
                "svg[data-chart=recovery-difference] g.interval",
                "gs => gs.map(g => [g.dataset.label, Number(g.dataset.low), Number(g.dataset.high)])",
            )
            heading = page.inner_text("h1")
            sections = page.inner_text("table >> nth=1")
        finally:
            browser.close()
    assert requests == [target.as_uri()]
    assert heading == "Ad blocking and reader support"
    assert days == [["2026-11-20", pytest.approx(3 / 7, abs=1e-6), 7], ["2026-11-21", 1.0, 7]]
    by_browser = {(label, kind): (numerator, width) for label, kind, numerator, width in bars}
    assert by_browser[("Firefox", "network")][0] == 2
    assert by_browser[("Firefox", "network")][1] > 0  # drawn, not just present
    assert by_browser[("Chrome", "extension")][0] == 2
    assert ("Googlebot", "extension") not in by_browser  # no eligible page views: no bar, not a 0% bar
    assert len(intervals) == 1
    label, low, high = intervals[0]
    assert label == "b" and low < -0.5 < high
    assert "/sport" in sections and "0.0%\n0/4" in sections  # the rate over its fraction
