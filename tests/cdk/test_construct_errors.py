"""Invalid props fail at synth time with a ConfigError/SynthError naming the field and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from synth_support import CONTEXT, PIPELINE_NAME, REGION

import constructs_lib.definition as definition_module
from constructs_lib import PipelineBuilderTemplate
from constructs_lib.constructs import PyTorchTrainingPipeline, SageMakerPipeline
from constructs_lib.constructs.pipeline import ROLE_NOT_MODIFIED_WARNING_ID
from constructs_lib.errors import ConfigError, SynthError


def _stack(region: str | None = REGION) -> cdk.Stack:
    app = cdk.App(context=CONTEXT)
    env = cdk.Environment(region=region) if region else None
    return cdk.Stack(app, "S", env=env)


def test_env_agnostic_stack_is_a_clear_synth_error(seed_config: Callable[..., Any]) -> None:
    stack = _stack(region=None)
    with pytest.raises(SynthError) as info:
        PyTorchTrainingPipeline(stack, "Training", config=seed_config(), pipeline_name=PIPELINE_NAME)
    text = str(info.value)
    assert "concrete region" in text and "image" in text
    assert "env=Environment(region=" in text
    assert "constructs_lib:region" in text and "CDK_DEFAULT_REGION" in text


def test_env_agnostic_stack_with_template_is_a_synth_error(seed_config: Callable[..., Any]) -> None:
    template = PipelineBuilderTemplate.single_step(seed_config(), region=REGION)
    with pytest.raises(SynthError, match="concrete region"):
        SageMakerPipeline(_stack(region=None), "P", template=template, pipeline_name=PIPELINE_NAME)


def test_template_region_must_match_the_stack(seed_config: Callable[..., Any]) -> None:
    template = PipelineBuilderTemplate.single_step(seed_config(), region="eu-west-1")
    with pytest.raises(SynthError, match="eu-west-1") as info:
        SageMakerPipeline(_stack(), "P", template=template, pipeline_name=PIPELINE_NAME)
    assert info.value.field == "region"


@pytest.mark.parametrize("name", ["", "-bad", "has_underscore", "x" * 257, "two--ok-but space"])
def test_invalid_pipeline_name(seed_config: Callable[..., Any], name: str) -> None:
    with pytest.raises(ConfigError) as info:
        PyTorchTrainingPipeline(_stack(), "Training", config=seed_config(), pipeline_name=name)
    assert info.value.field == "pipeline_name"


def test_exactly_one_of_config_and_template(seed_config: Callable[..., Any]) -> None:
    template = PipelineBuilderTemplate.single_step(seed_config(), region=REGION)
    with pytest.raises(ConfigError, match="exactly one"):
        PyTorchTrainingPipeline(_stack(), "T", config=seed_config(), template=template, pipeline_name="p")
    with pytest.raises(ConfigError, match="exactly one"):
        PyTorchTrainingPipeline(_stack(), "T", pipeline_name="p")


def test_template_with_its_own_role_is_refused(seed_config: Callable[..., Any]) -> None:
    template = PipelineBuilderTemplate.single_step(
        seed_config(), region=REGION, role="arn:aws:iam::123456789012:role/x"
    )
    with pytest.raises(ConfigError, match="job_role") as info:
        SageMakerPipeline(_stack(), "P", template=template, pipeline_name="p")
    assert info.value.field == "template.role"


@pytest.mark.parametrize(
    ("tags", "field"),
    [
        ({"aws:reserved": "x"}, "tags"),
        ({"": "x"}, "tags"),
        ({"k" * 129: "x"}, "tags"),
        ({"ok": "v" * 257}, "tags['ok']"),
        ({"ok": "semi;colon"}, "tags['ok']"),
        ({f"k{i}": "v" for i in range(51)}, "tags"),
    ],
)
def test_tags_follow_sagemaker_limits(
    seed_config: Callable[..., Any], tags: dict[str, str], field: str
) -> None:
    with pytest.raises(ConfigError) as info:
        PyTorchTrainingPipeline(_stack(), "T", config=seed_config(), pipeline_name="p", tags=tags)
    assert info.value.field == field


def test_description_limit(seed_config: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match=r"3,072|3072"):
        PyTorchTrainingPipeline(
            _stack(), "T", config=seed_config(), pipeline_name="p", description="d" * 3073
        )


def test_kms_encryption_needs_a_created_bucket(seed_config: Callable[..., Any]) -> None:
    stack = _stack()
    bucket = s3.Bucket.from_bucket_name(stack, "B", "existing-bucket")
    with pytest.raises(ConfigError) as info:
        PyTorchTrainingPipeline(
            stack, "T", config=seed_config(), pipeline_name="p", artifact_bucket=bucket, kms_encryption=True
        )
    assert info.value.field == "kms_encryption"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"definition_storage": "dynamo"}, "definition_storage"),
        ({"inline_threshold_chars": 0}, "inline_threshold_chars"),
    ],
)
def test_storage_options_are_checked(
    seed_config: Callable[..., Any], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as info:
        PyTorchTrainingPipeline(_stack(), "T", config=seed_config(), pipeline_name="p", **kwargs)
    assert info.value.field == field


def test_missing_source_dir_is_a_config_error_at_synth(
    seed_config: Callable[..., Any], tmp_path: Path
) -> None:
    config = seed_config(source_dir=str(tmp_path / "nope"))
    with pytest.raises(ConfigError) as info:
        PyTorchTrainingPipeline(_stack(), "T", config=config, pipeline_name="p")
    assert info.value.field == "source_dir"


def test_missing_entry_point_is_a_config_error_at_synth(
    seed_config: Callable[..., Any], tmp_path: Path
) -> None:
    (tmp_path / "other.py").write_text("print('hi')\n")
    config = seed_config(source_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"train\.py") as info:
        PyTorchTrainingPipeline(_stack(), "T", config=config, pipeline_name="p")
    assert info.value.field == "source_dir"


def test_definition_over_sagemakers_limit_fails_at_synth(
    seed_config: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The construct checks the definition with every deploy-time value at its longest, so a definition
    that fits with placeholders but not with real names still fails before deployment."""
    config = seed_config()
    placeholder_len = len(
        PipelineBuilderTemplate.single_step(config, region=REGION).build(PIPELINE_NAME).definition_json
    )
    monkeypatch.setattr(definition_module, "definition_max_chars", lambda: placeholder_len + 1)
    with pytest.raises(SynthError, match="allows at most") as info:
        PyTorchTrainingPipeline(_stack(), "T", config=config, pipeline_name=PIPELINE_NAME)
    assert info.value.field == "PipelineDefinition"


def test_immutable_role_gets_a_warning_listing_what_it_needs(seed_config: Callable[..., Any]) -> None:
    stack = _stack()
    role = iam.Role.from_role_arn(stack, "R", "arn:aws:iam::123456789012:role/fixed", mutable=False)
    pipeline = PyTorchTrainingPipeline(stack, "T", config=seed_config(), pipeline_name="p", job_role=role)
    warnings = [str(e.data) for e in pipeline.node.metadata if e.type == "aws:cdk:warning"]
    (warning,) = [w for w in warnings if ROLE_NOT_MODIFIED_WARNING_ID in w]
    assert "s3:GetObject" in warning and "ecr:BatchGetImage" in warning
    assert pipeline.job_role is role


def test_jsii_errors_are_wrapped(seed_config: Callable[..., Any]) -> None:
    stack = _stack()

    class Broken(iam.Role):
        """A passed-in role whose policy attachment makes jsii raise (a duplicate construct id)."""

        def attach_inline_policy(self, policy: iam.Policy) -> None:  # the construct attaches its own policy
            s3.Bucket(stack, "Twice")
            s3.Bucket(stack, "Twice")
            raise AssertionError("unreachable")

    role = Broken(stack, "BrokenRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    with pytest.raises(SynthError, match="CDK failed") as info:
        PyTorchTrainingPipeline(stack, "T", config=seed_config(), pipeline_name="p", pipeline_role=role)
    assert "'S/T'" in str(info.value)
    assert "Twice" in str(info.value)


@pytest.mark.parametrize(
    ("props", "field"),
    [
        ({"job_role": "arn:aws:iam::123456789012:role/existing"}, "job_role"),
        ({"pipeline_role": "arn:aws:iam::123456789012:role/existing"}, "pipeline_role"),
        ({"artifact_bucket": "my-bucket"}, "artifact_bucket"),
        ({"encryption_key": "arn:aws:kms:us-east-1:123456789012:key/x"}, "encryption_key"),
        ({"tags": [("team", "ml")]}, "tags"),
        ({"description": 5}, "description"),
    ],
)
def test_wrongly_typed_props_name_the_prop(
    seed_config: Callable[..., Any], props: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as info:
        PyTorchTrainingPipeline(_stack(), "T", config=seed_config(), pipeline_name="p", **props)
    assert info.value.field == field
