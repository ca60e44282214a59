"""Behaving inside someone else's app and test suite: the console script imports the user's module from
the current directory, unknown fields get a "did you mean", and the SageMaker SDK's own warnings never
reach the user's ``warnings`` (or pytest's warning summary)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from constructs_lib import ConfigError, PyTorchTrainingConfig

ROOT = Path(__file__).resolve().parent.parent

#: What pip writes as a ``[project.scripts]`` console script (pip's ``ScriptMaker`` template): run as a
#: file from ``bin/``, so ``sys.path[0]`` is that ``bin/`` directory, not the current directory.
CONSOLE_SCRIPT = """\
import re
import sys
from constructs_lib.__main__ import main
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(main())
"""

USER_MODULE = """\
from constructs_lib.examples import seed_training_config
from constructs_lib.template import PipelineBuilderTemplate

template = PipelineBuilderTemplate.single_step(
    seed_training_config(source_dir="s3://team-code/train/sourcedir.tar.gz"), region="eu-west-1"
)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONPATH=str(ROOT), AWS_EC2_METADATA_DISABLED="true")
    return env


@pytest.mark.slow
def test_the_console_script_imports_the_users_module_from_the_current_directory(tmp_path: Path) -> None:
    """GIVEN ``my_pipelines.py`` in the user's directory and the console script in another ``bin/``
    WHEN ``constructs-lib definition --template my_pipelines:template`` runs there
    THEN it finds the module, as ``python -m constructs_lib`` does."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "constructs-lib"
    script.write_text(CONSOLE_SCRIPT, encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "my_pipelines.py").write_text(USER_MODULE, encoding="utf-8")

    argv = ["definition", "--template", "my_pipelines:template", "--name", "team-training"]
    run = subprocess.run(
        [sys.executable, str(script), *argv],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    definition = json.loads(run.stdout)
    (step,) = definition["Steps"]
    assert step["Arguments"]["AlgorithmSpecification"]["TrainingImage"].startswith(
        "763104351884.dkr.ecr.eu-west-1."
    )

    # the module name the user mistyped is named in one line, exit status 2
    bad = subprocess.run(
        [sys.executable, str(script), "definition", "--template", "my_pipelinez:template"],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith(
        "ConfigError: field '--template': cannot load it: No module named 'my_pipelinez'"
    )


def test_an_unknown_field_suggests_the_closest_name() -> None:
    with pytest.raises(ConfigError) as err:
        PyTorchTrainingConfig(
            training_instance_typo="ml.m5.xlarge",
            source_dir="s3://team-code/train/sourcedir.tar.gz",
            framework_version="2.3.0",
            py_version="py311",
        )
    text = str(err.value)
    assert "field 'PyTorchTrainingConfig.training_instance_typo': unknown field" in text
    assert "did you mean 'training_instance_type'?" in text
    assert "allowed fields of PyTorchTrainingConfig:" in text


def test_an_unknown_nested_field_names_the_nested_models_fields() -> None:
    from constructs_lib import TabularClassifierHyperparameters
    from constructs_lib.examples import seed_training_config

    data = seed_training_config().model_dump()
    data["hyperparameters"]["learning_rat"] = data["hyperparameters"].pop("learning_rate")
    with pytest.raises(ConfigError) as err:
        PyTorchTrainingConfig[TabularClassifierHyperparameters].model_validate(data)
    text = str(err.value)
    assert "hyperparameters.learning_rat" in text and "did you mean 'learning_rate'?" in text
    assert "allowed fields of TabularClassifierHyperparameters:" in text


#: Builds definitions in a fresh interpreter under the strictest warning settings a user can have.
_WARNINGS_PROBE = textwrap.dedent(
    """
    import json, sys, warnings
    CONTROL = sys.argv[1] == "control"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if CONTROL:  # the SDK called directly, without the library: it does warn
            import sagemaker
            from sagemaker.pytorch import PyTorch
            PyTorch(entry_point="train.py", source_dir="s3://team-code/sourcedir.tar.gz",
                    framework_version="1.13.1", py_version="py39", instance_type="ml.m5.xlarge",
                    instance_count=1, role="arn:aws:iam::123456789012:role/jobs", output_path="s3://team-code/o")
        else:
            from constructs_lib import PyTorchTrainingStepBuilder
            from constructs_lib.examples import seed_dag_template, seed_training_config
            seed_dag_template().build("my-pipeline")
            PyTorchTrainingStepBuilder(seed_training_config(), region="us-east-1").training_job_arguments()
    print(json.dumps([[w.category.__name__, w.filename, str(w.message)[:120]] for w in caught]))
    """
)


@pytest.mark.slow
def test_sdk_warnings_from_the_librarys_calls_do_not_reach_the_user(tmp_path: Path) -> None:
    """GIVEN ``warnings.simplefilter("always")`` under ``catch_warnings(record=True)`` (what pytest's
    warning capture does) and no ``SAGEMAKER_SUPPRESS_V2_WARNING`` in the environment
    WHEN the library builds the seed DAG and a training step (the first SDK import happens inside)
    THEN nothing is recorded; the same SDK used directly records its deprecation warnings."""
    env = {k: v for k, v in _env().items() if k != "SAGEMAKER_SUPPRESS_V2_WARNING"}
    env["AWS_DEFAULT_REGION"] = "us-east-1"

    def probe(mode: str) -> list[list[str]]:
        run = subprocess.run(
            [sys.executable, "-c", _WARNINGS_PROBE, mode],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        return json.loads(run.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    control = probe("control")
    assert any(category == "SageMakerV2DeprecationWarning" for category, _, _ in control), control
    assert probe("library") == []
