"""Editors change adguard-mw.toml while the site runs; a broken file never takes the site's settings down."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware, Mode
from adguard_mw.reload import RELOAD_WAIT

from .site import article, client, own_url, report, wrapped

KEYS = "the-current-key-0123456789abcdef"
BASE = """
[site]
name = "The Lantern"

[policy]
mode = "soft"

[message]
title = "{title}"

[reload]
interval = 0
{extra}
"""


def write(path: Path, title: str = "Please support us", extra: str = "", replace: dict[str, str] | None = None) -> None:
    text = BASE.replace("{title}", title).replace("{extra}", extra)
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a later mtime, however fast we are


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", KEYS)
    path = tmp_path / "adguard-mw.toml"
    write(path)
    return path


def site(config: Path) -> AdGuardMiddleware:
    return AdGuardMiddleware.from_config(Starlette(routes=[Route("/{path:path}", article)]), config)


async def page_for_a_blocking_reader(app: AdGuardMiddleware) -> str:
    async with client(app) as c:
        await report(c, app, "blocked")
        return (await c.get("/news/1")).text


async def test_a_changed_message_is_live_on_the_next_request(config: Path) -> None:
    app = site(config)
    assert "Please support us" in await page_for_a_blocking_reader(app)
    write(config, title="Help keep the lamps lit")
    assert "Help keep the lamps lit" in await page_for_a_blocking_reader(app)


async def test_a_changed_policy_is_live_on_the_next_request(config: Path) -> None:
    app = site(config)
    write(config, replace={'mode = "soft"': 'mode = "notice"'})
    assert f'{app.names.data}="notice"' in await page_for_a_blocking_reader(app)
    assert app.policy.mode is Mode.NOTICE


async def test_a_broken_file_keeps_the_running_settings_and_says_why_once(
    config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = site(config)
    write(config, replace={'mode = "soft"': 'mode = "wall"'})
    with caplog.at_level(logging.ERROR, logger="adguard_mw.config"):
        first = await page_for_a_blocking_reader(app)
        second = await page_for_a_blocking_reader(app)
    assert f'{app.names.data}="soft"' in first and f'{app.names.data}="soft"' in second
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert errors == [
        "adguard_mw: adguard-mw.toml was not reloaded, the previous settings stay in force: "
        "adguard-mw.toml: policy.mode = 'wall' is not allowed: one of observe, notice, instructions, soft, hard"
    ]


async def test_a_file_that_is_not_toml_keeps_the_running_settings(config: Path) -> None:
    app = site(config)
    config.write_text("[policy\nmode = ")
    assert f'{app.names.data}="soft"' in await page_for_a_blocking_reader(app)


async def test_changes_that_need_a_restart_are_named_and_not_applied(
    config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = site(config)
    write(config, title="New words", replace={"The Lantern": "The Torch"})
    with caplog.at_level(logging.WARNING, logger="adguard_mw.config"):
        text = await page_for_a_blocking_reader(app)
    assert "New words" in text and "The Lantern" in text and "The Torch" not in text
    assert any("changes to site_name take effect on the next restart" in r.getMessage() for r in caplog.records)


async def test_the_file_is_not_read_again_before_the_interval(config: Path) -> None:
    write(config, replace={"interval = 0": 'interval = "1h"'})
    app = site(config)
    write(config, title="Too soon", replace={"interval = 0": 'interval = "1h"'})
    assert "Too soon" not in await page_for_a_blocking_reader(app)
    assert app.reloader is not None and app.reloader.reload() is True
    assert "Too soon" in await page_for_a_blocking_reader(app)


async def test_a_signal_asks_for_a_reload(config: Path) -> None:
    write(config, extra='signal = "SIGUSR1"\nwatch = false')
    app = site(config)
    write(config, title="After the signal", extra='signal = "SIGUSR1"\nwatch = false')
    assert "After the signal" not in await page_for_a_blocking_reader(app)
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert "After the signal" in await page_for_a_blocking_reader(app)
    finally:
        signal.signal(signal.SIGUSR1, previous)


async def test_keywords_given_in_code_keep_winning_over_the_file(config: Path) -> None:
    app = AdGuardMiddleware.from_config(Starlette(routes=[Route("/{path:path}", article)]), config, policy="notice")
    write(config, title="Changed")
    text = await page_for_a_blocking_reader(app)
    assert "Changed" in text and f'{app.names.data}="notice"' in text


BROKEN_TEMPLATES = {
    "raising when rendered": "<p>{{ 1 // 0 }}</p>",
    "including itself": '{% include "panel.html" %}',
    "calling what raises": '{{ text.title.index("#") }}',
}


@pytest.mark.parametrize("panel", BROKEN_TEMPLATES.values(), ids=BROKEN_TEMPLATES.keys())
async def test_a_template_that_fails_on_reload_never_fails_a_readers_request(
    config: Path, panel: str, caplog: pytest.LogCaptureFixture
) -> None:
    templates = config.parent / "templates"
    templates.mkdir()
    write(config, replace={"[reload]": 'template_dir = "templates"\n\n[reload]'})
    app = site(config)
    (templates / "panel.html").write_text(panel)
    write(config, title="Help keep the lamps lit", replace={"[reload]": 'template_dir = "templates"\n\n[reload]'})
    with caplog.at_level(logging.ERROR, logger="adguard_mw"):
        first = await page_for_a_blocking_reader(app)
        second = await page_for_a_blocking_reader(app)
    assert "Please support us" in first and "Please support us" in second  # the previous settings, in force
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1 and "was not reloaded" in errors[0] and "fail in notice mode" in errors[0]


async def test_any_fault_while_reloading_keeps_the_running_settings(
    config: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = site(config)

    def explode(**options: object) -> None:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(app, "build_editorial", explode)
    write(config, title="Help keep the lamps lit")
    with caplog.at_level(logging.ERROR, logger="adguard_mw"):
        assert "Please support us" in await page_for_a_blocking_reader(app)
        write(config, title="Help keep the lamps lit, again")
        assert "Please support us" in await page_for_a_blocking_reader(app)
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1 and "reloading adguard-mw.toml failed; the previous settings stay in force" in errors[0]


async def test_a_slow_reload_never_holds_up_a_readers_request(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = site(config)
    build = app.build_editorial

    def slowly(**options: Any) -> Any:
        time.sleep(RELOAD_WAIT + 2)  # templates slow to render, a slow disk: the reload takes its time
        return build(**options)

    monkeypatch.setattr(app, "build_editorial", slowly)
    write(config, title="Help keep the lamps lit")
    began = time.monotonic()
    page = await page_for_a_blocking_reader(app)
    assert time.monotonic() - began < RELOAD_WAIT + 1  # the request waited for the reload a moment at most
    assert "Please support us" in page  # and got the settings in force
    deadline = time.monotonic() + 30
    while app.renderer.message.title != "Help keep the lamps lit" and time.monotonic() < deadline:
        await anyio.sleep(0.1)  # the reload finishes on its own thread, then its settings are live
    assert app.renderer.message.title == "Help keep the lamps lit"


async def test_a_reload_that_changes_the_detector_puts_its_new_version_in_every_pages_tag() -> None:
    # The detector is served `immutable` under its version: a tag still naming the old version after a reload
    # would keep the old script (here: one that never loads the slot script) in readers' caches for a year.
    app = wrapped(ad_slots=False)
    script = f"{own_url(app, app.names.script)}?"
    async with client(app) as c:
        before = (await c.get("/news/1")).text
        app.use(app.build_editorial(ad_slots=True))
        after = (await c.get("/news/1")).text
        served = await c.get(script + after.split(script, 1)[1].split('"', 1)[0])
    old, new = (page.split(script, 1)[1].split('"', 1)[0] for page in (before, after))
    assert old != new == app.names.version(app.assets.detector.version)
    assert served.content == app.assets.detector.body and app.names.slot_script.encode() in served.content
