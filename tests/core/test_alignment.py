"""check_alignment: every registered builder is aligned; deliberately drifted variants fail loudly."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from constructs_lib import (
    DataLoadStepBuilder,
    PyTorchModelStepBuilder,
    PyTorchTrainingStepBuilder,
    SpecError,
    TabularPreprocessingConfig,
    TabularPreprocessingStepBuilder,
    check_alignment,
    registry,
)
from constructs_lib.alignment import check_all_registered, find_drifts
from constructs_lib.contracts.base import ScriptContract
from constructs_lib.contracts.preprocessing_tabular import TABULAR_PREPROCESSING_CONTRACT
from constructs_lib.contracts.training_pytorch import PYTORCH_TRAINING_CONTRACT
from constructs_lib.examples import seed_training_config
from constructs_lib.specs.base import DependencyType, OutputSpec, StepSpecification
from constructs_lib.specs.preprocessing_tabular import tabular_preprocessing_spec

PRE_CONTRACT = TABULAR_PREPROCESSING_CONTRACT
PRE_SPEC = tabular_preprocessing_spec()


def training_sample() -> Any:
    # s3 code: the training builder needs no local source directory to be checked
    return seed_training_config(source_dir="s3://code-bucket/train/sourcedir.tar.gz")


def drifts_of(builder_cls: type[Any], config: Any = None) -> str:
    with pytest.raises(SpecError) as info:
        check_alignment(builder_cls, config)
    text = str(info.value)
    assert text.startswith(f"step {builder_cls.STEP_TYPE!r}, field {builder_cls.__name__!r}: "), text
    return text


# ------------------------------------------------------------------------------------------ aligned


def test_every_registered_builder_is_aligned() -> None:
    check_all_registered({"PyTorchTrainingStep": training_sample()})


@pytest.mark.parametrize(
    "builder_cls",
    [
        DataLoadStepBuilder,
        TabularPreprocessingStepBuilder,
        PyTorchModelStepBuilder,
        PyTorchTrainingStepBuilder,
    ],
    ids=lambda c: c.STEP_TYPE,
)
def test_no_drifts(builder_cls: type[Any]) -> None:
    config = training_sample() if builder_cls is PyTorchTrainingStepBuilder else None
    assert find_drifts(builder_cls, config) == []


def test_training_without_a_config_is_checked_statically() -> None:
    assert not hasattr(PyTorchTrainingStepBuilder, "example_config")
    assert find_drifts(PyTorchTrainingStepBuilder) == []


def test_the_seed_config_with_local_code_is_aligned_too() -> None:
    check_alignment(PyTorchTrainingStepBuilder, seed_training_config())


# ------------------------------------------------------------------------------------------ drifted


class RenamedContractInput(TabularPreprocessingStepBuilder):
    """The contract renamed its input; spec and CHANNELS still say raw_data."""

    STEP_TYPE = "RenamedContractInputStep"

    @classmethod
    def specification(cls) -> StepSpecification:
        return dataclasses.replace(PRE_SPEC, step_type=cls.STEP_TYPE)

    @classmethod
    def contract(cls) -> ScriptContract:
        return dataclasses.replace(PRE_CONTRACT, expected_input_paths={"raw": "/opt/ml/processing/input/raw"})


def test_renamed_contract_input() -> None:
    text = drifts_of(RenamedContractInput)
    assert "STEP_TYPE 'RenamedContractInputStep' is not the class name without 'Builder'" in text
    assert "dependency 'raw_data' has no contract input path (contract inputs: raw)" in text
    assert "contract input 'raw' (/opt/ml/processing/input/raw) is delivered on no builder channel" in text
    assert "builder channel 'raw_data' -> 'raw_data' has no contract input path" in text


class MissingChannelStepBuilder(TabularPreprocessingStepBuilder):
    STEP_TYPE = "MissingChannelStep"
    CHANNELS: ClassVar[dict[str, str]] = {}

    @classmethod
    def specification(cls) -> StepSpecification:
        return dataclasses.replace(PRE_SPEC, step_type=cls.STEP_TYPE)


def test_dependency_without_a_channel() -> None:
    text = drifts_of(MissingChannelStepBuilder)
    assert "dependency 'raw_data' has no builder channel (CHANNELS: none)" in text


class DuplicateChannelStepBuilder(TabularPreprocessingStepBuilder):
    STEP_TYPE = "DuplicateChannelStep"
    CHANNELS: ClassVar[dict[str, str]] = {"raw_data": "code", "lookup": "code"}

    @classmethod
    def specification(cls) -> StepSpecification:
        return dataclasses.replace(PRE_SPEC, step_type=cls.STEP_TYPE)

    @classmethod
    def contract(cls) -> ScriptContract:
        paths = {"raw_data": "/opt/ml/processing/input/raw", "lookup": "/opt/ml/processing/input/raw"}
        return dataclasses.replace(PRE_CONTRACT, expected_input_paths=paths)


def test_channel_names_must_be_unique_and_not_reserved() -> None:
    text = drifts_of(DuplicateChannelStepBuilder)
    assert "channel names are not unique: code" in text
    assert "channel name 'code' is reserved for the packed code of a processing step" in text
    assert "contract input paths are not unique: /opt/ml/processing/input/raw" in text


class UnwrittenOutputStepBuilder(TabularPreprocessingStepBuilder):
    """The spec promises a second output the script never writes."""

    STEP_TYPE = "UnwrittenOutputStep"

    @classmethod
    def specification(cls) -> StepSpecification:
        extra = OutputSpec(
            "report",
            DependencyType.JOB_OUTPUT,
            "properties.ProcessingOutputConfig.Outputs['summary'].S3Output.S3Uri",
        )
        return dataclasses.replace(PRE_SPEC, step_type=cls.STEP_TYPE, outputs=(*PRE_SPEC.outputs, extra))


def test_output_without_a_contract_path() -> None:
    text = drifts_of(UnwrittenOutputStepBuilder)
    assert "output 'report' has no contract output path: the script never writes it" in text
    assert "output 'report' reads property path properties.ProcessingOutputConfig.Outputs['summary']" in text


class UndeclaredOutputStepBuilder(TabularPreprocessingStepBuilder):
    STEP_TYPE = "UndeclaredOutputStep"

    @classmethod
    def specification(cls) -> StepSpecification:
        return dataclasses.replace(PRE_SPEC, step_type=cls.STEP_TYPE)

    @classmethod
    def contract(cls) -> ScriptContract:
        outputs = {**PRE_CONTRACT.expected_output_paths, "stats": "/opt/ml/processing/output/stats"}
        return dataclasses.replace(PRE_CONTRACT, expected_output_paths=outputs)


def test_contract_output_the_spec_does_not_declare() -> None:
    text = drifts_of(UndeclaredOutputStepBuilder)
    assert (
        "contract output 'stats' (/opt/ml/processing/output/stats) is not an output of the specification"
        in text
    )


class NeedsTokenStepBuilder(TabularPreprocessingStepBuilder):
    STEP_TYPE = "NeedsTokenStep"

    @classmethod
    def specification(cls) -> StepSpecification:
        return dataclasses.replace(PRE_SPEC, step_type=cls.STEP_TYPE)

    @classmethod
    def contract(cls) -> ScriptContract:
        return dataclasses.replace(PRE_CONTRACT, required_env_vars=("API_TOKEN",))


def test_required_env_var_must_be_supplied_by_the_config() -> None:
    text = drifts_of(NeedsTokenStepBuilder)  # example_config() has no env
    assert "the contract requires environment variables API_TOKEN that the config does not supply" in text
    check_alignment(NeedsTokenStepBuilder, TabularPreprocessingConfig(env={"API_TOKEN": "x"}))


class NeedsTokenNoSampleStepBuilder(NeedsTokenStepBuilder):
    STEP_TYPE = "NeedsTokenNoSampleStep"
    example_config = None  # type: ignore[assignment]


def test_required_env_var_without_any_config() -> None:
    text = drifts_of(NeedsTokenNoSampleStepBuilder)
    assert "no config was given to show they are supplied" in text


class OtherEntryPointStepBuilder(TabularPreprocessingStepBuilder):
    STEP_TYPE = "OtherEntryPointStep"

    @classmethod
    def specification(cls) -> StepSpecification:
        return dataclasses.replace(PRE_SPEC, step_type=cls.STEP_TYPE)

    @classmethod
    def contract(cls) -> ScriptContract:
        return dataclasses.replace(PRE_CONTRACT, entry_point="split.py")


def test_entry_point_must_match_the_config_default() -> None:
    text = drifts_of(OtherEntryPointStepBuilder)
    assert (
        "contract entry_point 'split.py' is not the default of TabularPreprocessingConfig.processing_entry_point "
        "('preprocess.py')" in text
    )
    assert "the shipped script" in text and "split.py does not exist" in text


class HardcodedPathStepBuilder(TabularPreprocessingStepBuilder):
    """The contract moved the input, but the builder still builds the step with the old path."""

    STEP_TYPE = "HardcodedPathStep"

    @classmethod
    def specification(cls) -> StepSpecification:
        return dataclasses.replace(PRE_SPEC, step_type=cls.STEP_TYPE)

    @classmethod
    def contract(cls) -> ScriptContract:
        return dataclasses.replace(
            PRE_CONTRACT, expected_input_paths={"raw_data": "/opt/ml/processing/input/table"}
        )

    def _build(self, inputs: Any, depends_on: Any) -> Any:
        original = type(self).contract
        type(self).contract = classmethod(lambda cls: PRE_CONTRACT)  # type: ignore[method-assign,assignment]
        try:
            return super()._build(inputs, depends_on)
        finally:
            type(self).contract = original  # type: ignore[method-assign]


def test_the_built_step_is_compared_with_the_contract() -> None:
    text = drifts_of(HardcodedPathStepBuilder)
    assert (
        "the built step delivers 'raw_data' at /opt/ml/processing/input/raw, "
        "the contract says /opt/ml/processing/input/table" in text
    )
    # without building, the static checks see nothing wrong
    assert find_drifts(HardcodedPathStepBuilder, build=False) == []


class WrongTrainingChannelStepBuilder(PyTorchTrainingStepBuilder):
    STEP_TYPE = "WrongTrainingChannelStep"

    @classmethod
    def specification(cls) -> StepSpecification:
        return dataclasses.replace(PyTorchTrainingStepBuilder.specification(), step_type=cls.STEP_TYPE)

    @classmethod
    def contract(cls) -> ScriptContract:
        return dataclasses.replace(
            PYTORCH_TRAINING_CONTRACT, expected_input_paths={"input_path": "/opt/ml/input/data/train"}
        )


def test_training_channel_path_must_match_its_mount_point() -> None:
    text = drifts_of(WrongTrainingChannelStepBuilder, training_sample())
    assert (
        "contract input 'input_path' is at /opt/ml/input/data/train, but channel 'data' is mounted at" in text
    )


# ------------------------------------------------------------------------------------------ all registered


@pytest.fixture
def broken_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    registry.step_builder_map()  # load the built-ins first
    monkeypatch.setitem(registry._BUILDERS, MissingChannelStepBuilder.STEP_TYPE, MissingChannelStepBuilder)
    yield


def test_check_all_registered_names_each_failing_step_type(broken_registered: None) -> None:
    with pytest.raises(SpecError) as info:
        check_all_registered({"PyTorchTrainingStep": training_sample()})
    text = str(info.value)
    assert text.startswith("1 registered step type(s) are misaligned: step 'MissingChannelStep'")
    assert "dependency 'raw_data' has no builder channel" in text
