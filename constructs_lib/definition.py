"""Pipeline definition helpers: canonical JSON, placeholder substitution, size checks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from constructs_lib import limits
from constructs_lib.errors import SynthError
from constructs_lib.placeholders import PLACEHOLDER_PATTERN

__all__ = [
    "DEFINITION_PREFIX",
    "all_steps",
    "as_executed",
    "canonical_json",
    "check_definition_size",
    "find_placeholders",
    "substitute",
]

T = TypeVar("T")

#: Key prefix in the artifact bucket of definitions stored in S3 (``<prefix>/<pipeline>/<sha256>.json``).
DEFINITION_PREFIX = "pipeline-definitions"


def definition_max_chars() -> int:
    """SageMaker's limit on ``PipelineDefinitionBody`` (botocore ``PipelineDefinition``: 1,048,576)."""
    return limits.shape("PipelineDefinition").max or 1_048_576


def canonical_json(definition: Mapping[str, Any]) -> str:
    """Deterministic JSON: sorted keys, no insignificant whitespace, UTF-8 characters kept."""
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def map_strings(obj: T, fn: Callable[[str], Any]) -> T:
    """Apply ``fn`` to every string value (not keys) of a JSON-like structure; returns a new structure."""
    if isinstance(obj, str):
        return fn(obj)  # type: ignore[no-any-return]
    if isinstance(obj, dict):
        return {k: map_strings(v, fn) for k, v in obj.items()}  # type: ignore[return-value]
    if isinstance(obj, list):
        return [map_strings(v, fn) for v in obj]  # type: ignore[return-value]
    return obj


def substitute(obj: T, replacements: Mapping[str, str]) -> T:
    """Replace each placeholder (a key of ``replacements``) inside every string of ``obj``.

    Longer placeholders are replaced first so a placeholder that contains another is handled correctly.
    """
    order = sorted(replacements, key=len, reverse=True)

    def fn(text: str) -> str:
        for key in order:
            if key in text:
                text = text.replace(key, replacements[key])
        return text

    return map_strings(obj, fn)


def find_placeholders(obj: Any) -> list[str]:
    """Every placeholder string left anywhere in ``obj`` (sorted, unique)."""
    found: set[str] = set()

    def fn(text: str) -> str:
        found.update(PLACEHOLDER_PATTERN.findall(text))
        return text

    map_strings(obj, fn)
    return sorted(found)


def check_definition_size(text: str, *, pipeline: str) -> int:
    """Raise :class:`SynthError` when ``text`` exceeds SageMaker's definition limit; return its length."""
    limit = definition_max_chars()
    if len(text) > limit:
        raise SynthError(
            f"pipeline definition is {len(text):,} characters; SageMaker allows at most {limit:,}",
            step=pipeline,
            field="PipelineDefinition",
            hint="split the pipeline, or shorten long hyperparameters/environment values",
        )
    return len(text)


def as_executed(obj: T, parameters: Mapping[str, Any], execution_id: str = "local-execution") -> T:
    """``obj`` (part of a definition) with SageMaker's expressions evaluated as an execution evaluates them:
    ``{"Get": "Parameters.X"}`` -> ``parameters["X"]``, ``{"Get": "Execution.PipelineExecutionId"}`` ->
    ``execution_id``, ``{"Std:Join": {"On", "Values"}}`` -> the joined string. Other property references
    (another step's outputs) are left as they are. An unknown parameter is a :class:`SynthError`."""

    def evaluate(value: Any) -> Any:
        if isinstance(value, list):
            return [evaluate(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"} and isinstance(value["Get"], str):
            ref = value["Get"]
            if ref.startswith("Parameters."):
                name = ref[len("Parameters.") :]
                if name not in parameters:
                    raise SynthError("unknown pipeline parameter", field="Parameters", value=name)
                return parameters[name]
            if ref == "Execution.PipelineExecutionId":
                return execution_id
            return value
        if set(value) == {"Std:Join"} and isinstance(value["Std:Join"], dict):
            join = value["Std:Join"]
            parts = [evaluate(v) for v in join.get("Values", [])]
            if all(isinstance(p, str | int | float) for p in parts):
                return str(join.get("On", "")).join(str(p) for p in parts)
            return {"Std:Join": {**join, "Values": parts}}
        return {k: evaluate(v) for k, v in value.items()}

    result: T = evaluate(obj)
    return result


def all_steps(steps: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every step of a definition's ``Steps``, those in a Condition step's ``IfSteps``/``ElseSteps``
    included (depth first, in definition order)."""
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            yield from all_steps([*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])])
