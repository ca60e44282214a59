"""Ports: each step type's inputs and outputs, declared once.

A step type has one :class:`StepPorts` declaration. Everything else that describes the step's inputs and
outputs is derived from it, so the three views can never disagree:

* the :class:`~constructs_lib.specs.base.StepSpecification` (logical dependencies and outputs, what the
  resolver wires) — :meth:`StepPorts.specification`;
* the :class:`~constructs_lib.contracts.base.ScriptContract` (container paths and environment variables of
  the script) — :meth:`StepPorts.contract`;
* the SDK channel mapping (the training channel / processing input each input arrives on) —
  :meth:`StepPorts.channels`.

SageMaker's own placement rules are checked when a declaration is created: a training channel ``c`` is
mounted at ``/opt/ml/input/data/c``, processing paths live under ``/opt/ml/processing/``, a processing
output's property path names that output, and the processing input ``code`` is reserved for the packed code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from constructs_lib.errors import SpecError
from constructs_lib.specs.base import (
    DependencySpec,
    DependencyType,
    NodeType,
    OutputSpec,
    SageMakerStepKind,
    StepSpecification,
)

if TYPE_CHECKING:  # pragma: no cover
    from constructs_lib.contracts.base import ScriptContract

__all__ = [
    "CODE_CHANNEL",
    "PROCESSING_BASE_ENV",
    "PROCESSING_CODE_DIR",
    "InputPort",
    "OutputPort",
    "PropertyFileSpec",
    "StepPorts",
]

#: Name of the processing input that carries a library processing job's packed code.
CODE_CHANNEL = "code"
#: Where a library processing job receives its packed code (``sourcedir.tar.gz``).
PROCESSING_CODE_DIR = "/opt/ml/processing/input/code"
#: Environment variable that relocates ``/opt/ml/processing`` (to run the scripts outside SageMaker).
PROCESSING_BASE_ENV = "SM_PROCESSING_BASE"


@dataclass(frozen=True)
class InputPort:
    """One input of a step type.

    Attributes:
        name: logical name (snake_case), e.g. ``input_path``; the key of ``inputs=`` and of overrides.
        container_path: where the script finds it in the container, e.g. ``/opt/ml/input/data/data``;
            ``""`` for a step that runs no container (a condition).
        channel: the training channel / processing input name it is delivered on (for a model step,
            ``ModelDataUrl``).
        kind: the artefact kind a predecessor output must have to feed it. ``None``: the input is not wired
            from predecessors (its value is a pipeline parameter the builder creates). Default ``None``.
        required: the step cannot be built without a value. Default ``True``.
        compatible_sources: step types whose outputs may feed it (empty: any). Default ``()``.
        semantic_keywords: words that make an output name a plausible match. Default ``()``.
        data_type: ``S3Uri`` or ``String``. Default ``S3Uri``.
        env_var: the environment variable holding its container path (``SM_CHANNEL_DATA``). Default ``None``.
        description: free text for reports.
    """

    name: str
    container_path: str
    channel: str
    kind: DependencyType | None = None
    required: bool = True
    compatible_sources: tuple[str, ...] = ()
    semantic_keywords: tuple[str, ...] = ()
    data_type: str = "S3Uri"
    env_var: str | None = None
    description: str = ""

    @property
    def is_dependency(self) -> bool:
        """True when predecessors may feed the input (it has a ``kind``)."""
        return self.kind is not None

    def dependency(self) -> DependencySpec:
        """The input as the specification's :class:`DependencySpec`."""
        if self.kind is None:
            raise SpecError("not a dependency: it is fed by a pipeline parameter", field=self.name)
        return DependencySpec(
            logical_name=self.name,
            dependency_type=self.kind,
            required=self.required,
            compatible_sources=self.compatible_sources,
            semantic_keywords=self.semantic_keywords,
            data_type=self.data_type,
            description=self.description,
        )


_JSON_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PROPERTY_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class PropertyFileSpec:
    """A JSON file a processing output holds, registered as the step's SageMaker ``PropertyFile`` so
    that later steps (a condition) read values from it with ``JsonGet``.

    Attributes:
        name: the property file's name (``EvaluationReport``).
        path: the file, relative to the output's directory (``evaluation.json``).
        json_paths: the dotted JSON paths to numbers the shipped script guarantees in the file
            (``binary_classification_metrics.auc.value``).
    """

    name: str
    path: str
    json_paths: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _PROPERTY_FILE_NAME.match(self.name):
            raise SpecError("invalid property file name", field="property_file.name", value=self.name)
        if not isinstance(self.path, str) or not self.path or self.path.startswith("/") or ".." in self.path:
            raise SpecError(
                "a property file path is relative to its output directory",
                field="property_file.path",
                value=self.path,
            )
        if (
            not isinstance(self.json_paths, tuple)
            or not self.json_paths
            or not all(isinstance(p, str) and _JSON_PATH.match(p) for p in self.json_paths)
        ):
            raise SpecError(
                "json_paths must be a non-empty tuple of dotted paths",
                field="property_file.json_paths",
                value=self.json_paths,
                hint="e.g. ('binary_classification_metrics.auc.value',)",
            )


@dataclass(frozen=True)
class OutputPort:
    """One output of a step type.

    Attributes:
        name: logical name (snake_case), e.g. ``model_artifacts``.
        kind: the artefact kind it is.
        property_path: where SageMaker exposes it (checked against the SDK's ``Properties``).
        container_path: where the script writes it. ``None``: SageMaker produces it (a model). Default
            ``None``.
        aliases: other names it answers to. Default ``()``.
        data_type: ``S3Uri`` or ``String``. Default ``S3Uri``.
        env_var: the environment variable holding its container path (``SM_MODEL_DIR``). Default ``None``.
        description: free text for reports.
        property_file: the JSON file in the output that the step registers as its ``PropertyFile``
            (processing outputs only). Default ``None``: none.
    """

    name: str
    kind: DependencyType
    property_path: str
    container_path: str | None = None
    aliases: tuple[str, ...] = ()
    data_type: str = "S3Uri"
    env_var: str | None = None
    description: str = ""
    property_file: PropertyFileSpec | None = None

    def output(self) -> OutputSpec:
        """The output as the specification's :class:`OutputSpec`."""
        return OutputSpec(
            logical_name=self.name,
            output_type=self.kind,
            property_path=self.property_path,
            aliases=self.aliases,
            data_type=self.data_type,
            description=self.description,
        )


def _frozen(m: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(m.items())))


@dataclass(frozen=True)
class StepPorts:
    """The one declaration of a step type's inputs and outputs (plus what its script's contract adds).

    Attributes:
        step_type: the registry key, e.g. ``PyTorchTrainingStep``.
        node_type: where it may sit in a DAG.
        sagemaker_step_kind: the SageMaker step it builds.
        entry_point: the shipped script's file name (the contract's entry point).
        inputs: its inputs, in declaration order.
        outputs: its outputs, in declaration order.
        config_paths: other files the platform gives the script (``hyperparameters.json``...). Default ``{}``.
        required_env_vars: variables the script cannot run without. Default ``()``.
        optional_env_vars: variables it reads when present -> their documented default. Default ``{}``.
        description: what the script does.
    """

    step_type: str
    node_type: NodeType
    sagemaker_step_kind: SageMakerStepKind
    entry_point: str
    inputs: tuple[InputPort, ...] = ()
    outputs: tuple[OutputPort, ...] = ()
    config_paths: Mapping[str, str] = field(default_factory=dict)
    required_env_vars: tuple[str, ...] = ()
    optional_env_vars: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "config_paths", _frozen(self.config_paths))
        object.__setattr__(self, "optional_env_vars", _frozen(self.optional_env_vars))
        where = f"{self.step_type} ports"
        if not isinstance(self.inputs, tuple) or not all(isinstance(p, InputPort) for p in self.inputs):
            raise SpecError("inputs must be a tuple of InputPort", step=where, value=self.inputs)
        if not isinstance(self.outputs, tuple) or not all(isinstance(p, OutputPort) for p in self.outputs):
            raise SpecError("outputs must be a tuple of OutputPort", step=where, value=self.outputs)
        channels = [p.channel for p in self.inputs]
        repeated = sorted({c for c in channels if channels.count(c) > 1})
        if repeated:
            raise SpecError("channel names are not unique", step=where, value=repeated)
        for group, paths in (
            ("input", [p.container_path for p in self.inputs if p.container_path]),
            ("output", [p.container_path for p in self.outputs if p.container_path is not None]),
        ):
            dupes = sorted({p for p in paths if paths.count(p) > 1})
            if dupes:
                raise SpecError(f"{group} container paths are not unique", step=where, value=dupes)
        kind = self.sagemaker_step_kind
        for port in self.inputs:
            if (
                kind is SageMakerStepKind.TRAINING
                and port.container_path != f"/opt/ml/input/data/{port.channel}"
            ):
                raise SpecError(
                    "SageMaker mounts a training channel at /opt/ml/input/data/<channel>",
                    step=where,
                    field=f"inputs[{port.name!r}].container_path",
                    value=port.container_path,
                    hint=f"use /opt/ml/input/data/{port.channel}",
                )
            if kind is SageMakerStepKind.PROCESSING:
                if port.channel == CODE_CHANNEL:
                    raise SpecError(
                        f"the processing input name {CODE_CHANNEL!r} is reserved for the packed code",
                        step=where,
                        field=f"inputs[{port.name!r}].channel",
                        value=port.channel,
                    )
                if not port.container_path.startswith("/opt/ml/processing/"):
                    raise SpecError(
                        "processing inputs live under /opt/ml/processing/",
                        step=where,
                        field=f"inputs[{port.name!r}].container_path",
                        value=port.container_path,
                    )
        for out in self.outputs:
            if kind is SageMakerStepKind.PROCESSING:
                prefix = f"properties.ProcessingOutputConfig.Outputs['{out.name}']"
                if not out.property_path.startswith(prefix) or out.container_path is None:
                    raise SpecError(
                        "a processing output is written by the script and read from its own "
                        "ProcessingOutputConfig entry",
                        step=where,
                        field=f"outputs[{out.name!r}]",
                        value=out.property_path,
                        hint=f"property path {prefix}.S3Output.S3Uri and a container_path",
                    )
            if out.property_file is not None and (
                kind is not SageMakerStepKind.PROCESSING
                or not isinstance(out.property_file, PropertyFileSpec)
            ):
                raise SpecError(
                    "a property file is a PropertyFileSpec of a processing output",
                    step=where,
                    field=f"outputs[{out.name!r}].property_file",
                    value=out.property_file,
                )
            if kind is SageMakerStepKind.TRAINING and out.container_path is None:
                raise SpecError(
                    "a training output needs the container path the script writes",
                    step=where,
                    field=f"outputs[{out.name!r}].container_path",
                )

    # ------------------------------------------------------------------ derived views
    @functools.cached_property
    def _specification(self) -> StepSpecification:
        return StepSpecification(
            step_type=self.step_type,
            node_type=self.node_type,
            sagemaker_step_kind=self.sagemaker_step_kind,
            dependencies=tuple(p.dependency() for p in self.inputs if p.is_dependency),
            outputs=tuple(p.output() for p in self.outputs),
        )

    def specification(self) -> StepSpecification:
        """The step type's :class:`StepSpecification` (built once; checks every property path against the
        SageMaker SDK)."""
        return self._specification

    @functools.cached_property
    def _contract(self) -> ScriptContract:
        from constructs_lib.contracts.base import ScriptContract

        return ScriptContract(
            entry_point=self.entry_point,
            # a step without a container (a condition) declares its inputs with container_path ""
            expected_input_paths={p.name: p.container_path for p in self.inputs if p.container_path},
            expected_output_paths={
                p.name: p.container_path for p in self.outputs if p.container_path is not None
            },
            required_env_vars=self.required_env_vars,
            optional_env_vars=self.optional_env_vars,
            config_paths=self.config_paths,
            channel_env_vars={
                **{p.name: p.env_var for p in self.inputs if p.env_var is not None},
                **{p.name: p.env_var for p in self.outputs if p.env_var is not None},
            },
            description=self.description,
        )

    def contract(self) -> ScriptContract:
        """The script's :class:`ScriptContract`."""
        return self._contract

    def channels(self) -> dict[str, str]:
        """Input name -> the channel (training channel / processing input name) it is delivered on."""
        return {p.name: p.channel for p in self.inputs}

    def input(self, name: str) -> InputPort:
        """The input called ``name``."""
        for port in self.inputs:
            if port.name == name:
                return port
        raise SpecError(
            "no such input",
            step=self.step_type,
            value=name,
            hint=f"inputs: {', '.join(p.name for p in self.inputs) or '(none)'}",
        )
