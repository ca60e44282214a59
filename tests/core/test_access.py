"""The access model: values builders return, merged for a role, JSON round trip, URI and image parsing."""

from __future__ import annotations

import json

import pytest

from constructs_lib.access import AccessNeeds, EcrRepository, S3Location, ecr_repository, parse_s3_uri
from constructs_lib.errors import SynthError


def test_fields_are_sorted_unique_tuples() -> None:
    needs = AccessNeeds(prefix_reads=["s3://b/z/", "s3://b/a/", "s3://b/z/"], creates=("model",))
    assert needs.prefix_reads == ("s3://b/a/", "s3://b/z/")
    with pytest.raises(TypeError, match="iterable of strings"):
        AccessNeeds(writes="s3://b/out/")  # type: ignore[arg-type]


def test_merge_is_the_union() -> None:
    a = AccessNeeds(
        creates=("training-job",), writes=("s3://b/t",), log_groups=("/aws/sagemaker/TrainingJobs",)
    )
    b = AccessNeeds(creates=("processing-job",), writes=("s3://b/p", "s3://b/t"))
    merged = AccessNeeds.merge([a, b])
    assert merged.creates == ("processing-job", "training-job")
    assert merged.writes == ("s3://b/p", "s3://b/t")
    assert merged.log_groups == ("/aws/sagemaker/TrainingJobs",)
    assert AccessNeeds.merge([]) == AccessNeeds()


def test_json_round_trip() -> None:
    needs = AccessNeeds(
        creates=("training-job",),
        object_reads=("s3://code/t/sourcedir.tar.gz",),
        images=("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.13.1-gpu-py39",),
        parameters=("trainInputPath",),
    )
    assert AccessNeeds.from_json(json.loads(json.dumps(needs.to_json()))) == needs
    with pytest.raises(ValueError, match="unknown AccessNeeds fields"):
        AccessNeeds.from_json({"reads": []})


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        (
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.13.1-gpu-py39",
            EcrRepository("763104351884", "us-east-1", "pytorch-training"),
        ),
        (
            "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            EcrRepository("683313688378", "eu-west-1", "sagemaker-scikit-learn"),
        ),
        (
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference@sha256:" + "a" * 64,
            EcrRepository("763104351884", "us-east-1", "pytorch-inference"),
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/model:latest",
            EcrRepository("123456789012", "cn-north-1", "team/model"),
        ),
    ],
)
def test_ecr_repository(image: str, repo: EcrRepository) -> None:
    assert ecr_repository(image) == repo


def test_non_ecr_image_is_refused() -> None:
    with pytest.raises(SynthError, match="not an Amazon ECR image URI") as info:
        ecr_repository("docker.io/library/python:3.11", step="train")
    assert info.value.step == "train"


def test_parse_s3_uri() -> None:
    assert parse_s3_uri("s3://b/k/x/") == S3Location("b", "k/x/")
    assert parse_s3_uri("s3://b") == S3Location("b", "")
    assert S3Location("b", "k").uri == "s3://b/k"
    with pytest.raises(SynthError):
        parse_s3_uri("https://b/k")
