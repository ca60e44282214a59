"""A user's own hyperparameters (a subclass of ``ModelHyperparameters``) work end to end.

GIVEN ``L2Hyperparameters(ModelHyperparameters)`` with its own field ``l2_penalty``
THEN it reaches the definition, the shipped hyperparameters file and a local run of a user's own
``train.py`` (SageMaker's real training toolkit), survives ``model_copy``, ``model_dump`` /
``model_validate`` (``PyTorchTrainingConfig[L2Hyperparameters]``) and the template; the user's script
receives exactly what the class declares (none of the reference model's knobs), and the seed's plain
``ModelHyperparameters(...)`` still trains the reference ``train.py`` (which defaults those knobs).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from pydantic import StrictFloat, field_validator

from constructs_lib import (
    ConfigError,
    ModelHyperparameters,
    PipelineBuilderTemplate,
    PyTorchTrainingConfig,
    PyTorchTrainingStepBuilder,
    TabularClassifierHyperparameters,
)
from constructs_lib.config.hyperparameters import HYPERPARAMETERS_FILE
from constructs_lib.examples import REFERENCE_TRAINING_DIR, seed_dag_template
from constructs_lib.packaging import pack_source_dir

REGION = "us-east-1"
SEED_FIELDS = {
    "id_name",
    "label_name",
    "full_field_list",
    "tab_field_list",
    "cat_field_list",
    "learning_rate",
    "batch_size",
    "epochs",
}
KNOBS = {"hidden_dims", "dropout", "embedding_dim", "seed"}
DEMO_COLUMNS = ["customer_id", "target", "feature1", "feature2", "feature3"]


class L2Hyperparameters(ModelHyperparameters):
    """A user's hyperparameters: the seed's fields plus an L2 penalty."""

    l2_penalty: StrictFloat = 0.0
    """L2 weight penalty, ``>= 0``. Default ``0.0``."""

    @field_validator("l2_penalty")
    @classmethod
    def _non_negative(cls, v: float) -> float:
        if not v >= 0:
            raise ConfigError("must be >= 0", field="l2_penalty", value=v)
        return v


def user_hp(**update: Any) -> L2Hyperparameters:
    values: dict[str, Any] = {
        "id_name": "customer_id",
        "label_name": "target",
        "full_field_list": DEMO_COLUMNS,
        "tab_field_list": ["feature1", "feature2"],
        "cat_field_list": ["feature3"],
        "epochs": 2,
        "l2_penalty": 0.25,
    }
    values.update(update)
    return L2Hyperparameters(**values)


def user_config(source_dir: Path | str, **update: Any) -> PyTorchTrainingConfig:
    values: dict[str, Any] = {
        "training_instance_type": "ml.m5.xlarge",
        "source_dir": str(source_dir),
        "framework_version": "2.3.0",
        "py_version": "py311",
        "hyperparameters": user_hp(),
    }
    values.update(update)
    return PyTorchTrainingConfig(**values)


#: A user's training script (stdlib only): the README's script contract, nothing of constructs_lib.
USER_TRAIN_PY = """\
import json
import os
import sys
from pathlib import Path

# Hyperparameters: SM_HPS holds every value that fits SageMaker's 2,500 characters (decoded JSON);
# when one does not, the complete set is constructs_lib_hyperparameters.json beside this script.
hps = json.loads(os.environ.get("SM_HPS", "{}"))
full = Path(__file__).with_name("constructs_lib_hyperparameters.json")
if full.is_file():
    hps.update(json.loads(full.read_text(encoding="utf-8")))
l2 = float(hps["l2_penalty"])
print("received hyperparameters: " + json.dumps(sorted(hps)), flush=True)
print("full_field_list has %d names" % len(hps["full_field_list"]), flush=True)

# Data: one channel "data" with train/ val/ test/.
data = Path(os.environ["SM_CHANNEL_DATA"])
rows = {split: sum(1 for _ in (data / split).glob("*.csv")) for split in ("train", "val", "test")}
print("csv files: " + json.dumps(rows, sort_keys=True), flush=True)
if not all(rows.values()):
    sys.exit("missing data split")

for epoch in range(int(hps["epochs"])):
    loss = 0.7 / (epoch + 1) + l2
    print("Train Loss: %.6g" % loss, flush=True)
    print("Validation Loss: %.6g" % (loss + 0.05), flush=True)
    print("Validation F1 Score: %.6g" % 0.8, flush=True)
    print("Validation AUC ROC: %.6g" % 0.9, flush=True)

Path(os.environ["SM_MODEL_DIR"], "model.json").write_text(json.dumps({"l2_penalty": l2}), encoding="utf-8")
"""


@pytest.fixture
def user_code(tmp_path: Path) -> Path:
    code = tmp_path / "my_training_code"
    code.mkdir()
    (code / "train.py").write_text(USER_TRAIN_PY, encoding="utf-8")
    return code


# ----------------------------------------------------------------------------------------- definition
def test_the_definition_carries_exactly_the_declared_fields() -> None:
    args = PyTorchTrainingStepBuilder(
        user_config(REFERENCE_TRAINING_DIR), region=REGION
    ).training_job_arguments()
    sent = {k for k in args["HyperParameters"] if not k.startswith("sagemaker_")}
    assert sent == SEED_FIELDS | {"l2_penalty"}
    assert args["HyperParameters"]["l2_penalty"] == "0.25"
    assert L2Hyperparameters.from_sagemaker(args["HyperParameters"]) == user_hp()


def test_only_the_reference_subclass_sends_the_model_knobs() -> None:
    seed = {k: v for k, v in user_hp().to_values().items() if k in SEED_FIELDS}
    plain = ModelHyperparameters(**seed)
    reference = TabularClassifierHyperparameters(**seed)
    assert set(plain.to_sagemaker()) == SEED_FIELDS
    assert set(reference.to_sagemaker()) == SEED_FIELDS | KNOBS
    assert reference.to_values()["hidden_dims"] == [64, 32]


def test_a_long_value_ships_the_complete_set_in_the_file(user_code: Path) -> None:
    extra = [f"extra_feature_{i:04d}" for i in range(300)]
    hp = user_hp(full_field_list=[*DEMO_COLUMNS, *extra], tab_field_list=["feature1", "feature2", *extra])
    builder = PyTorchTrainingStepBuilder(user_config(user_code, hyperparameters=hp), region=REGION)
    inline = builder.training_job_arguments()["HyperParameters"]
    assert inline["l2_penalty"] == "0.25" and "full_field_list" not in inline
    (package,) = builder.code_packages()
    tarball = pack_source_dir(
        package.source_dir, entry_point=package.entry_point, extra_files=package.extra_files
    )
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile(HYPERPARAMETERS_FILE)
        assert member is not None
        shipped = json.loads(member.read())
    assert set(shipped) == SEED_FIELDS | {"l2_penalty"}
    assert L2Hyperparameters(**shipped) == hp


# ------------------------------------------------------------------------------------ serialisation
def test_model_copy_keeps_the_class() -> None:
    config = user_config(REFERENCE_TRAINING_DIR)
    copied = config.model_copy(update={"training_volume_size": 50})
    assert type(copied.hyperparameters) is L2Hyperparameters
    assert copied.hyperparameters == config.hyperparameters
    faster = user_hp().model_copy(update={"l2_penalty": 0.5})
    assert type(faster) is L2Hyperparameters and faster.l2_penalty == 0.5
    with pytest.raises(ConfigError, match="l2_penalty"):
        user_hp().model_copy(update={"l2_penalty": -1.0})


def test_model_dump_carries_the_subclass_fields_and_validates_back() -> None:
    config = user_config(REFERENCE_TRAINING_DIR)
    dumped = config.model_dump()
    assert dumped["hyperparameters"]["l2_penalty"] == 0.25
    assert '"l2_penalty":0.25' in config.fingerprint()

    restored = PyTorchTrainingConfig[L2Hyperparameters].model_validate(dumped)
    assert isinstance(restored, PyTorchTrainingConfig)
    assert type(restored.hyperparameters) is L2Hyperparameters
    assert restored == config and restored.model_dump() == dumped
    as_json = PyTorchTrainingConfig[L2Hyperparameters].model_validate_json(config.model_dump_json())
    assert as_json == config
    # a parametrized config builds like the plain one
    assert (
        PyTorchTrainingStepBuilder(restored, region=REGION).training_job_arguments()
        == PyTorchTrainingStepBuilder(config, region=REGION).training_job_arguments()
    )


def test_the_plain_class_refuses_a_subclass_dump_instead_of_dropping_fields() -> None:
    dumped = user_config(REFERENCE_TRAINING_DIR).model_dump()
    with pytest.raises(ConfigError) as err:
        PyTorchTrainingConfig.model_validate(dumped)
    text = str(err.value)
    assert "hyperparameters.l2_penalty" in text and "unknown field" in text
    assert "allowed fields of ModelHyperparameters" in text
    assert "PyTorchTrainingConfig[MyHyperparameters].model_validate" in text


def test_a_typo_in_a_subclass_field_suggests_the_field() -> None:
    dumped = user_config(REFERENCE_TRAINING_DIR).model_dump()
    dumped["hyperparameters"]["l2_penalti"] = dumped["hyperparameters"].pop("l2_penalty")
    with pytest.raises(ConfigError, match=r"hyperparameters\.l2_penalti.*did you mean 'l2_penalty'"):
        PyTorchTrainingConfig[L2Hyperparameters].model_validate(dumped)


def test_bad_subclass_fields_are_config_errors() -> None:
    class Reserved(ModelHyperparameters):
        sagemaker_program: str = "x"

    with pytest.raises(ConfigError, match="sagemaker_"):
        Reserved(**{k: v for k, v in user_hp().to_values().items() if k in SEED_FIELDS})

    class Opaque(ModelHyperparameters):
        model_config = {**ModelHyperparameters.model_config, "arbitrary_types_allowed": True}
        handle: object = None

    hp = Opaque(**{k: v for k, v in user_hp().to_values().items() if k in SEED_FIELDS}, handle=object())
    with pytest.raises(ConfigError, match="no JSON form"):
        PyTorchTrainingStepBuilder(
            user_config(REFERENCE_TRAINING_DIR, hyperparameters=hp), region=REGION
        ).build(inputs={"input_path": "s3://data-bucket/in/"})


# ------------------------------------------------------------------------------------------ template
def _training_hyperparameters(definition: dict[str, Any], step: str) -> dict[str, str]:
    (found,) = [s for s in definition["Steps"] if s["Name"] == step]
    return dict(found["Arguments"]["HyperParameters"])


def test_the_template_keeps_the_user_fields() -> None:
    config = user_config(REFERENCE_TRAINING_DIR)
    one = PipelineBuilderTemplate.single_step(config, region=REGION).build("user-hp")
    assert _training_hyperparameters(one.definition, "PyTorchTraining")["l2_penalty"] == "0.25"
    restored = PyTorchTrainingConfig[L2Hyperparameters].model_validate(config.model_dump())
    again = PipelineBuilderTemplate.single_step(restored, region=REGION).build("user-hp")
    assert again.definition_json == one.definition_json
    dag = seed_dag_template(REGION, training=config).build("user-hp-dag")
    hps = _training_hyperparameters(dag.definition, "train")
    assert hps["l2_penalty"] == "0.25" and not KNOBS & set(hps)


# ----------------------------------------------------------------------------------------- local run
@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from constructs_lib.local.demo_data import write_demo_dataset

    return write_demo_dataset(tmp_path_factory.mktemp("user-hp") / "data", rows=200)


@pytest.mark.slow
def test_a_user_train_py_runs_locally_with_its_own_hyperparameters(
    user_code: Path, demo_data: Path, tmp_path: Path
) -> None:
    pytest.importorskip("sagemaker_training")
    from constructs_lib.local.runner import run_training_locally

    extra = [f"extra_feature_{i:04d}" for i in range(300)]  # too long inline: the file carries them
    hp = user_hp(full_field_list=[*DEMO_COLUMNS, *extra], tab_field_list=["feature1", "feature2", *extra])
    result = run_training_locally(
        user_config(user_code, hyperparameters=hp),
        demo_data,
        work_dir=tmp_path / "work",
        stream=None,
        timeout=240,
    )
    assert result.succeeded, result.describe_failure()
    log = "\n".join(result.log)
    assert f"received hyperparameters: {json.dumps(sorted(SEED_FIELDS | {'l2_penalty'}))}" in log
    assert f"full_field_list has {len(DEMO_COLUMNS) + 300} names" in log
    assert result.final_metrics()["Train Loss"] == pytest.approx(0.35 + 0.25)
    assert set(result.final_metrics()) == {
        "Train Loss",
        "Validation Loss",
        "Validation F1 Score",
        "Validation AUC ROC",
    }


@pytest.mark.slow
@pytest.mark.torch
def test_the_reference_script_defaults_the_knobs_for_plain_model_hyperparameters(
    demo_data: Path, tmp_path: Path
) -> None:
    pytest.importorskip("sagemaker_training")
    pytest.importorskip("torch")
    from constructs_lib.local.runner import run_training_locally

    seed = {k: v for k, v in user_hp().to_values().items() if k in SEED_FIELDS}
    config = user_config(
        REFERENCE_TRAINING_DIR, hyperparameters=ModelHyperparameters(**{**seed, "epochs": 1})
    )
    result = run_training_locally(
        config, demo_data, work_dir=tmp_path / "work", stream=None, timeout=240, skip_requirements=True
    )
    assert result.succeeded, result.describe_failure()
    (line,) = [ln for ln in result.log if ln.startswith("Hyperparameters: ")]
    used = json.loads(line.removeprefix("Hyperparameters: "))
    assert {k: used[k] for k in KNOBS} == {
        "hidden_dims": [64, 32],
        "dropout": 0.1,
        "embedding_dim": 8,
        "seed": 42,
    }
