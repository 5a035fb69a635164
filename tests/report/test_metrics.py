"""Every metric of docs/events.md on a small data set whose numbers are worked out by hand in the comments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adguard_mw.cli import main

from .events import event, write_lines

pytest.importorskip("duckdb")

DAY1, DAY2 = "2026-11-20", "2026-11-21"


def small_site(root: Path) -> Path:
    """Five readers over two days, two instances, two variants.

    Page views (weight = 1/sample_rate):
      #1 day 1, v1 (a), Chrome,  /news/one   verdict null (detection not run yet)  weight 1 -> not eligible
      #2 day 1, v1 (a), Chrome,  /news/one   blocked, extension                    weight 1
      #3 day 1, v2 (a), Firefox, /news/two   blocked, network, sample_rate 0.5     weight 2
      #4 day 1, v3 (b), Chrome,  /sport/x    not_blocked, sample_rate 0.25         weight 4
      #5 day 1, v4 (b), Safari,  /sport/y    unknown (mobile)                      weight 1
      #6 day 2, v5 (b), Chrome,  /           blocked, extension                    weight 1
    page views 10; eligible (blocked or not) 1+2+4+1 = 8; blocked 1+2+1 = 4 (extension 2, network 2); unknown 1,
    which is not eligible (unknown rate 1/(8+1)). By visitors: v1, v2, v5 blocked of v1, v2, v3, v5 eligible.

    Messages: shown to v1 twice and v2 once (a, day 1), to v5 once (b, day 2) -> 4 shown, 3 distinct visitors;
    dismissed by v1 (day 1) and v5 (day 2) -> 2/4; v2 recovered (day 1) -> recovery rate 1/3;
    check again: v2 not_blocked, v1 blocked (failed), v5 from the no-JS form (verdict null) -> 1 failed;
    v5 clicked "subscribe"; a crawler was exempted on day 2 (no variant, no visitor).
    Two verdict events (v1, v2) complete the 20 events.
    """
    day1 = [
        event(
            f"{DAY1}T08:00:00.000Z",
            "page_view",
            visitor="v1",
            variant="a",
            browser="Chrome",
            path="/news/one",
            verdict=None,
            kind=None,
            sample_rate=1.0,
        ),
        event(
            f"{DAY1}T08:00:01.000Z",
            "verdict",
            visitor="v1",
            variant="a",
            browser="Chrome",
            path="/news/one",
            verdict="blocked",
            kind="extension",
            signals={"cosmetic": "blocked"},
            previous=None,
        ),
        event(
            f"{DAY1}T08:05:00.000Z",
            "page_view",
            visitor="v1",
            variant="a",
            browser="Chrome",
            path="/news/one",
            verdict="blocked",
            kind="extension",
            sample_rate=1.0,
        ),
        event(
            f"{DAY1}T08:05:00.100Z",
            "message_shown",
            visitor="v1",
            variant="a",
            browser="Chrome",
            path="/news/one",
            verdict="blocked",
            kind="extension",
        ),
        event(
            f"{DAY1}T08:05:09.000Z", "message_dismissed", visitor="v1", variant="a", browser="Chrome", path="/news/one"
        ),
        event(
            f"{DAY1}T08:09:00.000Z",
            "message_shown",
            visitor="v1",
            variant="a",
            browser="Chrome",
            path="/news/one",
            verdict="blocked",
            kind="extension",
        ),
        event(
            f"{DAY1}T08:09:30.000Z",
            "check_again",
            visitor="v1",
            variant="a",
            browser="Chrome",
            path="/news/one",
            verdict="blocked",
        ),
        event(
            f"{DAY1}T09:00:00.000Z",
            "verdict",
            visitor="v2",
            variant="a",
            browser="Firefox",
            path="/news/two",
            verdict="blocked",
            kind="network",
            signals={"script": "blocked"},
            previous=None,
        ),
        event(
            f"{DAY1}T09:01:00.000Z",
            "page_view",
            visitor="v2",
            variant="a",
            browser="Firefox",
            path="/news/two",
            verdict="blocked",
            kind="network",
            sample_rate=0.5,
        ),
        event(
            f"{DAY1}T09:01:00.100Z",
            "message_shown",
            visitor="v2",
            variant="a",
            browser="Firefox",
            path="/news/two",
            verdict="blocked",
            kind="network",
        ),
        event(
            f"{DAY1}T09:02:00.000Z",
            "check_again",
            visitor="v2",
            variant="a",
            browser="Firefox",
            path="/news/two",
            verdict="not_blocked",
        ),
        event(f"{DAY1}T09:02:00.100Z", "recovered", visitor="v2", variant="a", browser="Firefox", path="/news/two"),
        event(
            f"{DAY1}T10:00:00.000Z",
            "page_view",
            visitor="v3",
            variant="b",
            browser="Chrome",
            path="/sport/x",
            verdict="not_blocked",
            kind=None,
            sample_rate=0.25,
        ),
        event(
            f"{DAY1}T11:00:00.000Z",
            "page_view",
            visitor="v4",
            variant="b",
            browser="Safari",
            path="/sport/y",
            device="mobile",
            os="iOS",
            locale="de",
            verdict="unknown",
            kind=None,
            sample_rate=1.0,
        ),
    ]
    day2 = [
        event(
            f"{DAY2}T07:00:00.000Z",
            "page_view",
            visitor="v5",
            variant="b",
            browser="Chrome",
            path="/",
            verdict="blocked",
            kind="extension",
            sample_rate=1.0,
        ),
        event(
            f"{DAY2}T07:00:00.100Z",
            "message_shown",
            visitor="v5",
            variant="b",
            browser="Chrome",
            path="/",
            verdict="blocked",
            kind="extension",
        ),
        event(
            f"{DAY2}T07:00:05.000Z",
            "cta_clicked",
            visitor="v5",
            variant="b",
            browser="Chrome",
            path="/",
            cta="subscribe",
        ),
        event(
            f"{DAY2}T07:00:06.000Z", "check_again", visitor="v5", variant="b", browser="Chrome", path="/", verdict=None
        ),
        event(f"{DAY2}T07:00:09.000Z", "message_dismissed", visitor="v5", variant="b", browser="Chrome", path="/"),
        event(
            f"{DAY2}T12:00:00.000Z",
            "exempted",
            visitor=None,
            variant=None,
            browser="Googlebot",
            os="Other",
            device="bot",
            path="/news/one",
            reason="crawler",
        ),
    ]
    write_lines(root / f"dt={DAY1}" / "web-1.jsonl", day1[:7])
    write_lines(root / f"dt={DAY1}" / "web-2.jsonl", day1[7:])
    write_lines(root / f"dt={DAY2}" / "web-1.jsonl", day2)
    return root


def report_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["report", *args, "--format", "json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def rate(report: dict[str, Any], name: str) -> tuple[float, float]:
    return report[name]["numerator"], report[name]["denominator"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return small_site(tmp_path / "events")


def test_every_metric_over_all_days(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    total = report_json(capsys, str(site))["total"]
    assert total["events"] == 20
    assert total["page_views"] == 10
    assert total["eligible_page_views"] == 8
    assert rate(total, "block_rate") == (4, 8)
    assert total["block_rate"]["value"] == pytest.approx(4 / 8)
    assert rate(total, "block_rate_visitors") == (3, 4)
    assert rate(total, "extension_rate") == (2, 8)
    assert rate(total, "network_rate") == (2, 8)
    assert rate(total, "unknown_rate") == (1, 9)
    assert total["messages_shown"] == 4
    assert rate(total, "dismissal_rate") == (2, 4)
    assert total["recoveries"] == 1
    assert rate(total, "recovery_rate") == (1, 3)
    assert total["failed_verifications"] == 1
    assert rate(total, "failed_verification_rate") == (1, 2)  # v1 still blocked, v2 not; v5's had no verdict
    assert total["cta_clicks"] == 1
    assert total["exempted"] == 1
    assert total["allow_ads_page_views"] == 0  # v2 recovered and read nothing after
    # shown to v1, v2, v5; v1 and v5 dismissed; v5 clicked; all three checked again; v2 recovered.
    assert total["funnel"] == {"shown": 3, "dismissed": 2, "cta": 1, "check_again": 3, "recovered": 1}


def test_allow_ads_page_views_are_those_after_a_recovery(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def view(time: str, visitor: str, verdict: str, rate: float = 1.0) -> dict[str, Any]:
        return event(f"{DAY1}T{time}.000Z", "page_view", visitor=visitor, verdict=verdict, sample_rate=rate)

    lines = [
        view("08:00:00", "v1", "blocked"),
        event(f"{DAY1}T08:01:00.000Z", "recovered", visitor="v1"),
        view("08:02:00", "v1", "not_blocked", 0.5),  # stands for 2
        view("08:03:00", "v1", "not_blocked"),
        view("08:04:00", "v2", "not_blocked"),  # never blocked: not a recovered reader's
    ]
    total = report_json(capsys, str(write_lines(tmp_path / "e.jsonl", lines)))["total"]
    assert total["allow_ads_page_views"] == 3


def test_messages_served_but_never_seen_on_screen_are_counted_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three messages went out with pages; the page confirmed one on screen (a filter hid or a reader left the
    others), and a hard wall counts as both served and shown."""

    def message(time: str, name: str, mode: str) -> dict[str, Any]:
        return event(f"{DAY1}T{time}.000Z", name, visitor="v1", verdict="blocked", kind="extension", mode=mode)

    lines = [
        message("08:00:00", "message_served", "soft"),
        message("08:00:02", "message_shown", "soft"),
        message("08:01:00", "message_served", "soft"),
        message("08:02:00", "message_served", "notice"),
        message("08:03:00", "message_served", "hard"),
        message("08:03:00", "message_shown", "hard"),
    ]
    total = report_json(capsys, str(write_lines(tmp_path / "e.jsonl", lines)))["total"]
    assert (total["messages_served"], total["messages_shown"], total["messages_not_seen"]) == (4, 2, 2)


def test_input_and_period_are_described(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = report_json(capsys, str(site))
    assert report["schema"] == "adguard-mw.report/1"
    assert report["input"]["jsonl_files"] == 3
    assert report["input"]["lines"] == 20
    assert report["input"]["skipped"]["total"] == 0
    assert report["period"]["first_event"] == f"{DAY1}T08:00:00.000Z"
    assert report["period"]["last_event"] == f"{DAY2}T12:00:00.000Z"


def test_variants_are_compared_against_the_alphabetically_first(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a: eligible 1+2 = 3, all blocked; shown 3 (v1, v1, v2), dismissed 1; recovered visitors 1 of 2.
    # b: eligible 4+1 = 5 (v4's unknown is not), blocked 1; shown 1 (v5), dismissed 1; recovered 0 of 1.
    variants = report_json(capsys, str(site))["variants"]
    assert variants["baseline"] == "a"
    assert variants["interval"] == "newcombe-hybrid-score-95"
    a, b = variants["groups"]
    assert (a["key"], b["key"]) == ("a", "b")
    assert rate(a, "block_rate") == (3, 3)
    assert rate(b, "block_rate") == (1, 5)
    assert rate(a, "dismissal_rate") == (1, 3)
    assert rate(b, "dismissal_rate") == (1, 1)
    assert rate(a, "recovery_rate") == (1, 2)
    assert rate(b, "recovery_rate") == (0, 1)
    assert a["vs_baseline"] is None
    recovery = b["vs_baseline"]["recovery_rate"]
    assert recovery["difference"] == pytest.approx(0 / 1 - 1 / 2)
    assert recovery["low"] < recovery["difference"] < recovery["high"]
    dismissal = b["vs_baseline"]["dismissal_rate"]
    assert dismissal["difference"] == pytest.approx(1 / 1 - 1 / 3)


def test_the_baseline_can_be_chosen(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    variants = report_json(capsys, str(site), "--baseline", "b")["variants"]
    assert variants["baseline"] == "b"
    a = variants["groups"][0]
    assert a["vs_baseline"]["recovery_rate"]["difference"] == pytest.approx(1 / 2 - 0 / 1)


def test_an_unknown_baseline_is_a_usage_error(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(site), "--baseline", "c"]) == 2
    assert capsys.readouterr().err == "adguard-mw report: no variant 'c' in these events (variants: a, b)\n"


def groups(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {group["key"]: group for group in report["groups"]}


def test_by_section(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # /news: #2, #3 -> eligible 3, blocked 3; /sport: #4 -> eligible 4, blocked 0 (a real 0%);
    # /: #6 -> eligible 1, blocked 1.
    report = report_json(capsys, str(site), "--by", "section")
    by = groups(report)
    assert list(by) == ["/sport", "/news", "/"]  # most eligible page views first
    assert rate(by["/news"], "block_rate") == (3, 3)
    assert rate(by["/sport"], "block_rate") == (0, 4)
    assert by["/sport"]["block_rate"]["value"] == 0
    assert rate(by["/"], "block_rate") == (1, 1)
    assert by["/news"]["messages_shown"] == 3


def test_by_day_and_week(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_day = groups(report_json(capsys, str(site), "--by", "day"))
    assert list(by_day) == [DAY1, DAY2]
    assert rate(by_day[DAY1], "block_rate") == (3, 7)
    assert rate(by_day[DAY2], "block_rate") == (1, 1)
    by_week = groups(report_json(capsys, str(site), "--by", "week"))
    assert list(by_week) == ["2026-W47"]  # Friday 20 and Saturday 21 November 2026
    assert by_week["2026-W47"]["events"] == 20


def test_by_browser_shows_an_empty_group_without_a_rate(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by = groups(report_json(capsys, str(site), "--by", "browser"))
    assert rate(by["Chrome"], "block_rate") == (2, 6)  # #2 (1) + #6 (1) blocked of #2, #4 (4), #6
    assert rate(by["Firefox"], "network_rate") == (2, 2)
    assert rate(by["Safari"], "unknown_rate") == (1, 1)
    assert by["Safari"]["eligible_page_views"] == 0
    crawler = by["Googlebot"]  # an exempted event, no page view
    assert crawler["eligible_page_views"] == 0
    assert crawler["block_rate"] == {"numerator": 0, "denominator": 0, "value": None}


@pytest.mark.parametrize(
    ("by", "key", "eligible", "events"),
    [
        ("device", "mobile", 0, 1),
        ("os", "iOS", 0, 1),
        ("locale", "de", 0, 1),
        ("path", "/news/one", 1, 8),
        ("mode", "soft", 8, 20),
    ],
)
def test_other_groupings(
    site: Path, capsys: pytest.CaptureFixture[str], by: str, key: str, eligible: float, events: int
) -> None:
    group = groups(report_json(capsys, str(site), "--by", by))[key]
    assert (group["eligible_page_views"], group["events"]) == (eligible, events)


def test_since_keeps_later_days_only(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Day 2: #6 eligible and blocked; shown 1, dismissed 1; no recovery; v5 shown, not recovered.
    report = report_json(capsys, str(site), "--since", DAY2)
    total = report["total"]
    assert report["input"]["jsonl_files"] == 1  # day 1's partition is not even opened
    assert rate(total, "block_rate") == (1, 1)
    assert rate(total, "dismissal_rate") == (1, 1)
    assert rate(total, "recovery_rate") == (0, 1)
    assert report["period"]["since"] == DAY2


def test_until_keeps_earlier_days_only(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    total = report_json(capsys, str(site), "--until", DAY1)["total"]
    assert rate(total, "block_rate") == (3, 7)
    assert total["messages_shown"] == 3
    assert total["recoveries"] == 1


def test_the_time_filter_applies_to_files_outside_the_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_lines(
        tmp_path / "events.jsonl",
        [
            event(f"{DAY1}T23:59:59.999Z", "page_view", verdict="blocked", kind="extension", sample_rate=1.0),
            event(f"{DAY2}T00:00:00.000Z", "page_view", verdict="not_blocked", kind=None, sample_rate=1.0),
        ],
    )
    total = report_json(capsys, str(log), "--since", DAY2, "--until", DAY2)["total"]
    assert rate(total, "block_rate") == (0, 1)


def test_sample_rate_weights_page_views(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 1 blocked page view sampled at 1% stands for 100; 10 unsampled not_blocked ones for 10: 100/110.
    lines = [event(f"{DAY1}T10:00:00.000Z", "page_view", verdict="blocked", kind="network", sample_rate=0.01)]
    lines += [event(f"{DAY1}T10:00:{n:02d}.000Z", "page_view", verdict="not_blocked", sample_rate=1) for n in range(10)]
    total = report_json(capsys, str(write_lines(tmp_path / "e.jsonl", lines)))["total"]
    assert total["eligible_page_views"] == pytest.approx(110)
    assert total["block_rate"]["numerator"] == pytest.approx(100)
    assert total["block_rate"]["value"] == pytest.approx(100 / 110)


def test_unknown_fields_are_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = event(f"{DAY1}T10:00:00.000Z", "page_view", verdict="blocked", sample_rate=1, colour="teal", n={"x": 1})
    total = report_json(capsys, str(write_lines(tmp_path / "e.jsonl", [line])))["total"]
    assert rate(total, "block_rate") == (1, 1)


def test_the_table_shows_numerators_and_denominators(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(site), "--by", "section"]) == 0
    table = capsys.readouterr().out
    assert "block rate                50.0% (4/8)" in table
    assert "block rate (visitors)     75.0% (3/4)" in table
    assert "CTA clicks                1" in table
    assert "recovery rate (visitors)  33.3% (1/3)" in table
    assert "Blocking by section" in table
    sport = next(line for line in table.splitlines() if line.startswith("/sport") and "%" in line)
    assert "0.0% (0/4)" in sport
    assert "Variants against a" in table
