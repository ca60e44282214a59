"""What the model, evaluation and registration steps share: the model they serve is the training step's
``model.tar.gz`` as it is (its ``code/`` holds the handler the training step packed, see
:mod:`constructs_lib.inference_code`), so they check what their producer packed, take its framework
version by default, and look up SageMaker's PyTorch image for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from constructs_lib.builders.base import InputValue, Upstream
from constructs_lib.config.base import check_framework_pair
from constructs_lib.context import BuildContext
from constructs_lib.errors import ConfigError

__all__ = [
    "CONTAINER_LOG_LEVEL",
    "MODEL_INPUT",
    "framework_from",
    "handler_environment",
    "model_data_parameter",
    "pytorch_image_uri",
    "require_packed_handler",
]

#: The dependency every model consumer has: the training step's ``model.tar.gz``.
MODEL_INPUT = "model_data"
#: ``SAGEMAKER_CONTAINER_LOG_LEVEL`` of the serving container: ``logging.INFO``, as the SDK sets it.
CONTAINER_LOG_LEVEL = "20"


def model_data_parameter(step: str, model_data: str | None, context: BuildContext) -> InputValue:
    """The ``<step>ModelData`` String parameter an unwired ``model_data`` becomes; default ``model_data``,
    else ``<root>/<pipeline>/<step>/input/model.tar.gz``."""
    from constructs_lib.sdk_adapter import sdk

    with sdk():
        from sagemaker.workflow.parameters import ParameterString

    return ParameterString(
        name=f"{step}ModelData",
        default_value=model_data or context.default_location(step, "input/model.tar.gz"),
    )


def require_packed_handler(
    step: str, upstream: Mapping[str, Upstream], *, entry_point: str, field: str = "entry_point"
) -> None:
    """:class:`ConfigError` unless the step feeding ``model_data`` packs the handler ``entry_point`` into
    its ``model.tar.gz`` (no check when ``model_data`` is an explicit value: then it is the user's word)."""
    source = upstream.get(MODEL_INPUT)
    if source is None:
        return
    packed = source.facts.get("inference_entry_point")
    if not isinstance(packed, str) or not packed:
        raise ConfigError(
            f"its model_data comes from step {source.producer!r} ({source.producer_type}), which packs no "
            "inference code into model.tar.gz, so SageMaker's serving container would find no handler in "
            "code/",
            step=step,
            field="inputs.model_data",
            value=source.producer,
            hint=f"set inference_source_dir (and inference_entry_point) on the training config of step "
            f"{source.producer!r}, or train with the reference training code, which packs the reference "
            "inference code",
        )
    if packed != entry_point:
        raise ConfigError(
            f"step {source.producer!r} packs the handler {packed!r} into model.tar.gz's code/, but this step "
            f"serves {entry_point!r}",
            step=step,
            field=field,
            value=entry_point,
            hint=f"set {field}={packed!r} here, or inference_entry_point={entry_point!r} on the training "
            f"config of step {source.producer!r}",
        )


def framework_from(
    step: str,
    upstream: Mapping[str, Upstream],
    framework_version: str | None,
    py_version: str | None,
    *,
    scope: str,
) -> tuple[str, str]:
    """``(framework_version, py_version)``: the config's, else those of the training step feeding
    ``model_data``; checked against the SDK's PyTorch ``scope`` image catalogue."""
    source = upstream.get(MODEL_INPUT)
    if framework_version is None and source is not None:
        fw, py = source.facts.get("framework_version"), source.facts.get("py_version")
        if isinstance(fw, str) and isinstance(py, str):
            framework_version, py_version = fw, py
    if framework_version is None or py_version is None:
        raise ConfigError(
            "no PyTorch version: no training step feeds model_data to take it from",
            step=step,
            field="framework_version",
            hint="set framework_version and py_version (e.g. '2.3.0' and 'py311') on this step's config",
        )
    try:
        check_framework_pair("pytorch", scope, framework_version, py_version)
    except ConfigError as exc:
        origin = "" if source is None else f" (taken from training step {source.producer!r})"
        raise ConfigError(
            exc.message + origin,
            step=step,
            field=exc.field,
            value=exc.value,
            hint=f"{exc.hint}; set framework_version and py_version on this step's config",
        ) from None
    return framework_version, py_version


def pytorch_image_uri(
    region: str,
    framework_version: str | None,
    py_version: str | None,
    instance_type: str,
    *,
    scope: str,
    step: str | None = None,
) -> str:
    """SageMaker's PyTorch image (``scope`` ``inference`` or ``training``) for the version pair and
    instance type (CPU, GPU or Graviton build), looked up offline in the SDK's catalogue. A missing
    version (a config whose version comes from an upstream training step that gave none) is a
    ``ConfigError`` naming ``step``."""
    from constructs_lib.sdk_adapter import sdk

    if framework_version is None or py_version is None:
        raise ConfigError(
            "no PyTorch version", step=step, field="framework_version", hint="set it on the config"
        )

    with sdk():
        from sagemaker import image_uris

        uri: str = image_uris.retrieve(
            "pytorch",
            region,
            version=framework_version,
            py_version=py_version,
            instance_type=instance_type,
            image_scope=scope,
        )
    return uri


def handler_environment(entry_point: str, region: str, env: Mapping[str, str]) -> dict[str, str]:
    """The serving container's environment: the handler in ``model.tar.gz``'s ``code/`` (what the SDK
    sets for a repacked model, without the repack), the region, the log level, then ``env``."""
    from constructs_lib.inference_code import MODEL_CODE_DIR

    return dict(
        sorted(
            {
                "SAGEMAKER_CONTAINER_LOG_LEVEL": CONTAINER_LOG_LEVEL,
                "SAGEMAKER_PROGRAM": entry_point,
                "SAGEMAKER_REGION": region,
                "SAGEMAKER_SUBMIT_DIRECTORY": MODEL_CODE_DIR,
                **env,
            }.items()
        )
    )
