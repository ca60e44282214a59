"""Every step of every pipeline of ``app.py`` is a request SageMaker accepts: each step's ``Arguments``
(with the job name SageMaker Pipelines adds) validated against botocore's request shape of the API call
SageMaker Pipelines makes for it (CreateTrainingJob, CreateProcessingJob, CreateModel, CreateModelPackage),
steps inside condition branches included.

Pipeline expressions are replaced by values of the type the shape wants at that place: a parameter by its
default, an execution variable by a realistic id, another step's property by a typed example, a
``Std:Join`` by the joined values. botocore's own validator checks the structure (unknown and missing
members, types, minimums); enumerations, maximum lengths and patterns are checked from the same shapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from botocore.model import Shape, StructureShape
from botocore.validate import ParamValidator
from support.intrinsics import pipeline_definitions
from support.runtime_calls import EXECUTION_ID, job_name, typed_physical
from synth_support import Synth, fake_physical

from constructs_lib.definition import all_steps
from constructs_lib.limits import isolated_botocore_session

#: Step type -> (operation, the name member SageMaker Pipelines sets, or None).
OPERATIONS = {
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Model": ("CreateModel", "ModelName"),
    "RegisterModel": ("CreateModelPackage", None),
}
#: Step types that make no API request of their own.
NO_REQUEST = {"Condition", "Fail"}
_EXPRESSIONS = ({"Get"}, {"Std:Join"}, {"Std:JsonGet"})


@pytest.fixture(scope="module")
def sagemaker_model() -> Any:
    return isolated_botocore_session().get_service_model("sagemaker")


def definitions(runtime_app: Mapping[str, Synth]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, synth in sorted(runtime_app.items()):
        found = pipeline_definitions(synth.json, typed_physical(synth.json, fake_physical(synth.json)))
        pipelines = [k for k, r in synth.json["Resources"].items() if r["Type"] == "AWS::SageMaker::Pipeline"]
        assert sorted(found) == sorted(pipelines), f"{name}: a definition is not inline"
        for logical, definition in sorted(found.items()):
            yield f"{name}/{logical}", definition


class _Values:
    """Typed example values of a definition's expressions."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        self.parameters = {p["Name"]: p for p in definition.get("Parameters", [])}

    def value(self, expr: Any, shape: Shape) -> Any:
        if isinstance(expr, Mapping) and set(expr) == {"Std:Join"}:
            join = expr["Std:Join"]
            text = str(join.get("On", "")).join(str(self.scalar(v, "string", "")) for v in join["Values"])
            return self.cast(text, shape)
        if isinstance(expr, Mapping) and set(expr) == {"Get"}:
            path = str(expr["Get"])
            if path.startswith("Parameters."):
                return self.cast(self.parameters[path.split(".", 1)[1]]["DefaultValue"], shape)
            if path.startswith("Execution."):
                return self.cast(EXECUTION_ID, shape)
            return self.example(path, shape)
        raise AssertionError(f"an API argument holds {json.dumps(expr)}, which Pipelines cannot evaluate")

    def scalar(self, expr: Any, type_name: str, shape_name: str) -> Any:
        if isinstance(expr, Mapping):
            fake = Shape(shape_name or "Example", {"type": type_name})
            return self.value(expr, fake)
        return expr

    def example(self, path: str, shape: Shape) -> Any:
        if shape.type_name in ("integer", "long"):
            return int(shape.metadata.get("min", 1))
        if shape.type_name in ("float", "double"):
            return 0.5
        if path.endswith(("S3Uri", "S3ModelArtifacts", "S3OutputPath")):
            return "s3://example-bucket/pipelines/output/model.tar.gz"
        return "example-value"

    @staticmethod
    def cast(value: Any, shape: Shape) -> Any:
        if shape.type_name in ("integer", "long"):
            return int(value)
        if shape.type_name in ("float", "double"):
            return float(value)
        if shape.type_name == "boolean":
            return str(value).lower() == "true"
        return str(value)


def concrete(value: Any, shape: Shape, values: _Values) -> Any:
    """``value`` with every pipeline expression replaced by a typed value of ``shape``."""
    if (
        isinstance(value, Mapping)
        and set(value) in _EXPRESSIONS
        and not (isinstance(shape, StructureShape) and set(value) <= set(shape.members))
    ):
        return values.value(value, shape)
    if isinstance(value, Mapping) and isinstance(shape, StructureShape):
        return {
            k: concrete(v, shape.members[k], values) if k in shape.members else v for k, v in value.items()
        }
    if isinstance(value, Mapping) and shape.type_name == "map":
        return {k: concrete(v, shape.value, values) for k, v in value.items()}  # type: ignore[attr-defined]
    if isinstance(value, list) and shape.type_name == "list":
        return [concrete(v, shape.member, values) for v in value]  # type: ignore[attr-defined]
    return value


def limit_errors(value: Any, shape: Shape, where: str) -> list[str]:
    """What botocore's validator leaves out: enums, maximum lengths/counts and patterns."""
    errors: list[str] = []
    md = shape.metadata
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for key, item in value.items():
            if key in shape.members:
                errors += limit_errors(item, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "map" and isinstance(value, Mapping):
        if "max" in md and len(value) > md["max"]:
            errors.append(f"{where}: {len(value)} entries > {md['max']}")
        for key, item in value.items():
            errors += limit_errors(key, shape.key, f"{where} key")  # type: ignore[attr-defined]
            errors += limit_errors(item, shape.value, f"{where}[{key!r}]")  # type: ignore[attr-defined]
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in md and len(value) > md["max"]:
            errors.append(f"{where}: {len(value)} items > {md['max']}")
        for i, item in enumerate(value):
            errors += limit_errors(item, shape.member, f"{where}[{i}]")  # type: ignore[attr-defined]
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            errors.append(f"{where}: {value!r} is not one of {shape.name}'s values")
        if "max" in md and len(value) > md["max"]:
            errors.append(f"{where}: {len(value)} characters > {md['max']}")
        pattern = md.get("pattern")
        if pattern:
            try:
                compiled = re.compile(pattern.replace(r"\p{L}\p{Z}\p{N}", r"\w\s"))
            except re.error:
                compiled = None
            if compiled is not None and not compiled.fullmatch(value):
                errors.append(f"{where}: {value!r} does not match {shape.name}'s pattern {pattern}")
    elif (
        shape.type_name in ("integer", "long")
        and isinstance(value, int)
        and "max" in md
        and value > md["max"]
    ):
        errors.append(f"{where}: {value} > {md['max']}")
    return errors


def test_every_step_is_a_valid_sagemaker_request(
    runtime_app: Mapping[str, Synth], sagemaker_model: Any
) -> None:
    checked: dict[str, int] = {}
    failures: list[str] = []
    seen = 0
    for where, definition in definitions(runtime_app):
        seen += 1
        values = _Values(definition)
        for step in all_steps(definition["Steps"]):
            if step["Type"] in NO_REQUEST:
                continue
            assert step["Type"] in OPERATIONS, f"{where}: step {step['Name']} of unknown type {step['Type']}"
            operation, name_member = OPERATIONS[step["Type"]]
            shape = sagemaker_model.operation_model(operation).input_shape
            params = concrete(step["Arguments"], shape, values)
            if name_member is not None:
                # SageMaker Pipelines names the job itself (pipelines-<execution id>-<step>-...), in the
                # name's alphabet
                params = {name_member: re.sub(r"[^A-Za-z0-9-]", "-", job_name(step["Name"])), **params}
            report = ParamValidator().validate(params, shape)
            problems = [
                *([report.generate_report()] if report.has_errors() else []),
                *limit_errors(params, shape, operation),
            ]
            failures += [f"{where} step {step['Name']} ({operation}): {p}" for p in problems]
            checked[operation] = checked.get(operation, 0) + 1
    assert not failures, "\n".join(failures)
    assert seen == len([s for s in runtime_app.values() if s.resources("AWS::SageMaker::Pipeline")])
    # every kind of request the example stacks make was checked
    assert set(checked) == {"CreateTrainingJob", "CreateProcessingJob", "CreateModel", "CreateModelPackage"}


def test_the_check_finds_a_bad_request(sagemaker_model: Any) -> None:
    """GIVEN arguments SageMaker would refuse THEN the same check reports each problem."""
    shape = sagemaker_model.operation_model("CreateModelPackage").input_shape
    bad = {
        "ModelPackageGroupName": "g",
        "ModelApprovalStatus": "Maybe",
        "InferenceSpecification": {
            "Containers": [{"Image": "x" * 300, "Unknown": 1}],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.lrge"],
        },
    }
    params = concrete(bad, shape, _Values({}))
    report = ParamValidator().validate(params, shape)
    assert report.has_errors() and "Unknown" in report.generate_report()
    problems = "\n".join(limit_errors(params, shape, "CreateModelPackage"))
    assert "'Maybe' is not one of ModelApprovalStatus's values" in problems
    assert "'ml.m5.lrge' is not one of" in problems
    assert "300 characters > 255" in problems
