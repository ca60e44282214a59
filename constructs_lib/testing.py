"""Snapshot tests for stacks that use constructs_lib: a template in a form that diffs well.

    from constructs_lib.testing import template_snapshot

    def test_stack_snapshot(snapshot):          # syrupy (or compare with any stored JSON)
        assert template_snapshot(stack) == snapshot

:func:`template_snapshot` takes a CDK ``Stack`` (its app is synthesized, or its cached assembly reused), a
synthesized stack artifact (``app.synth().get_stack_by_name(...)``), a template dict or a
``*.template.json`` path, and returns the template with:

* every 64-hex-digit SHA-256 (asset hashes in S3 keys and asset paths, content-addressed definition keys,
  digest tags) replaced by ``<sha256>``;
* CDK's bookkeeping removed: the ``aws:cdk:path`` and ``aws:asset:*`` resource metadata, the
  ``CDKMetadata`` resource and its ``CDKMetadataAvailable`` condition, the ``BootstrapVersion`` parameter
  and the ``CheckBootstrapVersion`` rule (what ``cdk synth`` adds with version reporting and path
  metadata on, and what the bootstrap stack's version decides);
* each ``AWS::SageMaker::Pipeline``'s definition decoded into a JSON object, tokens shown readably
  (``${ArtifactBucketA20A80D0}``, ``${JobRoleF750C0D4.Arn}``, ``${AWS::Region}``; see
  :mod:`constructs_lib.assembly`): an inline ``PipelineDefinitionBody`` is replaced by the decoded
  definition; a definition stored in S3 keeps its ``PipelineDefinitionS3Location`` and gains
  ``DecodedFromAsset`` (the ``BucketDeployment`` asset's JSON, its markers decoded).

Pretty-printed with sorted keys (:func:`template_snapshot_json`, or syrupy's JSON extension), a change of
one hyperparameter is then a one-line change of the snapshot, not a rewritten ``Fn::Join`` line.

Pure Python; it does not import ``aws_cdk`` (a ``Stack`` is recognised by its attributes).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from constructs_lib.assembly import PIPELINE_TYPE, decode_definition
from constructs_lib.errors import ConfigError

__all__ = ["HASH_MASK", "mask_hashes", "template_snapshot", "template_snapshot_json"]

#: What every SHA-256 hex digest becomes.
HASH_MASK = "<sha256>"

_SHA256 = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_CDK_METADATA_KEYS = ("aws:cdk:path", "aws:asset:")


def mask_hashes(value: Any, mask: str = HASH_MASK) -> Any:
    """``value`` (JSON-like) with every 64-hex-digit SHA-256 in its strings and keys replaced by ``mask``."""
    if isinstance(value, str):
        return _SHA256.sub(mask, value)
    if isinstance(value, list):
        return [mask_hashes(v, mask) for v in value]
    if isinstance(value, Mapping):
        return {mask_hashes(k, mask): mask_hashes(v, mask) for k, v in value.items()}
    return value


def _template_of(
    source: Any, assembly_dir: str | Path | None
) -> tuple[Mapping[str, Any], Path | None, Mapping[str, Any] | None]:
    """(template, assembly directory, manifest entry) of a stack, a stack artifact, a dict or a path."""
    if isinstance(source, Mapping):
        if "Resources" not in source:
            raise ConfigError("a template dict has a 'Resources' key", field="source", value=sorted(source))
        return source, Path(assembly_dir) if assembly_dir is not None else None, None
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ConfigError("no such template file", field="source", value=str(path))
        template = json.loads(path.read_text(encoding="utf-8"))
        return _template_of(template, assembly_dir if assembly_dir is not None else path.parent)
    if hasattr(source, "artifact_id") and hasattr(source, "node"):  # an aws_cdk.Stack
        stage = next(
            (
                s
                for s in reversed(source.node.scopes[:-1])
                if hasattr(s, "synth") and hasattr(s, "stage_name")
            ),
            None,
        )
        if stage is None:
            raise ConfigError("the stack is not in an App or Stage", field="source", value=source.node.path)
        source = stage.synth().get_stack_artifact(source.artifact_id)
    if hasattr(source, "template") and hasattr(source, "assembly"):  # a CloudFormationStackArtifact
        directory = Path(source.assembly.directory)
        entry: Mapping[str, Any] | None = None
        manifest = directory / "manifest.json"
        if manifest.is_file():
            entry = json.loads(manifest.read_text(encoding="utf-8")).get("artifacts", {}).get(source.id)
        return dict(source.template), directory, entry
    raise ConfigError(
        "cannot take a snapshot of this",
        field="source",
        value=type(source).__name__,
        hint="pass an aws_cdk.Stack, a synthesized stack artifact, a template dict or a *.template.json path",
    )


def template_snapshot(source: Any, *, assembly_dir: str | Path | None = None) -> dict[str, Any]:
    """A snapshot-friendly copy of a stack's template (see the module docstring).

    Args:
        source: an ``aws_cdk.Stack``, a ``CloudFormationStackArtifact``, a template dict, or the path of
            a ``*.template.json``.
        assembly_dir: the cloud assembly directory, needed only to decode a definition stored in S3 from
            a template dict. Default ``None`` (a path's own directory; a stack's or artifact's assembly).

    Raises:
        ConfigError: ``source`` is none of the above.
        SynthError: a pipeline definition cannot be decoded.
    """
    template, directory, entry = _template_of(source, assembly_dir)
    out: dict[str, Any] = copy.deepcopy(dict(template))
    resources: dict[str, Any] = out.get("Resources", {})
    for logical in [k for k, v in resources.items() if v.get("Type") == "AWS::CDK::Metadata"]:
        del resources[logical]
    for logical, resource in resources.items():
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict):
            for key in [k for k in metadata if k.startswith(_CDK_METADATA_KEYS)]:
                del metadata[key]
            if not metadata:
                del resource["Metadata"]
        if resource.get("Type") == PIPELINE_TYPE:
            decoded = decode_definition(template, logical, assembly_dir=directory, stack_artifact=entry)
            definition = resource.get("Properties", {}).get("PipelineDefinition", {})
            if "PipelineDefinitionBody" in definition:
                definition["PipelineDefinitionBody"] = decoded
            else:
                definition["DecodedFromAsset"] = decoded
    for section, name in (
        ("Conditions", "CDKMetadataAvailable"),
        ("Parameters", "BootstrapVersion"),
        ("Rules", "CheckBootstrapVersion"),
    ):
        if isinstance(out.get(section), dict):
            out[section].pop(name, None)
            if not out[section]:
                del out[section]
    masked: dict[str, Any] = mask_hashes(out)
    return masked


def template_snapshot_json(source: Any, *, assembly_dir: str | Path | None = None) -> str:
    """:func:`template_snapshot` as JSON text: 2-space indent, sorted keys, UTF-8 kept, final newline."""
    snapshot = template_snapshot(source, assembly_dir=assembly_dir)
    return json.dumps(snapshot, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
