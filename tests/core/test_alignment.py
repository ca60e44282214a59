"""Ports are declared once; what can still drift (the shipped script against its contract, identity, the
entry point, required environment) is checked by ``check_alignment``; SageMaker's placement rules are
checked when ports are declared."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import (
    DataLoadStepBuilder,
    ModelQualityGateStepBuilder,
    ModelRegistrationStepBuilder,
    PyTorchEvaluationStepBuilder,
    PyTorchModelStepBuilder,
    PyTorchTrainingStepBuilder,
    SpecError,
    TabularPreprocessingConfig,
    TabularPreprocessingStepBuilder,
    check_alignment,
    registry,
)
from constructs_lib.alignment import check_all_registered, find_drifts, script_paths
from constructs_lib.ports import InputPort, OutputPort, StepPorts
from constructs_lib.specs.base import DependencyType, NodeType, SageMakerStepKind
from constructs_lib.specs.preprocessing_tabular import TABULAR_PREPROCESSING_PORTS

ALL = [
    DataLoadStepBuilder,
    TabularPreprocessingStepBuilder,
    PyTorchModelStepBuilder,
    PyTorchTrainingStepBuilder,
    PyTorchEvaluationStepBuilder,
]
#: Step types that ship no script of their own: a condition runs no container, and a registration serves
#: the handler its training step packs.
SCRIPTLESS = [ModelQualityGateStepBuilder, ModelRegistrationStepBuilder]


def drifts_of(builder_cls: type[Any], config: Any = None) -> str:
    with pytest.raises(SpecError) as info:
        check_alignment(builder_cls, config)
    text = str(info.value)
    assert text.startswith(f"step {builder_cls.STEP_TYPE!r}, field {builder_cls.__name__!r}: "), text
    return text


# ------------------------------------------------------------------------------------------ aligned
def test_every_registered_builder_is_aligned() -> None:
    check_all_registered()
    assert sorted(registry.step_builder_map()) == sorted(c.STEP_TYPE for c in [*ALL, *SCRIPTLESS])


@pytest.mark.parametrize("builder_cls", [*ALL, *SCRIPTLESS], ids=lambda c: c.STEP_TYPE)
def test_no_drifts(builder_cls: type[Any]) -> None:
    assert find_drifts(builder_cls) == []
    if builder_cls in SCRIPTLESS:
        assert builder_cls.shipped_script() is None
    else:
        assert builder_cls.shipped_script() is not None and builder_cls.shipped_script().is_file()


@pytest.mark.parametrize("builder_cls", [*ALL, *SCRIPTLESS], ids=lambda c: c.STEP_TYPE)
def test_specification_contract_and_channels_derive_from_the_ports(builder_cls: type[Any]) -> None:
    ports: StepPorts = builder_cls.PORTS
    spec, contract = builder_cls.specification(), builder_cls.contract()
    assert [d.logical_name for d in spec.dependencies] == [p.name for p in ports.inputs if p.is_dependency]
    assert [o.logical_name for o in spec.outputs] == [p.name for p in ports.outputs]
    # a port of a step that runs no container (container_path "") has no contract path
    assert dict(contract.expected_input_paths) == {
        p.name: p.container_path for p in ports.inputs if p.container_path
    }
    assert dict(contract.expected_output_paths) == {
        p.name: p.container_path for p in ports.outputs if p.container_path is not None
    }
    assert ports.channels() == {p.name: p.channel for p in ports.inputs}
    assert contract.entry_point == ports.entry_point


def test_training_contract_keeps_the_seed_paths() -> None:
    contract = PyTorchTrainingStepBuilder.contract()
    assert contract.expected_input_paths["input_path"] == "/opt/ml/input/data/data"
    assert contract.channel_env_vars == {
        "input_path": "SM_CHANNEL_DATA",
        "model_artifacts": "SM_MODEL_DIR",
        "output_path": "SM_OUTPUT_DATA_DIR",
    }
    assert PyTorchTrainingStepBuilder.PORTS.channels() == {"input_path": "data"}


def test_script_paths_joins_base_and_relative_constants() -> None:
    source = 'BASE = "/opt/ml/processing"\nIN = "input/raw"\nOUT = "output/x/"\nname = "plain"\n'
    assert script_paths(source) >= {
        "/opt/ml/processing",
        "/opt/ml/processing/input/raw",
        "/opt/ml/processing/output/x",
    }


# ------------------------------------------------------------------------------------------ drifted
def _script_builder(name: str, script: Path, base: type[Any] = TabularPreprocessingStepBuilder) -> type[Any]:
    return type(
        name,
        (base,),
        {"STEP_TYPE": name.removesuffix("Builder"), "shipped_script": classmethod(lambda cls: script)},
    )


def test_shipped_script_with_another_input_path(tmp_path: Path) -> None:
    shipped = TabularPreprocessingStepBuilder.shipped_script()
    script = tmp_path / "preprocess.py"
    script.write_text(shipped.read_text().replace('INPUT_DIR = "input/raw"', 'INPUT_DIR = "input/table"'))
    cls = _script_builder("RenamedInputStepBuilder", script)
    text = drifts_of(cls)
    assert "contract input 'raw_data' is at /opt/ml/processing/input/raw" in text
    assert "names no such path" in text and "/opt/ml/processing/input/table" in text


def test_training_script_that_never_reads_a_channel_variable(tmp_path: Path) -> None:
    shipped = PyTorchTrainingStepBuilder.shipped_script()
    script = tmp_path / "train.py"
    script.write_text(shipped.read_text().replace('"SM_CHANNEL_DATA"', '"SM_CHANNEL_TRAIN"'))
    cls = _script_builder("ChannelVarStepBuilder", script, PyTorchTrainingStepBuilder)
    assert "never reads SM_CHANNEL_DATA (the contract's 'input_path')" in drifts_of(cls)


def test_inference_handler_must_define_the_toolkit_functions(tmp_path: Path) -> None:
    script = tmp_path / "inference.py"
    script.write_text("def model_fn(model_dir):\n    return None\n")
    cls = _script_builder("HandlerStepBuilder", script, PyTorchModelStepBuilder)
    assert "does not define input_fn, predict_fn, output_fn" in drifts_of(cls)


def test_missing_shipped_script(tmp_path: Path) -> None:
    cls = _script_builder("GoneStepBuilder", tmp_path / "nope.py")
    assert f"the shipped script {tmp_path / 'nope.py'} does not exist" in drifts_of(cls)


def test_step_type_must_be_the_class_name() -> None:
    cls = type("OddBuilder", (TabularPreprocessingStepBuilder,), {"STEP_TYPE": "SomethingElse"})
    text = drifts_of(cls)
    assert "STEP_TYPE 'SomethingElse' is not the class name without 'Builder' ('Odd')" in text
    assert "the ports' step_type 'TabularPreprocessingStep' is not STEP_TYPE 'SomethingElse'" in text


def _with_contract_env(required: tuple[str, ...], example: bool) -> type[Any]:
    ports = dataclasses.replace(TABULAR_PREPROCESSING_PORTS, required_env_vars=required)
    attrs: dict[str, Any] = {"STEP_TYPE": "TabularPreprocessingStep", "PORTS": ports}
    if not example:
        attrs["example_config"] = None
    return type("TabularPreprocessingStepBuilder", (TabularPreprocessingStepBuilder,), attrs)


def test_required_env_var_must_be_supplied_by_the_config() -> None:
    cls = _with_contract_env(("API_TOKEN",), example=True)
    text = drifts_of(cls)  # example_config() has no env
    assert "the contract requires environment variables API_TOKEN that the config does not supply" in text
    check_alignment(cls, TabularPreprocessingConfig(env={"API_TOKEN": "x"}))


def test_required_env_var_without_any_config() -> None:
    cls = _with_contract_env(("API_TOKEN",), example=False)
    assert "no config was given to show they are supplied" in drifts_of(cls)


# ------------------------------------------------------------------------------------------ port rules
def _ports(
    kind: SageMakerStepKind, inputs: tuple[InputPort, ...], outputs: tuple[OutputPort, ...]
) -> StepPorts:
    return StepPorts(
        step_type="X",
        node_type=NodeType.INTERNAL,
        sagemaker_step_kind=kind,
        entry_point="x.py",
        inputs=inputs,
        outputs=outputs,
    )


TRAIN_OUT = OutputPort(
    "model", DependencyType.MODEL_ARTIFACTS, "properties.ModelArtifacts.S3ModelArtifacts", "/opt/ml/model"
)
PROC_OUT = OutputPort(
    "out",
    DependencyType.JOB_OUTPUT,
    "properties.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri",
    "/opt/ml/processing/output/out",
)


def test_training_channel_must_be_mounted_where_sagemaker_mounts_it() -> None:
    bad = InputPort("data", "/opt/ml/input/data/train", "data", DependencyType.PROCESSED_DATA)
    with pytest.raises(
        SpecError, match="SageMaker mounts a training channel at /opt/ml/input/data/<channel>"
    ):
        _ports(SageMakerStepKind.TRAINING, (bad,), (TRAIN_OUT,))


def test_processing_code_channel_is_reserved() -> None:
    bad = InputPort("data", "/opt/ml/processing/input/data", "code", DependencyType.RAW_DATA)
    with pytest.raises(SpecError, match="'code' is reserved for the packed code"):
        _ports(SageMakerStepKind.PROCESSING, (bad,), (PROC_OUT,))


def test_processing_output_reads_its_own_entry() -> None:
    other = dataclasses.replace(
        PROC_OUT, property_path="properties.ProcessingOutputConfig.Outputs['summary'].S3Output.S3Uri"
    )
    inp = InputPort("data", "/opt/ml/processing/input/data", "data", DependencyType.RAW_DATA)
    with pytest.raises(SpecError, match="read from its own ProcessingOutputConfig entry"):
        _ports(SageMakerStepKind.PROCESSING, (inp,), (other,))


def test_channels_and_paths_are_unique() -> None:
    a = InputPort("a", "/opt/ml/processing/input/a", "same", DependencyType.RAW_DATA)
    b = InputPort("b", "/opt/ml/processing/input/b", "same", DependencyType.RAW_DATA)
    with pytest.raises(SpecError, match="channel names are not unique"):
        _ports(SageMakerStepKind.PROCESSING, (a, b), (PROC_OUT,))
    c = InputPort("c", "/opt/ml/processing/input/a", "c", DependencyType.RAW_DATA)
    with pytest.raises(SpecError, match="input container paths are not unique"):
        _ports(SageMakerStepKind.PROCESSING, (a, c), (PROC_OUT,))


def test_a_property_path_that_does_not_exist_fails_when_the_spec_is_derived() -> None:
    broken = dataclasses.replace(TRAIN_OUT, property_path="properties.TrainingJobOutput.S3Output")
    inp = InputPort("data", "/opt/ml/input/data/data", "data", DependencyType.PROCESSED_DATA)
    ports = _ports(SageMakerStepKind.TRAINING, (inp,), (broken,))
    with pytest.raises(SpecError, match="property path does not exist"):
        ports.specification()
