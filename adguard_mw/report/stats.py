"""Confidence intervals for proportions and their differences, so variant comparisons come with their uncertainty.

Newcombe's hybrid score interval (method 10 of Newcombe 1998, "Interval estimation for the difference between
independent proportions") combines two Wilson score intervals. Unlike the Wald interval it stays inside [-1, 1],
behaves at proportions near 0 and 1 and with small groups, which is where variant tests on recoveries live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95%: the 0.975 quantile of the standard normal


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: float, trials: float, z: float = Z_95) -> Interval | None:
    """Wilson score interval of a proportion; None when there is no proportion to estimate."""
    if trials <= 0 or successes < 0 or successes > trials:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(
    successes: float, trials: float, baseline_successes: float, baseline_trials: float, z: float = Z_95
) -> Interval | None:
    """Interval of p - p_baseline (Newcombe's hybrid score); None when either proportion is undefined."""
    first = wilson(successes, trials, z)
    second = wilson(baseline_successes, baseline_trials, z)
    if first is None or second is None:
        return None
    difference = first.estimate - second.estimate
    low = difference - math.hypot(first.estimate - first.low, second.high - second.estimate)
    high = difference + math.hypot(first.high - first.estimate, second.estimate - second.low)
    return Interval(difference, max(-1.0, low), min(1.0, high))
