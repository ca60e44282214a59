"""The one place where the SageMaker Python SDK (v2) is imported and tamed.

The SDK reaches AWS while it builds a pipeline definition unless told not to; each workaround below is
here, with the reason on the line above it. Nothing else in the library imports ``sagemaker`` at module
level, so ``import constructs_lib`` and config validation stay fast and SDK-free.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import warnings
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from constructs_lib.errors import SynthError

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.pipeline_context import PipelineSession

__all__ = [
    "framework_image_catalogue",
    "import_sagemaker",
    "offline_session",
]


def _quiet_environment() -> None:
    # The v2 SDK prints a v3-migration banner on import.
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    # botocore probes the EC2 instance-metadata address (169.254.169.254) when no credentials are set.
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    # The SDK logs an INFO line per config-file location it did not find, on import.
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
    # The SDK warns on INFO about defaults it applies (e.g. "instance_type is a PipelineVariable").
    logging.getLogger("sagemaker").setLevel(logging.WARNING)
    # definition() warns that it drops TrainingJobName/ProcessingJobName, which is what we want.
    logging.getLogger("sagemaker.workflow.utilities").setLevel(logging.ERROR)
    # PipelineSession.fit() warns "No Wait, No Logs, and No Job being started" on every step.
    warnings.filterwarnings("ignore", message="Running within a PipelineSession", category=UserWarning)


@functools.lru_cache(maxsize=1)
def import_sagemaker() -> None:
    """Import the SDK once, silenced and with its network side effects disabled."""
    _quiet_environment()
    import sys

    previous_hook = sys.excepthook
    try:
        import sagemaker
        import sagemaker.telemetry.telemetry_logging as telemetry
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise SynthError(
            "the SageMaker Python SDK v2 is not installed",
            hint="pip install 'sagemaker>=2.257,<3'",
        ) from exc

    # Telemetry: every decorated SDK call (e.g. fit()) sends an STS call and an HTTPS GET; the SDK's
    # own opt-out re-reads a config file on every call (~4 s per build), a no-op costs nothing.
    def _no_telemetry(*_args: object, **_kwargs: object) -> None:
        return None

    telemetry._send_telemetry_request = _no_telemetry

    import sagemaker.estimator
    import sagemaker.utils

    # Every estimator re-parses botocore's endpoints.json (twice) to resolve the STS endpoint; it is the
    # same data for the whole process.
    if not hasattr(sagemaker.utils._botocore_resolver, "cache_info"):
        sagemaker.utils._botocore_resolver = functools.lru_cache(maxsize=1)(
            sagemaker.utils._botocore_resolver
        )

    # Every estimator creates a TensorBoardApp (a boto3 client of its own) that only
    # Estimator.get_app_url() uses, never a definition; keep its region, skip the client.
    class _OfflineTensorBoardApp:
        def __init__(self, region: str | None = None) -> None:
            self.region = region

    sagemaker.estimator.TensorBoardApp = _OfflineTensorBoardApp
    # The SDK installs rich's traceback printer as the process-wide excepthook on import; give the
    # user's process its own back.
    sys.excepthook = previous_hook


@functools.cache
def _offline_boto_session(region: str) -> Any:
    # One boto3 session per region: botocore caches loaded service models per session, so sharing it
    # makes every further offline session much cheaper (~0.9 s -> ~0.1 s).
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
    import_sagemaker()
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
    import_sagemaker()
    from sagemaker import fw_utils

    return tuple(fw_utils.TORCH_DISTRIBUTED_GPU_SUPPORTED_FRAMEWORK_VERSIONS)
