"""The tools help where people make mistakes: every mistake in one run, editors without secrets, a bad setting
that cannot hide behind a lazily built middleware, an unwritable events folder found at start, a demo that says
what it needs, and a report that says why a rate is empty."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adguard_mw import AdGuardMiddleware
from adguard_mw.cli import main
from adguard_mw.config import ConfigError, load_settings

KEY = "the-current-key-0123456789abcdef"
TYPOS = """
[sitee]
name = "The Daily Lantern"

[policy]
mode = "sfot"
free_page_view = 2

[[policy.rules]]
mode = "observe"

[message]
titel = "Please support {site}"

[reload]
interval = "soon"
"""
EDITORS_FILE = """
[site]
name = "The Daily Lantern"

[policy]
mode = "soft"

[message]
title = "Please support {site}"

[preview]
token_env = "ADGUARD_MW_PREVIEW_TOKEN"
"""


@pytest.fixture
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ADGUARD_MW_SECRET_KEYS", "ADGUARD_MW_PREVIEW_TOKEN", "ADGUARD_MW_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def write(tmp_path: Path, text: str, name: str = "adguard-mw.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- check-config -------------------------------------------------------------------------------------------


def test_check_config_lists_every_mistake_on_its_own_line_with_the_nearest_name(
    tmp_path: Path, no_secrets: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(write(tmp_path, TYPOS))]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "adguard-mw.toml: sitee = '...' is not allowed: did you mean 'site'? sections are site, policy, message, "
        "events, detection, preview, reload",
        "adguard-mw.toml: policy.mode = 'sfot' is not allowed: did you mean 'soft'? one of observe, notice, "
        "instructions, soft, hard",
        lines[2],
        'adguard-mw.toml: reload.interval = \'soon\' is not allowed: a duration such as "30m", "24h", "7d" or a '
        "number of seconds",
        'adguard-mw.toml: policy.rules[0].path is missing: a path pattern such as "/news/*".',
        lines[5],
    ]
    assert lines[2].startswith(
        "adguard-mw.toml: policy.free_page_view = 2 is not allowed: did you mean 'free_page_views'? keys of [policy]"
    )
    assert lines[5].startswith("adguard-mw.toml: message.titel = 'Please support {site}' is not allowed: did you mean")
    assert "secret" not in "\n".join(lines)  # editors are not told about what they do not hold


def test_a_configuration_error_keeps_each_mistake(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, TYPOS), environ={"ADGUARD_MW_SECRET_KEYS": KEY})
    assert len(error.value.problems) == 6 and str(error.value) == "\n".join(error.value.problems)


def test_editors_check_their_part_without_secrets_and_are_told_what_was_not_checked(
    tmp_path: Path, no_secrets: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(write(tmp_path, EDITORS_FILE))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{tmp_path / 'adguard-mw.toml'}: ok as far as checked (policy soft)",
        "  not checked: the secret keys (ADGUARD_MW_SECRET_KEYS is not set here)",
        "  not checked: the preview token (ADGUARD_MW_PREVIEW_TOKEN is not set here)",
        "  run `adguard-mw check-config --strict` where the site runs to check these too",
    ]


def test_strict_checks_what_the_server_holds(
    tmp_path: Path, no_secrets: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--strict", str(write(tmp_path, EDITORS_FILE))]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "adguard-mw.toml: the environment variable ADGUARD_MW_SECRET_KEYS (site.secret_keys_env) holds no secret keys"
    ]


def test_with_the_secrets_at_hand_the_check_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", KEY)
    monkeypatch.setenv("ADGUARD_MW_PREVIEW_TOKEN", "a-preview-token-0123456789")
    assert main(["check-config", "--strict", str(write(tmp_path, EDITORS_FILE))]) == 0
    assert "ok (policy soft, 1 secret key(s))" in capsys.readouterr().out


def test_preview_needs_no_secret(tmp_path: Path, no_secrets: None, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "preview"
    assert main(["preview", str(write(tmp_path, EDITORS_FILE)), "--out", str(out), "--mode", "soft"]) == 0
    assert "Please support The Daily Lantern" in (out / "soft-en.html").read_text()
    assert "not checked: the secret keys" in capsys.readouterr().err


# --- the events folder --------------------------------------------------------------------------------------


def test_an_unwritable_events_folder_stops_the_start_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "logs").write_text("a file where the folder should be")
    with pytest.raises(ValueError) as error:
        AdGuardMiddleware(site(), secret_key=KEY, events=tmp_path / "logs" / "adguard")
    message = str(error.value)
    assert message.startswith("adguard_mw: events: ") and "\n" not in message
    assert "is not a folder" in message and "choose another folder" in message


def test_check_config_finds_an_unwritable_events_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", KEY)
    (tmp_path / "logs").write_text("a file where the folder should be")
    path = write(tmp_path, '[events]\ndirectory = "logs/adguard"\n')
    assert main(["check-config", "--strict", str(path)]) == 1
    assert capsys.readouterr().err.startswith("adguard-mw.toml: events.directory: ")
    assert main(["check-config", str(path)]) == 0  # an editor's machine is not the server
    assert "not checked: the events folder" in capsys.readouterr().out


def test_a_writable_events_folder_is_not_created_by_checking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", KEY)
    path = write(tmp_path, '[events]\ndirectory = "events"\n')
    assert main(["check-config", "--strict", str(path)]) == 0
    AdGuardMiddleware.check(path)
    assert not (tmp_path / "events").exists()


# --- a lazily built middleware ------------------------------------------------------------------------------


async def page(request: Request) -> Response:
    return HTMLResponse("<!doctype html><html><head><title>Story</title></head><body>Text</body></html>")


def site() -> Starlette:
    return Starlette(routes=[Route("/", page)])


@pytest.fixture
def uvicorn_server() -> Iterator[list[uvicorn.Server]]:
    servers: list[uvicorn.Server] = []
    yield servers
    for server in servers:
        server.should_exit = True


def serve(app: Starlette, servers: list[uvicorn.Server]) -> str:
    """The app under uvicorn as deployed: lifespan "auto", which takes a failing start-up for "unsupported"."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="auto", log_level="critical"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    servers.append(server)
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_bad_file_under_a_lazily_built_middleware_is_logged_once_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    uvicorn_server: list[uvicorn.Server],
) -> None:
    monkeypatch.setenv("ADGUARD_MW_SECRET_KEYS", KEY)
    monkeypatch.setattr("adguard_mw._faults._build_errors_logged", set())  # as in a fresh process
    app = site()
    app.add_middleware(AdGuardMiddleware.from_config, write(tmp_path, '[policy]\nmode = "sfot"\n'))
    caplog.set_level(logging.ERROR, logger="adguard_mw")
    base = serve(app, uvicorn_server)  # starts cleanly: the server shrugged off the failed lifespan
    assert [httpx.get(base + "/").status_code for _ in range(3)] == [500, 500, 500]
    ours = [r.getMessage() for r in caplog.records if r.name == "adguard_mw"]
    assert ours == [
        "adguard_mw: the middleware cannot start, so every request fails until this is fixed: adguard-mw.toml: "
        "policy.mode = 'sfot' is not allowed: did you mean 'soft'? one of observe, notice, instructions, soft, hard"
    ]


@pytest.mark.parametrize(
    ("options", "logged"),
    [
        ({"secret_key": KEY, "polcy": "soft"}, "'polcy' is not an option; did you mean 'policy'?"),
        ({"secret_key": "too-short"}, "secret_key is 9 characters long; use at least 24 random characters"),
    ],
    ids=["misspelt keyword", "bad value"],
)
def test_a_bad_keyword_under_add_middleware_is_logged_once_in_one_line(
    options: dict[str, str],
    logged: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    uvicorn_server: list[uvicorn.Server],
) -> None:
    monkeypatch.setattr("adguard_mw._faults._build_errors_logged", set())  # as in a fresh process
    app = site()
    app.add_middleware(AdGuardMiddleware, **options)
    caplog.set_level(logging.ERROR, logger="adguard_mw")
    base = serve(app, uvicorn_server)
    assert [httpx.get(base + "/").status_code for _ in range(3)] == [500, 500, 500]
    ours = [r.getMessage() for r in caplog.records if r.name == "adguard_mw"]
    assert len(ours) == 1 and "\n" not in ours[0], ours
    assert ours[0].startswith("adguard_mw: the middleware cannot start, so every request fails until this is fixed: ")
    assert logged in ours[0]


def test_the_import_time_check_raises_what_the_first_request_would(tmp_path: Path, no_secrets: None) -> None:
    with pytest.raises(ConfigError, match=r"policy\.mode = 'sfot'"):
        AdGuardMiddleware.check(write(tmp_path, '[policy]\nmode = "sfot"\n'))
    with pytest.raises(ValueError, match="secret_key"):
        AdGuardMiddleware.check(secret_key="too-short", policy="soft")
    AdGuardMiddleware.check(secret_key=KEY, policy="soft")  # a good set of options passes quietly


# --- the demo -----------------------------------------------------------------------------------------------


def test_demo_help_shows_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--host HOST", "--port PORT", "--events EVENTS", "--policy", "--free-views FREE_VIEWS"):
        described = text.split(option, 2)[-1]
        assert "(default: " in described.split("--", 1)[0], f"{option} does not show its default"


def test_a_second_demo_on_a_busy_port_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["demo", "--port", str(port), "--events", str(tmp_path / "events")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no banner for a demo that is not running
    assert captured.err == (
        f"adguard-mw demo: port {port} on 127.0.0.1 is busy (another demo?); choose another with --port\n"
    )


# --- the report ---------------------------------------------------------------------------------------------


def test_the_report_says_why_a_rate_is_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("duckdb")
    day = tmp_path / "dt=2026-11-20"
    day.mkdir()
    first_view = {
        **{"v": 1, "time": "2026-11-20T10:00:00.000Z", "event": "page_view", "site": "s", "instance": "i"},
        **{"verdict": None, "kind": None, "sample_rate": 1.0, "path": "/", "visitor": None, "mode": "soft"},
    }
    (day / "demo.jsonl").write_text(json.dumps(first_view) + "\n")
    assert main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "block rate                —" in out
    assert '"—" marks a rate with nothing to divide by:' in out
    assert "no page view with a verdict yet (a reader's first page view runs the check" in out
    assert "the message rates: no message shown" in out
