"""Inline vs S3 definition storage: the "auto" switch, and the S3 form resolving to the same definition."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from support.intrinsics import resolve
from synth_support import ACCOUNT, DEV_TAGS, PIPELINE_NAME, REGION, Synth, fake_physical

from constructs_lib.constructs.pipeline import DEFAULT_INLINE_THRESHOLD_CHARS, DEFINITION_PREFIX
from constructs_lib.definition import find_placeholders


def _deployment(synth: Synth) -> tuple[str, dict[str, Any]]:
    return synth.one("Custom::CDKBucketDeployment")


def _staged_source(synth: Synth, object_key: str) -> Path:
    staged = synth.outdir / f"asset.{object_key.removesuffix('.zip')}"
    if staged.is_dir():
        return staged
    zipped = synth.outdir / f"asset.{object_key}"
    target = synth.outdir / f"unzipped.{object_key}"
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(target)
    return target


def _deploy_like_the_handler(synth: Synth) -> dict[str, Any]:
    """What BucketDeployment's handler writes: the staged file with each marker replaced by its resolved
    value (JSON-escaped only when the source asks for it, as the handler does)."""
    _, deployment = _deployment(synth)
    props = deployment["Properties"]
    (object_key,) = props["SourceObjectKeys"]
    (markers,) = props["SourceMarkers"]
    (config,) = props.get("SourceMarkersConfig", [{}])
    files = [p for p in _staged_source(synth, object_key).rglob("*.json")]
    (path,) = files
    text = path.read_text()
    physical = fake_physical(synth.json)
    for marker, value in markers.items():
        replacement = resolve(value, physical)
        if str(config.get("jsonEscape", "false")).lower() == "true":
            replacement = json.dumps(replacement)[1:-1]
        text = text.replace(marker, replacement)
    assert "<<marker:" not in text
    return dict(json.loads(text))


def test_auto_is_inline_under_the_threshold(example: Synth) -> None:
    assert example.pipeline is None or example.pipeline.definition_storage == "inline"
    _, pipe = example.one("AWS::SageMaker::Pipeline")
    assert set(pipe["Properties"]["PipelineDefinition"]) == {"PipelineDefinitionBody"}
    assert not example.resources("Custom::CDKBucketDeployment")


def test_default_threshold_keeps_the_example_templates_small(example_app: dict[str, Synth]) -> None:
    for synth in example_app.values():
        assert len(json.dumps(synth.json, separators=(",", ":"))) < 51_200
    assert DEFAULT_INLINE_THRESHOLD_CHARS == 20_000


def test_auto_switches_to_s3_over_the_threshold(dev_s3: Synth) -> None:
    assert dev_s3.pipeline is not None and dev_s3.pipeline.definition_storage == "s3"
    key = dev_s3.pipeline.definition_object_key
    assert (
        key is not None and key.startswith(f"{DEFINITION_PREFIX}/{PIPELINE_NAME}/") and key.endswith(".json")
    )
    bucket_logical, _ = dev_s3.one("AWS::S3::Bucket", "ArtifactBucket")
    _pipe_logical, pipe = dev_s3.one("AWS::SageMaker::Pipeline")
    assert pipe["Properties"]["PipelineDefinition"] == {
        "PipelineDefinitionS3Location": {"Bucket": {"Ref": bucket_logical}, "Key": key}
    }
    deployment_logical, deployment = _deployment(dev_s3)
    assert deployment_logical in pipe["DependsOn"]
    assert deployment["Properties"]["DestinationBucketName"] == {"Ref": bucket_logical}
    assert deployment["Properties"]["Prune"] is False


def test_s3_markers_carry_the_deploy_time_references(dev_s3: Synth) -> None:
    _, deployment = _deployment(dev_s3)
    (markers,) = deployment["Properties"]["SourceMarkers"]
    text = json.dumps(markers)
    job_role, _ = dev_s3.one("AWS::IAM::Role", "JobRole")
    bucket, _ = dev_s3.one("AWS::S3::Bucket", "ArtifactBucket")
    assert job_role in text and bucket in text and "cdk-hnb659fds-assets-" in text


def test_s3_form_resolves_to_the_inline_form(dev_s3: Synth, example: Synth) -> None:
    """GIVEN the same config stored inline (example) and in S3 (dev_s3) WHEN both are resolved with the
    same fake physical values THEN they are the same valid definition, without placeholders — except that
    dev_s3's KMS-encrypted bucket makes its key the jobs' volume and output key, and its tags reach the job."""
    from_s3 = _deploy_like_the_handler(dev_s3)
    inline = example.definition()
    assert find_placeholders(from_s3) == []
    key_logical, _ = dev_s3.one("AWS::KMS::Key")
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/phys-{key_logical.lower()}"
    args = from_s3["Steps"][0]["Arguments"]
    assert args["ResourceConfig"].pop("VolumeKmsKeyId") == key_arn
    assert args["OutputDataConfig"].pop("KmsKeyId") == key_arn
    assert args.pop("Tags") == [{"Key": k, "Value": v} for k, v in sorted(DEV_TAGS.items())]
    assert from_s3 == inline


def test_s3_key_follows_the_content(dev_s3: Synth, changed: Synth) -> None:
    """The key is a content hash: a changed definition gets a new key (so CloudFormation updates the
    pipeline), the same one keeps it."""
    assert dev_s3.pipeline is not None and dev_s3.pipeline.definition_object_key
    assert dev_s3.pipeline.definition_object_key.split("/")[-1].removesuffix(".json") not in json.dumps(
        changed.json
    )
