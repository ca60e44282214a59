"""Base model and shared validators for every config object.

All configs are pydantic v2 models that forbid unknown fields and are frozen (they are values). A failed
validation raises :class:`~constructs_lib.errors.ConfigError` (a ``ValueError``) that names the model, the
field, the bad value and what is allowed, instead of pydantic's own ``ValidationError``.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, ValidationError

from constructs_lib import limits
from constructs_lib.errors import ConfigError

__all__ = [
    "SCRIPTS_DIR",
    "StrictModel",
    "check_entry_point",
    "check_env",
    "check_framework_pair",
    "check_instance_type",
    "check_present",
    "check_range",
    "check_region",
    "check_s3_uri",
    "check_source_location",
    "config_error_from_validation",
]

#: The scripts shipped with the library (one directory per step type).
SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"


def _loc_to_field(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def config_error_from_validation(
    model: str, exc: ValidationError, *, model_class: type[BaseModel] | None = None
) -> ConfigError:
    """Turn pydantic's ``ValidationError`` into one :class:`ConfigError` (one sub-error per field).

    Args:
        model: the model's name (the root of every field path in the messages).
        exc: pydantic's error.
        model_class: the model's class, to name the allowed fields of the (nested) model an unknown
            field was given to. Default ``None``: looked up by ``model``.

    An unknown field gets a hint with the closest allowed names (``did you mean
    'training_instance_type'?``), every allowed field of the model it was given to (a nested model's own,
    e.g. ``hyperparameters.l2_penalty`` lists ``ModelHyperparameters``' fields) and that model's
    own ``UNKNOWN_FIELD_HINT`` class attribute, if it defines one.
    """
    root = model_class if model_class is not None else _MODEL_REGISTRY.get(model)
    errors: list[ConfigError] = []
    for err in exc.errors(include_url=False):
        field = _loc_to_field(tuple(err.get("loc", ())))
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, ConfigError):
            # A validator of ours (or a nested config) raised: keep its message, value and hint and
            # re-root its field under this model and the pydantic location.
            for sub in inner.errors or (inner,):
                errors.append(
                    ConfigError(
                        sub.message,
                        field=_join(model, _nest(field, _strip_model(sub.field))),
                        value=sub.value,
                        hint=sub.hint,
                        has_value=sub.has_value,
                        step=sub.step,
                    )
                )
            continue
        msg = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
            hint = _unknown_field_hint(model, root, tuple(err.get("loc", ())))
        elif err.get("type") == "missing":
            msg = "field required"
            hint = None
        else:
            hint = None
        errors.append(
            ConfigError(
                msg,
                field=_join(model, field),
                value=err.get("input"),
                hint=hint,
                has_value=err.get("type") not in ("missing",),
            )
        )
    if len(errors) == 1:
        return errors[0]
    details = "; ".join(str(e) for e in errors)
    return ConfigError(
        f"{len(errors)} invalid fields: {details}",
        field=model,
        has_value=False,
        errors=errors,
    )


def _join(*parts: str | None) -> str:
    return ".".join(p for p in parts if p)


def _nest(loc: str, sub: str | None) -> str:
    """Join the pydantic location and a validator's own field name without repeating it."""
    if not sub:
        return loc
    if not loc or sub == loc or sub.startswith((f"{loc}.", f"{loc}[")):
        return sub
    return f"{loc}.{sub}"


def _strip_model(field: str | None) -> str | None:
    """``"ModelHyperparameters.label_name"`` -> ``"label_name"`` (the outer model re-roots it)."""
    if field is None:
        return None
    head, _, rest = field.partition(".")
    return rest if head in _MODEL_REGISTRY else field


_MODEL_REGISTRY: dict[str, type[BaseModel]] = {}


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The pydantic model in a field's annotation (``X``, ``X | None``, ``Annotated[X, ...]``, a
    ``TypeVar`` bound to ``X``), or ``None``."""
    if isinstance(annotation, TypeVar):
        annotation = annotation.__bound__
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _model_at(root: type[BaseModel] | None, loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model that holds the field at pydantic location ``loc`` (``loc`` without its last part)."""
    cls = root
    for part in loc[:-1]:
        if cls is None:
            return None
        if isinstance(part, int):
            continue
        info = cls.model_fields.get(part)
        cls = _model_in(info.annotation) if info is not None else None
    return cls


def _unknown_field_hint(model: str, root: type[BaseModel] | None, loc: tuple[int | str, ...]) -> str | None:
    owner = _model_at(root, loc)
    if owner is None:
        return None
    allowed = sorted(owner.model_fields)
    parts: list[str] = []
    name = loc[-1] if loc else None
    if isinstance(name, str):
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        if close:
            parts.append(f"did you mean {close[0]!r}?")
    owner_name = model if owner is root else owner.__name__
    parts.append(f"allowed fields of {owner_name}: {', '.join(allowed)}")
    extra = vars(owner).get("UNKNOWN_FIELD_HINT")  # the class's own, not a subclass's inherited one
    if isinstance(extra, str) and extra:
        parts.append(extra)
    return "; ".join(parts)


class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown fields and raises :class:`ConfigError`."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, str_strip_whitespace=False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _MODEL_REGISTRY[cls.__name__] = cls

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise config_error_from_validation(type(self).__name__, exc, model_class=type(self)) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise config_error_from_validation(cls.__name__, exc, model_class=cls) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            raise config_error_from_validation(cls.__name__, exc, model_class=cls) from None

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Copy with ``update`` applied *and validated* (pydantic's own ``model_copy`` skips validation).

        Field values are taken as they are (a nested config keeps its own class, e.g. a subclass of
        ``ModelHyperparameters``); ``deep=True`` copies them first.
        """
        data = {name: getattr(self, name) for name in type(self).model_fields}
        if deep:
            data = copy.deepcopy(data)
        data.update(update or {})
        return type(self)(**data)


_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?P<key>/.*)?$")


def check_s3_uri(value: str, *, field: str, require_suffix: str | None = None) -> str:
    """Validate an ``s3://bucket[/key]`` URI (bucket naming rules of S3) and return it unchanged."""
    m = _S3_URI.match(value) if isinstance(value, str) else None
    if m is None or ".." in m.group("bucket") or any(c.isspace() for c in value):
        raise ConfigError(
            "not a valid S3 URI",
            field=field,
            value=value,
            hint="expected s3://<bucket>/<prefix>, bucket 3-63 chars of a-z, 0-9, '.', '-'",
        )
    if require_suffix is not None and not value.endswith(require_suffix):
        raise ConfigError(
            f"an S3 URI here must end with {require_suffix!r}",
            field=field,
            value=value,
            hint=f"point at the {require_suffix} object itself",
        )
    return value


_ENTRY_POINT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")


def check_entry_point(value: str, *, field: str, example: str = "train.py") -> str:
    """A Python script path relative to its source directory (``preprocess.py``, ``pkg/run.py``)."""
    if not value or not value.strip():
        raise ConfigError("must be provided", field=field, value=value, hint=f"e.g. {example!r}")
    if value.startswith("/") or ".." in value.split("/") or "\\" in value:
        raise ConfigError(
            "must be a path relative to source_dir", field=field, value=value, hint=f"e.g. {example!r}"
        )
    if not value.endswith(".py"):
        raise ConfigError("must be a Python file", field=field, value=value, hint=f"e.g. {example!r}")
    if not _ENTRY_POINT.match(value):
        raise ConfigError(
            "may only contain letters, digits, '_', '-', '.' and '/'",
            field=field,
            value=value,
            hint="the name is placed in the job's command line; rename the script",
        )
    return value


def check_range(
    value: int, *, field: str, low: int, high: int, unit: str = "", what: str = "out of range"
) -> int:
    """``low <= value <= high``, else a :class:`ConfigError` whose hint is ``"<low>..<high> <unit>"``."""
    if not low <= value <= high:
        raise ConfigError(what, field=field, value=value, hint=f"{low}..{high}{' ' + unit if unit else ''}")
    return value


def check_present(value: str, *, field: str, hint: str) -> str:
    """A required text field must not be empty or blank."""
    if not value or not value.strip():
        raise ConfigError("must be provided", field=field, value=value, hint=hint)
    return value


def check_source_location(value: str, *, field: str = "source_dir") -> str:
    """A code location: a local directory path, or an ``s3://…tar.gz`` object (script mode needs a tarball)."""
    if value.startswith("s3://"):
        check_s3_uri(value, field=field, require_suffix=".tar.gz")
    elif "://" in value:
        raise ConfigError(
            "unsupported source location",
            field=field,
            value=value,
            hint="a local directory, or s3://…/sourcedir.tar.gz",
        )
    return value


def check_env(
    env: Mapping[str, str],
    *,
    field: str,
    map_shape: str = "TrainingEnvironmentMap",
    key_shape: str = "TrainingEnvironmentKey",
    value_shape: str = "TrainingEnvironmentValue",
) -> Mapping[str, str]:
    """Check an ``Environment`` map against botocore's shapes (entry count, key pattern, lengths)."""
    map_limits = limits.shape(map_shape)
    key_limits = limits.shape(key_shape)
    value_limits = limits.shape(value_shape)
    if map_limits.max is not None and len(env) > map_limits.max:
        raise ConfigError(
            f"too many environment variables: {len(env)}",
            field=field,
            hint=f"SageMaker allows at most {map_limits.max} entries ({map_shape})",
        )
    for key, value in env.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError(
                "environment names and values must be strings",
                field=f"{field}[{key!r}]",
                value=value,
                hint="convert numbers and booleans to strings yourself, e.g. '1'",
            )
        for text, what in ((key, "name"), (value, "value")):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigError(
                    f"environment variable {what} is not valid Unicode text (a lone surrogate?)",
                    field=f"{field}[{key!r}]" if what == "value" else field,
                    value=text,
                    hint="use characters that UTF-8 can encode",
                ) from None
        if not key or not key_limits.fullmatch(key):
            raise ConfigError(
                "invalid environment variable name",
                field=field,
                value=key,
                hint=f"names must match {key_limits.pattern} ({key_shape})",
            )
        if key_limits.max is not None and len(key) > key_limits.max:
            raise ConfigError(
                f"environment variable name is {len(key)} characters long",
                field=field,
                value=key,
                hint=f"at most {key_limits.max} characters ({key_shape})",
            )
        if value_limits.max is not None and len(value) > value_limits.max:
            raise ConfigError(
                f"environment variable value is {len(value)} characters long",
                field=f"{field}[{key!r}]",
                value=value,
                hint=f"at most {value_limits.max} characters ({value_shape})",
            )
    return env


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def check_region(value: str | None, field: str = "region") -> str | None:
    """``None`` or an AWS region code such as ``us-east-1``."""
    if value is not None and (not isinstance(value, str) or not _REGION.match(value)):
        raise ConfigError(
            "not an AWS region code", field=field, value=value, hint="e.g. us-east-1, eu-west-1"
        )
    return value


def check_framework_pair(framework: str, scope: str, framework_version: str, py_version: str) -> None:
    """Fail unless the installed SageMaker SDK has a ``framework`` image for the version pair."""
    from constructs_lib.sdk_adapter import framework_image_catalogue

    catalogue = framework_image_catalogue(framework, scope)
    if framework_version not in catalogue:
        supported = sorted(catalogue, key=_version_key)
        raise ConfigError(
            f"the installed SageMaker SDK has no {framework} {scope} image for this version",
            field="framework_version",
            value=framework_version,
            hint=f"supported versions: {', '.join(supported)}",
        )
    allowed = catalogue[framework_version]
    if py_version not in allowed:
        raise ConfigError(
            f"{framework} {framework_version} has no {scope} image for this Python version",
            field="py_version",
            value=py_version,
            hint=f"allowed py versions for {framework_version}: {', '.join(allowed)}",
        )


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in v.split("."))


def check_instance_type(value: str, *, field: str, allowed: tuple[str, ...], kind: str) -> str:
    """``value`` must be one of botocore's enum ``allowed``; suggest the closest names otherwise."""
    if value not in allowed:
        close = difflib.get_close_matches(value, allowed, n=3, cutoff=0.6)
        hint = (
            f"did you mean {' or '.join(close)}?" if close else f"one of {len(allowed)} {kind} instance types"
        )
        raise ConfigError(
            f"not a SageMaker {kind} instance type",
            field=field,
            value=value,
            hint=f"{hint} (botocore's {kind} instance type enum)",
        )
    return value
