"""Installed as a dependency: the wheel, installed non-editable with ``[nag]`` into a fresh venv, serves a
user's CDK app that lives outside the repository.

GIVEN a wheel built from the project's files (``pip wheel``, no build isolation: no download) and a new
venv (no pip of its own; this environment's pip installs into it with ``--python``) whose dependencies
come from this environment's site-packages through one ``.pth`` line (a directory of links to every
distribution except constructs_lib itself, so pip sees them installed and resolves ``[nag]`` offline)
WHEN ``pip install --no-index --find-links <wheels> 'constructs_lib[nag]'`` runs, and a user app in its
own directory synthesizes a ``PyTorchTrainingPipeline`` with the packaged reference code under
``add_aws_solutions_checks``, and the installed ``constructs-lib`` console script prints a definition of a
template in the user's directory
THEN ``constructs_lib`` is imported from the venv, no path of the repository is on ``sys.path``, every
shipped script is present as package data, the template holds the pipeline and the code asset, and the
console script finds the user's module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = ROOT / "tests" / "support"

USER_APP = """\
import json
import sys
from pathlib import Path

import aws_cdk as cdk

import constructs_lib
from constructs_lib.constructs import PyTorchTrainingPipeline, add_aws_solutions_checks
from constructs_lib.examples import REFERENCE_TRAINING_DIR, seed_training_config

app = cdk.App(outdir=sys.argv[1])
stack = cdk.Stack(app, "TeamTraining", env=cdk.Environment(region="eu-west-1"))
PyTorchTrainingPipeline(stack, "Training", config=seed_training_config(), pipeline_name="team-training")
add_aws_solutions_checks(app)
template = app.synth().get_stack_by_name("TeamTraining").template
scripts = Path(constructs_lib.__file__).parent / "scripts"
print(json.dumps({
    "constructs_lib": constructs_lib.__file__,
    "reference_dir": str(REFERENCE_TRAINING_DIR),
    "sys_path": sys.path,
    "scripts": sorted(str(p.relative_to(scripts)) for p in scripts.rglob("*") if p.is_file() and "__pycache__" not in p.parts),
    "types": sorted({r["Type"] for r in template["Resources"].values()}),
}))
"""

USER_PIPELINES = """\
from constructs_lib import ModelHyperparameters
from constructs_lib.examples import seed_training_config
from constructs_lib.template import PipelineBuilderTemplate


class TeamHyperparameters(ModelHyperparameters):
    l2_penalty: float = 0.0


hp = TeamHyperparameters(
    id_name="id", label_name="y", full_field_list=["id", "y", "x"], tab_field_list=["x"], l2_penalty=0.5
)
template = PipelineBuilderTemplate.single_step(
    seed_training_config(source_dir="s3://team-code/train/sourcedir.tar.gz", hyperparameters=hp), region="eu-west-1"
)
"""


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600, **kwargs)  # type: ignore[call-overload,no-any-return]


def _project_files() -> list[str]:
    """The files of the source distribution: what git tracks (or would) under the package, plus metadata."""
    listed = _run(
        ["git", "ls-files", "-co", "--exclude-standard", "pyproject.toml", "README.md", "constructs_lib"],
        cwd=ROOT,
    )
    assert listed.returncode == 0, listed.stderr
    return [f for f in listed.stdout.splitlines() if "__pycache__" not in f and (ROOT / f).is_file()]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    files = _project_files()
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    build_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    wheels = base / "wheels"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(wheels), str(source)],
        env=build_env,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = wheels.glob("constructs_lib-*.whl")

    target = base / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(target)], env=build_env)
    assert made.returncode == 0, made.stderr
    python = target / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    site_packages = Path(purelib.stdout.strip())
    # this environment's distributions, except constructs_lib (its editable install points at a checkout)
    deps = base / "deps"
    deps.mkdir()
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in sorted(ours.iterdir()):
        if entry.name.startswith(("constructs_lib", "__editable__")) or entry.suffix == ".pth":
            continue
        (deps / entry.name).symlink_to(entry)
    (site_packages / "constructs_lib_test_deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    installed = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
         "--find-links", str(wheels), "constructs_lib[nag]"],
        env=build_env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    assert wheel.name.startswith("constructs_lib-0.1.0-")
    return target


def _user_env(tmp: Path) -> dict[str, str]:
    """A user's environment: no PYTHONPATH into the repository, offline (the network guard, copied out of
    the repository), no AWS credentials, code staged in a temporary directory."""
    guard = tmp / "guard"
    guard.mkdir(exist_ok=True)
    shutil.copy2(SUPPORT / "netguard.py", guard / "netguard.py")
    shutil.copy2(SUPPORT / "sitecustomize_guard" / "sitecustomize.py", guard / "sitecustomize.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON", "CONSTRUCTS_LIB_"))}
    env.update(
        PYTHONPATH=str(guard),
        AWS_EC2_METADATA_DISABLED="true",
        CONSTRUCTS_LIB_STAGING_DIR=str(tmp / "staging"),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    return env


def test_a_user_app_synthesizes_with_the_installed_wheel(venv: Path, tmp_path: Path) -> None:
    app_dir = tmp_path / "team-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(USER_APP, encoding="utf-8")
    run = _run(
        [str(venv / "bin" / "python"), "app.py", str(tmp_path / "cdk.out")],
        cwd=app_dir,
        env=_user_env(tmp_path),
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])

    installed = Path(report["constructs_lib"]).resolve()
    assert installed.is_relative_to(venv.resolve()), installed
    assert Path(report["reference_dir"]).resolve().is_relative_to(venv.resolve())
    on_path = [p for p in report["sys_path"] if p and Path(p).resolve().is_relative_to(ROOT)]
    assert on_path == [], on_path
    shipped = sorted(
        str(p.relative_to(ROOT / "constructs_lib" / "scripts"))
        for p in (ROOT / "constructs_lib" / "scripts").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert report["scripts"] == shipped
    assert {"AWS::SageMaker::Pipeline", "AWS::IAM::Role", "AWS::S3::Bucket"} <= set(report["types"])
    assets = json.loads((tmp_path / "cdk.out" / "TeamTraining.assets.json").read_text(encoding="utf-8"))
    assert any(entry["source"]["path"].endswith(".team-training-code") for entry in assets["files"].values())


def test_the_installed_console_script_imports_the_users_module(venv: Path, tmp_path: Path) -> None:
    project = tmp_path / "team-pipelines"
    project.mkdir()
    (project / "user_pipelines.py").write_text(USER_PIPELINES, encoding="utf-8")
    script = venv / "bin" / "constructs-lib"
    run = _run(
        [str(script), "definition", "--template", "user_pipelines:template", "--name", "team"],
        cwd=project,
        env=_user_env(tmp_path),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    (step,) = json.loads(run.stdout)["Steps"]
    assert step["Arguments"]["HyperParameters"]["l2_penalty"] == "0.5"
