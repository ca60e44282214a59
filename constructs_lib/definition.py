"""Pipeline definition helpers: canonical JSON, placeholder substitution, size checks."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from constructs_lib import limits
from constructs_lib.errors import SynthError
from constructs_lib.placeholders import PLACEHOLDER_PATTERN

__all__ = [
    "canonical_json",
    "check_definition_size",
    "find_placeholders",
    "substitute",
]

T = TypeVar("T")


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
