"""Operate it: ``IPipeline`` with CDK's own Scheduler target, schedules, data-arrival triggers, failure
alerts and provenance tags, on the real synth (``app.py``'s ``ConstructsLibOperationsExample`` and small
stacks of their own). The run-time access of the example stack (the scheduler and trigger roles, the job
reading what the trigger and the schedule pass, EventBridge publishing to the encrypted topic) is evaluated
by ``tests/runtime``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match
from synth_support import ACCOUNT, CONTEXT, INPUT_PARAM, PIPELINE_NAME, REGION, Synth, by_sid

import constructs_lib
from constructs_lib import examples
from constructs_lib.assembly import find_pipelines, read_assembly, select_pipeline
from constructs_lib.constructs import (
    DataArrivalTrigger,
    PipelineAlerts,
    PipelineSchedule,
    PyTorchTrainingPipeline,
    SageMakerPipeline,
)
from constructs_lib.constructs.operations import (
    ALERTS_TOPIC_POLICY_WARNING_ID,
    EXECUTION_STATUS_EVENT,
    PROVENANCE_TAG_KEYS,
    SCHEDULE_PARAMETER_UNCHECKED_WARNING_ID,
    STEP_STATUS_EVENT,
    TRIGGER_BUCKET_NOTIFICATIONS_WARNING_ID,
    check_expression,
    check_time_zone,
    code_sha256,
    config_sha256,
)
from constructs_lib.errors import ConfigError
from constructs_lib.template import PipelineParameter
from constructs_lib.verify import provenance_lines

OPS_PIPELINE = "constructs-lib-operations"
#: The single-step pipeline's S3 input parameter.
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{PIPELINE_NAME}"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=CONTEXT), "Ops", env=cdk.Environment(region=REGION))


def _pipeline(stack: cdk.Stack, **options: Any) -> PyTorchTrainingPipeline:
    return PyTorchTrainingPipeline(
        stack, "Training", config=examples.seed_training_config(), pipeline_name=PIPELINE_NAME, **options
    )


def _warnings(scope: cdk.Stack) -> list[str]:
    return [
        str(entry.data)
        for c in scope.node.find_all()
        for entry in c.node.metadata
        if entry.type == "aws:cdk:warning"
    ]


# --------------------------------------------------------------------------------------- IPipeline
def test_the_construct_is_an_ipipeline(cdk_scheduler_target: Synth) -> None:
    pipeline = cdk_scheduler_target.pipeline
    assert isinstance(pipeline, SageMakerPipeline) and isinstance(pipeline, cdk.Resource)
    ipipeline: sagemaker.IPipeline = pipeline
    assert ipipeline.pipeline_name == PIPELINE_NAME
    assert ipipeline.pipeline_ref.pipeline_name == PIPELINE_NAME
    assert (
        cdk_scheduler_target.resolved(cdk.Stack.of(pipeline).resolve(ipipeline.pipeline_arn)) == PIPELINE_ARN
    )
    assert pipeline.env.region == REGION and pipeline.stack is cdk_scheduler_target.stack


def test_cdk_scheduler_target_starts_exactly_this_pipeline(cdk_scheduler_target: Synth) -> None:
    """THEN the schedule targets the pipeline's ARN, and the role CDK made may start this pipeline only."""
    (schedule,) = cdk_scheduler_target.resources("AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert cdk_scheduler_target.resolved(target["Arn"]) == PIPELINE_ARN
    assert target["SageMakerPipelineParameters"]["PipelineParameterList"][0]["Name"] == INPUT_PARAM
    role_logical = target["RoleArn"]["Fn::GetAtt"][0]
    role = cdk_scheduler_target.json["Resources"][role_logical]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"
    }
    policies = [
        p
        for p in cdk_scheduler_target.resources("AWS::IAM::Policy").values()
        if {"Ref": role_logical} in p["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert [(s["Action"], cdk_scheduler_target.resolved(s["Resource"])) for s in statements] == [
        ("sagemaker:StartPipelineExecution", PIPELINE_ARN)
    ]


def test_apply_removal_policy_reaches_the_pipeline_resource_only(cdk_scheduler_target: Synth) -> None:
    _, pipe = cdk_scheduler_target.one("AWS::SageMaker::Pipeline")
    assert pipe["DeletionPolicy"] == "Retain" and pipe["UpdateReplacePolicy"] == "Retain"


def test_logical_ids_are_those_of_a_plain_construct(cdk_scheduler_target: Synth) -> None:
    """The construct became a Resource: its children keep their ids (the snapshots hold every id)."""
    names = set(cdk_scheduler_target.json["Resources"])
    assert {"TrainingPipeline19FBEF78", "TrainingJobRoleF750C0D4", "TrainingPipelineRoleAA4DF241"} <= names


# ---------------------------------------------------------------------------------------- schedules
def test_daily_schedule_of_the_example(operations_example: Synth) -> None:
    ((_, schedule),) = operations_example.resources("AWS::Scheduler::Schedule").items()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert props["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert props["State"] == "ENABLED" and props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = props["Target"]
    assert operations_example.resolved(target["Arn"]) == (
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{OPS_PIPELINE}"
    )
    (param,) = target["SageMakerPipelineParameters"]["PipelineParameterList"]
    landing = next(
        k for k in operations_example.resources("AWS::S3::Bucket") if k.startswith("LandingStorageArtifact")
    )
    assert param["Name"] == "RawDataS3Uri"
    assert operations_example.resolved(param["Value"]) == f"s3://phys-{landing.lower()}/incoming/"


def test_schedule_role_may_start_this_pipeline_and_nothing_else(operations_example: Synth) -> None:
    role_logical, role = operations_example.one("AWS::IAM::Role", "TrainingSchedulesRole")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert "Policies" not in role["Properties"] and "ManagedPolicyArns" not in role["Properties"]
    ((_, policy),) = [
        (k, p)
        for k, p in operations_example.resources("AWS::IAM::Policy").items()
        if p["Properties"]["Roles"] == [{"Ref": role_logical}]
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sagemaker:StartPipelineExecution" and statement["Effect"] == "Allow"
    assert operations_example.resolved(statement["Resource"]) == (
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{OPS_PIPELINE}"
    )


@pytest.mark.parametrize(
    "expression",
    ["rate(1 day)", "rate(5 minutes)", "rate(12 hours)", "cron(0 6 * * ? *)", "cron(15,45 8-18 ? * MON-FRI *)",
     "cron(0 12 L * ? 2030)", "cron(0/30 * ? * 6#3 *)", "cron(0 0 1W JAN,JUL ? 2027-2030)"],
)  # fmt: skip
def test_valid_expressions(expression: str) -> None:
    assert check_expression(expression, where="e") == expression


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("every day", "not a schedule expression"),
        ("rate(0 days)", "positive integer"),
        ("rate(1 week)", "unknown rate unit 'week'"),
        ("cron(0 6 * * *)", "six fields, this one has 5"),
        ("cron(0 6 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(60 6 * * ? *)", "60 is out of range"),
        ("cron(0 24 * * ? *)", "24 is out of range"),
        ("cron(0 6 * 13 ? *)", "13 is out of range"),
        ("cron(0 6 ? * FUNDAY *)", "'FUNDAY' is not a number"),
        ("cron(0 ? * * ? *)", "'?' is allowed in day-of-month and day-of-week only"),
    ],
)
def test_invalid_expressions_name_the_problem(expression: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_expression(expression, where="schedule[0].expression")
    assert fragment in str(info.value) and info.value.field == "schedule[0].expression"


def test_time_zones_are_iana_names_with_suggestions() -> None:
    assert check_time_zone("Europe/Berlin", where="tz") == "Europe/Berlin"
    assert check_time_zone("UTC", where="tz") == "Etc/UTC"
    with pytest.raises(ConfigError, match="did you mean Europe/Berlin") as info:
        check_time_zone("Europe/Berlinn", where="schedule[0].time_zone")
    assert info.value.field == "schedule[0].time_zone"


@pytest.mark.parametrize(
    ("schedule", "field", "fragment"),
    [
        (PipelineSchedule("rate(1 day)", time_zone="Europe/Berlin"), "schedule[0].time_zone", "cron expressions only"),
        (PipelineSchedule("cron(0 6 * * ? *)", time_zone="Mars/Olympus"), "schedule[0].time_zone", "IANA time zone"),
        (PipelineSchedule("cron(0 6 * * ? *)", parameters={"NoSuch": "x"}), "schedule[0].parameters", "has no parameter 'NoSuch'"),
        (PipelineSchedule("cron(0 6 * * ? *)", parameters={INPUT_PARAM: 3}), f"schedule[0].parameters['{INPUT_PARAM}']", "its value must be a str"),
        (PipelineSchedule("cron(0 6 * * ? *)", parameters={INPUT_PARAM: "data/"}), f"schedule[0].parameters['{INPUT_PARAM}']", "must be an s3:// URI"),
        (PipelineSchedule("cron(0 6 * * ? *)", parameters={INPUT_PARAM: "s3://elsewhere/data/"}), f"schedule[0].parameters['{INPUT_PARAM}']", "job role may not read this location"),
        (PipelineSchedule("cron(0 6 * * ? *)", name="has space"), "schedule[0].name", "A-Za-z0-9_-"),
        ([PipelineSchedule("rate(1 day)", name="a"), PipelineSchedule("rate(2 days)", name="a")], "schedule[1].name", "two schedule entries"),
        ("rate(1 day)", "schedule", "must be a PipelineSchedule"),
    ],
)  # fmt: skip
def test_bad_schedules_are_config_errors_naming_the_prop(schedule: Any, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        _pipeline(_stack(), schedule=schedule)
    assert info.value.field == field and fragment in str(info.value), str(info.value)


def test_schedule_values_inside_input_locations_or_defaults_are_accepted() -> None:
    """GIVEN values below a declared input location, below the parameter's default (the artifact bucket's
    token) and in an imported bucket known only by a token THEN the first two pass silently, the third
    with the unchecked warning."""
    stack = _stack()
    other = s3.Bucket.from_bucket_name(stack, "Other", cdk.Fn.import_value("other-bucket"))
    pipeline = _pipeline(
        stack,
        input_locations=["s3://landing-zone/customers/"],
        schedule=[
            PipelineSchedule("rate(1 day)", parameters={INPUT_PARAM: "s3://landing-zone/customers/2026/"}),
            PipelineSchedule("rate(7 days)", parameters={INPUT_PARAM: f"s3://{other.bucket_name}/x/"}),
        ],
    )
    warnings = _warnings(stack)
    assert len([w for w in warnings if SCHEDULE_PARAMETER_UNCHECKED_WARNING_ID in w]) == 1
    assert "schedule[1]" in next(w for w in warnings if SCHEDULE_PARAMETER_UNCHECKED_WARNING_ID in w)
    assert pipeline.schedules is not None and set(pipeline.schedules.schedules) == {"0", "1"}


def test_parameter_values_are_rendered_as_sagemaker_expects() -> None:
    from constructs_lib.constructs.operations import _render_value

    assert _render_value(PipelineParameter("N", "Integer", 1), 3, "p") == "3"
    assert _render_value(PipelineParameter("F", "Float", 0.1), 0.25, "p") == "0.25"
    assert _render_value(PipelineParameter("F", "Float", 0.1), 2, "p") == "2"
    assert _render_value(PipelineParameter("B", "Boolean", False), True, "p") == "true"
    for param, bad in [
        (PipelineParameter("N", "Integer", 1), True),
        (PipelineParameter("N", "Integer", 1), "3"),
        (PipelineParameter("F", "Float", 0.1), float("nan")),
        (PipelineParameter("B", "Boolean", False), "true"),
    ]:
        with pytest.raises(ConfigError, match=f"is a {param.type} parameter"):
            _render_value(param, bad, "schedule[0].parameters")
    with pytest.raises(ConfigError, match="at most 1024 characters"):
        _render_value(PipelineParameter("S", "String", ""), "x" * 1025, "p")


# ---------------------------------------------------------------------------------------- triggers
def test_trigger_rule_of_the_example(operations_example: Synth) -> None:
    ((_, rule),) = [
        (k, r) for k, r in operations_example.resources("AWS::Events::Rule").items() if "Triggers" in k
    ]
    props = rule["Properties"]
    landing = next(
        k for k in operations_example.resources("AWS::S3::Bucket") if k.startswith("LandingStorageArtifact")
    )
    assert props["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": landing}]},
            "object": {"key": [{"wildcard": "incoming/*_SUCCESS"}]},
        },
    }
    (target,) = props["Targets"]
    assert (
        operations_example.resolved(target["Arn"])
        == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{OPS_PIPELINE}"
    )
    assert target["SageMakerPipelineParameters"]["PipelineParameterList"] == [
        {"Name": "RawDataS3Uri", "Value": {"Fn::Join": ["", ["s3://", {"Ref": landing}, "/incoming/"]]}}
    ]
    role = operations_example.json["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # S3 -> EventBridge switched on with the CloudFormation property: no custom resource, no Lambda
    bucket = operations_example.json["Resources"][landing]["Properties"]
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert not operations_example.resources("Custom::S3BucketNotifications")
    assert not operations_example.resources("AWS::Lambda::Function")


def test_trigger_location_is_readable_by_the_job_role(operations_example: Synth) -> None:
    """The trigger's location joined the declared input locations (the access test evaluates the reads)."""
    _, role = operations_example.one("AWS::IAM::Role", "TrainingJobRole")
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    landing = next(
        k for k in operations_example.resources("AWS::S3::Bucket") if k.startswith("LandingStorageArtifact")
    )
    listing = [s for s in statements if s["Action"] == "s3:ListBucket" and landing in json.dumps(s)]
    assert [s["Condition"] for s in listing] == [{"StringLike": {"s3:prefix": ["incoming/*"]}}]
    reads = by_sid(statements)["ReadInputs"]["Resource"]
    assert {"Fn::Join": ["", [{"Fn::GetAtt": [landing, "Arn"]}, "/incoming/*"]]} in reads


@pytest.mark.parametrize(
    ("make", "field", "fragment"),
    [
        (lambda b: DataArrivalTrigger(bucket=b, parameter="RawDataS3Uri"), "trigger[0].parameter", "has no parameter 'RawDataS3Uri'"),
        (lambda b: DataArrivalTrigger(bucket=b, parameter=INPUT_PARAM, object_key_parameter=INPUT_PARAM), "trigger[0].object_key_parameter", "two different parameters"),
        (lambda b: DataArrivalTrigger(bucket=b, parameter=INPUT_PARAM, prefix="/landing/"), "trigger[0].prefix", "no leading '/'"),
        (lambda b: DataArrivalTrigger(bucket=b, parameter=INPUT_PARAM, suffix=""), "trigger[0].suffix", "non-empty key suffix"),
        (lambda b: DataArrivalTrigger(bucket="my-bucket", parameter=INPUT_PARAM), "trigger[0].bucket", "must be a CDK bucket"),  # type: ignore[arg-type]
    ],
)  # fmt: skip
def test_bad_triggers_are_config_errors_naming_the_prop(
    make: Callable[[s3.IBucket], DataArrivalTrigger], field: str, fragment: str
) -> None:
    stack = _stack()
    bucket = s3.Bucket(stack, "Landing")
    with pytest.raises(ConfigError) as info:
        _pipeline(stack, trigger=make(bucket))
    assert info.value.field == field and fragment in str(info.value), str(info.value)


def test_a_trigger_on_the_pipelines_own_outputs_is_refused() -> None:
    """GIVEN the artifact bucket (passed in) as the trigger bucket, with a prefix the pipeline writes below
    THEN every output would start another execution: a ConfigError."""
    stack = _stack()
    bucket = s3.Bucket(stack, "Shared")
    with pytest.raises(ConfigError, match="every output would start another execution") as info:
        _pipeline(
            stack, artifact_bucket=bucket, trigger=DataArrivalTrigger(bucket=bucket, parameter=INPUT_PARAM)
        )
    assert info.value.field == "trigger[0].prefix"
    ok = _stack()
    shared = s3.Bucket(ok, "Shared")
    _pipeline(
        ok,
        artifact_bucket=shared,
        trigger=DataArrivalTrigger(bucket=shared, parameter=INPUT_PARAM, prefix="landing/"),
    )


def test_an_imported_trigger_bucket_gets_the_instructions_warning() -> None:
    stack = _stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Lake", "data-lake-bucket")
    pipeline = _pipeline(
        stack, trigger=DataArrivalTrigger(bucket=bucket, parameter=INPUT_PARAM, prefix="raw/")
    )
    (warning,) = [w for w in _warnings(stack) if TRIGGER_BUCKET_NOTIFICATIONS_WARNING_ID in w]
    assert "data-lake-bucket" in warning and "EventBridgeConfiguration" in warning
    assert pipeline.triggers is not None
    assert cdk.Stack.of(pipeline).resolve(pipeline.triggers.rules["0"].event_pattern)["detail"] == {
        "bucket": {"name": ["data-lake-bucket"]},
        "object": {"key": [{"prefix": "raw/"}]},
    }


def test_a_bucket_with_cdk_notifications_gets_eventbridge_through_them() -> None:
    stack = _stack()
    bucket = s3.Bucket(stack, "Landing", event_bridge_enabled=False)
    bucket.enable_event_bridge_notification()  # CDK's notification custom resource manages this bucket
    _pipeline(stack, trigger=DataArrivalTrigger(bucket=bucket, parameter=INPUT_PARAM))
    template = cdk.assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "Custom::S3BucketNotifications", {"NotificationConfiguration": {"EventBridgeConfiguration": {}}}
    )
    resource = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"NotificationConfiguration": Match.any_value()}}
    )
    assert resource == {}


def test_cdk_notifications_added_after_the_trigger_fail_the_synth() -> None:
    stack = _stack()
    bucket = s3.Bucket(stack, "Landing")
    _pipeline(stack, trigger=DataArrivalTrigger(bucket=bucket, parameter=INPUT_PARAM))
    bucket.enable_event_bridge_notification()
    with pytest.raises(Exception, match="would switch them off again"):
        cdk.App.of(stack).synth()  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------ alerts
def test_alert_topic_is_encrypted_tls_only_and_eventbridge_may_publish(operations_example: Synth) -> None:
    topic_logical, topic = operations_example.one("AWS::SNS::Topic")
    key_logical, key = operations_example.one("AWS::KMS::Key", "TrainingAlerts")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_logical, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    events_in_key = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    assert [(sorted(s["Action"]), s.get("Condition")) for s in events_in_key] == [
        (["kms:Decrypt", "kms:GenerateDataKey*"], None)
    ]
    _, policy = operations_example.one("AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Action": "sns:Publish",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": "*",
        "Resource": {"Ref": topic_logical},
        "Sid": "AllowPublishThroughSSLOnly",
    } in statements
    assert [s["Principal"] for s in statements if s["Effect"] == "Allow"] == [
        {"Service": "events.amazonaws.com"}
    ]


def test_alert_rules_match_this_pipeline_and_name_execution_and_step(operations_example: Synth) -> None:
    rules = {
        k: r["Properties"]
        for k, r in operations_example.resources("AWS::Events::Rule").items()
        if "Alerts" in k
    }
    execution = next(r for k, r in rules.items() if "ExecutionStatus" in k)
    step = next(r for k, r in rules.items() if "StepFailed" in k)
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{OPS_PIPELINE}"
    pattern = operations_example.resolved(execution["EventPattern"])
    assert pattern == {
        "source": ["aws.sagemaker"],
        "detail-type": [EXECUTION_STATUS_EVENT],
        "detail": {
            "currentPipelineExecutionStatus": ["Failed", "Stopped"],
            "pipelineArn": [{"equals-ignore-case": arn}],
        },
    }
    assert operations_example.resolved(step["EventPattern"])["detail"] == {
        "currentStepStatus": ["Failed"],
        "pipelineArn": [{"equals-ignore-case": arn}],
    }
    assert operations_example.resolved(step["EventPattern"])["detail-type"] == [STEP_STATUS_EVENT]
    (target,) = execution["Targets"]
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {
        "detail-currentPipelineExecutionStatus": "$.detail.currentPipelineExecutionStatus",
        "detail-pipelineExecutionArn": "$.detail.pipelineExecutionArn",
        "detail-pipelineExecutionDisplayName": "$.detail.pipelineExecutionDisplayName",
    }
    assert json.loads(transformer["InputTemplate"]).startswith(
        f"SageMaker pipeline {OPS_PIPELINE}: execution <"
    )
    (step_target,) = step["Targets"]
    assert set(step_target["InputTransformer"]["InputPathsMap"].values()) == {
        "$.detail.stepName",
        "$.detail.stepType",
        "$.detail.pipelineExecutionArn",
        "$.detail.failureReason",
    }
    assert "RoleArn" not in target  # SNS targets use the topic's resource policy (EventBridge User Guide)


def test_alerts_to_your_topic_or_an_imported_one() -> None:
    stack = _stack()
    mine = sns.Topic(stack, "Mine")
    pipeline = _pipeline(
        stack, alerts=PipelineAlerts(topic=mine, execution_statuses=("Failed",), step_failures=False)
    )
    assert (
        pipeline.alerts_topic is mine
        and pipeline.alerts is not None
        and set(pipeline.alerts.rules) == {"ExecutionStatus"}
    )
    template = cdk.assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::SNS::Topic", 1)
    template.resource_count_is("AWS::KMS::Key", 0)
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "events.amazonaws.com"}})]
                )
            }
        },
    )
    other = _stack()
    imported = sns.Topic.from_topic_arn(other, "Ops", f"arn:aws:sns:{REGION}:{ACCOUNT}:ops-alerts")
    _pipeline(other, alerts=imported)
    (warning,) = [w for w in _warnings(other) if ALERTS_TOPIC_POLICY_WARNING_ID in w]
    assert "ops-alerts" in warning and "sns:Publish" in warning


@pytest.mark.parametrize(
    ("alerts", "field", "fragment"),
    [
        ("yes", "alerts", "must be True, an SNS topic or a PipelineAlerts"),
        (PipelineAlerts(execution_statuses=("Crashed",)), "alerts.execution_statuses", "unknown pipeline execution status"),
        (PipelineAlerts(execution_statuses=(), step_failures=False), "alerts", "would never alert"),
    ],
)  # fmt: skip
def test_bad_alerts_are_config_errors(alerts: Any, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        _pipeline(_stack(), alerts=alerts)
    assert info.value.field == field and fragment in str(info.value)


# -------------------------------------------------------------------------------------- provenance
def _tags(synth: Synth) -> dict[str, str]:
    _, pipe = synth.one("AWS::SageMaker::Pipeline")
    return {t["Key"]: t["Value"] for t in pipe["Properties"].get("Tags", [])}


def test_provenance_tags_are_the_library_version_config_and_code_digests(example: Synth) -> None:
    tags = _tags(example)
    assert list(PROVENANCE_TAG_KEYS) == [
        "constructs-lib:version",
        "constructs-lib:config-sha256",
        "constructs-lib:code-sha256",
    ]
    assert tags["constructs-lib:version"] == constructs_lib.__version__
    # the code digest, recomputed from the cloud assembly's own asset manifest
    expected = hashlib.sha256("\n".join(sorted(example.asset_hashes())).encode()).hexdigest()
    assert tags["constructs-lib:code-sha256"] == expected == code_sha256(example.asset_hashes())
    template = examples.seed_training_config()
    from constructs_lib import PipelineBuilderTemplate

    assert tags["constructs-lib:config-sha256"] == config_sha256(
        PipelineBuilderTemplate.single_step(template, region=REGION)
    )


def test_config_digest_follows_config_and_code_digest_follows_code(
    example: Synth, changed: Synth, code_changed: Synth
) -> None:
    """Other hyperparameters: another config digest, same code. Other code (in another directory): same
    config digest (local paths are not part of it), another code digest."""
    base, hyper, code = _tags(example), _tags(changed), _tags(code_changed)
    assert hyper["constructs-lib:config-sha256"] != base["constructs-lib:config-sha256"]
    assert code["constructs-lib:config-sha256"] == base["constructs-lib:config-sha256"]
    assert code["constructs-lib:code-sha256"] != base["constructs-lib:code-sha256"]


def test_user_tags_cannot_take_the_provenance_keys_or_their_room() -> None:
    with pytest.raises(ConfigError, match="provenance tags") as info:
        _pipeline(_stack(), tags={"constructs-lib:version": "9"})
    assert info.value.field == "tags"
    with pytest.raises(ConfigError, match="3 are the pipeline's provenance tags"):
        _pipeline(_stack(), tags={f"k{i}": "v" for i in range(48)})


def test_verify_prints_the_synthesized_provenance_tags(operations_example: Synth) -> None:
    """``verify`` reads the tags from the cloud assembly as the CLI does (assembly -> pipeline -> tags)."""
    source = select_pipeline(
        find_pipelines(read_assembly(operations_example.outdir)), OPS_PIPELINE, where="cdk.out"
    )
    tags = source.tags()
    assert tags == _tags(operations_example) and set(PROVENANCE_TAG_KEYS) <= set(tags)
    lines = provenance_lines(tags, tags)
    assert lines[2] == "  synthesized: " + " ".join(f"{k}={tags[k]}" for k in sorted(PROVENANCE_TAG_KEYS))
    assert not [line for line in lines if "differ" in line]
    changed = {**tags, "constructs-lib:config-sha256": "0" * 64}
    assert "provenance tags differ" in provenance_lines(changed, tags)[-1]
