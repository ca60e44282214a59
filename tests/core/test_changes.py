"""The per-step change report (``constructs_lib.changes``, ``python -m constructs_lib diff``) on definitions
built by the real SageMaker SDK (the seed DAG: data_load -> preprocess -> train -> model), with step caching
switched on through the SDK's own ``CacheConfig``; and the template decoder on hand-written templates."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.__main__ import main
from constructs_lib.assembly import decode_definition
from constructs_lib.changes import ABSENT, CACHE_KEYS, FieldChange, compare_definitions
from constructs_lib.errors import SynthError
from constructs_lib.examples import seed_dag_template, seed_hyperparameters, seed_training_config

STEPS = ["data_load", "preprocess", "train", "model-CreateModel"]


def _build(**hyperparameters: Any) -> dict[str, Any]:
    hp = seed_hyperparameters().model_copy(update=hyperparameters)
    template = seed_dag_template(training=seed_training_config(hyperparameters=hp))
    return dict(template.build("my-pipeline").definition)


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return _build()


@pytest.fixture(scope="module")
def lower_lr() -> dict[str, Any]:
    return _build(learning_rate=0.0005)


def _cached(definition: dict[str, Any], **cache: Any) -> dict[str, Any]:
    """``definition`` with the SDK's ``CacheConfig`` on every step."""
    from sagemaker.workflow.steps import CacheConfig

    out = copy.deepcopy(definition)
    config = CacheConfig(**({"enable_caching": True, "expire_after": "P30D"} | cache)).config
    for step in out["Steps"]:
        step.update(copy.deepcopy(config))
    return out


def _step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    step: dict[str, Any] = next(s for s in definition["Steps"] if s["Name"] == name)
    return step


def test_identical_definitions(base: dict[str, Any]) -> None:
    report = compare_definitions(base, copy.deepcopy(base))
    assert report.identical
    assert [s.name for s in report.steps] == STEPS
    assert {s.status for s in report.steps} == {"unchanged"}
    assert report.to_text().splitlines()[-1] == (
        "identical: steps: 0 changed, 0 added, 0 removed, 4 unchanged; pipeline-level changes: 0"
    )


def test_one_hyperparameter(base: dict[str, Any], lower_lr: dict[str, Any]) -> None:
    report = compare_definitions(base, lower_lr)
    assert not report.identical
    (train,) = [s for s in report.steps if s.status != "unchanged"]
    assert train.name == "train" and train.status == "changed"
    assert train.changes == (FieldChange("Arguments.HyperParameters.learning_rate", "0.001", "0.0005"),)
    text = report.to_text()
    assert "  train: Arguments.HyperParameters.learning_rate 0.001 -> 0.0005\n" in text
    # the seed's steps have no CacheConfig: SageMaker runs every step on every execution
    assert "step train (Training): changed; re-runs: no CacheConfig (caching is off" in text
    assert "step model-CreateModel (Model): unchanged; re-runs: Model steps are not cached" in text


def test_cached_pipeline_reuses_unchanged_steps(base: dict[str, Any]) -> None:
    report = compare_definitions(_cached(base), _cached(base))
    verdicts = {s.name: s.cache for s in report.steps}
    for name in ("data_load", "preprocess", "train"):
        assert verdicts[name].reuse is True, name
        assert verdicts[name].to_text() == (
            "cached results reusable: cache key unchanged (a successful run within ExpireAfter P30D is reused)"
        )
    assert verdicts["model-CreateModel"].reuse is False


def test_a_changed_cache_key_reruns_the_step_and_everything_downstream(base: dict[str, Any]) -> None:
    old, new = _cached(base), _cached(base)
    _step(new, "preprocess")["Arguments"]["Environment"] = {"LOG_LEVEL": "debug"}
    report = compare_definitions(old, new)
    verdicts = {s.name: s.cache.to_text() for s in report.steps}
    assert verdicts == {
        "data_load": "cached results reusable: cache key unchanged (a successful run within ExpireAfter P30D "
        "is reused)",
        "preprocess": "re-runs: cache key changed (Environment)",
        "train": "re-runs: upstream 'preprocess' re-runs",
        "model-CreateModel": "re-runs: Model steps are not cached (runs on every execution)",
    }
    assert [str(c.to_text()) for s in report.steps for c in s.changes] == [
        'Arguments.Environment (absent) -> {"LOG_LEVEL":"debug"}'
    ]


def test_a_field_outside_the_cache_key_changes_without_a_rerun(base: dict[str, Any]) -> None:
    old, new = _cached(base), _cached(base)
    _step(new, "train")["Arguments"]["ResourceConfig"]["InstanceType"] = "ml.m5.xlarge"
    assert "Arguments.ResourceConfig" not in CACHE_KEYS["Training"]
    (train,) = [s for s in compare_definitions(old, new).steps if s.name == "train"]
    assert train.status == "changed"
    assert train.cache.reuse is True


def test_parameter_default_and_execution_values_rerun(base: dict[str, Any]) -> None:
    from sagemaker.workflow.execution_variables import ExecutionVariables

    old, new = _cached(base), _cached(base)
    new["Parameters"][0]["DefaultValue"] = "s3://other-bucket/raw/"
    _step(new, "train")["Arguments"]["Environment"] = {"RUN": ExecutionVariables.PIPELINE_EXECUTION_ID.expr}
    _step(old, "train")["Arguments"]["Environment"] = {"RUN": ExecutionVariables.PIPELINE_EXECUTION_ID.expr}
    report = compare_definitions(old, new)
    assert [c.path for c in report.pipeline] == ["Parameters.RawDataS3Uri.DefaultValue"]
    verdicts = {s.name: s.cache.to_text() for s in report.steps}
    assert verdicts["data_load"] == "re-runs: default of parameter 'RawDataS3Uri' changed"
    assert verdicts["preprocess"] == "re-runs: upstream 'data_load' re-runs"
    assert (
        verdicts["train"]
        == "re-runs: its cache key uses Execution.PipelineExecutionId (new on every execution)"
    )
    assert "  pipeline: Parameters.RawDataS3Uri.DefaultValue s3://" in report.to_text()


def test_caching_disabled(base: dict[str, Any]) -> None:
    report = compare_definitions(_cached(base, enable_caching=False), _cached(base, enable_caching=False))
    (train,) = [s for s in report.steps if s.name == "train"]
    assert train.cache.to_text() == "re-runs: CacheConfig.Enabled is not true (runs on every execution)"


def test_added_and_removed_steps_in_new_order_then_old(base: dict[str, Any]) -> None:
    new = copy.deepcopy(base)
    extra = copy.deepcopy(_step(new, "data_load"))
    extra["Name"] = "data_load_2"
    new["Steps"] = [extra, *(s for s in new["Steps"] if not s["Name"].startswith("model"))]
    report = compare_definitions(base, new)
    assert [(s.name, s.status) for s in report.steps] == [
        ("data_load_2", "added"),
        ("data_load", "unchanged"),
        ("preprocess", "unchanged"),
        ("train", "unchanged"),
        ("model-CreateModel", "removed"),
    ]
    text = report.to_text()
    assert "step data_load_2 (Processing): added; re-runs: new step\n" in text
    assert "step model-CreateModel (Model): removed\n" in text
    assert report.summary() == "steps: 0 changed, 1 added, 1 removed, 3 unchanged; pipeline-level changes: 0"


def test_condition_steps_nest_steps() -> None:
    def definition(threshold: float) -> dict[str, Any]:
        inner = {"Name": "notify", "Type": "Fail", "Arguments": {"ErrorMessage": "too low"}}
        return {
            "Version": "2020-12-01",
            "Steps": [
                {
                    "Name": "check",
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [{"Type": "GreaterThan", "LeftValue": 1, "RightValue": threshold}],
                        "IfSteps": [inner],
                        "ElseSteps": [],
                    },
                }
            ],
        }

    report = compare_definitions(definition(0.5), definition(0.7))
    assert [(s.name, s.status) for s in report.steps] == [("check", "changed"), ("notify", "unchanged")]
    assert [c.to_text() for c in report.steps[0].changes] == ["Arguments.Conditions[0].RightValue 0.5 -> 0.7"]


def test_values_are_shown_shortened_and_typed() -> None:
    long_old = "s3://cdk-hnb659fds-assets-123456789012-us-east-1/" + "a" * 64 + ".gz"
    long_new = "s3://cdk-hnb659fds-assets-123456789012-us-east-1/" + "b" * 64 + ".gz"
    text = FieldChange("Arguments.X", long_old, long_new).to_text()
    old_shown, new_shown = text.removeprefix("Arguments.X ").split(" -> ")
    assert len(old_shown) < len(long_old) and "aaaa" in old_shown and "bbbb" in new_shown
    assert old_shown.endswith(f"...({len(long_old)} chars)")
    assert FieldChange("Count", "1", 1).to_text() == 'Count "1" -> 1'
    assert FieldChange("Env.A", ABSENT, "x").to_json() == {"path": "Env.A", "change": "added", "new": "x"}
    assert FieldChange("Env.A", "x", ABSENT).kind == "removed"


def test_cli_diff_exit_status_and_formats(
    base: dict[str, Any], lower_lr: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(base))
    new.write_text(json.dumps(lower_lr))
    assert main(["diff", str(old), str(old)]) == 0
    assert capsys.readouterr().out.startswith(f"--- old: {old}\n+++ new: {old}\npipeline: unchanged\n")

    assert main(["diff", str(old), str(new)]) == 1
    first = capsys.readouterr().out
    assert main(["diff", str(old), str(new)]) == 1
    assert capsys.readouterr().out == first  # deterministic

    assert main(["diff", str(old), str(new), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["identical"] is False
    assert [s["name"] for s in report["steps"]] == STEPS
    (train,) = [s for s in report["steps"] if s["status"] == "changed"]
    assert train["changes"] == [
        {
            "path": "Arguments.HyperParameters.learning_rate",
            "change": "changed",
            "old": "0.001",
            "new": "0.0005",
        }
    ]
    assert train["cache"] == {
        "reuse": False,
        "reason": "no CacheConfig (caching is off: runs on every execution)",
    }

    missing = tmp_path / "missing.json"
    assert main(["diff", str(old), str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"ConfigError: field 'path': no such file or directory (got {str(missing)!r})\n"
    )
    (tmp_path / "other.json").write_text("[1, 2]")
    assert main(["diff", str(old), str(tmp_path / "other.json")]) == 2
    assert "neither a pipeline definition" in capsys.readouterr().err


# ------------------------------------------------------------------------------- the template decoder


def _template(body: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Pipe": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {"PipelineDefinition": {"PipelineDefinitionBody": body}},
            },
        }
    }


def test_decoder_shows_tokens_readably() -> None:
    body = {
        "Fn::Join": [
            "",
            [
                '{"A":"',
                {"Ref": "Bucket"},
                '","B":"',
                {"Fn::GetAtt": "Role.Arn"},
                '","C":"',
                {"Fn::Sub": ["${X}-${AWS::Region}-${!Literal}-${Role.Arn}", {"X": {"Ref": "Bucket"}}]},
                '","D":"',
                {"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]},
                '","E":"',
                {"Fn::Select": [0, {"Fn::Split": [":", {"Ref": "Bucket"}]}]},
                '"}',
            ],
        ]
    }
    assert decode_definition(_template(body), "Pipe") == {
        "A": "${Bucket}",
        "B": "${Role.Arn}",
        "C": "${Bucket}-${AWS::Region}-${Literal}-${Role.Arn}",
        "D": "b",
        "E": '${Fn::Select:[0,{"Fn::Split":[":",{"Ref":"Bucket"}]}]}',
    }


def test_decoder_errors_name_the_place() -> None:
    with pytest.raises(SynthError, match=r"Pipe\.PipelineDefinition\.PipelineDefinitionBody.*Fn::If"):
        decode_definition(
            _template({"Fn::Join": ["", ['{"A":"', {"Fn::If": ["C", "a", "b"]}, '"}']]}), "Pipe"
        )
    with pytest.raises(SynthError, match="token outside a JSON string"):
        decode_definition(_template({"Fn::Join": ["", ['{"A":', {"Ref": "Bucket"}, "}"]]}), "Pipe")
    with pytest.raises(
        SynthError, match=r"no AWS::SageMaker::Pipeline with this logical id.*pipelines: Pipe"
    ):
        decode_definition(_template("{}"), "Bucket")


def test_cli_diff_of_directories_that_are_no_assembly(
    base: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = tmp_path / "definition.json"
    definition.write_text(json.dumps(base))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["diff", str(definition), str(empty)]) == 2
    assert capsys.readouterr().err.startswith(
        "ConfigError: field 'cdk.out': not a cloud assembly: no manifest.json"
    )
    (empty / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": {}}))
    assert main(["diff", str(definition), str(empty)]) == 2
    assert f"no AWS::SageMaker::Pipeline in {empty}" in capsys.readouterr().err
