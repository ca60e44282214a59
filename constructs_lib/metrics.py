"""The four metrics the PyTorch training step reports, and the regexes SageMaker applies to its log.

The regexes capture a whole number in any form Python prints (``0.69``, ``12``, ``-0.5``, ``1.5e-05``,
``2.5E-3``), unlike the naive ``([0-9\\.]+)``, and each is anchored on its full metric name followed by
``": "`` so that one metric's log line never matches another's. The reference ``train.py`` prints exactly
``"<name>: <value>"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "METRIC_NAMES",
    "NUMBER_PATTERN",
    "extract_metrics",
    "metric_definitions",
]

#: The metric names of the seed, in the order they are declared.
METRIC_NAMES: tuple[str, ...] = (
    "Train Loss",
    "Validation Loss",
    "Validation F1 Score",
    "Validation AUC ROC",
)

#: A signed decimal number with optional fraction and exponent, captured whole.
NUMBER_PATTERN = r"([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"


def metric_definitions() -> list[dict[str, str]]:
    """``[{"Name": ..., "Regex": ...}]`` as passed to the estimator's ``metric_definitions``."""
    return [{"Name": name, "Regex": rf"\b{name}: {NUMBER_PATTERN}"} for name in METRIC_NAMES]


def extract_metrics(
    lines: Iterable[str], definitions: list[dict[str, str]] | None = None
) -> dict[str, list[float]]:
    """Apply ``definitions`` (default: :func:`metric_definitions`) to log lines, as SageMaker does:
    every match of each regex, first capture group, in order. Returns ``{name: [values...]}``."""
    defs = definitions if definitions is not None else metric_definitions()
    compiled = [(d["Name"], re.compile(d["Regex"])) for d in defs]
    series: dict[str, list[float]] = {name: [] for name, _ in compiled}
    for line in lines:
        for name, rx in compiled:
            for m in rx.finditer(line):
                series[name].append(float(m.group(1)))
    return series
