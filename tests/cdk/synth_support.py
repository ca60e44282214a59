"""Helpers of the CDK tests: synthesize a stack once, resolve its pipeline definition with fake physical
values, and load the example app (``app.py``) as a module."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template
from support.intrinsics import Physical, resolve

from constructs_lib.constructs.pipeline import SageMakerPipeline

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
#: Context of every test app: CDK's built-in CloudFormation validation fails the synth, as in cdk.json.
CONTEXT = {
    "@aws-cdk/core:validateAgainstDefaultRules": True,
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}
HASH = re.compile(r"[0-9a-f]{64}")
#: Pipeline name of the test stacks (the example app's one-step pipeline).
PIPELINE_NAME = "constructs-lib-pytorch-training"
#: Tags of the ``dev_s3`` stack.
DEV_TAGS = {"project": "constructs-lib", "cost-center": "ml 42"}
#: The passed-in bucket and role of the ``byo_bucket`` stack.
EXISTING_BUCKET = "my-existing-artifacts"
EXISTING_JOB_ROLE = "arn:aws:iam::123456789012:role/team-sagemaker-jobs"
#: The account the lifecycle test stack shares its model package group with.
SHARED_ACCOUNT = "210987654321"

#: The input-locations stack's pipeline name, and the execution parameter the scheduler target sets.
INPUTS_PIPELINE = "constructs-lib-inputs"
INPUT_PARAM = "PyTorchTrainingInputPath"

#: The model package group of another account that the ``existing_group`` stack registers into.
EXISTING_GROUP_ARN = f"arn:aws:sagemaker:{REGION}:{SHARED_ACCOUNT}:model-package-group/Shared-Models"


def load_app_module() -> ModuleType:
    """``app.py`` at the repository root, imported as ``constructs_lib_example_app``."""
    name = "constructs_lib_example_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Synth:
    """One synthesized stack."""

    stack: cdk.Stack
    json: dict[str, Any]
    outdir: Path
    pipeline: SageMakerPipeline | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def template(self) -> Template:
        return Template.from_json(self.json)

    @property
    def name(self) -> str:
        return self.stack.stack_name

    def resources(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == cfn_type}

    def one(self, cfn_type: str, contains: str = "") -> tuple[str, dict[str, Any]]:
        found = [(k, v) for k, v in self.resources(cfn_type).items() if contains in k]
        assert len(found) == 1, f"expected one {cfn_type} matching {contains!r}, got {[k for k, _ in found]}"
        return found[0]

    def asset_hashes(self) -> set[str]:
        """Hashes of the stack's file assets (from its ``.assets.json``)."""
        manifest = json.loads((self.outdir / f"{self.name}.assets.json").read_text())
        return {h for h in manifest.get("files", {}) if HASH.fullmatch(h)} - {self.template_hash()}

    def template_hash(self) -> str:
        manifest = json.loads((self.outdir / f"{self.name}.assets.json").read_text())
        for h, entry in manifest.get("files", {}).items():
            if entry["source"]["path"] == f"{self.name}.template.json":
                return str(h)
        return ""

    def role(self, contains: str) -> dict[str, Any]:
        """The ``AWS::IAM::Role`` whose logical id contains ``contains``."""
        return self.one("AWS::IAM::Role", contains)[1]

    def resolved(self, value: Any) -> Any:
        """``value`` (a part of the template) with its intrinsics resolved against :func:`fake_physical`."""
        return resolve(value, fake_physical(self.json))

    def definition(self, physical: Physical | None = None) -> dict[str, Any]:
        """The pipeline's inline definition resolved against ``physical`` (default: :func:`fake_physical`)."""
        _, pipe = self.one("AWS::SageMaker::Pipeline")
        body = pipe["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
        return dict(json.loads(resolve(body, physical or fake_physical(self.json))))


def synth_app(app: cdk.App, stacks: Mapping[str, SageMakerPipeline | None]) -> dict[str, Synth]:
    """Synthesize ``app`` once; one :class:`Synth` per stack name in ``stacks``."""
    assembly = app.synth()
    out = Path(assembly.directory)
    result = {}
    for child in app.node.children:
        if isinstance(child, cdk.Stack) and child.stack_name in stacks:
            template = assembly.get_stack_by_name(child.stack_name).template
            result[child.stack_name] = Synth(child, template, out, stacks[child.stack_name])
    return result


def synth_one(
    outdir: Path,
    stack_name: str,
    build: Callable[[cdk.Stack], SageMakerPipeline | None],
    *,
    env: cdk.Environment | None = None,
) -> Synth:
    """A fresh app with one stack (us-east-1 unless ``env``), built by ``build`` and synthesized once."""
    app = cdk.App(outdir=str(outdir), context=CONTEXT)
    stack = cdk.Stack(app, stack_name, env=env or cdk.Environment(region=REGION))
    pipeline = build(stack)
    return synth_app(app, {stack_name: pipeline})[stack_name]


def _physical_name(logical: str) -> str:
    return f"phys-{logical.lower()}"[:63]


def fake_physical(template: Mapping[str, Any]) -> Physical:
    """Deterministic fake physical values for every resource of ``template`` (names from logical ids)."""
    resources = template.get("Resources", {})

    def attribute(logical: str, attr: str) -> str:
        cfn_type = resources.get(logical, {}).get("Type", "")
        name = _physical_name(logical)
        if attr == "Arn" and cfn_type == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{name}"
        if attr == "Arn" and cfn_type == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{name}"
        if attr == "Arn" and cfn_type == "AWS::KMS::Key":
            return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}"
        return f"{name}-{attr.lower()}"

    refs = {logical: _physical_name(logical) for logical in resources}
    return Physical(refs=refs, attribute=attribute, region=REGION, account=ACCOUNT, parameters={})


def mask_hashes(text: str, hashes: set[str], label: str = "<asset-hash>") -> str:
    for h in hashes:
        text = text.replace(h, label)
    return text


def policy_statements(role: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every statement of a role resource's inline policies."""
    return [s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements if "Sid" in s}
