"""Drift check (``python -m constructs_lib verify``): does the deployed pipeline still run what the code says?

Compares the live definition (``sagemaker:DescribePipeline``) with the canonical one from the synthesized
code: the cloud assembly's template, its tokens resolved against the deployed stack (physical ids from
``cloudformation:ListStackResources``, template parameters from ``cloudformation:DescribeStacks`` when the
definition uses one, the account and partition from the pipeline's ARN, the region of the session), and
reports the same per-step diff as ``diff`` (:mod:`constructs_lib.changes`). A ``pipeline.upsert()`` from a
notebook, or an ``UpdatePipeline`` call, that bypassed CloudFormation shows up as drift; so does a
synthesized change that has not been deployed yet.

It also prints the provenance tags (``constructs-lib:*``: version, config and code digests) of the live
pipeline (``sagemaker:ListTags``) and of the synthesized one, or says "no provenance tags".

Unlike the rest of the library this module calls AWS (boto3, default credential chain). Permissions:
``sagemaker:DescribePipeline``, ``sagemaker:ListTags``, ``cloudformation:ListStackResources`` (and
``cloudformation:DescribeStacks`` for templates with parameters).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constructs_lib.assembly import find_pipelines, read_assembly, select_pipeline
from constructs_lib.changes import ChangeReport, compare_definitions
from constructs_lib.errors import ConfigError, SynthError
from constructs_lib.intrinsics import URL_SUFFIXES, pseudo_parameters
from constructs_lib.provenance import PROVENANCE_PREFIX

__all__ = [
    "PROVENANCE_PREFIX",
    "PhysicalTokens",
    "VerifyResult",
    "provenance_lines",
    "verify_pipeline",
]


class PhysicalTokens:
    """Deploy-time values of one stack's tokens, as CloudFormation substitutes them.

    Args:
        refs: logical id -> physical id (what ``Ref`` returns for most resource types).
        types: logical id -> resource type.
        template: the stack's template (for role paths).
        region, account, partition, stack_name: the pseudo parameters.
        parameters: template parameter values; a callable is called once, on first use. Default: none.
        stack_id: the stack's id for ``AWS::StackId``. Default ``None``.
    """

    eager = True

    def __init__(
        self,
        *,
        refs: Mapping[str, str],
        types: Mapping[str, str],
        template: Mapping[str, Any],
        region: str,
        account: str,
        partition: str,
        stack_name: str,
        parameters: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        stack_id: str | None = None,
    ) -> None:
        self.refs, self.types, self.template = refs, types, template
        self.region, self.account, self.partition, self.stack_name = region, account, partition, stack_name
        self._parameters = parameters
        self.stack_id = stack_id

    def parameters(self) -> Mapping[str, str]:
        if callable(self._parameters):
            self._parameters = self._parameters()
        return self._parameters or {}

    def ref(self, name: str) -> str:
        pseudo = pseudo_parameters(
            region=self.region, account=self.account, partition=self.partition, stack_name=self.stack_name
        )
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::StackId" and self.stack_id:
            return self.stack_id
        if name in self.template.get("Parameters", {}):
            value = self.parameters().get(name)
            if value is None:
                raise ConfigError("the deployed stack has no value for this template parameter", field=name)
            return value
        if name in self.refs:
            return self.refs[name]
        raise ConfigError(
            "the deployed stack has no such resource (deployed from another version of the code?)",
            field=f"Ref {name}",
            hint="synthesize the code that was deployed, or deploy the current code",
        )

    def get_att(self, logical_id: str, attribute: str) -> str:
        physical = self.ref(logical_id)
        kind = self.types.get(logical_id) or self.template.get("Resources", {}).get(logical_id, {}).get(
            "Type"
        )
        p, region, account = self.partition, self.region, self.account
        suffix = URL_SUFFIXES.get(p, "amazonaws.com")
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            path = self.template["Resources"][logical_id].get("Properties", {}).get("Path", "/")
            path = path if isinstance(path, str) else "/"
            return f"arn:{p}:iam::{account}:role{path}{physical}"
        if kind == "AWS::S3::Bucket":
            values = {
                "Arn": f"arn:{p}:s3:::{physical}",
                "DomainName": f"{physical}.s3.{suffix}",
                "RegionalDomainName": f"{physical}.s3.{region}.{suffix}",
            }
            if attribute in values:
                return values[attribute]
        if kind == "AWS::KMS::Key" and attribute in ("Arn", "KeyId"):
            return physical if attribute == "KeyId" else f"arn:{p}:kms:{region}:{account}:key/{physical}"
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return f"arn:{p}:lambda:{region}:{account}:function:{physical}"
        raise ConfigError(
            f"cannot compute Fn::GetAtt {logical_id}.{attribute} of a {kind} from its physical id",
            field="Fn::GetAtt",
            value=f"{logical_id}.{attribute}",
            hint="supported: Arn of roles, buckets, KMS keys and Lambda functions; bucket domain names",
        )

    def opaque(self, intrinsic: Mapping[str, Any]) -> str:
        raise ConfigError(
            "verify cannot evaluate this intrinsic of the definition",
            field=next(iter(intrinsic)),
            value=intrinsic,
            hint="supported: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split",
        )


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify_pipeline` found.

    Attributes:
        report: synthesized (OLD side) versus live (NEW side).
        pipeline_arn: the live pipeline's ARN.
        live_tags: the live pipeline's provenance tags; ``None`` when they could not be read.
        synthesized_tags: the synthesized pipeline's provenance tags.
        tags_error: why the live tags could not be read, else ``None``.
    """

    report: ChangeReport
    pipeline_arn: str
    live_tags: Mapping[str, str] | None
    synthesized_tags: Mapping[str, str]
    tags_error: str | None = None

    @property
    def drifted(self) -> bool:
        """The live definition differs from the synthesized one."""
        return not self.report.identical

    def to_text(self) -> str:
        """The diff (without caching verdicts), the provenance and a verdict line."""
        lines = [self.report.to_text(cache=False, labels=("synthesized", "live")).rstrip("\n")]
        lines.extend(provenance_lines(self.live_tags, self.synthesized_tags, self.tags_error))
        lines.append(
            "drift: the live pipeline differs from the synthesized code"
            if self.drifted
            else "no drift: the live pipeline matches the synthesized code"
        )
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline_arn": self.pipeline_arn,
            "drift": self.drifted,
            "diff": self.report.to_json(cache=False),
            "provenance": {
                "live": dict(self.live_tags) if self.live_tags is not None else None,
                "synthesized": dict(self.synthesized_tags),
                "live_error": self.tags_error,
            },
        }


def _provenance(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: tags[k] for k in sorted(tags) if k.startswith(PROVENANCE_PREFIX)}


def provenance_lines(
    live: Mapping[str, str] | None, synthesized: Mapping[str, str], error: str | None = None
) -> list[str]:
    """The provenance section: each side's ``constructs-lib:*`` tags, or "no provenance tags"."""

    def show(tags: Mapping[str, str] | None) -> str:
        if tags is None:
            return f"tags unreadable ({error})"
        chosen = _provenance(tags)
        return " ".join(f"{k}={v}" for k, v in chosen.items()) if chosen else "no provenance tags"

    lines = ["provenance:", f"  live:        {show(live)}", f"  synthesized: {show(synthesized)}"]
    if live is not None and _provenance(live) != _provenance(synthesized):
        lines.append("  provenance tags differ: the live pipeline was not deployed from this code")
    return lines


def _client_error(exc: Exception) -> tuple[str, str]:
    response = getattr(exc, "response", None) or {}
    err = response.get("Error", {}) if isinstance(response, Mapping) else {}
    return str(err.get("Code", type(exc).__name__)), str(err.get("Message", exc))


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def verify_pipeline(
    pipeline: str,
    *,
    cdk_out: str | Path = "cdk.out",
    region: str | None = None,
    session: Any = None,
) -> VerifyResult:
    """Compare the live pipeline ``pipeline`` with its synthesized definition in ``cdk_out``.

    Args:
        pipeline: the SageMaker pipeline name (or ``<stack>/<name>`` when several stacks define it).
        cdk_out: the cloud assembly directory. Default ``cdk.out``.
        region: AWS region. Default ``None``: the stack's region when it was synthesized for a concrete
            one, else the session's default region.
        session: a ``boto3.session.Session``. Default ``None``: a new one (default credential chain).

    Raises:
        ConfigError: no or several such pipelines in ``cdk_out``, no region, no credentials, the pipeline
            or its stack not found, or an AWS call refused (the message names the call and the error).
        SynthError: the synthesized definition cannot be decoded.
    """
    source = select_pipeline(find_pipelines(read_assembly(cdk_out)), pipeline, where=str(cdk_out))
    if source.pipeline_name is None:
        raise ConfigError(
            "the pipeline's name is not a literal in the template", field="--pipeline", value=source.label
        )
    if session is None:
        import boto3

        session = boto3.session.Session(region_name=region or source.stack.region)
    elif region is not None:
        raise ConfigError("pass region= or session=, not both", field="region", value=region)
    region_name = session.region_name
    if not region_name:
        raise ConfigError(
            "no AWS region", field="--region", hint="pass --region, or set AWS_REGION / a profile's region"
        )

    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

    def call(what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (BotoCoreError, ClientError) as exc:
            if isinstance(exc, NoCredentialsError | PartialCredentialsError):
                raise ConfigError(
                    f"{what}: no AWS credentials",
                    field="credentials",
                    hint="configure the default credential chain (AWS_PROFILE, environment, SSO, ...)",
                ) from None
            code, message = _client_error(exc)
            raise ConfigError(
                f"{what} failed in {region_name}: {code}: {message}", field="--pipeline", value=pipeline
            ) from None

    sm = session.client("sagemaker")
    described = call(
        f"sagemaker:DescribePipeline {source.pipeline_name}",
        lambda: sm.describe_pipeline(PipelineName=source.pipeline_name),
    )
    arn = str(described["PipelineArn"])
    arn_parts = arn.split(":")
    if len(arn_parts) < 6:
        raise ConfigError("unexpected pipeline ARN", field="PipelineArn", value=arn)
    partition, account = arn_parts[1], arn_parts[4]
    try:
        live = json.loads(described["PipelineDefinition"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise SynthError(
            f"the live pipeline's definition is not JSON: {exc}", field="PipelineDefinition"
        ) from None

    stack_name = source.stack.stack_name
    cfn = session.client("cloudformation")
    resources = call(
        f"cloudformation:ListStackResources {stack_name}",
        lambda: list(_pages(cfn, "list_stack_resources", "StackResourceSummaries", StackName=stack_name)),
    )
    # (moto lists resources it skipped, such as the pipeline itself, without ids)
    refs = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r.get("LogicalResourceId") and r.get("PhysicalResourceId")
    }
    types = {
        r["LogicalResourceId"]: r.get("ResourceType", "") for r in resources if r.get("LogicalResourceId")
    }

    def parameters() -> dict[str, str]:
        stacks = call(
            f"cloudformation:DescribeStacks {stack_name}", lambda: cfn.describe_stacks(StackName=stack_name)
        )
        params = stacks["Stacks"][0].get("Parameters", [])
        return {p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", "")) for p in params}

    tokens = PhysicalTokens(
        refs=refs,
        types=types,
        template=source.stack.template,
        region=region_name,
        account=account,
        partition=partition,
        stack_name=stack_name,
        parameters=parameters,
    )
    synthesized = source.definition(tokens)
    report = compare_definitions(synthesized, live, old_label=f"{cdk_out} ({source.label})", new_label=arn)

    live_tags: dict[str, str] | None
    tags_error = None
    try:
        live_tags = {t["Key"]: t["Value"] for t in _pages(sm, "list_tags", "Tags", ResourceArn=arn)}
    except (BotoCoreError, ClientError) as exc:
        code, message = _client_error(exc)
        live_tags, tags_error = None, f"sagemaker:ListTags: {code}: {message}"
    return VerifyResult(report, arn, live_tags, source.tags(), tags_error)
