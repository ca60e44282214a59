"""The step-type registry: built-in step types known by name, builders imported on first use, user builders.

What the re-synth cache relies on (a hit imports no builder) is in ``test_cache.py``; here the registry's
own behaviour: the lazy view, the name of a builder before and after it loads, finding a config's step type
without importing a builder, and registering a user's builder.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from constructs_lib import builders, registry
from constructs_lib.builders import BUILTIN
from constructs_lib.builders.base import StepBuilderBase
from constructs_lib.builders.training_pytorch import PyTorchTrainingStepBuilder
from constructs_lib.config.base import StrictModel
from constructs_lib.errors import ConfigError, SpecError
from constructs_lib.examples import seed_training_config
from constructs_lib.ports import StepPorts
from constructs_lib.specs.base import NodeType, SageMakerStepKind
from constructs_lib.template import PipelineBuilderTemplate

ROOT = Path(__file__).resolve().parents[2]


def test_every_builtin_entry_names_its_builder_and_config_class() -> None:
    assert tuple(BUILTIN) == tuple(cls.STEP_TYPE for cls in builders.ALL_BUILDERS)
    view = registry.step_builder_map()
    for step_type, entry in BUILTIN.items():
        cls = view[step_type]
        assert cls is getattr(importlib.import_module(entry.module), f"{step_type}Builder")
        assert (cls.CONFIG_CLASS.__module__, cls.CONFIG_CLASS.__name__) == (
            entry.config_module,
            entry.config_class,
        )
        assert view.qualified_name(step_type) == f"{cls.__module__}:{cls.__qualname__}"


def test_the_view_is_sorted_read_only_and_rejects_unknown_keys() -> None:
    view = registry.step_builder_map()
    assert list(view) == sorted(BUILTIN) and len(view) == len(BUILTIN)
    assert "PyTorchTrainingStep" in view and "CradleDataLoadStep" not in view
    with pytest.raises(KeyError):
        view["CradleDataLoadStep"]
    with pytest.raises(TypeError):
        view["PyTorchTrainingStep"] = PyTorchTrainingStepBuilder  # type: ignore[index]


_PROBE = textwrap.dedent(
    """
    import sys
    from constructs_lib import registry
    from constructs_lib.config.data_load import DataLoadConfig
    from constructs_lib.examples import seed_training_config
    view = registry.step_builder_map()
    names = {key: view.qualified_name(key) for key in view}
    print(registry.step_type_of(seed_training_config()), len(names))
    print(" ".join(sorted(m for m in sys.modules if m.startswith("constructs_lib.builders."))) or "-")
    print(names["DataLoadStep"])
    """
)


def test_finding_a_configs_step_type_and_naming_builders_imports_no_builder() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found, loaded, data_load = proc.stdout.splitlines()
    assert found == f"PyTorchTrainingStep {len(BUILTIN)}"
    assert loaded == "-"
    assert data_load == "constructs_lib.builders.data_load:DataLoadStepBuilder"


def test_a_parametrized_generic_config_builds_as_its_generic_class() -> None:
    from constructs_lib.config.hyperparameters import TabularClassifierHyperparameters
    from constructs_lib.config.training_pytorch import PyTorchTrainingConfig

    config = PyTorchTrainingConfig[TabularClassifierHyperparameters].model_validate(
        seed_training_config().model_dump()
    )
    assert registry.step_type_of(config) == "PyTorchTrainingStep"
    assert registry.builder_for_config(config) is PyTorchTrainingStepBuilder


def test_an_unknown_config_class_lists_the_registered_ones() -> None:
    class Elsewhere(StrictModel):
        pass

    with pytest.raises(ConfigError) as err:
        registry.step_type_of(Elsewhere())
    assert err.value.field == "config" and err.value.value == "Elsewhere"
    assert all(entry.config_class in str(err.value) for entry in BUILTIN.values())


def test_a_builtin_step_type_cannot_be_registered_with_another_class() -> None:
    class PyTorchTrainingStepBuilder(StepBuilderBase):
        STEP_TYPE = "PyTorchTrainingStep"
        PORTS = builders.PyTorchTrainingStepBuilder.PORTS

    with pytest.raises(SpecError, match="registered twice"):
        registry.register(PyTorchTrainingStepBuilder)
    assert registry.register(builders.PyTorchTrainingStepBuilder) is builders.PyTorchTrainingStepBuilder


class AuditConfig(StrictModel):
    """A user's own step config."""

    note: str = "audit"


_AUDIT_PORTS = StepPorts(
    step_type="AuditStep",
    node_type=NodeType.SINK,
    sagemaker_step_kind=SageMakerStepKind.PROCESSING,
    entry_point="audit.py",
)


class AuditStepBuilder(StepBuilderBase):
    """A user's builder (never built here: registering and looking it up is what is tested)."""

    STEP_TYPE = "AuditStep"
    CONFIG_CLASS = AuditConfig
    DEFAULT_STEP_NAME = "Audit"
    PORTS = _AUDIT_PORTS


def test_a_user_builder_registers_beside_the_builtin_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_BUILDERS", dict(registry._BUILDERS))  # leave the session's registry as is
    assert registry.register(AuditStepBuilder) is AuditStepBuilder
    view = registry.step_builder_map()
    assert list(view) == sorted([*BUILTIN, "AuditStep"]) and view["AuditStep"] is AuditStepBuilder
    assert view.qualified_name("AuditStep") == f"{__name__}:AuditStepBuilder"
    assert registry.step_type_of(AuditConfig()) == "AuditStep"
    template = PipelineBuilderTemplate.single_step(AuditConfig(), region="us-east-1")
    assert (
        template.step_types == {"Audit": "AuditStep"}
        and template.step_builder_map["AuditStep"] is AuditStepBuilder
    )


def test_a_misnamed_builder_is_refused() -> None:
    bad_ports = dataclasses.replace(_AUDIT_PORTS, step_type="OtherStep")

    class Misnamed(StepBuilderBase):
        STEP_TYPE = "AuditStep"
        PORTS = _AUDIT_PORTS

    class WrongPorts(StepBuilderBase):
        STEP_TYPE = "WrongPorts"
        PORTS = bad_ports

    with pytest.raises(SpecError, match="class name without 'Builder'"):
        registry.register(Misnamed)
    with pytest.raises(SpecError, match="ports declare another step_type"):
        registry.register(WrongPorts)
