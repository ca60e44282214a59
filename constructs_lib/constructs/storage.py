"""``ArtifactStorage``: the pipeline's artifact bucket, its access-log bucket and (optionally) a KMS key."""

from __future__ import annotations

from aws_cdk import Annotations, CfnResource, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.constructs.checkov import ACCESS_LOG_BUCKET_CHECKOV_SKIPS, acknowledge_checkov

__all__ = ["DATA_DELETED_WARNING_ID", "ArtifactStorage"]

#: Id of the warning added when ``retain_on_delete=False`` (stable: tools may filter on it).
DATA_DELETED_WARNING_ID = "constructs_lib:data-deleted-on-stack-delete"

# CDK's recommended way to let S3 deliver access logs: a bucket policy for logging.s3.amazonaws.com
# (instead of the legacy LogDeliveryWrite ACL, which needs ACLs enabled on the log bucket).
_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


class ArtifactStorage(Construct):
    """A private, versioned, TLS-only artifact bucket with server access logs in a second bucket.

    Both buckets block all public access, refuse non-TLS requests (``enforce_ssl``), enforce bucket-owner
    object ownership and are retained when the stack is deleted unless ``retain_on_delete=False``; their
    bucket policies (the TLS-only deny, the log-delivery grant) share the bucket's removal policy, so a
    retained bucket keeps them.

    Args:
        scope: parent construct.
        construct_id: construct id.
        kms_encryption: encrypt the artifact bucket with a customer-managed KMS key with yearly rotation
            (created here, exposed as :attr:`encryption_key`). Default ``False``: S3-managed keys
            (SSE-S3). The access-log bucket always uses SSE-S3 (S3 server access logging cannot write to
            SSE-KMS buckets).
        encryption_key: encrypt with this existing key instead of creating one. Default ``None``.
        retain_on_delete: keep the buckets, their bucket policies (and the key) when the stack is
            deleted. Default ``True``. ``False`` sets ``RemovalPolicy.DESTROY`` *and* empties the buckets
            on delete (auto-delete objects), and adds the warning
            ``constructs_lib:data-deleted-on-stack-delete``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        kms_encryption: bool = False,
        encryption_key: kms.IKey | None = None,
        retain_on_delete: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.node.set_context(_LOGS_USE_BUCKET_POLICY, True)
        removal = RemovalPolicy.RETAIN if retain_on_delete else RemovalPolicy.DESTROY
        auto_delete = not retain_on_delete

        key = encryption_key
        if key is None and kms_encryption:
            key = kms.Key(
                self,
                "EncryptionKey",
                description="Encrypts the SageMaker pipeline artifact bucket",
                enable_key_rotation=True,
                removal_policy=removal,
            )
        #: The KMS key of the artifact bucket, or ``None`` with S3-managed encryption.
        self.encryption_key: kms.IKey | None = key

        #: The server-access-log bucket of the artifact bucket.
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=removal,
            auto_delete_objects=auto_delete,
        )

        #: The artifact bucket (pipeline outputs, default inputs, definitions stored in S3).
        self.bucket = s3.Bucket(
            self,
            "ArtifactBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS if key is not None else s3.BucketEncryption.S3_MANAGED,
            encryption_key=key,
            bucket_key_enabled=key is not None or None,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="artifact-bucket/",
            removal_policy=removal,
            auto_delete_objects=auto_delete,
        )
        log_bucket_resource = self.access_log_bucket.node.default_child
        if isinstance(log_bucket_resource, CfnResource):
            acknowledge_checkov(log_bucket_resource, ACCESS_LOG_BUCKET_CHECKOV_SKIPS)

        # The TLS-only (and log-delivery) bucket policies follow their bucket: CloudFormation deletes a
        # BucketPolicy on stack delete by default, which would leave the retained data without them.
        for bucket in (self.access_log_bucket, self.bucket):
            if bucket.policy is not None:
                bucket.policy.apply_removal_policy(removal)
        if not retain_on_delete:
            Annotations.of(self).add_warning_v2(
                DATA_DELETED_WARNING_ID,
                "retain_on_delete=False: deleting the stack deletes the artifact bucket, its access logs "
                "and every object in them (model artifacts included)"
                + (
                    ", and schedules the KMS key for deletion"
                    if kms_encryption and encryption_key is None
                    else ""
                )
                + ". Use it for development stacks only.",
            )
