"""``constructs_lib.testing`` on real synthesized stacks (and ``diff`` on a real cdk.out): one changed
hyperparameter is one changed snapshot line, inline or stored in S3; CDK bookkeeping and hashes are masked;
tokens read as ``${LogicalId.Attribute}``."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from synth_support import CONTEXT, REGION

from constructs_lib.__main__ import main
from constructs_lib.assembly import decode_definition
from constructs_lib.constructs import PyTorchTrainingPipeline
from constructs_lib.errors import ConfigError, SynthError
from constructs_lib.examples import seed_hyperparameters, seed_training_config
from constructs_lib.testing import HASH_MASK, template_snapshot, template_snapshot_json

PIPELINE = "snapshot-helper"
#: The context `cdk synth` sets: path and asset metadata, version reporting (CDKMetadata).
CLI_CONTEXT = {
    **CONTEXT,
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}
STORAGE = {"Inline": "inline", "InS3": "s3"}  # stack name -> definition storage


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory, staging_dir: Path) -> dict[str, dict[str, Any]]:
    """Two apps, "base" (learning rate 0.001) and "lr" (0.0005), with the same stacks: the definition
    inline, and in S3."""
    result = {}
    for label, learning_rate in (("base", 0.001), ("lr", 0.0005)):
        app = cdk.App(outdir=str(tmp_path_factory.mktemp(label) / "cdk.out"), context=CLI_CONTEXT)
        hp = seed_hyperparameters().model_copy(update={"learning_rate": learning_rate})
        stacks = {}
        for name, storage in STORAGE.items():
            stack = cdk.Stack(app, name, env=cdk.Environment(region=REGION))
            PyTorchTrainingPipeline(
                stack,
                "Training",
                config=seed_training_config(hyperparameters=hp),
                pipeline_name=PIPELINE,
                definition_storage=storage,  # type: ignore[arg-type]
            )
            stacks[name] = stack
        cloud = app.synth()
        result[label] = {"stacks": stacks, "cloud": cloud, "dir": Path(cloud.directory)}
    return result


@pytest.fixture(scope="module")
def assembly(assemblies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return assemblies["base"]


def _changed_lines(a: str, b: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize("stack", sorted(STORAGE))
def test_one_hyperparameter_is_one_snapshot_line(assemblies: dict[str, dict[str, Any]], stack: str) -> None:
    before = template_snapshot_json(assemblies["base"]["stacks"][stack])
    after = template_snapshot_json(assemblies["lr"]["stacks"][stack])
    assert _changed_lines(before, after) == [
        '-                    "learning_rate": "0.001",',
        '+                    "learning_rate": "0.0005",',
    ]


def test_cdk_bookkeeping_and_hashes_are_masked(assembly: dict[str, Any]) -> None:
    raw = assembly["cloud"].get_stack_by_name("InS3").template
    raw_text = json.dumps(raw)
    # what is masked is really there (the CLI's context was used)
    assert "aws:cdk:path" in raw_text and "aws:asset:path" in raw_text
    assert "CDKMetadata" in raw["Resources"] and "BootstrapVersion" in raw["Parameters"]
    assert re.search(r"[0-9a-f]{64}", raw_text)

    text = template_snapshot_json(assembly["stacks"]["InS3"])
    snap = json.loads(text)
    for gone in ("aws:cdk:path", "aws:asset:", "CDKMetadata", "BootstrapVersion", "CheckBootstrapVersion"):
        assert gone not in text, gone
    assert not re.search(r"[0-9a-f]{64}", text)
    assert HASH_MASK in text
    assert "${Token[" not in text
    # everything else is kept
    assert sorted(snap["Resources"]) == sorted(k for k in raw["Resources"] if k != "CDKMetadata")


def test_definitions_are_decoded_with_readable_tokens(assembly: dict[str, Any]) -> None:
    inline = template_snapshot(assembly["stacks"]["Inline"])
    in_s3 = template_snapshot(assembly["stacks"]["InS3"])
    (pipe,) = [r for r in inline["Resources"].values() if r["Type"] == "AWS::SageMaker::Pipeline"]
    (pipe_s3,) = [r for r in in_s3["Resources"].values() if r["Type"] == "AWS::SageMaker::Pipeline"]
    definition = pipe["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    args = definition["Steps"][0]["Arguments"]
    job_role = next(
        k for k, r in inline["Resources"].items() if r["Type"] == "AWS::IAM::Role" and "JobRole" in k
    )
    bucket = next(
        k for k in inline["Resources"] if k.startswith("TrainingStorageArtifactBucket") and "Policy" not in k
    )
    assert args["RoleArn"] == "${" + job_role + ".Arn}"
    assert args["OutputDataConfig"]["S3OutputPath"] == f"s3://${{{bucket}}}/{PIPELINE}/PyTorchTraining/model"
    assert json.loads(args["HyperParameters"]["sagemaker_submit_directory"]) == (
        f"s3://cdk-hnb659fds-assets-${{AWS::AccountId}}-{REGION}/{HASH_MASK}.{PIPELINE}-code"
    )
    # the S3-stored definition (asset JSON + BucketDeployment markers) decodes to the same definition
    location = pipe_s3["Properties"]["PipelineDefinition"]
    assert (
        location["PipelineDefinitionS3Location"]["Key"] == f"pipeline-definitions/{PIPELINE}/{HASH_MASK}.json"
    )
    assert location["DecodedFromAsset"] == definition


def test_every_kind_of_source_gives_the_same_snapshot(assembly: dict[str, Any]) -> None:
    artifact = assembly["cloud"].get_stack_by_name("InS3")
    from_stack = template_snapshot(assembly["stacks"]["InS3"])
    assert template_snapshot(artifact) == from_stack
    assert template_snapshot(artifact.template, assembly_dir=assembly["dir"]) == from_stack
    assert template_snapshot(assembly["dir"] / "InS3.template.json") == from_stack


def test_bad_sources_are_clear_errors(assembly: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"cannot take a snapshot of this.*int.*aws_cdk\.Stack"):
        template_snapshot(42)
    template = assembly["cloud"].get_stack_by_name("InS3").template
    with pytest.raises(SynthError, match=r"stored in S3.*cloud assembly directory.*assembly_dir="):
        template_snapshot(template)
    (logical,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::SageMaker::Pipeline"]
    with pytest.raises(SynthError, match="no BucketDeployment in the stack writes"):
        decode_definition(template, logical, assembly_dir=assembly["dir"] / "no-such-dir")


def test_diff_of_two_cdk_outs(
    assemblies: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    base, lr = str(assemblies["base"]["dir"]), str(assemblies["lr"]["dir"])
    # the same definition, inline and stored in S3: identical once decoded
    assert main(["diff", f"{base}/Inline.template.json", f"{base}/InS3.template.json"]) == 0
    assert "identical: steps: 0 changed, 0 added, 0 removed, 1 unchanged" in capsys.readouterr().out

    # another learning rate: that hyperparameter only (the code package carries no hyperparameters file
    # while every value fits inline)
    assert main(["diff", base, lr, "--pipeline", f"InS3/{PIPELINE}"]) == 1
    text = capsys.readouterr().out
    changed = [line for line in text.splitlines() if "->" in line]
    assert changed == ["  PyTorchTraining: Arguments.HyperParameters.learning_rate 0.001 -> 0.0005"]
    assert "step PyTorchTraining (Training): changed; re-runs: no CacheConfig" in text
    assert main(["diff", base, lr, "--pipeline", f"InS3/{PIPELINE}", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [c["path"] for c in report["steps"][0]["changes"]] == ["Arguments.HyperParameters.learning_rate"]

    assert main(["diff", base, lr, "--pipeline", PIPELINE]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ConfigError: field '--pipeline': ambiguous in ") and len(err.splitlines()) == 1
    assert f"qualify it as <stack>/<name>: Inline/{PIPELINE}, InS3/{PIPELINE}" in err
    assert main(["diff", base, lr]) == 2
    assert "2 pipelines in " in capsys.readouterr().err
