"""checkov integration: the findings this library acknowledges, each with its reason, per resource.

checkov reads resource-level skips from a resource's ``Metadata.checkov.skip`` (``[{"id", "comment"}]``).
The library adds them only to resources it creates itself, or to the CDK-generated handlers it brings into
a stack (:mod:`constructs_lib.constructs.handlers`); every skip is listed in the README, and a test keeps
the two equal.
"""

from __future__ import annotations

from aws_cdk import CfnResource

__all__ = [
    "ACCESS_LOG_BUCKET_CHECKOV_SKIPS",
    "AUTO_DELETE_HANDLER_CHECKOV_SKIPS",
    "BUCKET_DEPLOYMENT_HANDLER_CHECKOV_SKIPS",
    "acknowledge_checkov",
]

#: checkov findings acknowledged on the access-log bucket: (check id, reason). Listed in the README.
ACCESS_LOG_BUCKET_CHECKOV_SKIPS: tuple[tuple[str, str], ...] = (
    (
        "CKV_AWS_18",
        "This bucket receives the artifact bucket's S3 server access logs; logging it too would need a "
        "third bucket (and that one a fourth), and S3 advises against a bucket logging into itself.",
    ),
)
#: checkov findings acknowledged on aws-cdk-lib's auto-delete-objects Lambda handler (only with
#: ``retain_on_delete=False``): (check id, reason). Listed in the README.
AUTO_DELETE_HANDLER_CHECKOV_SKIPS: tuple[tuple[str, str], ...] = (
    (
        "CKV_AWS_115",
        "aws-cdk-lib's auto-delete-objects handler (retain_on_delete=False only) runs once per bucket, when "
        "CloudFormation deletes the bucket; reserved concurrency would only take capacity from the account.",
    ),
    (
        "CKV_AWS_116",
        "aws-cdk-lib's auto-delete-objects handler is invoked by CloudFormation for the bucket's custom "
        "resource; a failure fails the stack operation and is reported there, a dead-letter queue adds "
        "nothing.",
    ),
    (
        "CKV_AWS_117",
        "aws-cdk-lib's auto-delete-objects handler only calls the S3 API for this stack's buckets; a VPC "
        "would need an S3 endpoint the stack does not create, and the handler is not configurable.",
    ),
)


#: checkov findings acknowledged on aws-cdk-lib's BucketDeployment Lambda handler (definitions stored in S3
#: only): (check id, reason). Listed in the README.
BUCKET_DEPLOYMENT_HANDLER_CHECKOV_SKIPS: tuple[tuple[str, str], ...] = (
    (
        "CKV_AWS_115",
        "aws-cdk-lib's BucketDeployment handler (definitions stored in S3) runs only while CloudFormation "
        "deploys the stack; reserved concurrency would only take capacity from the account.",
    ),
    (
        "CKV_AWS_116",
        "aws-cdk-lib's BucketDeployment handler is invoked by CloudFormation for its custom resource; a "
        "failure fails the stack operation and is reported there, a dead-letter queue adds nothing.",
    ),
    (
        "CKV_AWS_117",
        "aws-cdk-lib's BucketDeployment handler only copies the definition between S3 buckets; a VPC would "
        "need an S3 endpoint the stack does not create, and the handler is not configurable.",
    ),
    (
        "CKV_AWS_173",
        "aws-cdk-lib's BucketDeployment handler's only environment variable is AWS_CA_BUNDLE, the path of "
        "a public certificate bundle: there is nothing secret to encrypt.",
    ),
)


def acknowledge_checkov(resource: CfnResource, skips: tuple[tuple[str, str], ...]) -> None:
    """Add checkov's resource-level skips (``Metadata.checkov.skip``), keeping skips already there."""
    metadata = resource.get_metadata("checkov")
    existing = list(metadata.get("skip", [])) if isinstance(metadata, dict) else []
    known = {entry.get("id") for entry in existing if isinstance(entry, dict)}
    existing += [{"id": check, "comment": reason} for check, reason in skips if check not in known]
    resource.add_metadata("checkov", {**(metadata if isinstance(metadata, dict) else {}), "skip": existing})
