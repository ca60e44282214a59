"""Read a CDK cloud assembly (``cdk.out``) and decode the SageMaker pipeline definitions in its templates.

Pure Python: no ``aws_cdk`` import, no AWS call. Used by ``python -m constructs_lib diff`` (definitions with
tokens shown readably), ``verify`` (tokens resolved against a deployed stack) and
:mod:`constructs_lib.testing` (snapshots).

Where a definition sits in a synthesized template:

* inline: ``PipelineDefinition.PipelineDefinitionBody`` is the definition's JSON text, usually an
  ``Fn::Join`` of JSON fragments and CloudFormation intrinsics (``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` of the
  CDK bootstrap bucket, pseudo parameters) that CloudFormation concatenates at deploy time;
* in S3: ``PipelineDefinition.PipelineDefinitionS3Location`` names an object that a CDK
  ``BucketDeployment`` of a ``Source.json_data`` asset writes. The asset (in ``cdk.out``) holds the JSON
  with markers ``<<marker:0xbaba:N>>``; the deployment's ``SourceMarkers`` maps each marker to a value
  (JSON text with intrinsics) that the deployment's handler puts in place at deploy time.

Both are decoded by one function, :func:`decode_definition`, given a :class:`TokenRenderer` that says
what an intrinsic becomes:

* :data:`READABLE` (the default) shows each one in ``Fn::Sub`` notation, stable across synths (logical ids
  are stable; CDK's ``${Token[...]}`` numbers never appear): ``{"Ref": "ArtifactBucketA20A80D0"}`` ->
  ``${ArtifactBucketA20A80D0}``, ``{"Fn::GetAtt": ["JobRoleF750C0D4", "Arn"]}`` -> ``${JobRoleF750C0D4.Arn}``,
  ``{"Ref": "AWS::Region"}`` -> ``${AWS::Region}``; an ``Fn::Sub`` keeps its own text
  (``s3://cdk-hnb659fds-assets-${AWS::AccountId}-us-east-1/<hash>.gz``). An intrinsic that cannot be
  evaluated without deploy-time values (``Fn::Select`` over a token, ``Fn::ImportValue``, ...) is shown as
  ``${Fn::Name:<its compact JSON>}``. A literal ``${...}`` in the definition's text is shown as is.
* a renderer with deploy-time values (see :mod:`constructs_lib.verify`) evaluates every intrinsic as
  CloudFormation does (values inserted into the text verbatim), giving the definition SageMaker received.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from constructs_lib.errors import ConfigError, SynthError

__all__ = [
    "READABLE",
    "PipelineSource",
    "ReadableTokens",
    "StackTemplate",
    "TokenRenderer",
    "decode_definition",
    "find_pipelines",
    "load_definition",
    "read_assembly",
    "select_pipeline",
]

PIPELINE_TYPE = "AWS::SageMaker::Pipeline"
BUCKET_DEPLOYMENT_TYPE = "Custom::CDKBucketDeployment"
_MARKER = re.compile(r"<<marker:0xbaba:(\d+)>>")
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
# Private-use characters that stand for a token inside the JSON text until the text is parsed.
_OPEN, _CLOSE = "\ue000", "\ue001"
_SENTINEL = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


class TokenRenderer(Protocol):
    """What each CloudFormation intrinsic of a definition becomes.

    ``eager`` renderers return deploy-time values, inserted into the definition's text verbatim, as
    CloudFormation does; otherwise the returned text replaces the token in the *parsed* definition, so it
    may hold any character.
    """

    eager: bool

    def ref(self, name: str) -> str:
        """``{"Ref": name}`` (a logical id, a template parameter or a pseudo parameter such as
        ``AWS::Region``)."""
        ...

    def get_att(self, logical_id: str, attribute: str) -> str:
        """``{"Fn::GetAtt": [logical_id, attribute]}``."""
        ...

    def opaque(self, intrinsic: Mapping[str, Any]) -> str:
        """An intrinsic that cannot be evaluated from the template alone."""
        ...


class ReadableTokens:
    """Tokens in ``Fn::Sub`` notation: ``${LogicalId}``, ``${LogicalId.Attribute}``, ``${AWS::Region}``."""

    eager = False

    def ref(self, name: str) -> str:
        return "${" + name + "}"

    def get_att(self, logical_id: str, attribute: str) -> str:
        return "${" + logical_id + "." + attribute + "}"

    def opaque(self, intrinsic: Mapping[str, Any]) -> str:
        ((fn, arg),) = intrinsic.items()
        return "${" + fn + ":" + json.dumps(arg, sort_keys=True, separators=(",", ":")) + "}"


#: The default renderer: tokens shown readably and stably (see the module docstring).
READABLE: TokenRenderer = ReadableTokens()


class _Text:
    """Turns intrinsic-bearing values into text: eager values inline, others as numbered sentinels."""

    def __init__(self, tokens: TokenRenderer, where: str) -> None:
        self.tokens = tokens
        self.where = where
        self.atoms: list[str] = []

    def _atom(self, text: str) -> str:
        if self.tokens.eager:
            return text
        self.atoms.append(text)
        return f"{_OPEN}{len(self.atoms) - 1}{_CLOSE}"

    def _unsupported(self, value: object) -> SynthError:
        return SynthError(
            "cannot decode this CloudFormation value",
            field=self.where,
            value=value,
            hint="supported: strings, Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, "
            "Fn::ImportValue",
        )

    def text(self, value: Any) -> str:
        if isinstance(value, str):
            if _OPEN in value or _CLOSE in value:
                raise SynthError(
                    "the definition holds a private-use character (U+E000/U+E001) the decoder reserves",
                    field=self.where,
                )
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if not (isinstance(value, dict) and len(value) == 1):
            raise self._unsupported(value)
        ((fn, arg),) = value.items()
        if fn == "Ref" and isinstance(arg, str):
            return self._atom(self.tokens.ref(arg))
        if fn == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if not (isinstance(parts, list) and len(parts) == 2 and all(isinstance(p, str) for p in parts)):
                raise self._unsupported(value)
            return self._atom(self.tokens.get_att(parts[0], parts[1]))
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            items = self.items(arg[1])
            if items is None:
                return self._atom(self.tokens.opaque(value))
            return self.text(arg[0]).join(items)
        if fn == "Fn::Sub":
            return self._sub(arg, value)
        if fn == "Fn::Select" and isinstance(arg, list) and len(arg) == 2:
            items = self.items(arg[1])
            index = self.text(arg[0])
            if items is None or _SENTINEL.search(index) or not index.isdigit():
                return self._atom(self.tokens.opaque(value))
            if int(index) >= len(items):
                raise SynthError("Fn::Select index out of range", field=self.where, value=value)
            return items[int(index)]
        if fn == "Fn::ImportValue":
            return self._atom(self.tokens.opaque(value))
        raise self._unsupported(value)

    def items(self, value: Any) -> list[str] | None:
        """A list value's items as text; ``None`` when it cannot be known before deployment."""
        if isinstance(value, list):
            return [self.text(v) for v in value]
        if isinstance(value, dict) and len(value) == 1 and "Fn::Split" in value:
            arg = value["Fn::Split"]
            if not (isinstance(arg, list) and len(arg) == 2):
                raise self._unsupported(value)
            delimiter, source = self.text(arg[0]), self.text(arg[1])
            if _SENTINEL.search(source) or _SENTINEL.search(delimiter):
                return None
            return source.split(delimiter)
        if isinstance(value, dict) and len(value) == 1 and "Fn::GetAZs" in value:
            return None
        raise self._unsupported(value)

    def _sub(self, arg: Any, whole: Any) -> str:
        if isinstance(arg, str):
            template, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
            template, variables = arg[0], arg[1]
        else:
            raise self._unsupported(whole)

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self.text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return self._atom(self.tokens.get_att(logical, attribute))
            return self._atom(self.tokens.ref(name))

        return _SUB_VAR.sub(one, template)

    def restore(self, value: Any) -> Any:
        """``value`` (parsed JSON) with every sentinel replaced by its token's text."""
        if isinstance(value, str):
            return _SENTINEL.sub(lambda m: self.atoms[int(m.group(1))], value) if _OPEN in value else value
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        if isinstance(value, dict):
            return {self.restore(k): self.restore(v) for k, v in value.items()}
        return value


def _parse(text: str, decoder: _Text) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = (
            "a CloudFormation token outside a JSON string cannot be shown readably"
            if (_OPEN in text)
            else "the template's definition text is not valid JSON"
        )
        raise SynthError(
            f"the decoded pipeline definition is not valid JSON: {exc.msg} at character {exc.pos}",
            field=decoder.where,
            hint=hint,
        ) from None
    if not isinstance(parsed, dict):
        raise SynthError("the pipeline definition is not a JSON object", field=decoder.where)
    restored: dict[str, Any] = decoder.restore(parsed)
    return restored


def decode_definition(
    template: Mapping[str, Any],
    logical_id: str,
    *,
    assembly_dir: str | Path | None = None,
    stack_artifact: Mapping[str, Any] | None = None,
    tokens: TokenRenderer = READABLE,
) -> dict[str, Any]:
    """The definition of the ``AWS::SageMaker::Pipeline`` ``logical_id`` of ``template``, as a dict.

    Args:
        template: a synthesized CloudFormation template (parsed JSON).
        logical_id: the pipeline resource's logical id.
        assembly_dir: the cloud assembly directory holding the template's assets; needed only for a
            definition stored in S3. Default ``None``.
        stack_artifact: the stack's entry in the assembly's ``manifest.json`` (to find its asset
            manifest). Default ``None``: every ``*.assets.json`` of ``assembly_dir`` is searched.
        tokens: what intrinsics become. Default :data:`READABLE`.

    Raises:
        SynthError: no such pipeline, an intrinsic the decoder does not know, a definition in S3 that no
            ``BucketDeployment`` asset of the assembly provides, or JSON that does not parse.
    """
    resources = template.get("Resources", {})
    resource = resources.get(logical_id)
    if not isinstance(resource, Mapping) or resource.get("Type") != PIPELINE_TYPE:
        raise SynthError(
            f"no {PIPELINE_TYPE} with this logical id in the template",
            field="logical_id",
            value=logical_id,
            hint=f"pipelines: {', '.join(_pipeline_ids(template)) or 'none'}",
        )
    definition = resource.get("Properties", {}).get("PipelineDefinition", {})
    where = f"{logical_id}.PipelineDefinition"
    if "PipelineDefinitionBody" in definition:
        decoder = _Text(tokens, f"{where}.PipelineDefinitionBody")
        return _parse(decoder.text(definition["PipelineDefinitionBody"]), decoder)
    if "PipelineDefinitionS3Location" in definition:
        return _decode_s3(
            template,
            definition["PipelineDefinitionS3Location"],
            f"{where}.PipelineDefinitionS3Location",
            assembly_dir=assembly_dir,
            stack_artifact=stack_artifact,
            tokens=tokens,
        )
    raise SynthError(
        "the pipeline has neither PipelineDefinitionBody nor PipelineDefinitionS3Location",
        field=where,
        value=sorted(definition) if isinstance(definition, Mapping) else definition,
    )


def _pipeline_ids(template: Mapping[str, Any]) -> list[str]:
    return [k for k, v in template.get("Resources", {}).items() if v.get("Type") == PIPELINE_TYPE]


def _decode_s3(
    template: Mapping[str, Any],
    location: Mapping[str, Any],
    where: str,
    *,
    assembly_dir: str | Path | None,
    stack_artifact: Mapping[str, Any] | None,
    tokens: TokenRenderer,
) -> dict[str, Any]:
    key = location.get("Key")
    unsupported = (
        "definitions stored in S3 are decoded only from a CDK BucketDeployment of a Source.json_data "
        "asset in the same stack (what SageMakerPipeline(definition_storage='s3') synthesizes)"
    )
    if not isinstance(key, str):
        raise SynthError(
            "the S3 key of the definition is not a literal string", field=where, value=key, hint=unsupported
        )
    if assembly_dir is None:
        raise SynthError(
            "the definition is stored in S3; decoding it needs the cloud assembly directory with its assets",
            field=where,
            value=key,
            hint="pass assembly_dir= (the cdk.out directory), or a synthesized stack artifact",
        )
    root = Path(assembly_dir)
    assets = _asset_sources(root, stack_artifact)
    for logical, resource in template.get("Resources", {}).items():
        if resource.get("Type") != BUCKET_DEPLOYMENT_TYPE:
            continue
        props = resource.get("Properties", {})
        if props.get("DestinationBucketName") != location.get("Bucket"):
            continue
        prefix = props.get("DestinationKeyPrefix", "")
        if not isinstance(prefix, str):
            continue
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        if not key.startswith(prefix):
            continue
        relative = key[len(prefix) :]
        markers_list = props.get("SourceMarkers") or [{} for _ in props.get("SourceObjectKeys", [])]
        for index, object_key in enumerate(props.get("SourceObjectKeys", [])):
            source = assets.get(object_key) if isinstance(object_key, str) else None
            if source is None:
                continue
            raw = _read_asset_member(source, relative)
            if raw is None:
                continue
            markers = markers_list[index] if index < len(markers_list) else {}
            config = (props.get("SourceMarkersConfig") or [{}] * (index + 1))[index] or {}
            if config.get("jsonEscape"):
                raise SynthError(
                    "BucketDeployment markers with jsonEscape are not supported",
                    field=f"{logical}.SourceMarkersConfig",
                    hint=unsupported,
                )
            decoder = _Text(tokens, f"{logical}.SourceMarkers")
            values = {name: decoder.text(value) for name, value in markers.items()}

            def put(match: re.Match[str], values: Mapping[str, str] = values) -> str:
                return values.get(match.group(0), match.group(0))

            return _parse(_MARKER.sub(put, raw), decoder)
    raise SynthError(
        f"no BucketDeployment in the stack writes s3 key {key!r} from an asset of {root}",
        field=where,
        hint=unsupported,
    )


def _asset_sources(root: Path, stack_artifact: Mapping[str, Any] | None) -> dict[str, Path]:
    """S3 object key -> local path of every file asset in the assembly's asset manifests."""
    manifests: list[Path] = []
    if stack_artifact is not None:
        artifacts = _manifest(root).get("artifacts", {})
        for dep in stack_artifact.get("dependencies", []):
            entry = artifacts.get(dep, {})
            if entry.get("type") == "cdk:asset-manifest":
                manifests.append(root / entry["properties"]["file"])
    if not manifests:
        manifests = sorted(root.glob("*.assets.json"))
    found: dict[str, Path] = {}
    for path in manifests:
        data = json.loads(path.read_text(encoding="utf-8"))
        for entry in data.get("files", {}).values():
            source = entry.get("source", {}).get("path")
            if not isinstance(source, str):
                continue
            for dest in entry.get("destinations", {}).values():
                found.setdefault(dest.get("objectKey", ""), root / source)
    return found


def _read_asset_member(source: Path, relative: str) -> str | None:
    if source.is_dir():
        target = source / relative
        return target.read_text(encoding="utf-8") if target.is_file() else None
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            try:
                return archive.read(relative).decode("utf-8")
            except KeyError:
                return None
    return None


# ---------------------------------------------------------------------------------------- cloud assembly


@dataclass(frozen=True)
class StackTemplate:
    """One stack of a cloud assembly.

    Attributes:
        artifact_id: the stack's artifact id in ``manifest.json`` (usually its construct path's name).
        stack_name: the CloudFormation stack name it deploys as.
        template: the parsed template.
        assembly_dir: the directory of the (possibly nested) assembly that holds it and its assets.
        region: the stack's region when synthesized for a concrete one, else ``None``.
        account: the stack's account when concrete, else ``None``.
        artifact: the stack's raw ``manifest.json`` entry.
    """

    artifact_id: str
    stack_name: str
    template: Mapping[str, Any]
    assembly_dir: Path
    region: str | None = None
    account: str | None = None
    artifact: Mapping[str, Any] = field(default_factory=dict)


def _manifest(root: Path) -> dict[str, Any]:
    path = root / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "not a cloud assembly: no manifest.json",
            field="cdk.out",
            value=str(root),
            hint="run `cdk synth` (or `make synth`) first, or point at its output directory",
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"manifest.json is not JSON: {exc.msg}", field="cdk.out", value=str(root)) from None
    if not isinstance(data, dict):
        raise ConfigError("manifest.json is not a JSON object", field="cdk.out", value=str(root))
    return data


def read_assembly(path: str | Path) -> list[StackTemplate]:
    """Every stack of the cloud assembly at ``path`` (nested assemblies of CDK stages included), in
    manifest order.

    Raises:
        ConfigError: ``path`` is not a cloud assembly directory.
    """
    root = Path(path)
    if not root.is_dir():
        raise ConfigError("not a directory", field="cdk.out", value=str(root))
    return list(_stacks(root))


def _stacks(root: Path) -> Iterator[StackTemplate]:
    for artifact_id, entry in _manifest(root).get("artifacts", {}).items():
        kind = entry.get("type")
        props = entry.get("properties", {})
        if kind == "cdk:cloud-assembly":
            yield from _stacks(root / props["directoryName"])
        elif kind == "aws:cloudformation:stack":
            template_path = root / props["templateFile"]
            template = json.loads(template_path.read_text(encoding="utf-8"))
            account, region = _environment(entry.get("environment", ""))
            yield StackTemplate(
                artifact_id=artifact_id,
                stack_name=str(props.get("stackName") or artifact_id),
                template=template,
                assembly_dir=root,
                region=region,
                account=account,
                artifact=entry,
            )


def _environment(env: str) -> tuple[str | None, str | None]:
    account, _, region = env.removeprefix("aws://").partition("/")
    return (
        None if account in ("", "unknown-account") else account,
        None if region in ("", "unknown-region") else region,
    )


@dataclass(frozen=True)
class PipelineSource:
    """One ``AWS::SageMaker::Pipeline`` of a cloud assembly (or of a lone template).

    Attributes:
        stack: the stack it belongs to.
        logical_id: its logical id.
        pipeline_name: its literal ``PipelineName`` (``None`` when the name is a token).
    """

    stack: StackTemplate
    logical_id: str
    pipeline_name: str | None

    @property
    def label(self) -> str:
        """``<stack>/<pipeline name>`` (the logical id when the name is not literal)."""
        return f"{self.stack.artifact_id}/{self.pipeline_name or self.logical_id}"

    @property
    def resource(self) -> Mapping[str, Any]:
        """The pipeline's resource in the template."""
        resource: Mapping[str, Any] = self.stack.template["Resources"][self.logical_id]
        return resource

    def definition(self, tokens: TokenRenderer = READABLE) -> dict[str, Any]:
        """The decoded definition (see :func:`decode_definition`)."""
        return decode_definition(
            self.stack.template,
            self.logical_id,
            assembly_dir=self.stack.assembly_dir,
            stack_artifact=self.stack.artifact or None,
            tokens=tokens,
        )

    def tags(self) -> dict[str, str]:
        """The pipeline's literal tags in the template (tags whose key or value is a token are skipped)."""
        tags = self.resource.get("Properties", {}).get("Tags") or []
        return {
            t["Key"]: t["Value"]
            for t in tags
            if isinstance(t, Mapping) and isinstance(t.get("Key"), str) and isinstance(t.get("Value"), str)
        }


def find_pipelines(stacks: Sequence[StackTemplate]) -> list[PipelineSource]:
    """Every pipeline resource of ``stacks``, in stack order then template order."""
    found = []
    for stack in stacks:
        for logical, resource in stack.template.get("Resources", {}).items():
            if resource.get("Type") == PIPELINE_TYPE:
                name = resource.get("Properties", {}).get("PipelineName")
                found.append(PipelineSource(stack, logical, name if isinstance(name, str) else None))
    return found


def select_pipeline(pipelines: Sequence[PipelineSource], name: str | None, *, where: str) -> PipelineSource:
    """The one pipeline of ``pipelines`` called ``name`` (its pipeline name, logical id, or
    ``<stack>/<name>``); with ``name=None`` the only one.

    Raises:
        ConfigError: none, or more than one, matches; the message lists the choices.
    """
    choices = ", ".join(p.label for p in pipelines) or "none"
    if not pipelines:
        raise ConfigError(
            f"no {PIPELINE_TYPE} in {where}",
            field="--pipeline",
            hint="point at the cdk.out (or template) of a stack with a SageMakerPipeline construct",
        )
    if name is None:
        if len(pipelines) == 1:
            return pipelines[0]
        raise ConfigError(
            f"{len(pipelines)} pipelines in {where}; choose one",
            field="--pipeline",
            hint=f"one of: {choices}",
        )
    matches = [
        p
        for p in pipelines
        if name in (p.pipeline_name, p.logical_id, p.label, f"{p.stack.stack_name}/{p.pipeline_name}")
    ]
    if len(matches) == 1:
        return matches[0]
    problem = "ambiguous" if matches else "unknown pipeline"
    listed = ", ".join(p.label for p in matches) if matches else choices
    raise ConfigError(
        f"{problem} in {where}",
        field="--pipeline",
        value=name,
        hint=f"{'qualify it as <stack>/<name>: ' if matches else 'one of: '}{listed}",
    )


@dataclass(frozen=True)
class LoadedDefinition:
    """A definition read by :func:`load_definition`, with where it came from."""

    definition: dict[str, Any]
    label: str
    source: PipelineSource | None = None


def load_definition(
    path: str | Path, pipeline: str | None = None, *, tokens: TokenRenderer = READABLE
) -> LoadedDefinition:
    """A pipeline definition from ``path``: a definition JSON file, a CloudFormation template file
    (``*.template.json``; its directory is used as the assembly for S3-stored definitions) or a cloud
    assembly directory (``cdk.out``). ``pipeline`` chooses among several pipelines (see
    :func:`select_pipeline`); it is ignored for a definition file.

    Raises:
        ConfigError: the path does not exist, is not JSON, holds neither a definition nor a template, or
            ``pipeline`` is ambiguous or unknown.
        SynthError: the template's definition cannot be decoded.
    """
    p = Path(path)
    if p.is_dir():
        pipelines = find_pipelines(read_assembly(p))
        chosen = select_pipeline(pipelines, pipeline, where=str(p))
        return LoadedDefinition(chosen.definition(tokens), f"{p} ({chosen.label})", chosen)
    if not p.is_file():
        raise ConfigError("no such file or directory", field="path", value=str(p))
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not a JSON file: {exc}", field="path", value=str(p)) from None
    if isinstance(data, dict) and "Resources" in data:
        artifact_id = p.name.removesuffix(".template.json").removesuffix(".json")
        stack = StackTemplate(artifact_id, artifact_id, data, p.parent)
        chosen = select_pipeline(find_pipelines([stack]), pipeline, where=str(p))
        return LoadedDefinition(chosen.definition(tokens), f"{p} ({chosen.label})", chosen)
    if isinstance(data, dict) and isinstance(data.get("Steps"), list):
        return LoadedDefinition(data, str(p))
    raise ConfigError(
        "neither a pipeline definition (a JSON object with Steps) nor a CloudFormation template (Resources)",
        field="path",
        value=str(p),
    )
