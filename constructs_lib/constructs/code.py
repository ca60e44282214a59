"""Training code as CDK file assets: a local ``source_dir`` -> deterministic ``sourcedir.tar.gz`` -> S3.

CDK zips a directory asset, but SageMaker's training toolkit expects a ``tar.gz`` at
``sagemaker_submit_directory``; so the directory is packed here (:func:`constructs_lib.packaging.pack_source_dir`:
sorted entries, zeroed mtimes and owners, gzip mtime 0), written once to a staging file named by the
SHA-256 of its bytes, and shipped as a *file* asset whose hash is that same SHA-256. The asset hash, its
S3 key and therefore the pipeline definition depend on the packed content only, never on paths, times
or the machine.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from aws_cdk import AssetHashType
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from constructs_lib.builders.base import CodePackage
from constructs_lib.packaging import pack_source_dir

__all__ = ["STAGING_DIR_ENV", "code_asset", "stage_code_package"]

#: Environment variable naming the directory where packed sources are staged. Default: a
#: ``constructs-lib-code`` directory in the system temporary directory.
STAGING_DIR_ENV = "CONSTRUCTS_LIB_STAGING_DIR"


def _staging_root() -> Path:
    configured = os.environ.get(STAGING_DIR_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "constructs-lib-code"


def stage_code_package(package: CodePackage) -> tuple[Path, str]:
    """Pack ``package`` and write it to ``<staging>/<sha256>/sourcedir.tar.gz``; return (path, sha256).

    Raises :class:`~constructs_lib.errors.ConfigError` (from packaging) for a missing directory or entry
    point and the other source-directory safety checks.
    """
    data = pack_source_dir(
        package.source_dir, entry_point=package.entry_point, extra_files=package.extra_files
    )
    digest = hashlib.sha256(data).hexdigest()
    folder = _staging_root() / digest
    path = folder / "sourcedir.tar.gz"
    if not (path.is_file() and path.read_bytes() == data):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".sourcedir.tar.gz.tmp-{os.getpid()}"
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path, digest


def code_asset(scope: Construct, construct_id: str, package: CodePackage) -> s3_assets.Asset:
    """A file asset holding ``package``'s deterministic ``sourcedir.tar.gz`` (hash = SHA-256 of its bytes)."""
    path, digest = stage_code_package(package)
    return s3_assets.Asset(
        scope,
        construct_id,
        path=str(path),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=digest,
    )
