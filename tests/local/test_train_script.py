"""The reference ``train.py`` (and ``model.py``), in process: hyperparameter sources, the old toolkit's
shell-split command line, validation, metrics maths, Parquet input, checkpoints, saved model reload."""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from constructs_lib.config.hyperparameters import HYPERPARAMETERS_FILE
from constructs_lib.local.demo_data import demo_hyperparameters, write_demo_dataset
from constructs_lib.local.runner import reference_source_dir
from constructs_lib.metrics import extract_metrics, metric_definitions

pytestmark = pytest.mark.torch

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("torch")

TRAIN_PY = reference_source_dir() / "train.py"
SCRIPTS = reference_source_dir().parent
#: Scripts that run inside SageMaker's containers (py39 images): Python 3.9 syntax and semantics.
CONTAINER_SCRIPTS = (
    TRAIN_PY,
    SCRIPTS / "pytorch_training" / "model.py",
    SCRIPTS / "pytorch_inference" / "inference.py",
    SCRIPTS / "launcher" / "constructs_lib_launcher.py",
    SCRIPTS / "pytorch_evaluation" / "evaluate.py",
)


def to_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """The script's argv as SageMaker's toolkit builds it (the installed toolkit's own function)."""
    mapping = pytest.importorskip("sagemaker_training.mapping")
    args: list[str] = mapping.to_cmd_args(hyperparameters)
    return args


@pytest.fixture(scope="module")
def train() -> Iterator[ModuleType]:
    saved_path, saved_model = list(sys.path), sys.modules.pop("model", None)
    spec = importlib.util.spec_from_file_location("constructs_lib_reference_train", TRAIN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)  # imports model.py from beside it
    yield module
    sys.path[:] = saved_path
    sys.modules.pop("model", None)
    if saved_model is not None:
        sys.modules["model"] = saved_model


def test_hyperparameters_file_name_matches_the_library(train: ModuleType) -> None:
    assert train.HYPERPARAMETERS_FILE == HYPERPARAMETERS_FILE


@pytest.mark.parametrize("path", CONTAINER_SCRIPTS, ids=lambda p: p.name)
def test_script_stays_python_39_compatible(path: Path) -> None:
    # SageMaker's PyTorch 1.13 images run Python 3.9: no 3.10+ syntax, and no run-time use of
    # ``X | Y`` in isinstance or of zip(strict=...).
    tree = ast.parse(path.read_text(encoding="utf-8"), feature_version=(3, 9))
    offenders = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id == "isinstance" and isinstance(node.args[1], ast.BinOp):
            offenders.append(f"line {node.lineno}: isinstance with X | Y")
        if node.func.id == "zip" and any(k.arg == "strict" for k in node.keywords):
            offenders.append(f"line {node.lineno}: zip(strict=...)")
    assert offenders == []
    python39 = shutil.which("python3.9")
    probe = subprocess.run([python39, "-c", "pass"], capture_output=True) if python39 else None
    if python39 is None or probe is None or probe.returncode != 0:
        pytest.skip("no working python3.9 on PATH to compile with")
    compiled = subprocess.run(
        [python39, "-c", "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')", str(path)],
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 0, compiled.stderr


# ----------------------------------------------------------------------------- hyperparameter sources
def test_merge_priority(train: ModuleType, tmp_path: Path) -> None:
    # GIVEN the four sources, each setting a different subset of keys
    script_dir = tmp_path / "code"
    script_dir.mkdir()
    (script_dir / HYPERPARAMETERS_FILE).write_text(
        json.dumps({"id_name": "from_file", "epochs": 1, "batch_size": 1, "seed": 1, "dropout": 0.5})
    )
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "hyperparameters.json").write_text(
        json.dumps(
            {
                "epochs": "2",
                "batch_size": "2",
                "seed": "2",
                "label_name": '"from_config"',
                "sagemaker_program": '"train.py"',
            }
        )
    )
    environ = {"SM_INPUT_CONFIG_DIR": str(config_dir), "SM_HPS": json.dumps({"batch_size": 3, "seed": 3})}
    argv = ["--seed", "4", "--embedding_dim", "4", "--sagemaker_region", "us-east-1"]
    # WHEN they are merged
    values, sources = train.collect_hyperparameters(argv, environ, script_dir)
    # THEN SM_HPS beats hyperparameters.json beats the file beats the command line, key by key (the command
    # line only fills what the others lack), and sagemaker_* entries are dropped
    assert values == {
        "id_name": "from_file",
        "dropout": 0.5,
        "epochs": 2,
        "label_name": "from_config",
        "batch_size": 3,
        "seed": 3,
        "embedding_dim": 4,
    }
    assert sources == {
        "id_name": HYPERPARAMETERS_FILE,
        "dropout": HYPERPARAMETERS_FILE,
        "epochs": "hyperparameters.json",
        "label_name": "hyperparameters.json",
        "batch_size": "SM_HPS",
        "seed": "SM_HPS",
        "embedding_dim": "command line",
    }


def _shell_argv(tmp_path: Path, args: list[str]) -> list[str]:
    """What a script receives when its command is joined into one string and run by /bin/sh, as
    sagemaker-training <= 5.1.2 does with capture_error (``asyncio.create_subprocess_shell(" ".join(cmd))``)."""
    probe = tmp_path / "argv.py"
    probe.write_text("import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    command = " ".join([sys.executable, str(probe), *args])
    done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, check=True)
    argv: list[str] = json.loads(done.stdout)
    return argv


def test_shell_split_argv_of_toolkit_4_parses_like_5_1(train: ModuleType, tmp_path: Path) -> None:
    # GIVEN the argv the toolkit builds (5.1.3+ passes it as is) and what /bin/sh makes of it (up to 5.1.2)
    hp = demo_hyperparameters()
    args = to_cmd_args(hp.to_values())
    shell = _shell_argv(tmp_path, args)
    assert "[customer_id," in shell and "target," in shell and "'customer_id'," not in " ".join(shell)
    # WHEN train.py reads either from the command line alone (no SM_HPS, no hyperparameters.json)
    parsed = []
    for argv in (args, shell):
        values, sources = train.collect_hyperparameters(
            argv, {"SM_INPUT_CONFIG_DIR": str(tmp_path)}, tmp_path
        )
        assert set(sources.values()) == {"command line"}
        parsed.append(train.parse_hyperparameters(values, sources).to_json())
        assert train.parse_command_line(argv)[1] == []  # nothing left over
    # THEN both give the job's hyperparameters
    assert parsed == [hp.to_values(), hp.to_values()]


def test_command_line_never_aborts(train: ModuleType) -> None:
    values, stray = train.parse_command_line(
        ["stray", "--a", "[x,", "y]", "--b=[1, 2]", "--neg", "-0.5", "--c", "--d", "plain words", "-e", "3"]
    )
    assert stray == ["stray"]
    assert values == {"a": ["x", "y"], "b": [1, 2], "neg": -0.5, "c": "", "d": "plain words", "e": 3}


def test_toolkit_command_line_round_trips(train: ModuleType, tmp_path: Path) -> None:
    # SageMaker's toolkit passes str() of the decoded values: lists arrive as Python literals.
    hp = demo_hyperparameters()
    argv = to_cmd_args(hp.to_values())
    assert "['customer_id', 'target', 'feature1', 'feature2', 'feature3']" in argv
    values, sources = train.collect_hyperparameters(argv, {"SM_INPUT_CONFIG_DIR": str(tmp_path)}, tmp_path)
    parsed = train.parse_hyperparameters(values, sources)
    assert parsed.to_json() == hp.to_values()


def test_config_file_values_are_json_decoded(train: ModuleType, tmp_path: Path) -> None:
    hp = demo_hyperparameters()
    (tmp_path / "hyperparameters.json").write_text(json.dumps({**hp.to_sagemaker(), "note": "not json"}))
    values, _ = train.collect_hyperparameters([], {"SM_INPUT_CONFIG_DIR": str(tmp_path)}, tmp_path / "x")
    assert values["note"] == "not json"
    assert values["tab_field_list"] == ["feature1", "feature2"]
    assert values["learning_rate"] == 0.01


def test_comma_separated_lists_and_equals_form(train: ModuleType, tmp_path: Path) -> None:
    argv = [
        "--id_name=customer_id",
        "--label_name",
        "target",
        "--full_field_list",
        "customer_id,target,feature1",
        "--tab_field_list",
        "feature1",
    ]
    values, sources = train.collect_hyperparameters(argv, {"SM_INPUT_CONFIG_DIR": str(tmp_path)}, tmp_path)
    hp = train.parse_hyperparameters(values, sources)
    assert hp.full_field_list == ["customer_id", "target", "feature1"]
    assert hp.tab_field_list == ["feature1"]


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"learning_rate": 0}, "hyperparameter learning_rate=0.0 (from test): must be a finite number > 0"),
        ({"batch_size": 0}, "hyperparameter batch_size=0"),
        ({"batch_size": 1.5}, "must be a whole number"),
        ({"hidden_dims": []}, "hyperparameter hidden_dims=[]"),
        ({"dropout": 1.0}, "0 <= dropout < 1"),
        ({"tab_field_list": ["nope"]}, "hyperparameter tab_field_list=['nope'] (from test): 'nope' not in"),
        ({"cat_field_list": ["feature1"]}, "also listed in tab_field_list"),
        ({"label_name": "customer_id"}, "must differ from id_name"),
        ({"tab_field_list": ["target"]}, "cannot be a feature"),
        ({"tab_field_list": [], "cat_field_list": []}, "no features"),
        ({"epochs": "many"}, "must be a number"),
    ],
)
def test_invalid_hyperparameters_name_field_and_value(
    train: ModuleType, override: dict[str, object], fragment: str
) -> None:
    values: dict[str, object] = {**demo_hyperparameters().to_values(), **override}
    with pytest.raises(train.UsageError) as info:
        train.parse_hyperparameters(values, dict.fromkeys(values, "test"))
    assert fragment in str(info.value)


def test_missing_required_hyperparameter(train: ModuleType) -> None:
    values = demo_hyperparameters().to_values()
    del values["label_name"]
    with pytest.raises(train.UsageError, match="hyperparameter label_name is required"):
        train.parse_hyperparameters(values, {})


# ----------------------------------------------------------------------------- data validation
def _frame(**columns: list[object]) -> object:
    base: dict[str, list[object]] = {
        "customer_id": [1, 2, 3],
        "target": [0, 1, 0],
        "feature1": [0.1, 0.2, None],
        "feature2": [1.0, 2.0, 3.0],
        "feature3": ["A", "B", None],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_validate_frame_accepts_demo_like_data(train: ModuleType) -> None:
    hp = train.parse_hyperparameters(demo_hyperparameters().to_values(), {})
    train.validate_frame(_frame(), "train", hp, {})


def test_validate_frame_names_the_hyperparameter(train: ModuleType) -> None:
    hp = train.parse_hyperparameters(demo_hyperparameters().to_values(), {})
    frame = _frame().drop(columns=["feature2"])
    with pytest.raises(train.UsageError) as info:
        train.validate_frame(frame, "val", hp, {"tab_field_list": "SM_HPS"})
    assert str(info.value).startswith(
        "hyperparameter tab_field_list=['feature1', 'feature2'] (from SM_HPS): column 'feature2' not in the val data"
    )
    with pytest.raises(train.UsageError, match=r"label_name='target'.*only 0 and 1.*2"):
        train.validate_frame(_frame(target=[0, 1, 2]), "train", hp, {})
    with pytest.raises(train.UsageError, match="column 'feature1' of the train data is not numeric"):
        train.validate_frame(_frame(feature1=["x", 1, 2]), "train", hp, {})
    with pytest.raises(train.UsageError, match="hyperparameter id_name='customer_id'"):
        train.validate_frame(_frame().drop(columns=["customer_id"]), "test", hp, {})


# ----------------------------------------------------------------------------- metrics maths
def test_f1_and_auc(train: ModuleType) -> None:
    labels = np.array([0, 0, 1, 1], dtype=np.float32)
    assert train.roc_auc(labels, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert train.roc_auc(labels, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.5)  # ties averaged
    assert train.roc_auc(labels, np.array([0.1, 0.2, 0.3, 0.4])) == pytest.approx(1.0)
    assert np.isnan(train.roc_auc(np.array([1.0, 1.0]), np.array([0.2, 0.3])))
    # tp=1 (0.8), fp=0, fn=1 (0.35) -> 2/(2+0+1)
    assert train.f1_score(labels, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(2 / 3)
    assert train.f1_score(np.zeros(3), np.zeros(3)) == 0.0


# ----------------------------------------------------------------------------- whole script, Parquet
def test_main_on_parquet_then_reload_and_predict(
    train: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyarrow")
    data = write_demo_dataset(tmp_path / "data", fmt="parquet")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    hp = demo_hyperparameters().model_copy(update={"epochs": 3})
    (config_dir / "hyperparameters.json").write_text(json.dumps(hp.to_sagemaker()))
    environ = {
        "SM_CHANNEL_DATA": str(data),
        "SM_INPUT_CONFIG_DIR": str(config_dir),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "out"),
    }
    assert train.main([], environ) == 0
    out = capsys.readouterr().out
    series = extract_metrics(out.splitlines(), metric_definitions())
    assert {name: len(values) for name, values in series.items()} == dict.fromkeys(series, 3)
    assert series["Validation AUC ROC"][-1] > 0.8
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["rows"] == {"train": 1400, "val": 300, "test": 300}
    predictions = pd.read_csv(tmp_path / "out" / "test_predictions.csv")
    assert list(predictions.columns) == ["customer_id", "target", "probability"]

    model, meta = train.load_model(tmp_path / "model")
    test = pd.read_parquet(data / "test")
    probabilities = train.predict(model, meta, test)
    assert probabilities.shape == (300,)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert train.roc_auc(test["target"].to_numpy(), probabilities) > 0.8
    np.testing.assert_allclose(probabilities, predictions["probability"].to_numpy(), rtol=1e-5, atol=1e-6)
    # unseen categories and missing numbers are handled
    odd = test.head(2).assign(feature3=["ZZZ", None], feature2=[None, float("nan")])
    assert np.isfinite(train.predict(model, meta, odd)).all()


def test_main_reports_one_line_and_exit_2(
    train: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_demo_dataset(tmp_path / "data", rows=40)
    output_dir = tmp_path / "output"
    output_dir.mkdir()
    environ = {
        "SM_CHANNEL_DATA": str(data),
        "SM_INPUT_CONFIG_DIR": str(tmp_path / "none"),
        "SM_OUTPUT_DIR": str(output_dir),
        "SM_MODEL_DIR": str(tmp_path / "model"),
    }
    argv = to_cmd_args(
        {
            **demo_hyperparameters().to_values(),
            "full_field_list": ["customer_id", "target", "feature1", "feature2", "feature3", "income"],
            "tab_field_list": ["feature1", "income"],
        }
    )
    assert train.main(argv, environ) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("train.py: error: hyperparameter tab_field_list=['feature1', 'income']")
    assert "column 'income' not in the train data" in err[0]
    assert (output_dir / "failure").read_text().strip() == err[0][len("train.py: error: ") :]
    assert not (tmp_path / "model").exists()


def test_missing_split_directory(
    train: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_demo_dataset(tmp_path / "data", rows=40)
    for path in (data / "test").iterdir():
        path.unlink()
    (data / "test").rmdir()
    environ = {"SM_CHANNEL_DATA": str(data), "SM_INPUT_CONFIG_DIR": str(tmp_path)}
    assert train.main(to_cmd_args(demo_hyperparameters().to_values()), environ) == 2
    assert "has no test/ directory" in capsys.readouterr().err


# ----------------------------------------------------------------------------- checkpoints
def test_checkpoint_directory(train: ModuleType, tmp_path: Path) -> None:
    assert train.checkpoint_dir({"CONSTRUCTS_LIB_CHECKPOINT_DIR": str(tmp_path / "x")}) == tmp_path / "x"
    assert train.checkpoint_dir({"SAGEMAKER_BASE_DIR": str(tmp_path)}) is None  # no checkpoints/ there
    (tmp_path / "checkpoints").mkdir()
    assert train.checkpoint_dir({"SAGEMAKER_BASE_DIR": str(tmp_path)}) == tmp_path / "checkpoints"


def _checkpointed_main(
    train: ModuleType, tmp_path: Path, data: Path, name: str, **hp_update: object
) -> tuple[int, Path]:
    hp = demo_hyperparameters().model_copy(update={"epochs": 3, **hp_update})
    environ = {
        "SM_CHANNEL_DATA": str(data),
        "SM_INPUT_CONFIG_DIR": str(tmp_path / "none"),
        "SM_HPS": json.dumps(hp.to_values()),
        "SM_MODEL_DIR": str(tmp_path / name / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / name / "out"),
        "CONSTRUCTS_LIB_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
    }
    return train.main([], environ), tmp_path / name


def test_checkpoints_are_pruned_refused_when_foreign_and_skipped_when_unreadable(
    train: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_demo_dataset(tmp_path / "data", rows=200)
    checkpoints = tmp_path / "checkpoints"
    # a first run writes one checkpoint per epoch (atomically: no temporary file left) and keeps two
    assert _checkpointed_main(train, tmp_path, data, "first")[0] == 0
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "checkpoint-epoch-000002.pt",
        "checkpoint-epoch-000003.pt",
    ]
    capsys.readouterr()
    # another learning rate, or other training data: refused, naming the difference
    assert _checkpointed_main(train, tmp_path, data, "lr", learning_rate=0.5)[0] == 2
    assert "(learning_rate: 0.01 -> 0.5); delete the checkpoints" in capsys.readouterr().err
    other = write_demo_dataset(tmp_path / "other", rows=200, seed=7)
    assert _checkpointed_main(train, tmp_path, other, "data")[0] == 2
    assert "other inputs (the training data (its statistics or vocabularies))" in capsys.readouterr().err
    # a newer but unreadable checkpoint is skipped; the run after the last epoch trains nothing more
    (checkpoints / "checkpoint-epoch-000009.pt").write_bytes(b"not a checkpoint")
    status, out_dir = _checkpointed_main(train, tmp_path, data, "again")
    out = capsys.readouterr().out
    assert status == 0
    assert "Skipping unreadable checkpoint" in out and "checkpoint-epoch-000009.pt" in out
    assert "(epoch 3 of 3)" in out and "Epoch " not in out
    metrics = json.loads((out_dir / "out" / "metrics.json").read_text())
    assert (metrics["first_epoch"], metrics["epochs"]) == (4, 3)
    first = json.loads((tmp_path / "first" / "out" / "metrics.json").read_text())
    assert metrics["test"] == first["test"]  # the same model: the checkpoint of the last epoch
    assert (out_dir / "model" / "model.pt").is_file()
