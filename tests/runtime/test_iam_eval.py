"""The IAM evaluator against the IAM User Guide's documented examples (policy evaluation logic,
condition operators, multivalued keys, the Resource element's wildcards, S3's ``s3:prefix`` examples,
KMS key policies). Each case names the documented rule it checks; several are the ones a naive evaluator
(moto's among them) gets wrong."""

from __future__ import annotations

from typing import Any

import pytest
from support.iam_eval import Decision, PolicyError, Request, Statement, evaluate, statements_of

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/JobRole"
BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket"


def identity(*statements: dict[str, Any]) -> list[Statement]:
    return statements_of({"Statement": list(statements)}, "test")


def resource_policy(*statements: dict[str, Any]) -> list[Statement]:
    return statements_of({"Statement": list(statements)}, "resource", resource_policy=True)


def decide(
    action: str,
    resource: str,
    statements: list[Statement],
    context: dict[str, Any] | None = None,
    principal: str = ROLE,
    **kwargs: Any,
) -> Decision:
    return evaluate(Request(principal, action, resource, context or {}), identity=statements, **kwargs)


ALLOW_GET = {"Sid": "Get", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}


# --- Policy evaluation logic (single account) -------------------------------------------------------------


def test_no_statement_is_an_implicit_deny() -> None:
    d = decide("s3:GetObject", f"{BUCKET}/a", [])
    assert not d.allowed and d.reason == "implicit-deny"


def test_identity_allow_allows() -> None:
    d = decide("s3:GetObject", f"{BUCKET}/a", identity(ALLOW_GET))
    assert d.allowed and [s.sid for s in d.deciding] == ["Get"]


def test_explicit_deny_overrides_any_allow() -> None:
    deny = {"Sid": "No", "Effect": "Deny", "Action": "s3:*", "Resource": f"{BUCKET}/secret/*"}
    d = decide("s3:GetObject", f"{BUCKET}/secret/x", identity(ALLOW_GET, deny))
    assert not d.allowed and d.reason == "explicit-deny" and d.deciding[0].sid == "No"


def test_tls_only_bucket_policy_denies_plain_http_but_not_tls() -> None:
    """The CDK's enforceSSL statement; SageMaker calls S3 over TLS (aws:SecureTransport=true)."""
    tls = resource_policy(
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": [BUCKET, f"{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    assert decide("s3:GetObject", f"{BUCKET}/a", identity(ALLOW_GET), resource_policy=tls).allowed
    plain = decide(
        "s3:GetObject",
        f"{BUCKET}/a",
        identity(ALLOW_GET),
        {"aws:SecureTransport": "false"},
        resource_policy=tls,
    )
    assert not plain.allowed and plain.reason == "explicit-deny"


def test_same_account_resource_policy_naming_the_role_allows_without_identity_policy() -> None:
    policy = resource_policy(
        {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
    )
    assert decide("s3:GetObject", f"{BUCKET}/a", [], resource_policy=policy).allowed


def test_resource_policy_naming_the_account_delegates_to_iam_and_grants_nothing_itself() -> None:
    policy = resource_policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "s3:*",
            "Resource": f"{BUCKET}/*",
        }
    )
    assert not decide("s3:GetObject", f"{BUCKET}/a", [], resource_policy=policy).allowed
    assert decide("s3:GetObject", f"{BUCKET}/a", identity(ALLOW_GET), resource_policy=policy).allowed


KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALLOW_DECRYPT = {"Sid": "Decrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}
ENABLE_IAM = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def test_kms_default_key_policy_lets_identity_policies_allow() -> None:
    d = decide(
        "kms:Decrypt",
        KEY,
        identity(ALLOW_DECRYPT),
        resource_policy=resource_policy(ENABLE_IAM),
        kms_key_policy=True,
    )
    assert d.allowed


def test_kms_key_policy_without_the_account_principal_ignores_identity_policies() -> None:
    other = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Admin"},
        "Action": "kms:*",
        "Resource": "*",
    }
    d = decide(
        "kms:Decrypt",
        KEY,
        identity(ALLOW_DECRYPT),
        resource_policy=resource_policy(other),
        kms_key_policy=True,
    )
    assert not d.allowed and d.reason == "key-policy"


def test_kms_key_policy_naming_the_role_allows_alone() -> None:
    direct = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": ["kms:Decrypt"], "Resource": "*"}
    assert decide(
        "kms:Decrypt", KEY, [], resource_policy=resource_policy(direct), kms_key_policy=True
    ).allowed


def test_a_policy_outside_the_template_fails_the_evaluation() -> None:
    d = evaluate(
        Request(ROLE, "s3:GetObject", f"{BUCKET}/a"),
        identity=identity(ALLOW_GET),
        unknown_policies=["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"],
    )
    assert not d.allowed and d.reason == "unknown-policy" and "AmazonSageMakerFullAccess" in d.describe()


# --- Action / NotAction, Resource / NotResource ------------------------------------------------------------


def test_allow_with_notaction_allows_everything_else_and_is_no_deny() -> None:
    """ "NotAction with Allow": every action except those listed; the listed ones are not denied, merely not
    allowed by this statement (another Allow still applies)."""
    not_iam = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert decide("s3:GetObject", f"{BUCKET}/a", identity(not_iam)).allowed
    d = decide("iam:PassRole", ROLE, identity(not_iam))
    assert not d.allowed and d.reason == "implicit-deny"
    pass_role = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE}
    assert decide("iam:PassRole", ROLE, identity(not_iam, pass_role)).allowed


def test_deny_notaction_with_boolifexists_mfa_denies_when_the_key_is_missing() -> None:
    """The User Guide's "DenyAllExceptListedIfNoMFA" example: BoolIfExists is true for a missing key."""
    deny = {
        "Sid": "DenyAllExceptListedIfNoMFA",
        "Effect": "Deny",
        "NotAction": ["iam:ChangePassword", "iam:GetUser", "sts:GetSessionToken"],
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }
    allow_all = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert decide("s3:GetObject", f"{BUCKET}/a", identity(allow_all, deny)).reason == "explicit-deny"
    assert decide("iam:GetUser", "*", identity(allow_all, deny)).allowed
    with_mfa = decide(
        "s3:GetObject", f"{BUCKET}/a", identity(allow_all, deny), {"aws:MultiFactorAuthPresent": "true"}
    )
    assert with_mfa.allowed


def test_actions_are_case_insensitive_resources_case_sensitive() -> None:
    odd_case = {"Effect": "Allow", "Action": "S3:getobject", "Resource": "arn:aws:s3:::MyBucket/*"}
    assert decide("s3:GetObject", "arn:aws:s3:::MyBucket/a", identity(odd_case)).allowed
    assert not decide("s3:GetObject", "arn:aws:s3:::mybucket/a", identity(odd_case)).allowed


def test_action_wildcards() -> None:
    get_any = {"Effect": "Allow", "Action": ["s3:Get*", "ecr:BatchGet?mage"], "Resource": "*"}
    assert decide("s3:GetObject", f"{BUCKET}/a", identity(get_any)).allowed
    assert decide("ecr:BatchGetImage", "*", identity(get_any)).allowed
    assert not decide("s3:PutObject", f"{BUCKET}/a", identity(get_any)).allowed


def test_notresource() -> None:
    all_but_secret = {"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/secret/*"}
    assert decide("s3:GetObject", f"{BUCKET}/public/a", identity(all_but_secret)).allowed
    assert not decide("s3:GetObject", f"{BUCKET}/secret/a", identity(all_but_secret)).allowed


LOG_GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs"


def test_resource_wildcards_and_arn_segments() -> None:
    """A ``*`` ending a segment may match beyond colons; a ``*`` inside one does not; a bare log-group ARN
    does not match the ``log-group:NAME:*`` form IAM evaluates for CreateLogGroup/DescribeLogStreams."""
    bare = {"Effect": "Allow", "Action": "logs:*", "Resource": LOG_GROUP}
    starred = {"Effect": "Allow", "Action": "logs:*", "Resource": f"{LOG_GROUP}:*"}
    assert not decide("logs:CreateLogGroup", f"{LOG_GROUP}:*", identity(bare)).allowed
    assert decide("logs:CreateLogGroup", f"{LOG_GROUP}:*", identity(starred)).allowed
    assert decide("logs:PutLogEvents", f"{LOG_GROUP}:log-stream:job/algo-1-1", identity(starred)).allowed
    region_any = {"Effect": "Allow", "Action": "logs:*", "Resource": f"arn:aws:logs:*:{ACCOUNT}:log-group:x"}
    assert decide(
        "logs:CreateLogGroup", f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:x", identity(region_any)
    ).allowed
    mid = {
        "Effect": "Allow",
        "Action": "logs:*",
        "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:a*z",
    }
    assert decide(
        "logs:CreateLogGroup", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:abcz", identity(mid)
    ).allowed
    assert not decide(
        "logs:CreateLogGroup", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:a:z", identity(mid)
    ).allowed


# --- Condition operators ------------------------------------------------------------------------------


LIST_PROJECTS = {
    "Sid": "ListProjects",
    "Effect": "Allow",
    "Action": "s3:ListBucket",
    "Resource": BUCKET,
    "Condition": {"StringLike": {"s3:prefix": ["projects/*", "shared/"]}},
}


def test_s3_prefix_listbucket_example() -> None:
    """S3 User Guide, "Example: Allow ListBucket only below a prefix": the prefix must match; a request
    without a prefix (the whole bucket) has no ``s3:prefix`` key and does not match."""
    assert decide("s3:ListBucket", BUCKET, identity(LIST_PROJECTS), {"s3:prefix": "projects/a/b"}).allowed
    assert decide("s3:ListBucket", BUCKET, identity(LIST_PROJECTS), {"s3:prefix": "shared/"}).allowed
    other = decide("s3:ListBucket", BUCKET, identity(LIST_PROJECTS), {"s3:prefix": "private/"})
    assert not other.allowed and other.nearest is not None and other.nearest.statement.sid == "ListProjects"
    assert "s3:prefix" in other.describe()
    assert not decide("s3:ListBucket", BUCKET, identity(LIST_PROJECTS)).allowed


def test_negated_operator_with_missing_key_is_true() -> None:
    deny = {
        "Effect": "Deny",
        "Action": "s3:ListBucket",
        "Resource": BUCKET,
        "Condition": {"StringNotLike": {"s3:prefix": "projects/*"}},
    }
    allow = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET}
    assert decide("s3:ListBucket", BUCKET, identity(allow, deny)).reason == "explicit-deny"
    assert decide("s3:ListBucket", BUCKET, identity(allow, deny), {"s3:prefix": "projects/x"}).allowed


def test_ifexists_with_missing_key_is_true_and_checks_a_present_key() -> None:
    """User Guide's ``StringEqualsIfExists`` ``ec2:InstanceType`` example."""
    allow = {
        "Effect": "Allow",
        "Action": "ec2:RunInstances",
        "Resource": "*",
        "Condition": {"StringEqualsIfExists": {"ec2:InstanceType": ["t1.*", "t2.micro"]}},
    }
    assert decide("ec2:RunInstances", "arn:aws:ec2:us-east-1::image/ami-1", identity(allow)).allowed
    assert decide("ec2:RunInstances", "*", identity(allow), {"ec2:InstanceType": "t2.micro"}).allowed
    assert not decide("ec2:RunInstances", "*", identity(allow), {"ec2:InstanceType": "m5.large"}).allowed


TAG_ALLOW_ALL = {
    "Effect": "Allow",
    "Action": "ec2:CreateTags",
    "Resource": "*",
    "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
}
TAG_ALLOW_ANY = {
    **TAG_ALLOW_ALL,
    "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
}


def test_forallvalues_is_true_for_an_empty_or_missing_key() -> None:
    """The documented trap: ForAllValues with no values in the request matches."""
    assert decide("ec2:CreateTags", "*", identity(TAG_ALLOW_ALL)).allowed
    assert decide("ec2:CreateTags", "*", identity(TAG_ALLOW_ALL), {"aws:TagKeys": []}).allowed
    assert decide("ec2:CreateTags", "*", identity(TAG_ALLOW_ALL), {"aws:TagKeys": ["environment"]}).allowed
    assert not decide(
        "ec2:CreateTags", "*", identity(TAG_ALLOW_ALL), {"aws:TagKeys": ["environment", "owner"]}
    ).allowed


def test_foranyvalue_is_false_for_a_missing_key_and_true_for_one_match() -> None:
    assert not decide("ec2:CreateTags", "*", identity(TAG_ALLOW_ANY)).allowed
    assert decide(
        "ec2:CreateTags", "*", identity(TAG_ALLOW_ANY), {"aws:TagKeys": ["owner", "environment"]}
    ).allowed
    assert not decide("ec2:CreateTags", "*", identity(TAG_ALLOW_ANY), {"aws:TagKeys": ["owner"]}).allowed


def test_several_values_or_several_keys_and_several_operators_and() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:PrincipalTag/dept": ["a", "b"], "aws:PrincipalTag/team": "ml"},
            "Bool": {"aws:SecureTransport": "true"},
        },
    }
    ok = {"aws:PrincipalTag/dept": "b", "aws:PrincipalTag/team": "ml"}
    assert decide("s3:GetObject", f"{BUCKET}/a", identity(statement), ok).allowed
    assert not decide(
        "s3:GetObject", f"{BUCKET}/a", identity(statement), {**ok, "aws:PrincipalTag/team": "web"}
    ).allowed
    assert not decide(
        "s3:GetObject", f"{BUCKET}/a", identity(statement), {**ok, "aws:SecureTransport": "false"}
    ).allowed


def test_negated_operator_with_several_values_is_nor() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalTag/dept": ["a", "b"]}},
    }
    assert not decide(
        "s3:GetObject", f"{BUCKET}/a", identity(statement), {"aws:PrincipalTag/dept": "a"}
    ).allowed
    assert decide("s3:GetObject", f"{BUCKET}/a", identity(statement), {"aws:PrincipalTag/dept": "c"}).allowed


def test_condition_keys_are_case_insensitive_values_case_sensitive() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": BUCKET,
        "Condition": {"StringEquals": {"S3:Prefix": "Data/"}},
    }
    assert decide("s3:ListBucket", BUCKET, identity(statement), {"s3:prefix": "Data/"}).allowed
    assert not decide("s3:ListBucket", BUCKET, identity(statement), {"s3:prefix": "data/"}).allowed
    ignore = {**statement, "Condition": {"StringEqualsIgnoreCase": {"s3:prefix": "DATA/"}}}
    assert decide("s3:ListBucket", BUCKET, identity(ignore), {"s3:prefix": "data/"}).allowed


@pytest.mark.parametrize(
    ("operator", "policy_value", "context_value", "expected"),
    [
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericLessThanEquals", "10", "11", False),
        ("NumericGreaterThan", "10", "not-a-number", False),
        ("DateGreaterThan", "2020-01-01T00:00:00Z", "2026-06-01T12:00:00Z", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "2026-06-01T12:00:00Z", False),
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        (
            "ArnLike",
            "arn:aws:events:*:111122223333:rule/*",
            "arn:aws:events:us-east-1:111122223333:rule/r",
            True,
        ),
        (
            "ArnLike",
            "arn:aws:events:*:111122223333:rule/*",
            "arn:aws:events:us-east-1:444455556666:rule/r",
            False,
        ),
        (
            "ArnEquals",
            "arn:aws:sns:us-east-1:111122223333:t?pic",
            "arn:aws:sns:us-east-1:111122223333:topic",
            True,
        ),
        ("ArnNotLike", "arn:aws:iam::*:role/admin*", "arn:aws:iam::111122223333:role/JobRole", True),
        ("Bool", "true", "TRUE", True),
    ],
)
def test_typed_condition_operators(
    operator: str, policy_value: str, context_value: str, expected: bool
) -> None:
    statement = {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "*",
        "Condition": {operator: {"k:key": policy_value}},
    }
    assert decide("s3:ListBucket", BUCKET, identity(statement), {"k:key": context_value}).allowed is expected


def test_arn_not_like_with_missing_key_is_true_arn_like_false() -> None:
    like = {
        "Effect": "Allow",
        "Action": "sns:Publish",
        "Resource": "*",
        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/*"}},
    }
    not_like = {**like, "Condition": {"ArnNotLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/*"}}}
    assert not decide("sns:Publish", "arn:aws:sns:us-east-1:111122223333:t", identity(like)).allowed
    assert decide("sns:Publish", "arn:aws:sns:us-east-1:111122223333:t", identity(not_like)).allowed


def test_null_operator() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"Null": {"aws:TokenIssueTime": "true"}},
    }
    assert decide("s3:GetObject", f"{BUCKET}/a", identity(statement)).allowed
    assert not decide(
        "s3:GetObject", f"{BUCKET}/a", identity(statement), {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}
    ).allowed


def test_policy_variables_in_resources() -> None:
    """The User Guide's ``home/${aws:username}/*`` example; an unresolved variable does not match."""
    home = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/home/${{aws:username}}/*"}
    assert decide("s3:GetObject", f"{BUCKET}/home/alice/a", identity(home), {"aws:username": "alice"}).allowed
    assert not decide(
        "s3:GetObject", f"{BUCKET}/home/bob/a", identity(home), {"aws:username": "alice"}
    ).allowed
    assert not decide("s3:GetObject", f"{BUCKET}/home/alice/a", identity(home)).allowed


def test_service_principal_in_a_topic_policy() -> None:
    """EventBridge publishing to an SNS topic: the topic policy names the service and the rule."""
    topic = "arn:aws:sns:us-east-1:111122223333:alerts"
    rule = "arn:aws:events:us-east-1:111122223333:rule/failed"
    policy = resource_policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule}},
        }
    )
    ok = evaluate(
        Request("events.amazonaws.com", "sns:Publish", topic, {"aws:SourceArn": rule}), resource_policy=policy
    )
    assert ok.allowed
    other = evaluate(
        Request("events.amazonaws.com", "sns:Publish", topic, {"aws:SourceArn": rule + "2"}),
        resource_policy=policy,
    )
    assert not other.allowed


def test_an_allow_whose_condition_fails_is_not_a_deny() -> None:
    """moto turns a failed condition into an explicit DENY; in IAM the statement merely does not apply."""
    conditional = {
        **ALLOW_GET,
        "Sid": "OnlyTagged",
        "Condition": {"StringEquals": {"aws:PrincipalTag/x": "y"}},
    }
    assert decide("s3:GetObject", f"{BUCKET}/a", identity(conditional, ALLOW_GET)).allowed


def test_unknown_operators_and_malformed_statements_are_errors_not_guesses() -> None:
    bad_op = {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringFancy": {"k": "v"}}}
    with pytest.raises(PolicyError, match="StringFancy"):
        decide("s3:GetObject", f"{BUCKET}/a", identity(bad_op))
    with pytest.raises(PolicyError, match="Action / NotAction"):
        decide("s3:GetObject", f"{BUCKET}/a", identity({"Effect": "Allow", "Resource": "*"}))
    with pytest.raises(PolicyError, match="Principal"):
        evaluate(
            Request(ROLE, "s3:GetObject", f"{BUCKET}/a"),
            resource_policy=resource_policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        )
