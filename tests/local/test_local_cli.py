"""``constructs-lib local-run`` / ``demo-data``: options, exit statuses and one-line errors. The real
reference training through the command line is run by tests/test_readme.py (the README's commands)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from localrun_support import script_dir, training_config

from constructs_lib.__main__ import main
from constructs_lib.local.demo_data import demo_hyperparameters, write_demo_dataset
from constructs_lib.local.runner import LOCAL_EXTRA, reference_source_dir
from constructs_lib.metrics import METRIC_NAMES

pytestmark = pytest.mark.torch

TEMPLATE_MODULE = '''\
"""A user's module with a template whose training node runs a tiny script."""
from constructs_lib import PyTorchTrainingConfig
from constructs_lib.examples import seed_dag_template
from constructs_lib.local.demo_data import demo_hyperparameters


def template():
    training = PyTorchTrainingConfig(
        training_instance_type="ml.m5.xlarge",
        source_dir={source!r},
        framework_version="2.3.0",
        py_version="py311",
        hyperparameters=demo_hyperparameters(),
    )
    return seed_dag_template(training=training)
'''


@pytest.mark.slow
def test_local_run_of_a_template_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, latest_python: str
) -> None:
    body = (
        "import os, pathlib, sys\n"
        "assert os.environ['EXTRA'] == '1'\n"
        "assert sorted(os.listdir(os.path.join(os.environ['SM_CHANNEL_DATA'], 'val'))) == ['part-00000.csv']\n"
        "pathlib.Path(os.environ['SM_MODEL_DIR'], 'model.pt').write_bytes(b'w')\n"
        + "".join(f"print('{name}: 0.9')\n" for name in METRIC_NAMES)
    )
    source = script_dir(tmp_path / "src", body)
    (tmp_path / "my_pipelines.py").write_text(TEMPLATE_MODULE.format(source=str(source)))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["demo-data", "--out", str(tmp_path / "d"), "--rows", "400", "--seed", "1"]) == 0
    assert "wrote train/, val/ and test/" in capsys.readouterr().out
    argv = ["local-run", "--data-dir", str(tmp_path / "d"), "--template", "my_pipelines:template"]
    argv += [
        "--node",
        "train",
        "--work-dir",
        str(tmp_path / "w"),
        "--env",
        "EXTRA=1",
        "--python",
        latest_python,
    ]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Validation AUC ROC: 0.9" in captured.out
    assert "local-run: metric 'Validation AUC ROC': 1 values, last 0.9" in captured.out
    assert "local-run: succeeded" in captured.out
    assert (tmp_path / "w" / "output" / "model.tar.gz").is_file()


@pytest.mark.slow
def test_broken_contract_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], latest_python: str
) -> None:
    data = write_demo_dataset(tmp_path / "d", rows=40)
    source = script_dir(tmp_path / "src", "print('Train loss = 0.3')\n")  # not the contract's format
    config = tmp_path / "config.json"
    config.write_text(json.dumps(training_config(source).model_dump(mode="json")))
    assert (
        main(["local-run", "--data-dir", str(data), "--config", str(config), "--python", latest_python]) == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("LocalRunError: the script exited 0 but wrote nothing to SM_MODEL_DIR")
    assert "; no log line matched the job's metric definitions for: Train Loss, Validation Loss" in err[-1]


def test_usage_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_demo_dataset(tmp_path / "d", rows=40)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"source_dir": str(reference_source_dir())}))
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps(demo_hyperparameters().to_values()))
    seed = "constructs_lib.examples:seed_dag_template"
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    d = ["local-run", "--data-dir", str(data)]
    cases = [
        (
            ["local-run", "--data-dir", str(tmp_path / "missing")],
            "ConfigError: field 'data_dir': data directory",
        ),
        ([*d, "--env", "NOEQUALS"], "ConfigError: field '--env': expected KEY=VALUE"),
        (
            [*d, "--config", str(cfg), "--py-version", "py310"],
            "field '--config': cannot be combined with --py-version",
        ),
        ([*d, "--config", str(cfg)], "framework_version': field required"),
        ([*d, "--instance-type", "ml.m5.huge"], "not a SageMaker training instance"),
        (
            [*d, "--template", seed, "--config", str(cfg)],
            "field '--template': cannot be combined with --config",
        ),
        ([*d, "--template", seed, "--hyperparameters", str(hp)], "cannot be combined with --hyperparameters"),
        ([*d, "--node", "train"], "field '--node': needs --template"),
        (
            [*d, "--template", seed, "--node", "preprocess"],
            "field '--node': node 'preprocess' has a TabularPreprocessingConfig, not a PyTorchTrainingConfig",
        ),
        ([*d, "--template", seed, "--node", "nope"], "no such node in the template (got 'nope')"),
        # the seed's training node sets CA_REPOSITORY_ARN and ships requirements.txt
        ([*d, "--template", seed], "field 'env.CA_REPOSITORY_ARN'"),
        ([*d, "--template", seed, "--drop-codeartifact", "--instance-count", "9"], "--instance-count 1"),
        ([*d, "--python", str(bare / "bin" / "python")], LOCAL_EXTRA),
        (["demo-data", "--out", str(tmp_path / "x"), "--rows", "3"], "ConfigError: field 'rows'"),
    ]
    for argv, expected in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert expected in err[0], err[0]
    # the CodeArtifact refusal says how to proceed
    assert main([*d, "--template", seed]) == 2
    line = capsys.readouterr().err.strip()
    assert "--drop-codeartifact" in line and "--skip-requirements" in line
