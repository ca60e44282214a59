"""The one registry of step types: ``STEP_TYPE`` key -> builder class, and config class -> key.

Keys are the builder class names without ``Builder`` (``PyTorchTrainingStepBuilder`` ->
``PyTorchTrainingStep``), enforced here, so a documented ``step_builder_map`` always matches.

The built-in step types are known by name (:data:`constructs_lib.builders.BUILTIN`) and each builder
module is imported when its class is first asked for: finding the step type of a config imports no
builder, and :func:`step_builder_map` is a lazy read-only view, so a synth answered from the re-synth cache
imports only the builder of the step types it uses.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from constructs_lib.builders import BUILTIN
from constructs_lib.errors import ConfigError, SpecError

if TYPE_CHECKING:  # pragma: no cover
    from constructs_lib.builders.base import StepBuilderBase
    from constructs_lib.config.base import StrictModel

__all__ = ["StepBuilderMap", "builder_for_config", "register", "step_builder_map", "step_type_of"]

#: Every builder class loaded so far: the built-in ones asked for, and every registered one.
_BUILDERS: dict[str, type[StepBuilderBase]] = {}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _builtin(step_type: str) -> type[StepBuilderBase]:
    """The built-in builder class of ``step_type`` (imported on first use, checked against its entry)."""
    cls = _BUILDERS.get(step_type)
    if cls is not None:
        return cls
    entry = BUILTIN[step_type]
    cls = getattr(importlib.import_module(entry.module), f"{step_type}Builder")
    config = cls.CONFIG_CLASS
    if (config.__module__, config.__qualname__) != (entry.config_module, entry.config_class):
        raise SpecError(  # pragma: no cover - a consistency check of the library's own table
            "a built-in builder's config class is not the one constructs_lib.builders.BUILTIN names",
            step=cls.__name__,
            value=f"{config.__module__}.{config.__qualname__}",
            hint=f"BUILTIN says {entry.config_module}.{entry.config_class}",
        )
    return _BUILDERS.setdefault(step_type, _checked(cls))


def _checked(cls: type[StepBuilderBase]) -> type[StepBuilderBase]:
    expected = cls.__name__.removesuffix("Builder")
    if expected != cls.STEP_TYPE:
        raise SpecError(
            "a builder's STEP_TYPE must be its class name without 'Builder'",
            step=cls.__name__,
            value=cls.STEP_TYPE,
            hint=f"set STEP_TYPE = {expected!r}",
        )
    # PORTS.step_type, not specification().step_type: the specification checks its property paths with the
    # SageMaker SDK, and registering must not import it (a cached synth never does).
    if cls.PORTS.step_type != cls.STEP_TYPE:
        raise SpecError(
            "the builder's ports declare another step_type",
            step=cls.__name__,
            value=cls.PORTS.step_type,
            hint=f"expected {cls.STEP_TYPE!r}",
        )
    return cls


def register(cls: type[StepBuilderBase]) -> type[StepBuilderBase]:
    """Register a builder class under its ``STEP_TYPE`` (which must be its name minus ``Builder``)."""
    _checked(cls)
    existing = _builtin(cls.STEP_TYPE) if cls.STEP_TYPE in BUILTIN else _BUILDERS.get(cls.STEP_TYPE)
    if existing is not None and existing is not cls:
        raise SpecError("step type registered twice", step=cls.STEP_TYPE, value=cls.__name__)
    _BUILDERS[cls.STEP_TYPE] = cls
    return cls


class StepBuilderMap(Mapping[str, "type[StepBuilderBase]"]):
    """Read-only ``{step_type: builder class}`` of every registered step type, sorted by key; a built-in
    builder's module is imported when its value is first read (:meth:`qualified_name` needs no import)."""

    def __init__(self) -> None:
        self._keys = tuple(sorted(set(BUILTIN) | set(_BUILDERS)))

    def __getitem__(self, key: str) -> type[StepBuilderBase]:
        if key in BUILTIN:
            return _builtin(key)
        if key in self._keys:
            return _BUILDERS[key]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"StepBuilderMap({', '.join(self._keys)})"

    def qualified_name(self, key: str) -> str:
        """``module:ClassName`` of ``key``'s builder class, without importing a built-in one."""
        if key in BUILTIN and key not in _BUILDERS:
            return f"{BUILTIN[key].module}:{key}Builder"
        return _qualified(self[key])


def step_builder_map() -> StepBuilderMap:
    """Read-only ``{step_type: builder class}`` of every registered builder (the template's default map)."""
    return StepBuilderMap()


def _config_origin(config: StrictModel) -> type:
    """The class a config builds as: a parametrized generic config (``PyTorchTrainingConfig[H]``) builds
    what its generic class builds."""
    metadata = getattr(type(config), "__pydantic_generic_metadata__", None) or {}
    origin: type = metadata.get("origin") or type(config)
    return origin


def step_type_of(config: StrictModel) -> str:
    """The step type a config builds (its builder's ``STEP_TYPE``). A parametrized generic config
    (``PyTorchTrainingConfig[MyHyperparameters]``) builds what its generic class builds."""
    config_cls = _config_origin(config)
    for key, entry in BUILTIN.items():
        # the config's class is loaded, so its module is: compare the very class, not only its name
        if getattr(sys.modules.get(entry.config_module), entry.config_class, None) is config_cls:
            return key
    for key, cls in _BUILDERS.items():
        if key not in BUILTIN and config_cls is cls.CONFIG_CLASS:
            return key
    names = [entry.config_class for entry in BUILTIN.values()]
    names += [cls.CONFIG_CLASS.__name__ for key, cls in _BUILDERS.items() if key not in BUILTIN]
    raise ConfigError(
        "no registered step type takes this config class",
        field="config",
        value=type(config).__name__,
        hint=f"configs of: {', '.join(sorted(names))}",
    )


def builder_for_config(config: StrictModel) -> type[StepBuilderBase]:
    """The registered builder class for ``config``."""
    return step_builder_map()[step_type_of(config)]
