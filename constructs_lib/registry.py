"""The one registry of step types: ``STEP_TYPE`` key -> builder class, and config class -> key.

Keys are the builder class names without ``Builder`` (``PyTorchTrainingStepBuilder`` ->
``PyTorchTrainingStep``), enforced here, so a documented ``step_builder_map`` always matches.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

from constructs_lib.builders.base import StepBuilderBase
from constructs_lib.config.base import StrictModel
from constructs_lib.errors import ConfigError, SpecError

__all__ = ["builder_for_config", "register", "step_builder_map", "step_type_of"]

_BUILDERS: dict[str, type[StepBuilderBase]] = {}


def register(cls: type[StepBuilderBase]) -> type[StepBuilderBase]:
    """Register a builder class under its ``STEP_TYPE`` (which must be its name minus ``Builder``)."""
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
    existing = _BUILDERS.get(cls.STEP_TYPE)
    if existing is not None and existing is not cls:
        raise SpecError("step type registered twice", step=cls.STEP_TYPE, value=cls.__name__)
    _BUILDERS[cls.STEP_TYPE] = cls
    return cls


@functools.lru_cache(maxsize=1)
def _load_builtin() -> None:
    from constructs_lib.builders import ALL_BUILDERS

    for cls in ALL_BUILDERS:
        register(cls)


def step_builder_map() -> Mapping[str, type[StepBuilderBase]]:
    """Read-only ``{step_type: builder class}`` of every registered builder (the template's default map)."""
    _load_builtin()
    return MappingProxyType(dict(sorted(_BUILDERS.items())))


def step_type_of(config: StrictModel) -> str:
    """The step type a config builds (its builder's ``STEP_TYPE``). A parametrized generic config
    (``PyTorchTrainingConfig[MyHyperparameters]``) builds what its generic class builds."""
    _load_builtin()
    metadata = getattr(type(config), "__pydantic_generic_metadata__", None) or {}
    config_cls = metadata.get("origin") or type(config)
    for key, cls in _BUILDERS.items():
        if config_cls is cls.CONFIG_CLASS:
            return key
    raise ConfigError(
        "no registered step type takes this config class",
        field="config",
        value=type(config).__name__,
        hint=f"configs of: {', '.join(sorted(c.CONFIG_CLASS.__name__ for c in _BUILDERS.values()))}",
    )


def builder_for_config(config: StrictModel) -> type[StepBuilderBase]:
    """The registered builder class for ``config``."""
    return step_builder_map()[step_type_of(config)]
