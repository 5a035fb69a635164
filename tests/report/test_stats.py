"""Confidence intervals, checked against the worked examples of Newcombe (1998), Statistics in Medicine 17:873."""

from __future__ import annotations

import pytest

from adguard_mw.report.stats import newcombe_difference, wilson


def test_wilson_interval_matches_the_published_example() -> None:
    interval = wilson(81, 263)
    assert interval is not None
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.2553, 0.3662)


def test_wilson_interval_of_zero_successes_starts_at_zero() -> None:
    interval = wilson(0, 10)
    assert interval is not None
    assert interval.low == 0.0
    assert interval.high == pytest.approx(0.2775, abs=1e-4)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
    ],
)
def test_newcombe_hybrid_score_matches_the_published_examples(
    x1: int, n1: int, x2: int, n2: int, low: float, high: float
) -> None:
    interval = newcombe_difference(x1, n1, x2, n2)
    assert interval is not None
    assert interval.estimate == pytest.approx(x1 / n1 - x2 / n2)
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def test_a_difference_is_antisymmetric() -> None:
    forward = newcombe_difference(5, 40, 12, 45)
    backward = newcombe_difference(12, 45, 5, 40)
    assert forward is not None and backward is not None
    assert forward.low == pytest.approx(-backward.high)
    assert forward.high == pytest.approx(-backward.low)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(1, 0, 1, 2), (1, 2, 0, 0), (3, 2, 1, 2)])
def test_no_interval_without_a_proportion(x1: int, n1: int, x2: int, n2: int) -> None:
    assert newcombe_difference(x1, n1, x2, n2) is None
