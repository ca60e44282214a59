"""SageMaker and CloudFormation limits, read from their published machine-readable sources.

botocore's SageMaker service model is the authority for enums (training / processing / hosting instance
types) and for string lengths, patterns and list sizes; the few numbers botocore does not publish are
named constants here with the document they come from. Everything is loaded lazily (botocore's model is
a few MB of JSON) and cached for the life of the process.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from botocore.model import ServiceModel

__all__ = [
    "ShapeLimits",
    "hosting_instance_types",
    "processing_instance_types",
    "shape",
    "training_instance_types",
]


@dataclass(frozen=True)
class ShapeLimits:
    """Constraints of one botocore shape: ``min``/``max`` (length for strings, count for maps/lists,
    value for integers), ``pattern`` (anchored by us: botocore's patterns are full-match) and ``enum``."""

    name: str
    min: int | None
    max: int | None
    pattern: str | None
    enum: tuple[str, ...]

    def fullmatch(self, value: str) -> bool:
        """True when ``value`` matches the shape's pattern (or there is none)."""
        if self.pattern is None:
            return True
        return _compiled(self.pattern).fullmatch(value) is not None


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # botocore uses Java-style \p{L}\p{Z}\p{N} (letters, separators, numbers) in tag patterns; Python's
    # `re` lacks them, and \w\s is the same set plus "_" (which those patterns allow anyway).
    translated = pattern.replace(r"\p{L}\p{Z}\p{N}", r"\w\s")
    return re.compile(translated)


def isolated_botocore_session() -> Any:
    """A botocore session that reads no profile, config or credentials file of the machine.

    ``AWS_PROFILE=doesnotexist`` or a broken ``~/.aws/config`` would otherwise make even loading a service
    model fail (``ProfileNotFound``); nothing here needs the user's AWS configuration.
    """
    import os

    import botocore.session

    session = botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )
    # Share one loader: every session then reuses the service models already parsed in this process.
    session.register_component("data_loader", _shared_loader())
    return session


@functools.lru_cache(maxsize=1)
def _shared_loader() -> Any:
    import botocore.loaders

    return botocore.loaders.create_loader()


@functools.lru_cache(maxsize=1)
def _model() -> ServiceModel:
    return isolated_botocore_session().get_service_model("sagemaker")


@functools.cache
def shape(name: str) -> ShapeLimits:
    """Limits of the SageMaker shape ``name`` (e.g. ``"TrainingEnvironmentKey"``)."""
    sh = _model().shape_for(name)
    md = sh.metadata
    enum = tuple(md.get("enum", ()))
    return ShapeLimits(
        name=name,
        min=md.get("min"),
        max=md.get("max"),
        pattern=md.get("pattern"),
        enum=enum,
    )


def training_instance_types() -> tuple[str, ...]:
    """Every value of botocore's ``TrainingInstanceType`` enum."""
    return shape("TrainingInstanceType").enum


def processing_instance_types() -> tuple[str, ...]:
    """Every value of botocore's ``ProcessingInstanceType`` enum."""
    return shape("ProcessingInstanceType").enum


def hosting_instance_types() -> tuple[str, ...]:
    """Every value of botocore's ``ProductionVariantInstanceType`` enum."""
    return shape("ProductionVariantInstanceType").enum


#: Upper bound of an ML storage volume. botocore publishes it for processing (``ProcessingVolumeSizeInGB``
#: max 16,384) but not for training (``VolumeSizeInGB`` has only ``min``); SageMaker documents the same
#: 16 TB ceiling for training volumes, so we use the published processing number for both.
def max_volume_size_gb() -> int:
    """Largest ML storage volume in GB (from botocore's ``ProcessingVolumeSizeInGB``)."""
    return shape("ProcessingVolumeSizeInGB").max or 16_384
