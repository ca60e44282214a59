"""The one place where the SageMaker Python SDK (v2) is imported and tamed.

The SDK reaches AWS while it builds a pipeline definition unless told not to, and it changes process-wide
state when imported. Every workaround is here, with its reason beside it, and every one of them applies only
*inside* :func:`sdk` — the context the library wraps around each of its own SDK calls — and is undone when
the outermost such context exits. The user's process keeps its environment, loggers, warning filters,
``excepthook`` and the SDK's own module attributes exactly as they were (a test records all of them before
and after building and synthesizing the example stacks).

Nothing else in the library imports ``sagemaker`` at module level, so ``import constructs_lib`` and config
validation stay fast and SDK-free.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from constructs_lib.errors import SynthError

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession

__all__ = [
    "enum_members_by_value",
    "framework_image_catalogue",
    "instance_gpu_count",
    "offline_session",
    "pipeline",
    "sdk",
    "torch_distributed_gpu_versions",
]

# ---------------------------------------------------------------------------------------- the context
#: Environment variables set while our SDK calls run (restored afterwards):
_ENVIRONMENT = {
    # The v2 SDK prints a v3-migration banner on import.
    "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    # botocore probes the EC2 instance-metadata address (169.254.169.254) when a default session looks for
    # credentials; our sessions carry static dummy credentials, this guards any other session the SDK makes.
    "AWS_EC2_METADATA_DISABLED": "true",
}
#: Logger levels set while our SDK calls run (restored afterwards):
_LOGGER_LEVELS = {
    # The SDK logs an INFO line per config-file location it did not find.
    "sagemaker.config": logging.WARNING,
    # The SDK logs INFO about defaults it applies (e.g. "instance_type is a PipelineVariable").
    "sagemaker": logging.WARNING,
    # definition() warns that it drops TrainingJobName/ProcessingJobName, which is what we want.
    "sagemaker.workflow.utilities": logging.ERROR,
    # A registration step's definition warns that it drops CertifyForMarketplace/Description, likewise.
    "sagemaker.workflow._utils": logging.ERROR,
}

_lock = threading.RLock()
_depth = 0
_imported = False


def _no_telemetry(*_args: object, **_kwargs: object) -> None:
    """Stands in for the SDK's telemetry request: every decorated SDK call (e.g. ``fit()``) would send an
    STS call and an HTTPS GET; the SDK's own opt-out re-reads a config file on every call (~4 s per build)."""
    return None


class _OfflineTensorBoardApp:
    """Stands in for ``sagemaker.estimator.TensorBoardApp``: every estimator creates one (a boto3 client of
    its own) that only ``Estimator.get_app_url()`` uses, never a definition."""

    def __init__(self, region: str | None = None) -> None:
        self.region = region


def _import_sdk() -> None:
    """Import the SDK once, undoing what its import does to the process."""
    global _imported
    if _imported:
        return
    root = logging.getLogger()
    root_state = (list(root.handlers), root.level)
    previous_hook = sys.excepthook
    try:
        import sagemaker
        import sagemaker.estimator
        import sagemaker.telemetry.telemetry_logging
        import sagemaker.utils
        import sagemaker.workflow.pipeline  # noqa: F401
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise SynthError(
            "the SageMaker Python SDK v2 is not installed",
            hint="pip install 'sagemaker>=2.257,<3'",
        ) from exc
    finally:
        # sagemaker/experiments/_metrics.py calls logging.basicConfig(level=INFO) on import (a handler on
        # the root logger: every botocore INFO line of the user's process would be printed), and the SDK
        # installs rich's traceback printer as the process-wide excepthook.
        root.handlers[:] = root_state[0]
        root.setLevel(root_state[1])
        sys.excepthook = previous_hook
    _imported = True


@functools.lru_cache(maxsize=1)
def _cached_botocore_resolver() -> Any:
    # Every estimator re-parses botocore's endpoints.json (twice) to resolve the STS endpoint; it is the same
    # data for the whole process. The cached wrapper is installed only inside sdk().
    import sagemaker.utils

    return functools.lru_cache(maxsize=1)(sagemaker.utils._botocore_resolver)


def _patches() -> list[tuple[Any, str, Any]]:
    """``(module, attribute, replacement)`` of every SDK module attribute we replace inside :func:`sdk`."""
    import sagemaker.estimator
    import sagemaker.telemetry.telemetry_logging as telemetry
    import sagemaker.utils

    return [
        (telemetry, "_send_telemetry_request", _no_telemetry),
        (sagemaker.estimator, "TensorBoardApp", _OfflineTensorBoardApp),
        (sagemaker.utils, "_botocore_resolver", _cached_botocore_resolver()),
    ]


@contextlib.contextmanager
def sdk() -> Iterator[None]:
    """Run SageMaker SDK code offline and quietly, then restore the process.

    Inside (re-entrant; only the outermost context applies and restores): the SDK is imported once (its
    import-time effects on the root logger and ``sys.excepthook`` undone), the environment variables of
    ``_ENVIRONMENT`` are set, the SDK's loggers are quieted, its telemetry, per-estimator TensorBoard client
    and uncached endpoint resolver are replaced, and warnings raised by the SDK (deprecations, "Running
    within a PipelineSession") are ignored. On exit all of it is put back as it was.
    """
    global _depth
    with _lock:
        _depth += 1
        outermost = _depth == 1
        if not outermost:
            try:
                yield
            finally:
                _depth -= 1
            return
        saved_env = {k: os.environ.get(k) for k in _ENVIRONMENT}
        saved_levels = {name: logging.getLogger(name).level for name in _LOGGER_LEVELS}
        originals: list[tuple[Any, str, Any]] = []
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", module=r"sagemaker(\.|$)")
                warnings.filterwarnings("ignore", message="Running within a PipelineSession")
                os.environ.update(_ENVIRONMENT)
                for name, level in _LOGGER_LEVELS.items():
                    logging.getLogger(name).setLevel(level)
                _import_sdk()
                for module, attr, replacement in _patches():
                    originals.append((module, attr, getattr(module, attr)))
                    setattr(module, attr, replacement)
                yield
        finally:
            for module, attr, original in reversed(originals):
                setattr(module, attr, original)
            for name, level in saved_levels.items():
                logging.getLogger(name).setLevel(level)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _depth -= 1


# ---------------------------------------------------------------------------------------- sessions
@functools.cache
def _offline_boto_session(region: str) -> Any:
    # One boto3 session per region: botocore caches loaded service models per session, so sharing it makes
    # every further offline session much cheaper (~0.9 s -> ~0.1 s).
    import boto3

    from constructs_lib.limits import isolated_botocore_session

    return boto3.Session(
        botocore_session=isolated_botocore_session(),
        region_name=region,
        aws_access_key_id="offline-synth-no-credentials",
        aws_secret_access_key="offline-synth-no-credentials",
    )


def offline_session(region: str, default_bucket: str) -> PipelineSession:
    """A ``PipelineSession`` that never calls AWS while a definition is built.

    * explicit region (no region at all makes the SDK raise),
    * static dummy credentials (nothing is ever signed and sent; they only stop the credential chain),
    * ``sagemaker_config={}`` so no config file of the machine changes the definition,
    * ``default_bucket()`` returns ``default_bucket`` instead of calling STS + S3,
    * ``expand_role`` returns its argument instead of calling ``iam:GetRole`` for names and tokens,
    * ``upload_data``/``upload_string_as_file_body`` refuse: code must already be an ``s3://`` URI.
    """
    with sdk():
        from sagemaker.workflow.pipeline_context import PipelineSession

        class _OfflinePipelineSession(PipelineSession):  # type: ignore[misc,unused-ignore]
            # default_bucket(): the SDK would call sts:GetCallerIdentity and s3:HeadBucket/CreateBucket.
            def default_bucket(self) -> str:
                return default_bucket

            # expand_role(): a role without "/" (a name, a CDK token, a placeholder) triggers iam:GetRole.
            def expand_role(self, role: str) -> str:
                return role

            # upload_data(): a local source_dir would be tarred and uploaded during definition().
            def upload_data(self, path: str, *_args: object, **_kwargs: object) -> str:
                raise SynthError(
                    "the SageMaker SDK tried to upload a local file while building the definition",
                    value=path,
                    hint="this is a bug in constructs_lib: code must be referenced by an s3:// URI",
                )

            def upload_string_as_file_body(
                self, body: str, bucket: str, key: str, *_a: object, **_k: object
            ) -> str:
                raise SynthError(
                    "the SageMaker SDK tried to upload a file while building the definition",
                    value=f"s3://{bucket}/{key}",
                    hint="this is a bug in constructs_lib: nothing may be uploaded at synth time",
                )

        boto_session = _offline_boto_session(region)
        return _OfflinePipelineSession(
            boto_session=boto_session, default_bucket=default_bucket, sagemaker_config={}
        )


def pipeline(name: str, *, parameters: list[Any], steps: list[Any], session: PipelineSession) -> Pipeline:
    """The SDK's ``Pipeline`` of ``steps``, without the SDK's default experiment configuration: it makes
    SageMaker create Experiments entities per execution, which needs permissions the pipeline role does
    not have and nobody asked for."""
    with sdk():
        from sagemaker.workflow.pipeline import Pipeline

        return Pipeline(
            name=name,
            parameters=parameters,
            steps=steps,
            sagemaker_session=session,
            pipeline_experiment_config=None,
        )


def enum_members_by_value(enum_cls: Any) -> dict[str, Any]:
    """``{value: member}`` of one of the SDK's enums (``StepExceptionTypeEnum``...).

    Workaround: the SDK's enums use a metaclass (``DefaultEnumMeta``) whose ``__call__`` ignores a positional
    value and returns the first member, so ``StepExceptionTypeEnum("Step.THROTTLING")`` is
    ``SERVICE_FAULT``; members must be looked up by value.
    """
    return {member.value: member for member in enum_cls}


def definition_of(pipe: Pipeline) -> dict[str, Any]:
    """``pipe.definition()`` parsed (the SDK validates deferred step arguments here)."""
    with sdk():
        result: dict[str, Any] = json.loads(pipe.definition())
        return result


# ---------------------------------------------------------------------------------------- catalogues
def _sdk_package_dir() -> Path:
    # find_spec on a top-level package locates it without executing sagemaker/__init__.py (4 s of imports).
    spec = find_spec("sagemaker")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - dependency is declared
        raise SynthError(
            "the SageMaker Python SDK v2 is not installed", hint="pip install 'sagemaker>=2.257,<3'"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def framework_image_catalogue(framework: str, scope: str) -> dict[str, tuple[str, ...]]:
    """``{framework_version: (py_version, ...)}`` for which the installed SDK has an image.

    Read from the SDK's bundled ``image_uri_config/<framework>.json`` without importing the SDK, so config
    validation stays cheap. ``scope`` is ``"training"`` or ``"inference"``. Version aliases (``"2.0"`` for
    ``"2.0.1"``) are included and map to the aliased version's py versions.
    """
    path = _sdk_package_dir() / "image_uri_config" / f"{framework}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    section = data.get(scope, data)
    versions: dict[str, tuple[str, ...]] = {}
    for version, detail in section.get("versions", {}).items():
        versions[version] = tuple(detail.get("py_versions", ()))
    for alias, target in section.get("version_aliases", {}).items():
        if target in versions and alias not in versions:
            versions[alias] = versions[target]
    return versions


@functools.cache
def _gpu_info() -> dict[str, dict[str, dict[str, int]]]:
    path = _sdk_package_dir() / "image_uri_config" / "instance_gpu_info.json"
    data: dict[str, dict[str, dict[str, int]]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def instance_gpu_count(region: str, instance_type: str) -> int:
    """GPUs of ``instance_type`` per the SDK's bundled ``instance_gpu_info.json`` (0 when not listed:
    CPU and Trainium instances). Falls back to us-east-1's table for regions the file does not list."""
    info = _gpu_info()
    table = info.get(region) or info.get("us-east-1", {})
    return int(table.get(instance_type, {}).get("Count", 0))


def torch_distributed_gpu_versions() -> tuple[str, ...]:
    """PyTorch versions for which the SDK accepts ``torch_distributed`` on GPU instances."""
    with sdk():
        from sagemaker import fw_utils

        return tuple(fw_utils.TORCH_DISTRIBUTED_GPU_SUPPORTED_FRAMEWORK_VERSIONS)
