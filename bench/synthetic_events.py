"""Realistic synthetic events in the partitioned JSON lines layout, for the report's benchmark and tests.

    python bench/synthetic_events.py DIR [--events 1000000] [--seed 0] [--days 7] [--end 2026-11-25]

Writes `DIR/dt=YYYY-MM-DD/<instance>.jsonl` in event schema v1 (`docs/events.md`). Deterministic for a seed.

The distribution, per visitor (a reader with a cookie), is what a mid-sized news site might see:

- devices: ~55% mobile, ~6% tablet, ~36% desktop, ~3% crawlers (`device` "bot": a page view without a verdict
  and an `exempted` event with reason "crawler");
- browsers: Chrome (desktop and mobile) ~47%, Mobile Safari and Safari ~31%, Edge 7%, Samsung Internet 8%,
  Firefox 5%; each browser profile has its own chance of blocking, from 13% (Chrome on Android tablets) to 65%
  (Firefox on Linux): ~24% of visitors, which makes ~20% of eligible page views once blockers start to recover;
  85% of blockers are extensions, 15% network-level (DNS) blockers;
- 4% of readers get an `unknown` verdict;
- page views per visitor: 1 + geometric with mean 3 (capped at 60), minutes apart, over `--days` UTC days;
  the first page view has no verdict yet (`verdict` null), then the detector posts one;
- 8 sections of 40 articles each plus the home page (320 paths), popularity falling off like 1/rank;
- policy mode "notice" in /sport, "soft" elsewhere; two variants "a" and "b" (half the visitors each);
- a blocked reader sees the message on each later page view until they recover; per message shown they
  recover (check again, not blocked) with 5% ("a") or 7% ("b"), click "subscribe" with 2%, check again while
  still blocked with 4%, and dismiss with 55% ("a") or 45% ("b");
- page views are kept with probability `--sample-rate` (default 1) and carry that `sample_rate`.

Lines are assembled from pre-escaped pieces rather than `json.dumps`, so a million events take a few seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from bisect import bisect
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

SITE = "lantern"
SECTIONS = ("/news", "/sport", "/culture", "/business", "/opinion", "/tech", "/science", "/travel")
ARTICLES_PER_SECTION = 40
LOCALES = (("en", 0.62), ("de", 0.12), ("fr", 0.1), ("es", 0.08), ("nl", 0.04), ("null", 0.04))

# browser, major version, os, device, share of visitors, chance of blocking
PROFILES = (
    ("Chrome Mobile", "131", "Android", "mobile", 0.24, 0.15),
    ("Mobile Safari", "18", "iOS", "mobile", 0.23, 0.17),
    ("Samsung Internet", "27", "Android", "mobile", 0.08, 0.25),
    ("Chrome", "131", "Windows", "desktop", 0.16, 0.37),
    ("Chrome", "131", "Mac OS X", "desktop", 0.04, 0.37),
    ("Safari", "18", "Mac OS X", "desktop", 0.04, 0.25),
    ("Firefox", "133", "Windows", "desktop", 0.04, 0.55),
    ("Firefox", "133", "Linux", "desktop", 0.01, 0.65),
    ("Edge", "131", "Windows", "desktop", 0.07, 0.28),
    ("Mobile Safari", "18", "iOS", "tablet", 0.04, 0.17),
    ("Chrome Mobile", "131", "Android", "tablet", 0.02, 0.13),
    ("Googlebot", "2", "Other", "bot", 0.03, 0.0),
)
EXTENSION_SHARE = 0.85
UNKNOWN_SHARE = 0.04
MEAN_EXTRA_VIEWS = 3.0
RECOVER = {"a": 0.05, "b": 0.07}
DISMISS = {"a": 0.55, "b": 0.45}
CTA = 0.02
FAILED_CHECK = 0.04
DAY_MS = 86_400_000


@dataclass
class Written:
    """What a run produced, for checks and for the benchmark's report."""

    events: int = 0
    files: int = 0
    by_event: Counter[str] = field(default_factory=Counter)


def _paths() -> tuple[list[str], list[float]]:
    paths = ["/"]
    for section in SECTIONS:
        paths.extend(f"{section}/story-{n:03d}" for n in range(1, ARTICLES_PER_SECTION + 1))
    rng = random.Random(7)
    order = list(range(len(paths)))
    rng.shuffle(order)  # popularity rank independent of section
    weights = [1.0 / (1 + order[i]) for i in range(len(paths))]
    return paths, list(accumulate(weights))


class _Writer:
    """Buffers lines per (day, instance) file and appends them in large writes."""

    def __init__(self, directory: Path, days: list[str], instances: list[str]) -> None:
        self.directory = directory
        self.days = days
        self.instances = instances
        self.buffers: dict[tuple[int, int], list[str]] = {}
        self.buffered = 0
        self.touched: set[tuple[int, int]] = set()

    def add(self, day: int, instance: int, line: str) -> None:
        key = (day, instance)
        buffer = self.buffers.get(key)
        if buffer is None:
            buffer = self.buffers[key] = []
        buffer.append(line)
        self.buffered += 1
        if self.buffered >= 200_000:
            self.flush()

    def flush(self) -> None:
        for (day, instance), lines in self.buffers.items():
            folder = self.directory / f"dt={self.days[day]}"
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{self.instances[instance]}.jsonl", "a", encoding="ascii") as file:
                file.write("\n".join(lines))
                file.write("\n")
            self.touched.add((day, instance))
        self.buffers.clear()
        self.buffered = 0


def generate(
    directory: str | Path,
    events: int = 1_000_000,
    *,
    seed: int = 0,
    days: int = 7,
    end: dt.date | None = None,
    instances: int = 3,
    sample_rate: float = 1.0,
) -> Written:
    """Write exactly `events` events over the `days` UTC days ending with `end` (default: yesterday)."""
    if not 0 < sample_rate <= 1:
        raise ValueError("sample_rate must be in (0, 1]")
    rng = random.Random(seed)
    random_ = rng.random
    last = end or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    day_names = [(last - dt.timedelta(days=days - 1 - i)).isoformat() for i in range(days)]
    instance_names = [f"web-{n + 1}-{seed}" for n in range(instances)]
    writer = _Writer(Path(directory), day_names, instance_names)
    paths, path_weights = _paths()
    path_total = path_weights[-1]
    path_parts = [f'"path":"{p}",' for p in paths]
    path_modes = ['"mode":"notice"' if p.startswith("/sport/") else '"mode":"soft"' for p in paths]
    profile_weights = list(accumulate(p[4] for p in PROFILES))
    locale_weights = list(accumulate(w for _, w in LOCALES))
    site_parts = [f'"site":"{SITE}","instance":"{name}",' for name in instance_names]
    page_view_tail = f',"sample_rate":{sample_rate!r}}}'
    horizon = days * DAY_MS
    written = Written()
    count = written.by_event
    budget = events
    visitor_number = 0

    while budget > 0:
        visitor_number += 1
        browser, major, os_name, device, _, block_chance = PROFILES[bisect(profile_weights, random_() * 1.0)]
        locale = LOCALES[min(bisect(locale_weights, random_() * locale_weights[-1]), len(LOCALES) - 1)][0]
        locale_json = "null" if locale == "null" else f'"{locale}"'
        variant = "a" if random_() < 0.5 else "b"
        visitor = f"{rng.getrandbits(64):016x}"
        reader = (
            f'"locale":{locale_json},"variant":"{variant}",'
            f'"browser":"{browser}","browser_major":"{major}","os":"{os_name}","device":"{device}",'
            f'"visitor":"{visitor}"'
        )
        bot = device == "bot"
        if bot:
            verdict = "unknown"
            kind_json = "null"
        elif random_() < UNKNOWN_SHARE:
            verdict, kind_json = "unknown", "null"
        elif random_() < block_chance:
            verdict = "blocked"
            kind_json = '"extension"' if random_() < EXTENSION_SHARE else '"network"'
        else:
            verdict, kind_json = "not_blocked", "null"
        views = 1
        while views < 60 and random_() < MEAN_EXTRA_VIEWS / (1 + MEAN_EXTRA_VIEWS):
            views += 1
        time_ms = int(random_() * horizon)
        instance = int(random_() * instances)
        current: str | None = None  # the verdict in the reader's cookie
        current_kind = "null"
        for view in range(views):
            if view:
                time_ms += 5_000 + int(rng.expovariate(1 / 180_000))
                if random_() < 0.2:  # a new session, possibly another day and another server
                    time_ms += int(rng.expovariate(1 / (12 * 3_600_000)))
                    instance = int(random_() * instances)
            if time_ms >= horizon or budget <= 0:
                break
            day, in_day = divmod(time_ms, DAY_MS)
            seconds, millis = divmod(in_day, 1000)
            minutes, second = divmod(seconds, 60)
            hour, minute = divmod(minutes, 60)
            stamp = f'{{"v":1,"time":"{day_names[day]}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z","event":"'
            page = bisect(path_weights, random_() * path_total)
            common = f"{site_parts[instance]}{path_parts[page]}{reader},{path_modes[page]}"
            batch: list[tuple[str, str]] = []
            if random_() < sample_rate:
                verdict_json = "null" if current is None else f'"{current}"'
                batch.append(("page_view", f',"verdict":{verdict_json},"kind":{current_kind}{page_view_tail}'))
            if bot:
                batch.append(("exempted", ',"reason":"crawler"}'))
            elif current is None:
                signals = _signals(verdict, kind_json)
                batch.append(
                    ("verdict", f',"verdict":"{verdict}","kind":{kind_json},"signals":{signals},"previous":null}}')
                )
                current, current_kind = verdict, kind_json
            elif current == "blocked":
                batch.append(("message_shown", f',"verdict":"blocked","kind":{current_kind}}}'))
                roll = random_()
                recover = RECOVER[variant]
                if roll < recover:
                    batch.append(("check_again", ',"verdict":"not_blocked"}'))
                    batch.append(
                        (
                            "verdict",
                            ',"verdict":"not_blocked","kind":null,'
                            '"signals":{"cosmetic":"not_blocked","script":"not_blocked"},"previous":"blocked"}',
                        )
                    )
                    batch.append(("recovered", "}"))
                    current, current_kind = "not_blocked", "null"
                elif roll < recover + CTA:
                    batch.append(("cta_clicked", ',"cta":"subscribe"}'))
                elif roll < recover + CTA + FAILED_CHECK:
                    batch.append(("check_again", ',"verdict":"blocked"}'))
                elif roll < recover + CTA + FAILED_CHECK + DISMISS[variant]:
                    batch.append(("message_dismissed", "}"))
            for name, tail in batch:
                if budget <= 0:
                    break
                writer.add(day, instance, f'{stamp}{name}",{common}{tail}')
                count[name] += 1
                budget -= 1
    writer.flush()
    written.events = events - budget
    written.files = len(writer.touched)
    return written


def _signals(verdict: str, kind_json: str) -> str:
    if verdict == "unknown":
        return '{"cosmetic":"unknown","script":"unknown","image":"not_blocked"}'
    if verdict == "not_blocked":
        return '{"cosmetic":"not_blocked","script":"not_blocked","image":"not_blocked"}'
    if kind_json == '"network"':
        return '{"cosmetic":"not_blocked","script":"blocked","third_party":"blocked"}'
    return '{"cosmetic":"blocked","script":"blocked","image":"blocked"}'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write realistic synthetic adguard_mw events (schema v1).")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None, help="last UTC day (default: yesterday)")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--sample-rate", type=float, default=1.0)
    args = parser.parse_args(argv)
    written = generate(
        args.directory,
        args.events,
        seed=args.seed,
        days=args.days,
        end=args.end,
        instances=args.instances,
        sample_rate=args.sample_rate,
    )
    print(f"wrote {written.events:,} events in {written.files} files under {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
