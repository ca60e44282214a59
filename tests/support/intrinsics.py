"""Resolve the CloudFormation intrinsics of a synthesized template against physical values (tests only).

Checks, without deploying to AWS, what a deployed pipeline's definition is (``Ref``, ``Fn::GetAtt``,
``Fn::Join``, ``Fn::Sub``, ``Fn::Select`` and the pseudo parameters of
:func:`constructs_lib.intrinsics.pseudo_parameters`). Independent of :mod:`constructs_lib.assembly`, which
``verify`` uses, so the two readings check each other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from constructs_lib.errors import SynthError
from constructs_lib.intrinsics import pseudo_parameters

__all__ = ["Physical", "pipeline_definitions", "resolve"]

_SUB_VAR = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Physical:
    """Deploy-time values of one stack.

    Attributes:
        refs: logical id -> what ``Ref`` returns (a bucket's or role's name, ...).
        attribute: ``(logical id, attribute) -> value`` for ``Fn::GetAtt``.
        region, account, partition, stack_name: the pseudo parameters.
    """

    refs: Mapping[str, str]
    attribute: Callable[[str, str], str]
    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"
    stack_name: str = "stack"
    url_suffix: str = "amazonaws.com"
    parameters: Mapping[str, str] = field(default_factory=dict)

    def ref(self, name: str) -> str:
        pseudo = {
            **pseudo_parameters(
                region=self.region, account=self.account, partition=self.partition, stack_name=self.stack_name
            ),
            "AWS::URLSuffix": self.url_suffix,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise SynthError(f"no physical value for Ref {name!r}", field="Ref", value=name)


def resolve(value: Any, physical: Physical) -> Any:
    """``value`` with every intrinsic function replaced by its deploy-time value."""
    if isinstance(value, list):
        return [resolve(v, physical) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return physical.ref(arg)
        if fn == "Fn::GetAtt":
            logical, attr = arg.split(".", 1) if isinstance(arg, str) else arg
            return physical.attribute(logical, attr)
        if fn == "Fn::Join":
            delimiter, items = arg
            return str(delimiter).join(str(resolve(i, physical)) for i in resolve(items, physical))
        if fn == "Fn::Select":
            index, items = arg
            return resolve(items, physical)[int(resolve(index, physical))]
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            local = {k: resolve(v, physical) for k, v in variables.items()}

            def sub(m: re.Match[str]) -> str:
                name = m.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if name in local:
                    return str(local[name])
                if "." in name:
                    logical, attr = name.split(".", 1)
                    return physical.attribute(logical, attr)
                return physical.ref(name)

            return _SUB_VAR.sub(sub, text)
        if fn.startswith("Fn::"):
            raise SynthError(f"intrinsic {fn} is not supported by this resolver", field=fn)
    return {k: resolve(v, physical) for k, v in value.items()}


def pipeline_definitions(template: Mapping[str, Any], physical: Physical) -> dict[str, dict[str, Any]]:
    """``{logical id: definition dict}`` for every ``AWS::SageMaker::Pipeline`` with an inline
    ``PipelineDefinitionBody`` in ``template``, resolved against ``physical``."""
    found: dict[str, dict[str, Any]] = {}
    for logical, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::SageMaker::Pipeline":
            continue
        body = resource["Properties"]["PipelineDefinition"].get("PipelineDefinitionBody")
        if body is not None:
            found[logical] = json.loads(resolve(body, physical))
    return found
