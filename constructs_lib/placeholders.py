"""Placeholder values the pure core puts where the CDK layer later puts CloudFormation references.

The SageMaker SDK rejects CDK tokens inside ``s3://`` URIs, instance types and regions, so the definition is
built with these plain, valid-looking strings; :func:`constructs_lib.definition.substitute` then replaces
each one, inside any string of the finished definition, by the deploy-time value (a CDK token in the
construct, a physical name in the moto deploy test). They are obviously fake and never valid in AWS: a
definition that still holds one after substitution is refused (:func:`find_placeholders`).
"""

from __future__ import annotations

import re

__all__ = [
    "ARTIFACT_BUCKET",
    "JOB_ROLE_ARN",
    "OUTPUT_KEY",
    "PLACEHOLDER_PATTERN",
    "VOLUME_KEY",
    "code_uri",
    "security_group",
    "subnet",
]

#: The artifact bucket's name (inside ``s3://`` URIs).
ARTIFACT_BUCKET = "constructs-lib-placeholder-artifact-bucket"

#: The ARN of the role SageMaker jobs run as.
JOB_ROLE_ARN = "arn:aws:iam::000000000000:role/constructs-lib-placeholder-job-role"

#: The KMS key of the jobs' ML storage volumes (``VolumeKmsKeyId``).
VOLUME_KEY = "arn:aws:kms:us-east-1:000000000000:key/constructs-lib-placeholder-volume-key"

#: The KMS key of the jobs' outputs and checkpoints (``OutputDataConfig.KmsKeyId``...).
OUTPUT_KEY = "arn:aws:kms:us-east-1:000000000000:key/constructs-lib-placeholder-output-key"

_CODE_BUCKET = "constructs-lib-placeholder-code"


def subnet(index: int) -> str:
    """Placeholder id of the ``index``-th subnet the jobs run in."""
    return f"constructs-lib-placeholder-subnet-{index}"


def security_group(index: int) -> str:
    """Placeholder id of the ``index``-th security group of the jobs."""
    return f"constructs-lib-placeholder-sg-{index}"


def code_uri(node: str) -> str:
    """Placeholder ``s3://`` URI of the packed source directory of DAG node ``node``."""
    return f"s3://{_CODE_BUCKET}/{node}/sourcedir.tar.gz"


#: Matches any placeholder left in a string.
PLACEHOLDER_PATTERN = re.compile(r"constructs-lib-placeholder-[a-z0-9\-]+")
