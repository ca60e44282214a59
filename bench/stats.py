"""Robust summaries of small, noisy timing samples: median, min-max, IQR, ratio of medians."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Summary", "alternate", "ratio", "summarize"]


@dataclass(frozen=True)
class Summary:
    """Summary of one sample of timings (seconds) or sizes.

    Attributes:
        values: the raw values, in the order they were measured.
        median: the median.
        low: the minimum.
        high: the maximum.
        q1: the first quartile (``statistics.quantiles`` inclusive method; equals ``low`` for n < 2).
        q3: the third quartile.
    """

    values: tuple[float, ...]
    median: float
    low: float
    high: float
    q1: float
    q3: float

    @property
    def n(self) -> int:
        """Number of values."""
        return len(self.values)

    def ms(self) -> str:
        """``median ms (min-max)``, e.g. ``812 ms (790-845)``."""
        return f"{self.median * 1e3:,.0f} ms ({self.low * 1e3:,.0f}-{self.high * 1e3:,.0f})"

    def s(self) -> str:
        """``median s (min-max)`` with two decimals, e.g. ``8.12 s (7.90-8.45)``."""
        return f"{self.median:,.2f} s ({self.low:,.2f}-{self.high:,.2f})"

    def auto(self) -> str:
        """:meth:`ms` below one second, :meth:`s` otherwise."""
        return self.ms() if self.median < 1.0 else self.s()


def summarize(values: Sequence[float]) -> Summary:
    """Summarize ``values`` (at least one)."""
    if not values:
        raise ValueError("no values to summarize")
    data = tuple(float(v) for v in values)
    if len(data) >= 2:
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
    else:
        q1 = q3 = data[0]
    return Summary(
        values=data,
        median=statistics.median(data),
        low=min(data),
        high=max(data),
        q1=q1,
        q3=q3,
    )


def ratio(numerator: Summary, denominator: Summary) -> float:
    """Ratio of medians (``inf`` when the denominator's median is zero)."""
    if denominator.median == 0:
        return float("inf")
    return numerator.median / denominator.median


def alternate(
    runners: Sequence[Callable[[], float]],
    pairs: int,
    *,
    warmup: bool = True,
) -> list[list[float]]:
    """Run ``runners`` round-robin (A, B, A, B, ...) ``pairs`` times; one list of results per runner.

    Alternation spreads slow drifts (another process starting, a CPU frequency change) evenly over all
    candidates, so the ratio of medians stays meaningful on a shared machine. With ``warmup`` each runner is
    called once first, unrecorded (file-system cache, bytecode, jsii cache).
    """
    if pairs < 1:
        raise ValueError("pairs must be >= 1")
    if warmup:
        for run in runners:
            run()
    results: list[list[float]] = [[] for _ in runners]
    for _ in range(pairs):
        for i, run in enumerate(runners):
            results[i].append(run())
    return results
