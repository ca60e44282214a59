"""Provenance of a synthesized pipeline: the tags that say which library version, configs and code built it.

The CDK constructs put them on every ``AWS::SageMaker::Pipeline`` (``constructs-lib:version``,
``constructs-lib:config-sha256``, ``constructs-lib:code-sha256``), and ``python -m constructs_lib verify``
prints them beside the live pipeline's. Pure Python: imports neither ``aws_cdk`` nor ``sagemaker``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from constructs_lib import __version__
from constructs_lib.definition import canonical_json

if TYPE_CHECKING:  # pragma: no cover
    from constructs_lib.template import PipelineBuilderTemplate

__all__ = [
    "PROVENANCE_PREFIX",
    "PROVENANCE_TAG_KEYS",
    "code_sha256",
    "config_sha256",
    "provenance_tags",
]

#: Tag-key prefix of the provenance tags the constructs put on every synthesized pipeline.
PROVENANCE_PREFIX = "constructs-lib:"
#: The provenance tag keys, in the order they are documented.
PROVENANCE_TAG_KEYS: tuple[str, ...] = (
    f"{PROVENANCE_PREFIX}version",
    f"{PROVENANCE_PREFIX}config-sha256",
    f"{PROVENANCE_PREFIX}code-sha256",
)


def _without_local_paths(value: Any) -> Any:
    """``value`` with every local ``source_dir`` replaced by a marker: its content is in the code digest,
    and its absolute path differs between machines."""
    if isinstance(value, Mapping):
        return {
            k: (
                "<local source_dir>"
                if k == "source_dir" and isinstance(v, str) and not v.startswith("s3://")
                else _without_local_paths(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_without_local_paths(v) for v in value]
    return value


def config_sha256(template: PipelineBuilderTemplate) -> str:
    """SHA-256 of the canonical JSON (sorted keys, compact) of every node's config (class name and
    values, local ``source_dir`` paths masked), the DAG (nodes in order, edges), each node's step type and
    the resolver overrides."""
    document = {
        "configs": {
            node: {
                "type": type(config).__name__,
                "values": _without_local_paths(config.model_dump(mode="json")),
            }
            for node, config in sorted(template.config_map.items())
        },
        "dag": {"nodes": list(template.dag.nodes), "edges": [list(e) for e in template.dag.edges]},
        "step_types": dict(sorted(template.step_types.items())),
        "overrides": {
            node: {dep: list(src) for dep, src in sorted(deps.items())}
            for node, deps in sorted(template.overrides.items())
        },
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def code_sha256(asset_hashes: Iterable[str]) -> str:
    """SHA-256 of the pipeline's code asset hashes, sorted, one per line (the SHA-256 of the empty string
    for a pipeline without local code)."""
    return hashlib.sha256("\n".join(sorted(asset_hashes)).encode("utf-8")).hexdigest()


def provenance_tags(template: PipelineBuilderTemplate, asset_hashes: Iterable[str]) -> dict[str, str]:
    """The provenance tags of a pipeline built from ``template`` with code assets ``asset_hashes``."""
    return dict(
        zip(
            PROVENANCE_TAG_KEYS,
            (__version__, config_sha256(template), code_sha256(asset_hashes)),
            strict=True,
        )
    )
