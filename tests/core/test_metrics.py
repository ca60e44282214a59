"""The four metric regexes against real log lines."""

from __future__ import annotations

import re

import pytest

from constructs_lib.metrics import METRIC_NAMES, extract_metrics, metric_definitions


def test_exactly_the_seed_metrics() -> None:
    assert [d["Name"] for d in metric_definitions()] == [
        "Train Loss",
        "Validation Loss",
        "Validation F1 Score",
        "Validation AUC ROC",
    ]
    assert tuple(d["Name"] for d in metric_definitions()) == METRIC_NAMES


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.69", 0.69),
        ("12", 12.0),
        ("1.5e-05", 1.5e-05),
        ("2.5E-3", 2.5e-3),
        ("-0.5", -0.5),
        (".5", 0.5),
        ("3.", 3.0),
    ],
)
@pytest.mark.parametrize("name", METRIC_NAMES)
def test_regex_captures_whole_number(name: str, text: str, value: float) -> None:
    regex = {d["Name"]: d["Regex"] for d in metric_definitions()}[name]
    m = re.search(regex, f"{name}: {text}")
    assert m is not None and m.group(1) == text and float(m.group(1)) == value


def test_naive_regex_would_have_failed() -> None:
    # the seed's original ([0-9\.]+) truncates exponents: documents why ours differs
    assert re.search(r"Train Loss: ([0-9\.]+)", "Train Loss: 1.5e-05").group(1) == "1.5"  # type: ignore[union-attr]


def test_metric_lines_never_cross_match() -> None:
    log = [
        "2026-11-29 12:00:00 INFO epoch=1",
        "Train Loss: 0.6931",
        "Validation Loss: 0.65",
        "Validation F1 Score: 0.81",
        "Validation AUC ROC: 0.9",
        "PreTrain Loss: 99",  # not a metric line: word boundary
        "[1,mpirank:0,algo-1]<stdout>:Train Loss: 1.5e-05",  # prefixed by a launcher
    ]
    series = extract_metrics(log)
    assert series == {
        "Train Loss": [0.6931, 1.5e-05],
        "Validation Loss": [0.65],
        "Validation F1 Score": [0.81],
        "Validation AUC ROC": [0.9],
    }
    for d in metric_definitions():
        for other in METRIC_NAMES:
            if other != d["Name"]:
                assert re.search(d["Regex"], f"{other}: 0.5") is None
