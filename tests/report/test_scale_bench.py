"""The scale benchmark's quick path: it generates a dataset, measures both reads and deletes what it made."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("duckdb")


def test_the_scale_bench_measures_and_cleans_up(tmp_path: Path) -> None:
    from bench.scale_bench import measure

    result = measure(20_000, tmp_path, spark=False)
    assert result["events"] == 20_000
    assert result["scan_events_per_second"] > 0 and result["duckdb_events_per_second"] > 0
    assert list(tmp_path.iterdir()) == []  # generated, measured, deleted
