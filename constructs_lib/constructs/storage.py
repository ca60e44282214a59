"""``ArtifactStorage``: the pipeline's artifact bucket, its access-log bucket and (optionally) a KMS key."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Annotations, CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct, IValidation

from constructs_lib.constructs.checkov import ACCESS_LOG_BUCKET_CHECKOV_SKIPS, acknowledge_checkov

__all__ = ["DATA_DELETED_WARNING_ID", "ArtifactStorage", "public_statements"]

#: Id of the warning added when ``retain_on_delete=False`` (stable: tools may filter on it).
DATA_DELETED_WARNING_ID = "constructs_lib:data-deleted-on-stack-delete"

# CDK's recommended way to let S3 deliver access logs: a bucket policy for logging.s3.amazonaws.com
# (instead of the legacy LogDeliveryWrite ACL, which needs ACLs enabled on the log bucket).
_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        values = principal.get("AWS", [])
        return "*" in (values if isinstance(values, list) else [values])
    return False


def public_statements(document: Any) -> list[dict[str, Any]]:
    """The statements of a (resolved) bucket policy that S3 always judges public: ``Allow`` to every
    principal (``"*"``, ``{"AWS": "*"}`` or any ``NotPrincipal``) with no condition at all. A conditional
    statement may or may not be public (S3 looks at the condition keys); it is left to S3."""
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return [
        st
        for st in statements
        if isinstance(st, dict)
        and st.get("Effect") == "Allow"
        and not st.get("Condition")
        and (_everyone(st.get("Principal")) or "NotPrincipal" in st)
    ]


@jsii.implements(IValidation)
class _NoPublicPolicy:
    """Synth-time check of a bucket that blocks public policies: S3 refuses (``AccessDenied``, on deploy) a
    bucket policy that grants access to everyone, so a statement user code added that does is an error now."""

    def __init__(self, bucket: s3.Bucket) -> None:
        self.bucket = bucket

    def validate(self) -> list[str]:
        policy = self.bucket.policy
        if policy is None:
            return []
        document = Stack.of(self.bucket).resolve(policy.document.to_json())
        return [
            f"{self.bucket.node.path}: the bucket policy statement "
            f"{st.get('Sid') or st.get('Action')!r} allows every principal without a condition; the bucket "
            "blocks public policies (BlockPublicPolicy), so S3 would refuse the whole policy on deploy. "
            "Grant a specific principal (an account, role or service) or add a condition."
            for st in public_statements(document)
        ]


class ArtifactStorage(Construct):
    """A private, versioned, TLS-only artifact bucket with server access logs in a second bucket.

    Both buckets block all public access, refuse non-TLS requests (``enforce_ssl``), enforce bucket-owner
    object ownership (a bucket-policy statement that user code adds and that would make either bucket
    public fails ``cdk synth``: S3 would refuse it on deploy) and are retained when the stack is deleted unless ``retain_on_delete=False``; their
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
            bucket.node.add_validation(_NoPublicPolicy(bucket))
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
