"""Shared helpers of the robustness tests: small valid configs, the library's error types, definition checks."""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from constructs_lib.errors import (
    ConfigError,
    ConstructsLibError,
    DagError,
    ResolutionError,
    SpecError,
    SynthError,
)

#: Every error class the library raises on purpose.
LIBRARY_ERRORS: tuple[type[ConstructsLibError], ...] = (
    ConfigError,
    SpecError,
    DagError,
    ResolutionError,
    SynthError,
)

#: A code location that needs no local directory (no packing, no file system).
S3_CODE = "s3://robustness-code-bucket/train/sourcedir.tar.gz"

#: SageMaker's step-name rule (botocore ``StepName`` plus a non-empty name), as the issue states it.
STEP_NAME_RE = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")

REGION = "us-east-1"


def training_kwargs(**overrides: object) -> dict[str, object]:
    """Keyword arguments of a small valid ``PyTorchTrainingConfig`` (CPU instance, s3 code)."""
    values: dict[str, object] = {
        "training_instance_type": "ml.m5.xlarge",
        "source_dir": S3_CODE,
        "framework_version": "2.3.0",
        "py_version": "py311",
    }
    values.update(overrides)
    return values


def training_config(**overrides: object) -> Any:
    """A small valid ``PyTorchTrainingConfig``; ``overrides`` replace fields."""
    from constructs_lib.config.training_pytorch import PyTorchTrainingConfig

    return PyTorchTrainingConfig(**training_kwargs(**overrides))  # type: ignore[arg-type]


def hyperparameters_kwargs(**overrides: object) -> dict[str, object]:
    """Keyword arguments of a small valid ``ModelHyperparameters``."""
    values: dict[str, object] = {
        "id_name": "id",
        "label_name": "label",
        "full_field_list": ["id", "label", "f1", "f2"],
        "tab_field_list": ["f1"],
        "cat_field_list": ["f2"],
    }
    values.update(overrides)
    return values


def optional_module(name: str) -> Any:
    """Import ``name`` or skip the test with the reason (companion modules land concurrently)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on what has landed
        pytest.skip(f"{name} is not importable yet ({exc}); re-run once it has landed")


def outcome(fn: Callable[[], object]) -> object | ConstructsLibError:
    """Call ``fn``; return its result or the library error it raised. Any other exception propagates
    (and fails the calling test with the real traceback)."""
    try:
        return fn()
    except ConstructsLibError as exc:
        assert isinstance(exc, LIBRARY_ERRORS), f"{type(exc).__name__} is not one of the five error types"
        assert str(exc), "a library error must carry a message"
        assert "\n" not in exc.one_line()
        return exc


# ------------------------------------------------------------------------------------ definition checks
def _gets(obj: object) -> Iterator[str]:
    """Every ``{"Get": "..."}`` reference string anywhere in ``obj``."""
    if isinstance(obj, dict):
        get = obj.get("Get")
        if isinstance(get, str) and len(obj) == 1:
            yield get
        for value in obj.values():
            yield from _gets(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _gets(value)


def step_graph(definition: Mapping[str, Any]) -> dict[str, set[str]]:
    """``{step name: names of the steps it depends on}`` from ``DependsOn`` and ``Steps.<name>`` references."""
    steps = definition["Steps"]
    names = {s["Name"] for s in steps}
    graph: dict[str, set[str]] = {}
    for step in steps:
        deps = set(step.get("DependsOn") or [])
        for ref in _gets(step.get("Arguments", {})):
            if ref.startswith("Steps."):
                deps.add(ref.split(".", 2)[1])
        unknown = deps - names
        assert not unknown, f"step {step['Name']} depends on steps that are not in the definition: {unknown}"
        graph[step["Name"]] = deps
    return graph


def assert_acyclic(graph: Mapping[str, set[str]]) -> list[str]:
    """Kahn's algorithm over ``graph``; fails on a cycle; returns one topological order."""
    remaining = {n: set(d) for n, d in graph.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(n for n, d in remaining.items() if not d)
        assert ready, f"the definition's step graph has a cycle among {sorted(remaining)}"
        for n in ready:
            order.append(n)
            del remaining[n]
        for d in remaining.values():
            d.difference_update(ready)
    return order


def canonical(obj: object) -> str:
    """The library's canonical JSON form (sorted keys, compact, UTF-8 kept)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@functools.cache
def shared_session() -> Any:
    """One offline ``PipelineSession`` for the many small builds of these tests (a fresh session per build
    costs ~0.7 s of botocore model loading; the definition does not depend on it)."""
    from constructs_lib import placeholders
    from constructs_lib.sdk_adapter import offline_session

    return offline_session(REGION, placeholders.ARTIFACT_BUCKET)
