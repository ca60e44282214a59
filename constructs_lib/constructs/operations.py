"""Operate a pipeline: schedules, data-arrival triggers, failure alerts and provenance tags.

The prop value types (:class:`PipelineSchedule`, :class:`DataArrivalTrigger`, :class:`PipelineAlerts`) are
checked for their form when the construct's props are validated (:func:`check_schedules`,
:func:`check_triggers`, :func:`check_alerts`), and against the built pipeline (its parameters, their
types, the locations the job role may read) when the construct adds them (:func:`add_operations`).

What AWS supports, and what each piece creates:

* **Schedules**: one ``AWS::Scheduler::Schedule`` per :class:`PipelineSchedule` (EventBridge Scheduler, the
  ``aws_scheduler`` L2 with the ``SageMakerStartPipelineExecution`` target), all running as one role
  trusted by ``scheduler.amazonaws.com`` (this account only) that may call
  ``sagemaker:StartPipelineExecution`` on this pipeline's ARN and nothing else.
* **Data-arrival triggers**: S3 sends ``Object Created`` events to EventBridge once the bucket has
  EventBridge notifications on; one ``AWS::Events::Rule`` per :class:`DataArrivalTrigger` matches the
  bucket and key prefix (and suffix) and starts the pipeline as a role trusted by
  ``events.amazonaws.com`` (this account only) with the same single permission. EventBridge passes
  pipeline parameters either as static values or as a JSON path that is the *whole* value
  (``$.detail.object.key``); it cannot concatenate, and input transformers do not reach
  ``SageMakerPipelineParameters`` (EventBridge User Guide, "Event bus targets": dynamic path parameters).
  So the input parameter gets the trigger's location ``s3://<bucket>/<prefix>`` (the execution reads
  everything below it), and an optional second String parameter gets the new object's key.
* **Failure alerts**: rules on SageMaker's "SageMaker Model Building Pipeline Execution Status Change" and
  "... Execution Step Status Change" events of this pipeline, each publishing a one-line message (input
  transformer: pipeline, status, execution ARN, failed step, reason) to an SNS topic: a created one
  (customer-managed KMS key with rotation, TLS-only topic policy) or yours.
* **Provenance**: tags ``constructs-lib:version``, ``constructs-lib:config-sha256`` and
  ``constructs-lib:code-sha256`` on the ``AWS::SageMaker::Pipeline`` (:func:`provenance_tags`), printed by
  ``python -m constructs_lib verify``.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import Annotations, Duration, RemovalPolicy, Stack, Tags, TimeZone, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IValidation

if TYPE_CHECKING:  # pragma: no cover - imported where used: a pipeline without schedules or alerts needs none
    from aws_cdk import aws_scheduler as scheduler
    from aws_cdk import aws_sns as sns

from constructs_lib import limits, placeholders
from constructs_lib.access import parse_s3_uri
from constructs_lib.config.base import check_s3_uri
from constructs_lib.definition import DEFINITION_PREFIX
from constructs_lib.errors import ConfigError
from constructs_lib.provenance import (
    PROVENANCE_TAG_KEYS,
    code_sha256,
    config_sha256,
    provenance_tags,
)
from constructs_lib.template import BuiltPipeline, PipelineParameter

__all__ = [
    "ALERTS_TOPIC_POLICY_WARNING_ID",
    "DEFAULT_ALERT_STATUSES",
    "EXECUTION_STATUS_EVENT",
    "OBJECT_KEY_PATH",
    "PROVENANCE_TAG_KEYS",
    "SCHEDULE_PARAMETER_UNCHECKED_WARNING_ID",
    "STEP_STATUS_EVENT",
    "TRIGGER_BUCKET_NOTIFICATIONS_WARNING_ID",
    "DataArrivalTrigger",
    "DataArrivalTriggers",
    "FailureAlerts",
    "Operations",
    "OperationsContext",
    "ParameterValue",
    "PipelineAlerts",
    "PipelineSchedule",
    "PipelineSchedules",
    "add_operations",
    "check_alerts",
    "check_expression",
    "check_schedules",
    "check_time_zone",
    "check_triggers",
    "code_sha256",
    "config_sha256",
    "provenance_tags",
    "schedule_time_zones",
    "tag_provenance",
]

#: A pipeline parameter value: ``str`` for String parameters, ``int`` for Integer, ``int``/``float`` for
#: Float, ``bool`` for Boolean parameters.
ParameterValue = str | int | float | bool

#: Id of the warning added when a schedule's S3 parameter value cannot be checked against the job role's
#: readable locations (a location's bucket name is only known at deploy time).
SCHEDULE_PARAMETER_UNCHECKED_WARNING_ID = "constructs_lib:schedule-parameter-unchecked"
#: Id of the warning added for a trigger on a bucket that is not created in this app: its EventBridge
#: notifications cannot be switched on by the construct.
TRIGGER_BUCKET_NOTIFICATIONS_WARNING_ID = "constructs_lib:trigger-bucket-notifications"
#: Id of the warning added when alerts go to a topic that is not created in this app: its topic (and key)
#: policy must let EventBridge publish.
ALERTS_TOPIC_POLICY_WARNING_ID = "constructs_lib:alerts-topic-policy"

#: The EventBridge detail types SageMaker sends for pipeline executions and their steps (SageMaker
#: Developer Guide, "Events that Amazon SageMaker AI sends to Amazon EventBridge").
EXECUTION_STATUS_EVENT = "SageMaker Model Building Pipeline Execution Status Change"
STEP_STATUS_EVENT = "SageMaker Model Building Pipeline Execution Step Status Change"
#: The JSON path of an S3 ``Object Created`` event's object key.
OBJECT_KEY_PATH = "$.detail.object.key"
#: Execution statuses that alert by default.
DEFAULT_ALERT_STATUSES: tuple[str, ...] = ("Failed", "Stopped")

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_RATE = re.compile(r"^rate\((?P<value>[^ ()]+) (?P<unit>[^ ()]+)\)$")
_RATE_UNITS = ("minute", "minutes", "hour", "hours", "day", "days")
_CRON = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
#: EventBridge Scheduler cron fields: (name, lowest, highest, extra characters allowed, names).
_CRON_FIELDS: tuple[tuple[str, int, int, str, tuple[str, ...]], ...] = (
    ("minutes", 0, 59, ",-*/", ()),
    ("hours", 0, 23, ",-*/", ()),
    ("day-of-month", 1, 31, ",-*?/LW", ()),
    ("month", 1, 12, ",-*/", tuple(_MONTHS)),
    ("day-of-week", 1, 7, ",-*?L#", tuple(_DAYS)),
    ("year", 1970, 2199, ",-*/", ()),
)
#: Names EventBridge Scheduler accepts for UTC besides the canonical zones of aws-cdk-lib's ``TimeZone``.
_UTC_ALIASES = {"UTC": "Etc/UTC", "Etc/UTC": "Etc/UTC"}


# ---------------------------------------------------------------------------------------------- values
@dataclass(frozen=True)
class PipelineSchedule:
    """Start the pipeline on a schedule (EventBridge Scheduler).

    Attributes:
        expression: ``rate(<positive integer> <minute|minutes|hour|hours|day|days>)`` or
            ``cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`` (six fields; one of
            day-of-month and day-of-week is ``?``), e.g. ``"cron(0 6 * * ? *)"`` for 06:00 every day.
            Required.
        time_zone: IANA time zone a ``cron`` expression is evaluated in, e.g. ``"Europe/Berlin"``
            (daylight-saving changes follow it). Default ``None``: ``Etc/UTC``. Not allowed with ``rate``
            (a rate does not depend on the clock).
        parameters: pipeline parameter values of the scheduled executions, by parameter name (each must
            be a parameter of the pipeline's definition, with a value of its type: ``str`` for String,
            ``int`` for Integer, ``int``/``float`` for Float, ``bool`` for Boolean; an S3 input parameter
            gets an ``s3://`` URI inside a location the job role may read). Default ``{}``: every
            parameter keeps its default.
        name: the schedule's construct id below the pipeline's ``Schedules``, 1-64 of ``A-Za-z0-9_-``,
            unique per pipeline. Default ``None``: its position in ``schedule`` (``"0"``, ``"1"``...).
        description: the schedule's description (at most 512 characters). Default ``None``: one naming
            the pipeline.
        enabled: create the schedule enabled. Default ``True``.
    """

    expression: str
    time_zone: str | None = None
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)
    name: str | None = None
    description: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class DataArrivalTrigger:
    """Start the pipeline when an object is created under a prefix of a bucket (S3 -> EventBridge).

    Every matching object starts one execution whose input parameter ``parameter`` is
    ``s3://<bucket>/<prefix>``: EventBridge cannot build the object's ``s3://`` URI (a parameter value is
    static or one whole JSON path of the event), so the execution reads the whole prefix; land data in a
    fresh prefix, or set ``suffix`` to a marker object (``"_SUCCESS"``) written last. The location becomes
    one of the construct's ``input_locations`` (the job role may list and read it).

    Attributes:
        bucket: the bucket. A bucket created in this app gets EventBridge notifications switched on
            (``NotificationConfiguration.EventBridgeConfiguration``, or CDK's notification resource when the
            bucket already uses it). An imported bucket is left as is and the warning
            ``constructs_lib:trigger-bucket-notifications`` says what to run on it. Required.
        parameter: the pipeline's S3 input parameter that receives ``s3://<bucket>/<prefix>``, e.g.
            ``"RawDataS3Uri"``. Required.
        prefix: key prefix of the objects that start the pipeline, e.g. ``"landing/"``. It must not overlap
            a prefix the pipeline writes to (each output would start another execution). Default ``""``:
            the whole bucket.
        suffix: only keys that also end with it start the pipeline, e.g. ``"_SUCCESS"`` or ``".csv"``.
            Default ``None``: any key under ``prefix``.
        object_key_parameter: a String parameter (not an S3 input) that receives the new object's key
            (``$.detail.object.key``). Default ``None``: the key is not passed.
        name: the rule's construct id below the pipeline's ``Triggers``, 1-64 of ``A-Za-z0-9_-``, unique
            per pipeline. Default ``None``: its position in ``trigger`` (``"0"``, ``"1"``...).
        enabled: create the rule enabled. Default ``True``.
    """

    bucket: s3.IBucket
    parameter: str
    prefix: str = ""
    suffix: str | None = None
    object_key_parameter: str | None = None
    name: str | None = None
    enabled: bool = True

    @property
    def location(self) -> str:
        """``s3://<bucket name>/<prefix>`` (the bucket name may be a CDK token)."""
        return f"s3://{self.bucket.bucket_name}/{self.prefix}"


@dataclass(frozen=True)
class PipelineAlerts:
    """Send failed (and stopped) executions and failed steps of the pipeline to an SNS topic.

    Attributes:
        topic: the topic. Default ``None``: a topic created below the pipeline's ``Alerts``, encrypted
            with a customer-managed KMS key (yearly rotation; its key policy lets EventBridge use it), with
            a TLS-only topic policy that lets EventBridge publish. Subscribe to ``alerts_topic``. A topic
            created elsewhere in this app gets the publish grant (and its key, if CDK knows it); an
            imported one gets the warning ``constructs_lib:alerts-topic-policy``.
        execution_statuses: execution statuses that alert, from SageMaker's ``PipelineExecutionStatus``
            (``Executing``, ``Stopping``, ``Stopped``, ``Failed``, ``Succeeded``,
            ``CompletedWithFailures``). Default ``("Failed", "Stopped")``; ``()`` for none.
        step_failures: also alert on every failed step, with its name, type and failure reason. Default
            ``True``.
    """

    topic: sns.ITopic | None = None
    execution_statuses: tuple[str, ...] = DEFAULT_ALERT_STATUSES
    step_failures: bool = True


# ------------------------------------------------------------------------------------ form checks
def schedule_time_zones() -> frozenset[str]:
    """The IANA time zones a schedule accepts: the canonical zones of aws-cdk-lib's ``TimeZone`` (the
    pinned CDK's list, the same on every machine) and ``UTC``."""
    return _time_zones()


@functools.cache
def _time_zones() -> frozenset[str]:
    names = {getattr(TimeZone, a).timezone_name for a in dir(TimeZone) if a.isupper()}
    return frozenset(names | set(_UTC_ALIASES))


def _one_or_many(value: object, kind: type, prop: str, example: str) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, kind):
        return (value,)
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise ConfigError(
            f"must be a {kind.__name__} or a list of them",
            field=prop,
            value=value if isinstance(value, str | int | float) else type(value).__name__,
            hint=f"e.g. {prop}={example}",
        )
    for i, item in enumerate(value):
        if not isinstance(item, kind):
            raise ConfigError(
                f"must be a {kind.__name__}",
                field=f"{prop}[{i}]",
                value=item if isinstance(item, str | int | float) else type(item).__name__,
                hint=f"e.g. {example}",
            )
    return tuple(value)


def _check_names(items: Sequence[Any], prop: str) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        name = item.name if item.name is not None else str(i)
        if item.name is not None and (not isinstance(item.name, str) or not _NAME.fullmatch(item.name)):
            raise ConfigError(
                "a name is 1-64 characters of A-Za-z0-9_-",
                field=f"{prop}[{i}].name",
                value=item.name,
                hint="it becomes a construct id; e.g. 'daily'",
            )
        if name in seen:
            raise ConfigError(
                f"two {prop} entries have the name {name!r} (entries {seen[name]} and {i})",
                field=f"{prop}[{i}].name",
                value=name,
                hint="give each entry a unique name",
            )
        seen[name] = i


def _check_bool(value: object, where: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError("must be True or False", field=where, value=value)


def check_expression(expression: object, *, where: str) -> str:
    """Check a schedule expression's form (``rate(...)`` or ``cron(...)``, see :class:`PipelineSchedule`)."""
    if not isinstance(expression, str):
        raise ConfigError("must be a string", field=where, value=expression)
    rate = _RATE.fullmatch(expression)
    if rate is not None:
        value, unit = rate.group("value"), rate.group("unit")
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(
                "a rate's value must be a positive integer",
                field=where,
                value=expression,
                hint="e.g. rate(1 day), rate(12 hours), rate(30 minutes)",
            )
        if unit not in _RATE_UNITS:
            raise ConfigError(
                f"unknown rate unit {unit!r}",
                field=where,
                value=expression,
                hint=f"one of {', '.join(_RATE_UNITS)}",
            )
        return expression
    cron = _CRON.fullmatch(expression)
    if cron is None:
        raise ConfigError(
            "not a schedule expression",
            field=where,
            value=expression,
            hint="rate(<n> <minute(s)|hour(s)|day(s)>) or cron(<minutes> <hours> <day-of-month> <month> "
            "<day-of-week> <year>), e.g. cron(0 6 * * ? *) for 06:00 every day",
        )
    fields = cron.group("fields").split()
    if len(fields) != len(_CRON_FIELDS):
        raise ConfigError(
            f"a cron expression has six fields, this one has {len(fields)}",
            field=where,
            value=expression,
            hint="minutes hours day-of-month month day-of-week year, e.g. cron(0 6 * * ? *)",
        )
    for text, spec in zip(fields, _CRON_FIELDS, strict=True):
        _check_cron_field(text, spec, expression, where)
    if (fields[2] == "?") == (fields[4] == "?"):
        raise ConfigError(
            "exactly one of day-of-month and day-of-week must be '?'",
            field=where,
            value=expression,
            hint="e.g. cron(0 6 * * ? *) (every day) or cron(0 6 ? * MON-FRI *) (weekdays)",
        )
    return expression


def _check_cron_field(
    text: str, spec: tuple[str, int, int, str, tuple[str, ...]], expression: str, where: str
) -> None:
    """One cron field: ``*``, ``?`` (day fields), or a comma list of values, ``a-b`` ranges and ``/n``
    increments; names (``JAN``, ``MON``), ``L``/``W`` (day fields) and ``n#k`` (day-of-week) where allowed."""
    name, low, high, extra, names = spec

    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"invalid cron {name} field {text!r}: {why}",
            field=where,
            value=expression,
            hint=f"{name}: {low}-{high}"
            + (f" or {names[0]}-{names[-1]}" if names else "")
            + f", with {' '.join(extra)}",
        )

    if text == "?":
        if "?" not in extra:
            raise bad("'?' is allowed in day-of-month and day-of-week only")
        return
    for item in text.upper().split(","):
        base, slash, step = item.partition("/")
        if slash and ("/" not in extra or not step.isdigit() or int(step) < 1):
            raise bad(f"{item!r} is not a valid increment")
        if base == "*":
            continue
        if "#" in base:
            value, _, nth = base.partition("#")
            if "#" not in extra or not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise bad(f"{item!r}: '#' takes a day-of-week and 1-5")
            parts = [value]
        else:
            parts = base.split("-")
            if len(parts) > 2 or ("-" in base and "-" not in extra):
                raise bad(f"{item!r} is not a value or a range")
        for part in parts:
            value = part
            if "L" in extra and value in ("L", "LW"):
                continue
            if value.endswith(("L", "W")) and value[-1] in extra:
                value = value[:-1]
            if value in names:
                continue
            if not value.isdigit():
                raise bad(f"{part!r} is not a number" + (" or a name" if names else ""))
            if not low <= int(value) <= high:
                raise bad(f"{value} is out of range")


def check_time_zone(value: object, *, where: str) -> str:
    """An IANA time zone of :func:`schedule_time_zones`; returns its canonical name (``UTC`` ->
    ``Etc/UTC``). Raises :class:`ConfigError` naming the closest zones."""
    zones = _time_zones()
    if not isinstance(value, str) or value not in zones:
        close = difflib.get_close_matches(str(value), sorted(zones), n=3, cutoff=0.6)
        raise ConfigError(
            "not an IANA time zone EventBridge Scheduler knows",
            field=where,
            value=value,
            hint=(f"did you mean {', '.join(close)}? " if close else "")
            + "e.g. 'Europe/Berlin', 'America/New_York', 'Etc/UTC'",
        )
    return _UTC_ALIASES.get(value, value)


def check_schedules(value: object) -> tuple[PipelineSchedule, ...]:
    """The ``schedule`` prop as a tuple, each entry's form checked (expression, time zone, parameter
    names and value types, name, description)."""
    items = _one_or_many(value, PipelineSchedule, "schedule", 'PipelineSchedule("cron(0 6 * * ? *)")')
    _check_names(items, "schedule")
    checked = []
    for i, item in enumerate(items):
        where = f"schedule[{i}]"
        expression = check_expression(item.expression, where=f"{where}.expression")
        time_zone = item.time_zone
        if time_zone is not None:
            if expression.startswith("rate("):
                raise ConfigError(
                    "a time zone applies to cron expressions only; a rate runs at the same interval in "
                    "every time zone",
                    field=f"{where}.time_zone",
                    value=time_zone,
                    hint="drop time_zone, or use a cron expression",
                )
            time_zone = check_time_zone(time_zone, where=f"{where}.time_zone")
        _check_parameter_values(item.parameters, f"{where}.parameters")
        if item.description is not None and (
            not isinstance(item.description, str) or len(item.description) > 512
        ):
            raise ConfigError(
                "a schedule description is a string of at most 512 characters",
                field=f"{where}.description",
                value=item.description,
            )
        _check_bool(item.enabled, f"{where}.enabled")
        checked.append(
            PipelineSchedule(
                expression=expression,
                time_zone=time_zone,
                parameters=dict(sorted(item.parameters.items())),
                name=item.name,
                description=item.description,
                enabled=item.enabled,
            )
        )
    return tuple(checked)


def _check_parameter_values(parameters: object, where: str) -> None:
    if not isinstance(parameters, Mapping):
        raise ConfigError(
            "must be a mapping of pipeline parameter names to values",
            field=where,
            value=type(parameters).__name__,
            hint='e.g. {"RawDataS3Uri": "s3://landing/customers/"}',
        )
    name_shape = limits.shape("PipelineParameterName")
    for name, value in parameters.items():
        if not isinstance(name, str) or not 1 <= len(name) <= (name_shape.max or 256):
            raise ConfigError("a parameter name is a non-empty string", field=where, value=name)
        if not isinstance(value, str | int | float | bool):
            raise ConfigError(
                "a parameter value is a str, int, float or bool",
                field=f"{where}[{name!r}]",
                value=type(value).__name__,
            )


def check_triggers(value: object) -> tuple[DataArrivalTrigger, ...]:
    """The ``trigger`` prop as a tuple, each entry's form checked (bucket, parameter names, prefix,
    suffix, name)."""
    items = _one_or_many(
        value, DataArrivalTrigger, "trigger", 'DataArrivalTrigger(bucket=landing, parameter="RawDataS3Uri")'
    )
    _check_names(items, "trigger")
    for i, item in enumerate(items):
        where = f"trigger[{i}]"
        if not all(hasattr(item.bucket, a) for a in ("bucket_name", "bucket_arn")):
            raise ConfigError(
                "must be a CDK bucket",
                field=f"{where}.bucket",
                value=type(item.bucket).__name__,
                hint="an s3.Bucket of this app, or s3.Bucket.from_bucket_name(...)",
            )
        for attr in ("parameter", "object_key_parameter"):
            name = getattr(item, attr)
            if (attr == "parameter" or name is not None) and (not isinstance(name, str) or not name):
                raise ConfigError("must be a pipeline parameter name", field=f"{where}.{attr}", value=name)
        if item.object_key_parameter is not None and item.object_key_parameter == item.parameter:
            raise ConfigError(
                "parameter and object_key_parameter must be two different parameters",
                field=f"{where}.object_key_parameter",
                value=item.object_key_parameter,
            )
        if (
            not isinstance(item.prefix, str)
            or item.prefix.startswith("/")
            or Token.is_unresolved(item.prefix)
        ):
            raise ConfigError(
                "a key prefix (a plain string, no leading '/')",
                field=f"{where}.prefix",
                value=item.prefix,
                hint="e.g. 'landing/customers/'",
            )
        if item.suffix is not None and (
            not isinstance(item.suffix, str) or not item.suffix or Token.is_unresolved(item.suffix)
        ):
            raise ConfigError(
                "a non-empty key suffix (a plain string)",
                field=f"{where}.suffix",
                value=item.suffix,
                hint="e.g. '_SUCCESS' or '.csv'",
            )
        _check_bool(item.enabled, f"{where}.enabled")
    return items


def check_alerts(value: object) -> PipelineAlerts | None:
    """The ``alerts`` prop as a :class:`PipelineAlerts` (``True``: a created topic; an ``sns.ITopic``: that
    topic; ``None``/``False``: no alerts)."""
    if value is None or value is False:
        return None
    if value is True:
        return PipelineAlerts()
    if not isinstance(value, PipelineAlerts):
        if all(hasattr(value, a) for a in ("topic_arn", "grant_publish")):
            return PipelineAlerts(topic=value)  # type: ignore[arg-type]
        raise ConfigError(
            "must be True, an SNS topic or a PipelineAlerts",
            field="alerts",
            value=value if isinstance(value, str | int | float) else type(value).__name__,
            hint="alerts=True creates an encrypted topic; alerts=my_topic uses yours",
        )
    if value.topic is not None and not all(hasattr(value.topic, a) for a in ("topic_arn", "grant_publish")):
        raise ConfigError(
            "must be an SNS topic",
            field="alerts.topic",
            value=type(value.topic).__name__,
            hint="sns.Topic(...) or sns.Topic.from_topic_arn(...)",
        )
    statuses = value.execution_statuses
    allowed = limits.shape("PipelineExecutionStatus").enum
    if isinstance(statuses, str) or not isinstance(statuses, Sequence):
        raise ConfigError(
            "must be a list of pipeline execution statuses",
            field="alerts.execution_statuses",
            value=statuses,
            hint=f"from {', '.join(allowed)}",
        )
    for status in statuses:
        if status not in allowed:
            raise ConfigError(
                "unknown pipeline execution status",
                field="alerts.execution_statuses",
                value=status,
                hint=f"one of {', '.join(allowed)}",
            )
    _check_bool(value.step_failures, "alerts.step_failures")
    if not statuses and not value.step_failures:
        raise ConfigError(
            "alerts with no execution status and no step failures would never alert",
            field="alerts",
            hint="keep the defaults, or pass alerts=None",
        )
    return PipelineAlerts(
        topic=value.topic,
        execution_statuses=tuple(sorted(set(statuses), key=list(allowed).index)),
        step_failures=value.step_failures,
    )


# ---------------------------------------------------------------------- checks against the build
@dataclass(frozen=True)
class OperationsContext:
    """What the operations need from the pipeline construct.

    Attributes:
        pipeline: the pipeline (``IPipeline``: its ARN, name and start grant).
        pipeline_name: the SageMaker pipeline name.
        built: the built pipeline (its parameters and access needs, placeholders not substituted).
        artifact_bucket: the artifact bucket.
        input_locations: the declared input locations (triggers' included), as ``(bucket name, prefix)``.
    """

    pipeline: sagemaker.IPipeline
    pipeline_name: str
    built: BuiltPipeline
    artifact_bucket: s3.IBucket
    input_locations: tuple[tuple[str, str], ...]

    @property
    def parameters(self) -> dict[str, PipelineParameter]:
        return {p.name: p for p in self.built.parameters}

    @property
    def s3_parameters(self) -> list[str]:
        """Parameters whose value is an S3 input location of a step."""
        return sorted({p for access in self.built.access.values() for p in access.parameters})

    def bucket_name(self, name: str) -> str:
        """A bucket name of the built definition (the artifact placeholder mapped to the real bucket)."""
        return self.artifact_bucket.bucket_name if name == placeholders.ARTIFACT_BUCKET else name

    def readable(self) -> list[tuple[str, str]]:
        """``(bucket name, key prefix)`` the job role may list and read below: the S3 parameters' defaults,
        the declared input locations and the pipeline's own outputs."""
        found: list[tuple[str, str]] = []
        params = self.parameters
        for name in self.s3_parameters:
            default = params[name].default if name in params else None
            if isinstance(default, str) and default.startswith("s3://"):
                loc = parse_s3_uri(default)
                found.append((self.bucket_name(loc.bucket), loc.key))
        found.extend(self.input_locations)
        for access in self.built.access.values():
            for uri in access.writes:
                loc = parse_s3_uri(uri)
                found.append((self.bucket_name(loc.bucket), loc.key))
        return found

    def writes(self) -> list[tuple[str, str]]:
        """``(bucket name, key prefix)`` the pipeline writes below (definitions stored in S3 included)."""
        found = [(self.artifact_bucket.bucket_name, f"{DEFINITION_PREFIX}/")]
        for access in self.built.access.values():
            for uri in access.writes:
                loc = parse_s3_uri(uri)
                found.append((self.bucket_name(loc.bucket), loc.key))
        return found


def _parameter(ctx: OperationsContext, name: str, where: str) -> PipelineParameter:
    params = ctx.parameters
    if name not in params:
        raise ConfigError(
            f"pipeline {ctx.pipeline_name!r} has no parameter {name!r}",
            field=where,
            value=name,
            hint=f"its parameters: {', '.join(sorted(params)) or 'none'}",
        )
    return params[name]


def _render_value(param: PipelineParameter, value: ParameterValue, where: str) -> str:
    """The string StartPipelineExecution sends for ``value`` of ``param``'s type; ConfigError otherwise."""
    kind = param.type
    if kind == "String" and isinstance(value, str):
        text = value
    elif kind == "Integer" and isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif (
        kind == "Float"
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ):
        text = repr(float(value)) if isinstance(value, float) else str(value)
    elif kind == "Boolean" and isinstance(value, bool):
        text = "true" if value else "false"
    else:
        python = {"String": "str", "Integer": "int", "Float": "int or float", "Boolean": "bool"}.get(
            kind, kind
        )
        raise ConfigError(
            f"parameter {param.name!r} is a {kind} parameter; its value must be a {python}",
            field=where,
            value=value,
            hint=f"its default is {param.default!r}",
        )
    max_len = limits.shape("String1024").max or 1024
    if not Token.is_unresolved(text) and len(text) > max_len:
        raise ConfigError(
            f"a parameter value is at most {max_len} characters (SageMaker's limit)", field=where, value=text
        )
    return text


def _bucket_identity(scope: Construct, name: str) -> str | None:
    """A bucket name as text that is equal for the same bucket: the literal name; ``ref:<logical id>`` for a
    bucket of this stack whose name CloudFormation generates (it can equal no literal); ``None`` when it is
    known only at deploy time (an imported value, another stack's bucket)."""
    if not Token.is_unresolved(name):
        return name
    stack = Stack.of(scope)
    resolved = stack.resolve(name)
    if isinstance(resolved, str) and not Token.is_unresolved(resolved):
        return resolved
    if isinstance(resolved, Mapping) and set(resolved) == {"Ref"}:
        for child in stack.node.find_all():
            if isinstance(child, s3.CfnBucket) and stack.resolve(child.logical_id) == resolved["Ref"]:
                literal = stack.resolve(child.bucket_name)
                if literal is None:
                    return f"ref:{resolved['Ref']}"
                return literal if isinstance(literal, str) and not Token.is_unresolved(literal) else None
    return None


def _is_below(scope: Construct, bucket: str, key: str, locations: Sequence[tuple[str, str]]) -> bool | None:
    """True when ``s3://bucket/key`` is below one of ``locations``; ``None`` when that cannot be decided at
    synth (a bucket known only at deploy time); False otherwise."""
    target = _bucket_identity(scope, bucket)
    undecided = target is None
    for loc_bucket, prefix in locations:
        identity = _bucket_identity(scope, loc_bucket)
        if identity is None or Token.is_unresolved(prefix):
            undecided = True
        elif target is not None and identity == target and key.startswith(prefix):
            return True
    return None if undecided else False


def _check_s3_value(ctx: OperationsContext, scope: Construct, name: str, value: str, where: str) -> None:
    """An S3 input parameter's scheduled value: an ``s3://`` URI the job role may read.

    A value outside every readable location is an error, not a warning: every scheduled execution would
    fail at its first job with AccessDenied, and nothing else would tell the user before it ran. A value
    that cannot be decided at synth (bucket names known only at deploy time) gets a warning."""
    if not value.startswith("s3://"):
        raise ConfigError(
            f"parameter {name!r} is an S3 input of the pipeline; its value must be an s3:// URI",
            field=where,
            value=value,
            hint="e.g. s3://my-bucket/landing/",
        )
    if not Token.is_unresolved(value):
        check_s3_uri(value, field=where)
    loc = parse_s3_uri(value)
    below = None if Token.is_unresolved(loc.key) else _is_below(scope, loc.bucket, loc.key, ctx.readable())
    if below is False:
        raise ConfigError(
            f"parameter {name!r} is an S3 input of the pipeline, and the job role may not read this "
            "location: every scheduled execution would be denied when its first job starts",
            field=where,
            value=value,
            hint="add the location to the construct's input_locations (a bucket, an s3:// URI or an "
            "InputLocation), or use a location below the parameter's default",
        )
    if below is None:
        Annotations.of(scope).add_warning_v2(
            SCHEDULE_PARAMETER_UNCHECKED_WARNING_ID,
            f"{where}: {value} could not be checked against the job role's readable locations (a bucket "
            "name is known only at deploy time); make sure it is inside input_locations",
        )


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


# ------------------------------------------------------------------------------------ constructs
@jsii.implements(IValidation)
class _EventBridgeNotificationsKept:
    """Synth-time check: a bucket whose EventBridge notifications were switched on with the CloudFormation
    property must not have gained CDK-managed notifications since (CDK's notification resource replaces
    the bucket's whole notification configuration, EventBridge's included)."""

    def __init__(self, bucket: s3.Bucket, where: str) -> None:
        self.bucket = bucket
        self.where = where

    def validate(self) -> list[str]:
        if self.bucket.node.try_find_child("Notifications") is None:
            return []
        return [
            f"{self.where}: bucket {self.bucket.node.path} got CDK event notifications after the data-arrival "
            "trigger switched its EventBridge notifications on; CDK's notification resource would switch them "
            "off again. Call bucket.enable_event_bridge_notification() (or create the bucket with "
            "event_bridge_enabled=True) before creating the pipeline."
        ]


def _enable_event_bridge(scope: Construct, bucket: s3.IBucket, where: str) -> None:
    """Switch on S3 -> EventBridge notifications for a bucket of this app; warn for an imported one."""
    if isinstance(bucket, s3.Bucket):
        if bucket.node.try_find_child("Notifications") is not None:
            # CDK already manages this bucket's notifications: add EventBridge to them.
            bucket.enable_event_bridge_notification()
            return
        resource = bucket.node.default_child
        if isinstance(resource, s3.CfnBucket):
            # The CloudFormation property (no Lambda-backed custom resource): EventBridge needs no destination
            # permission, so there is no circular dependency to work around.
            resource.add_property_override(
                "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
            )
            scope.node.add_validation(_EventBridgeNotificationsKept(bucket, where))
            return
    Annotations.of(scope).add_warning_v2(
        TRIGGER_BUCKET_NOTIFICATIONS_WARNING_ID,
        f"{where}: bucket {bucket.bucket_name} is not created in this app, so the construct cannot switch on "
        "its EventBridge notifications; until they are on, no Object Created event reaches the trigger. Run "
        "`aws s3api put-bucket-notification-configuration --bucket <bucket> --notification-configuration "
        "'{\"EventBridgeConfiguration\": {}}'` (it replaces the bucket's notification configuration: merge it "
        "with the existing one from get-bucket-notification-configuration), or enable it in the stack that "
        "owns the bucket.",
    )


def _service_role(scope: Construct, construct_id: str, service: str, description: str) -> iam.Role:
    account = Stack.of(scope).account
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(service, conditions={"StringEquals": {"aws:SourceAccount": account}}),
        description=description,
    )


class PipelineSchedules(Construct):
    """The pipeline's EventBridge Scheduler schedules and the role they run as (see
    :class:`PipelineSchedule`).

    Attributes:
        role: trusted by ``scheduler.amazonaws.com`` of this account; may call
            ``sagemaker:StartPipelineExecution`` on the pipeline only.
        schedules: the ``aws_scheduler.Schedule`` of each entry, by name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ctx: OperationsContext,
        schedules: Sequence[PipelineSchedule],
    ) -> None:
        from aws_cdk import aws_scheduler as scheduler
        from aws_cdk import aws_scheduler_targets as scheduler_targets

        super().__init__(scope, construct_id)
        self.role = _service_role(
            self,
            "Role",
            "scheduler.amazonaws.com",
            f"EventBridge Scheduler starts SageMaker pipeline {ctx.pipeline_name} as this role",
        )
        s3_parameters = set(ctx.s3_parameters)
        self.schedules: dict[str, scheduler.Schedule] = {}
        for index, item in enumerate(schedules):
            name = item.name if item.name is not None else str(index)
            where = f"schedule[{index}]"
            values = []
            for param_name, value in item.parameters.items():
                param = _parameter(ctx, param_name, f"{where}.parameters")
                text = _render_value(param, value, f"{where}.parameters[{param_name!r}]")
                if param_name in s3_parameters:
                    _check_s3_value(ctx, self, param_name, text, f"{where}.parameters[{param_name!r}]")
                values.append(scheduler_targets.SageMakerPipelineParameter(name=param_name, value=text))
            expression = (
                scheduler.ScheduleExpression.expression(item.expression)
                if item.expression.startswith("rate(")
                else scheduler.ScheduleExpression.expression(
                    item.expression, TimeZone.of(item.time_zone or "Etc/UTC")
                )
            )
            self.schedules[name] = scheduler.Schedule(
                self,
                name,
                schedule=expression,
                target=scheduler_targets.SageMakerStartPipelineExecution(
                    ctx.pipeline, role=self.role, pipeline_parameter_list=values or None
                ),
                description=item.description or f"Starts SageMaker pipeline {ctx.pipeline_name}",
                enabled=item.enabled,
            )


class DataArrivalTriggers(Construct):
    """The pipeline's data-arrival rules and the role EventBridge starts the pipeline as (see
    :class:`DataArrivalTrigger`).

    Attributes:
        role: trusted by ``events.amazonaws.com`` of this account; may call
            ``sagemaker:StartPipelineExecution`` on the pipeline only.
        rules: the ``AWS::Events::Rule`` of each entry, by name (L1: the L2 ``Rule`` has no SageMaker
            pipeline target with parameters).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ctx: OperationsContext,
        triggers: Sequence[DataArrivalTrigger],
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = _service_role(
            self,
            "Role",
            "events.amazonaws.com",
            f"EventBridge starts SageMaker pipeline {ctx.pipeline_name} as this role when data arrives",
        )
        ctx.pipeline.grant_start_pipeline_execution(self.role)
        s3_parameters = ctx.s3_parameters
        self.rules: dict[str, events.CfnRule] = {}
        for index, item in enumerate(triggers):
            name = item.name if item.name is not None else str(index)
            where = f"trigger[{index}]"
            param = _parameter(ctx, item.parameter, f"{where}.parameter")
            if item.parameter not in s3_parameters:
                raise ConfigError(
                    f"parameter {item.parameter!r} is not an S3 input of the pipeline",
                    field=f"{where}.parameter",
                    value=item.parameter,
                    hint=f"its S3 input parameters: {', '.join(s3_parameters) or 'none'}",
                )
            parameters = [
                events.CfnRule.SageMakerPipelineParameterProperty(name=param.name, value=item.location)
            ]
            if item.object_key_parameter is not None:
                key_param = _parameter(ctx, item.object_key_parameter, f"{where}.object_key_parameter")
                if key_param.type != "String" or key_param.name in s3_parameters:
                    raise ConfigError(
                        "the object key goes to a String parameter that is not an S3 input",
                        field=f"{where}.object_key_parameter",
                        value=item.object_key_parameter,
                        hint=f"{key_param.name!r} is a {key_param.type}"
                        + (" S3 input parameter" if key_param.name in s3_parameters else " parameter"),
                    )
                parameters.append(
                    events.CfnRule.SageMakerPipelineParameterProperty(
                        name=key_param.name, value=OBJECT_KEY_PATH
                    )
                )
            self._check_no_loop(ctx, item, where)
            _enable_event_bridge(self, item.bucket, where)
            key_filter: list[Any] = []
            if item.suffix is not None:
                key_filter = [{"wildcard": _wildcard(item.prefix) + "*" + _wildcard(item.suffix)}]
            elif item.prefix:
                key_filter = [{"prefix": item.prefix}]
            detail: dict[str, Any] = {"bucket": {"name": [item.bucket.bucket_name]}}
            if key_filter:
                detail["object"] = {"key": key_filter}
            self.rules[name] = events.CfnRule(
                self,
                name,
                description=f"Starts SageMaker pipeline {ctx.pipeline_name} when an object is created "
                f"under {item.prefix or '/'} of the trigger bucket",
                state="ENABLED" if item.enabled else "DISABLED",
                event_pattern={"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail},
                targets=[
                    events.CfnRule.TargetProperty(
                        id="Pipeline",
                        arn=ctx.pipeline.pipeline_arn,
                        role_arn=self.role.role_arn,
                        sage_maker_pipeline_parameters=events.CfnRule.SageMakerPipelineParametersProperty(
                            pipeline_parameter_list=parameters
                        ),
                    )
                ],
            )

    @staticmethod
    def _check_no_loop(ctx: OperationsContext, item: DataArrivalTrigger, where: str) -> None:
        bucket = item.bucket.bucket_name
        same_artifact = item.bucket is ctx.artifact_bucket or bucket == ctx.artifact_bucket.bucket_name
        for write_bucket, prefix in ctx.writes():
            same = (
                same_artifact
                if write_bucket == ctx.artifact_bucket.bucket_name
                else not Token.is_unresolved(bucket) and write_bucket == bucket
            )
            if same and _overlaps(item.prefix, prefix):
                raise ConfigError(
                    f"the pipeline writes below {prefix!r} of this bucket: every output would start another "
                    "execution",
                    field=f"{where}.prefix",
                    value=item.prefix,
                    hint="trigger on a prefix the pipeline never writes to, e.g. 'landing/'",
                )


def _wildcard(text: str) -> str:
    """``text`` as a literal inside an EventBridge wildcard pattern (``*`` and ``\\`` escaped)."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


class FailureAlerts(Construct):
    """Failed (and stopped) executions and failed steps of the pipeline, as messages on an SNS topic (see
    :class:`PipelineAlerts`).

    Attributes:
        topic: the topic the alerts go to.
        key: the created topic's KMS key (``None`` for a topic passed in).
        rules: the ``events.Rule`` per kind (``"ExecutionStatus"``, ``"StepFailed"``).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, ctx: OperationsContext, alerts: PipelineAlerts
    ) -> None:
        from aws_cdk import aws_events_targets as events_targets
        from aws_cdk import aws_sns as sns

        super().__init__(scope, construct_id)
        name = ctx.pipeline_name
        self.key: kms.Key | None = None
        topic = alerts.topic
        if topic is None:
            # The key encrypts messages in flight only (SNS keeps no message after delivery): it goes with
            # the stack, after KMS's shortest waiting period.
            self.key = kms.Key(
                self,
                "Key",
                description=f"Encrypts the failure alerts of SageMaker pipeline {name}",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.DESTROY,
                pending_window=Duration.days(7),
            )
            topic = sns.Topic(
                self,
                "Topic",
                display_name=f"SageMaker pipeline {name} alerts"[:100],
                master_key=self.key,
                enforce_ssl=True,
            )
        elif not isinstance(topic, sns.Topic):
            Annotations.of(self).add_warning_v2(
                ALERTS_TOPIC_POLICY_WARNING_ID,
                f"alerts go to {topic.topic_arn}, a topic not created in this app: its topic policy must allow "
                "events.amazonaws.com to sns:Publish to it, and a KMS key that encrypts it must allow "
                "events.amazonaws.com kms:Decrypt and kms:GenerateDataKey (AWS documents both without conditions; "
                "aws:SourceArn/aws:SourceAccount are not supported in the key policy for EventBridge), or no "
                "alert is delivered.",
            )
        self.topic: sns.ITopic = topic
        arn = events.Match.equals_ignore_case(ctx.pipeline.pipeline_arn)
        self.rules: dict[str, events.Rule] = {}
        if alerts.execution_statuses:
            message = events.RuleTargetInput.from_text(
                f"SageMaker pipeline {name}: execution "
                f"{events.EventField.from_path('$.detail.currentPipelineExecutionStatus')} "
                f"({events.EventField.from_path('$.detail.pipelineExecutionArn')}, "
                f"display name {events.EventField.from_path('$.detail.pipelineExecutionDisplayName')})."
            )
            self.rules["ExecutionStatus"] = events.Rule(
                self,
                "ExecutionStatus",
                description=f"Alerts on {'/'.join(alerts.execution_statuses)} executions of SageMaker "
                f"pipeline {name}",
                event_pattern=events.EventPattern(
                    source=["aws.sagemaker"],
                    detail_type=[EXECUTION_STATUS_EVENT],
                    detail={
                        "currentPipelineExecutionStatus": list(alerts.execution_statuses),
                        "pipelineArn": arn,
                    },
                ),
                targets=[events_targets.SnsTopic(topic, message=message)],
            )
        if alerts.step_failures:
            message = events.RuleTargetInput.from_text(
                f"SageMaker pipeline {name}: step {events.EventField.from_path('$.detail.stepName')} "
                f"({events.EventField.from_path('$.detail.stepType')}) failed in execution "
                f"{events.EventField.from_path('$.detail.pipelineExecutionArn')}: "
                f"{events.EventField.from_path('$.detail.failureReason')}"
            )
            self.rules["StepFailed"] = events.Rule(
                self,
                "StepFailed",
                description=f"Alerts on failed steps of SageMaker pipeline {name}",
                event_pattern=events.EventPattern(
                    source=["aws.sagemaker"],
                    detail_type=[STEP_STATUS_EVENT],
                    detail={"currentStepStatus": ["Failed"], "pipelineArn": arn},
                ),
                targets=[events_targets.SnsTopic(topic, message=message)],
            )


@dataclass(frozen=True)
class Operations:
    """What :func:`add_operations` created (each ``None`` when its prop was not given)."""

    schedules: PipelineSchedules | None
    triggers: DataArrivalTriggers | None
    alerts: FailureAlerts | None


def add_operations(
    scope: Construct,
    ctx: OperationsContext,
    *,
    schedules: Sequence[PipelineSchedule],
    triggers: Sequence[DataArrivalTrigger],
    alerts: PipelineAlerts | None,
) -> Operations:
    """Create, below ``scope``, the ``Schedules``, ``Triggers`` and ``Alerts`` constructs the props ask for,
    each checked against the built pipeline (:class:`ConfigError` naming the prop)."""
    return Operations(
        schedules=PipelineSchedules(scope, "Schedules", ctx=ctx, schedules=schedules) if schedules else None,
        triggers=DataArrivalTriggers(scope, "Triggers", ctx=ctx, triggers=triggers) if triggers else None,
        alerts=FailureAlerts(scope, "Alerts", ctx=ctx, alerts=alerts) if alerts is not None else None,
    )


def tag_provenance(resource: Construct, tags: Mapping[str, str]) -> None:
    """Put ``tags`` on ``resource`` with a priority above ordinary tags (a stack-wide tag of the same key
    cannot overwrite provenance)."""
    for key, value in tags.items():
        Tags.of(resource).add(key, value, priority=1000)
