"""Step specifications: the declared logical inputs and outputs of each step type.

A :class:`StepSpecification` says what a step *needs* (:class:`DependencySpec`) and what it *provides*
(:class:`OutputSpec`, each bound to a property path of the SageMaker step). The dependency resolver wires
steps from these declarations alone. Every property path is checked against the SageMaker SDK's real
``Properties`` of the step's type when the specification is created, so a path that does not exist
(``properties.TrainingJobOutput.S3Output``) fails at import of the spec, not in a running pipeline.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from constructs_lib.errors import SpecError

__all__ = [
    "DependencySpec",
    "DependencyType",
    "NodeType",
    "OutputSpec",
    "SageMakerStepKind",
    "StepSpecification",
    "attach_spec",
    "check_property_path",
    "property_reference",
    "spec_of",
]


class DependencyType(StrEnum):
    """What kind of artefact flows along an edge."""

    RAW_DATA = "raw_data"
    """Unsplit source data (a table in S3)."""
    PROCESSED_DATA = "processed_data"
    """A directory with ``train/``, ``val/``, ``test/`` splits."""
    MODEL_ARTIFACTS = "model_artifacts"
    """A ``model.tar.gz`` written by a training job."""
    JOB_OUTPUT = "job_output"
    """Any other output location of a job (e.g. a training job's ``OutputDataConfig``)."""
    MODEL = "model"
    """A SageMaker model (by name)."""
    EVALUATION_REPORT = "evaluation_report"
    """A model-quality report (``evaluation.json`` in SageMaker Model Monitor's format)."""
    MODEL_PACKAGE = "model_package"
    """A model version in the SageMaker model registry (by ARN)."""


class NodeType(StrEnum):
    """Position of a step type in a DAG."""

    SOURCE = "source"
    """No dependencies; only outputs (e.g. data loading)."""
    INTERNAL = "internal"
    """Both dependencies and outputs."""
    SINK = "sink"
    """Only dependencies (its outputs, if any, are not meant to feed other steps)."""


class SageMakerStepKind(StrEnum):
    """The SageMaker step type, which decides the ``Properties`` shape of its outputs."""

    TRAINING = "Training"
    PROCESSING = "Processing"
    MODEL = "Model"
    REGISTER_MODEL = "RegisterModel"
    CONDITION = "Condition"


_SHAPES: dict[SageMakerStepKind, str] = {
    SageMakerStepKind.TRAINING: "DescribeTrainingJobResponse",
    SageMakerStepKind.PROCESSING: "DescribeProcessingJobResponse",
    SageMakerStepKind.MODEL: "DescribeModelOutput",
    SageMakerStepKind.REGISTER_MODEL: "DescribeModelPackageOutput",
}

_TOKEN = re.compile(r"\.(?P<attr>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<key>'[^']*'|\"[^\"]*\"|\d+)\]")


def property_reference(root: Any, path: str) -> Any:
    """Follow ``path`` (``properties.A.B['x'].C``) from ``root``: a step (its ``properties`` attribute is
    taken) or a SageMaker ``Properties`` object. Returns the SDK's property reference (``{"Get": ...}``)."""
    if not path.startswith("properties"):
        raise ValueError("must start with 'properties'")
    rest = path[len("properties") :]
    node = getattr(root, "properties", root)
    pos = 0
    while pos < len(rest):
        m = _TOKEN.match(rest, pos)
        if m is None:
            raise ValueError(f"cannot parse {rest[pos:]!r}")
        if m.group("attr") is not None:
            node = getattr(node, m.group("attr"))
        else:
            key = m.group("key")
            node = node[int(key)] if key.isdigit() else node[key[1:-1]]
        pos = m.end()
    return node


@functools.cache
def check_property_path(kind: SageMakerStepKind, path: str) -> str:
    """Check ``path`` (``properties.A.B['x'].C``) against the SDK's ``Properties`` for ``kind``.

    Returns the SDK's ``Get`` expression suffix (``A.B['x'].C``); raises :class:`SpecError` when an
    attribute does not exist in SageMaker's response shape or the path does not end at a scalar.
    """
    from constructs_lib.sdk_adapter import sdk

    if kind not in _SHAPES:
        raise SpecError(
            f"a SageMaker {kind.value} step has no outputs to declare",
            field="property_path",
            value=path,
        )
    with sdk():
        from sagemaker.workflow.properties import Properties

        root = Properties(step_name="__spec_check__", shape_name=_SHAPES[kind])
    try:
        leaf = property_reference(root, path)
        expr = leaf.expr
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise SpecError(
            f"property path does not exist on a SageMaker {kind.value} step ({_SHAPES[kind]})",
            field="property_path",
            value=path,
            hint=f"SDK said: {exc}",
        ) from None
    get = expr.get("Get") if isinstance(expr, dict) else None
    members = [k for k in vars(leaf) if k[:1].isupper()]
    if not isinstance(get, str) or members or type(leaf).__name__ != "Properties":
        raise SpecError(
            "property path does not end at a scalar value",
            field="property_path",
            value=path,
            hint="point at a leaf such as properties.ModelArtifacts.S3ModelArtifacts",
        )
    return get.split(".", 2)[2]


@dataclass(frozen=True)
class DependencySpec:
    """One logical input of a step.

    Attributes:
        logical_name: the input's name, e.g. ``input_path``; unique within the spec.
        dependency_type: what kind of artefact it accepts.
        required: whether the step cannot be built without it. Default ``True``.
        compatible_sources: step types whose outputs may feed it (empty: any). Default ``()``.
        semantic_keywords: words that make an output name a plausible match. Default ``()``.
        data_type: the value's type (``S3Uri`` or ``String``). Default ``S3Uri``.
        description: free text for reports.
    """

    logical_name: str
    dependency_type: DependencyType
    required: bool = True
    compatible_sources: tuple[str, ...] = ()
    semantic_keywords: tuple[str, ...] = ()
    data_type: str = "S3Uri"
    description: str = ""


@dataclass(frozen=True)
class OutputSpec:
    """One logical output of a step.

    Attributes:
        logical_name: the output's name, e.g. ``model_artifacts``; unique within the spec.
        output_type: what kind of artefact it is.
        property_path: where SageMaker exposes it, e.g. ``properties.ModelArtifacts.S3ModelArtifacts``;
            checked against the SDK when the owning :class:`StepSpecification` is created.
        aliases: other names it answers to (``model_data``...). Default ``()``.
        data_type: the value's type (``S3Uri`` or ``String``). Default ``S3Uri``.
        description: free text for reports.
    """

    logical_name: str
    output_type: DependencyType
    property_path: str
    aliases: tuple[str, ...] = ()
    data_type: str = "S3Uri"
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The logical name followed by its aliases."""
        return (self.logical_name, *self.aliases)


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class StepSpecification:
    """What a step type needs and provides.

    Attributes:
        step_type: the registry key of the step type, e.g. ``PyTorchTrainingStep``.
        node_type: where it may sit in a DAG.
        sagemaker_step_kind: the SageMaker step it builds (decides which property paths exist).
        dependencies: its logical inputs.
        outputs: its logical outputs.
    """

    step_type: str
    node_type: NodeType
    sagemaker_step_kind: SageMakerStepKind
    dependencies: tuple[DependencySpec, ...] = ()
    outputs: tuple[OutputSpec, ...] = ()
    _dep_index: dict[str, DependencySpec] = field(init=False, repr=False, compare=False)
    _out_index: dict[str, OutputSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"{self.step_type} specification"
        self._check_types(where)
        for group, items in (("dependency", self.dependencies), ("output", self.outputs)):
            names = [i.logical_name for i in items]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise SpecError(f"duplicate {group} logical names", step=where, value=dupes)
        all_out_names = [n for o in self.outputs for n in o.names]
        clashes = sorted({n for n in all_out_names if all_out_names.count(n) > 1})
        if clashes:
            raise SpecError("an output alias repeats another output's name", step=where, value=clashes)
        if self.node_type is NodeType.SOURCE and self.dependencies:
            raise SpecError("a source node cannot have dependencies", step=where, field="node_type")
        if self.node_type is NodeType.SINK and not self.dependencies:
            raise SpecError("a sink node needs at least one dependency", step=where, field="node_type")
        if self.node_type is NodeType.INTERNAL and not (self.dependencies and self.outputs):
            raise SpecError("an internal node needs dependencies and outputs", step=where, field="node_type")
        for out in self.outputs:
            try:
                check_property_path(self.sagemaker_step_kind, out.property_path)
            except SpecError as exc:
                raise SpecError(
                    exc.message,
                    step=where,
                    field=f"outputs[{out.logical_name!r}].property_path",
                    value=out.property_path,
                    hint=exc.hint,
                ) from None
        object.__setattr__(self, "_dep_index", {d.logical_name: d for d in self.dependencies})
        object.__setattr__(self, "_out_index", {n: o for o in self.outputs for n in o.names})

    def _check_types(self, where: str) -> None:
        """Reject wrongly typed declarations (a bare string where a tuple is meant, a non-enum type)."""
        if not isinstance(self.node_type, NodeType):
            raise SpecError("node_type must be a NodeType", step=where, value=self.node_type)
        if not isinstance(self.sagemaker_step_kind, SageMakerStepKind):
            raise SpecError(
                "sagemaker_step_kind must be a SageMakerStepKind", step=where, value=self.sagemaker_step_kind
            )
        for group, items, cls in (
            ("dependencies", self.dependencies, DependencySpec),
            ("outputs", self.outputs, OutputSpec),
        ):
            if not isinstance(items, tuple) or not all(isinstance(i, cls) for i in items):
                raise SpecError(f"{group} must be a tuple of {cls.__name__}", step=where, value=items)
        declared: tuple[DependencySpec | OutputSpec, ...] = (*self.dependencies, *self.outputs)
        for item in declared:
            if not isinstance(item.logical_name, str) or not _NAME.match(item.logical_name):
                raise SpecError(
                    "invalid logical name", step=where, value=item.logical_name, hint="use snake_case"
                )
        for dep in self.dependencies:
            if not isinstance(dep.dependency_type, DependencyType):
                raise SpecError(
                    "dependency_type must be a DependencyType",
                    step=where,
                    field=f"dependencies[{dep.logical_name!r}]",
                    value=dep.dependency_type,
                    hint=f"one of {', '.join(t.name for t in DependencyType)}",
                )
            for attr in ("compatible_sources", "semantic_keywords"):
                value = getattr(dep, attr)
                if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
                    raise SpecError(
                        f"{attr} must be a tuple of non-empty strings",
                        step=where,
                        field=f"dependencies[{dep.logical_name!r}].{attr}",
                        value=value,
                        hint="a 1-tuple needs a trailing comma: ('x',)",
                    )
        for out in self.outputs:
            if not isinstance(out.output_type, DependencyType):
                raise SpecError(
                    "output_type must be a DependencyType",
                    step=where,
                    field=f"outputs[{out.logical_name!r}]",
                    value=out.output_type,
                    hint=f"one of {', '.join(t.name for t in DependencyType)}",
                )
            if not isinstance(out.aliases, tuple) or not all(isinstance(a, str) for a in out.aliases):
                raise SpecError(
                    "aliases must be a tuple of strings",
                    step=where,
                    field=f"outputs[{out.logical_name!r}].aliases",
                    value=out.aliases,
                    hint="a 1-tuple needs a trailing comma: ('x',)",
                )
            for alias in out.aliases:
                if not _NAME.match(alias):
                    raise SpecError(
                        "invalid output alias",
                        step=where,
                        field=f"outputs[{out.logical_name!r}]",
                        value=alias,
                    )

    def dependency(self, name: str) -> DependencySpec:
        """The dependency called ``name``; :class:`SpecError` listing the known ones otherwise."""
        try:
            return self._dep_index[name]
        except KeyError:
            raise SpecError(
                "no such dependency",
                step=self.step_type,
                value=name,
                hint=f"dependencies: {', '.join(self._dep_index) or '(none)'}",
            ) from None

    def output(self, name: str) -> OutputSpec:
        """The output whose logical name or alias is ``name``; :class:`SpecError` otherwise."""
        try:
            return self._out_index[name]
        except KeyError:
            raise SpecError(
                "no such output",
                step=self.step_type,
                value=name,
                hint=f"outputs: {', '.join(o.logical_name for o in self.outputs) or '(none)'}",
            ) from None


_SPEC_ATTR = "_constructs_lib_spec"


def attach_spec(step: Any, spec: StepSpecification) -> None:
    """Remember on an SDK step the specification it was built with (read by :func:`spec_of`)."""
    object.__setattr__(step, _SPEC_ATTR, spec)


def spec_of(step: object) -> StepSpecification | None:
    """The specification a step was built with (``None`` for steps not built by this library)."""
    spec = getattr(step, _SPEC_ATTR, None)
    return spec if isinstance(spec, StepSpecification) else None
