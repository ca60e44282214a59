"""Finding 5: a retained bucket keeps its bucket policy (the TLS-only deny, the log-delivery grant).

CloudFormation deletes an ``AWS::S3::BucketPolicy`` on stack delete unless it says ``Retain``; a
retained bucket whose policy is deleted keeps our data without the TLS-only deny. Each bucket policy
of ``ArtifactStorage`` therefore carries its bucket's removal policy.
"""

from __future__ import annotations

from typing import Any

import pytest
from synth_support import Synth

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
DELETE = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}


def _policies_and_buckets(synth: Synth) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every BucketPolicy of ``synth`` with the bucket (of the same template) it applies to."""
    buckets = synth.resources("AWS::S3::Bucket")
    pairs = []
    for logical, policy in synth.resources("AWS::S3::BucketPolicy").items():
        ref = policy["Properties"]["Bucket"]
        assert isinstance(ref, dict) and ref.get("Ref") in buckets, (logical, ref)
        pairs.append((logical, policy, buckets[ref["Ref"]]))
    return pairs


@pytest.mark.parametrize("stack", ["example", "dag_example", "byo_role_example"])
def test_example_bucket_policies_are_retained(stack: str, request: pytest.FixtureRequest) -> None:
    """GIVEN an example stack (buckets retained by default) THEN both bucket policies say Retain."""
    synth: Synth = request.getfixturevalue(stack)
    template = synth.template
    template.resource_count_is("AWS::S3::Bucket", 2)
    template.resource_count_is("AWS::S3::BucketPolicy", 2)  # artifact bucket + access-log bucket
    template.all_resources("AWS::S3::Bucket", RETAIN)
    template.all_resources("AWS::S3::BucketPolicy", RETAIN)


def test_destroyed_buckets_take_their_policies(dev_s3: Synth) -> None:
    """GIVEN retain_on_delete=False THEN buckets and their policies are deleted together."""
    template = dev_s3.template
    template.resource_count_is("AWS::S3::BucketPolicy", 2)
    template.all_resources("AWS::S3::Bucket", DELETE)
    template.all_resources("AWS::S3::BucketPolicy", DELETE)


def test_every_policy_follows_its_bucket(any_stack: Synth) -> None:
    """Every bucket policy the stacks create has its bucket's DeletionPolicy and UpdateReplacePolicy."""
    for logical, policy, bucket in _policies_and_buckets(any_stack):
        for key in ("DeletionPolicy", "UpdateReplacePolicy"):
            assert policy.get(key) == bucket.get(key), (any_stack.name, logical, key)
