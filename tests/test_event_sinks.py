"""Where events go is decided at start-up: a destination we do not serve is a one-line error there."""

from __future__ import annotations

from pathlib import Path

import pytest

from adguard_mw.events import EventLog, JsonLinesSink


@pytest.mark.parametrize("target", ["s3x://amw/events", "gs://amw/events", "https://example.org/events"])
def test_an_unsupported_url_scheme_is_a_one_line_error(target: str) -> None:
    with pytest.raises(ValueError) as raised:
        EventLog.to(target, site="lantern")
    message = str(raised.value)
    assert "\n" not in message and target in message and "s3://bucket/prefix" in message


def test_a_path_is_a_directory_of_json_lines(tmp_path: Path) -> None:
    log = EventLog.to(tmp_path / "s3:", site="lantern")  # a Path is always local, whatever it looks like
    assert isinstance(log.sinks[-1], JsonLinesSink)


def test_an_s3_url_without_a_bucket_is_refused() -> None:
    pytest.importorskip("pyarrow")
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        EventLog.to("s3:///events", site="lantern")
