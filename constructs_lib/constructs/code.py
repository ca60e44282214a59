"""Training code as CDK file assets: a local ``source_dir`` -> a deterministic tarball -> S3.

CDK zips a directory asset, but SageMaker's training toolkit expects a ``tar.gz`` at
``sagemaker_submit_directory``; so the directory is packed here (:func:`constructs_lib.packaging.pack_source_dir`:
sorted entries, zeroed mtimes and owners, gzip mtime 0), written once to a staging directory named by the
SHA-256 of its bytes, and shipped as a *file* asset (its object key ends with the pipeline's
:func:`code_key_suffix`, so the job role's grant on code is stable). The asset hash, its S3 key and
therefore the pipeline definition depend on the packed content and the pipeline name only, never on paths,
times or the machine.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import AssetHashType
from constructs import Construct

from constructs_lib.builders.base import CodePackage

if TYPE_CHECKING:  # pragma: no cover - imported where used: a pipeline whose code is in S3 needs no asset
    from aws_cdk import aws_s3_assets as s3_assets

__all__ = ["STAGING_DIR_ENV", "code_asset", "code_key_suffix", "stage_code_package"]

#: Environment variable naming the directory where packed sources are staged. Default: a
#: ``constructs-lib-code`` directory in the system temporary directory.
STAGING_DIR_ENV = "CONSTRUCTS_LIB_STAGING_DIR"


def _staging_root() -> Path:
    configured = os.environ.get(STAGING_DIR_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "constructs-lib-code"


def code_key_suffix(pipeline_name: str) -> str:
    """The extension of every code object of pipeline ``pipeline_name`` in the CDK assets bucket.

    CDK names a file asset's object ``<hash><extension of the file>``; the packed sources are staged as
    ``sourcedir.<pipeline name>-code``, so their keys are ``<hash>.<pipeline name>-code``. That gives the job
    role a grant that never changes when code or hyperparameters change (no IAM change on a code deploy) and
    that still covers this pipeline's code only: pipeline names hold no dots, so no other key of the
    bootstrap bucket (``.zip`` Lambda bundles, ``.json`` templates, other pipelines' code) ends that way.
    """
    return f".{pipeline_name}-code"


def stage_code_package(package: CodePackage, pipeline_name: str) -> tuple[Path, str]:
    """Pack ``package`` and write it to ``<staging>/<sha256>/sourcedir<code_key_suffix>``; return
    ``(path, asset hash)``. The asset hash is the SHA-256 of the pipeline name and the tarball's bytes (two
    pipelines with the same code get assets of their own, each under its pipeline's key suffix).

    Raises :class:`~constructs_lib.errors.ConfigError` (from packaging, naming the step ``package.node``)
    for a missing directory or entry point and the other source-directory safety checks.
    """
    data = package.pack()
    digest = hashlib.sha256(data).hexdigest()
    name = f"sourcedir{code_key_suffix(pipeline_name)}"
    folder = _staging_root() / digest
    path = folder / name
    if not (path.is_file() and path.read_bytes() == data):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.tmp-{os.getpid()}"
        tmp.write_bytes(data)
        os.replace(tmp, path)
    asset_hash = hashlib.sha256(pipeline_name.encode("utf-8") + b"\0" + data).hexdigest()
    return path, asset_hash


def code_asset(
    scope: Construct, construct_id: str, package: CodePackage, *, pipeline_name: str
) -> s3_assets.Asset:
    """A file asset holding ``package``'s deterministic tarball, object key ``<hash><code_key_suffix>``."""
    from aws_cdk import aws_s3_assets as s3_assets

    path, asset_hash = stage_code_package(package, pipeline_name)
    return s3_assets.Asset(
        scope,
        construct_id,
        path=str(path),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash,
    )
