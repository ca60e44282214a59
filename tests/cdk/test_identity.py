"""Stable identity: changing hyperparameters, instance type and environment changes the pipeline
definition and nothing else — no IAM statement, no code asset (the hyperparameters file ships only when a
value does not fit inline), no logical id."""

from __future__ import annotations

from synth_support import Synth


def test_logical_ids_are_unchanged(example: Synth, changed: Synth) -> None:
    assert sorted(example.json["Resources"]) == sorted(changed.json["Resources"])


def test_only_the_definition_differs(example: Synth, changed: Synth) -> None:
    differing = [
        logical
        for logical, resource in example.json["Resources"].items()
        if resource != changed.json["Resources"][logical]
    ]
    (pipeline_logical,) = [
        k for k, v in example.json["Resources"].items() if v["Type"] == "AWS::SageMaker::Pipeline"
    ]
    assert differing == [pipeline_logical]  # every role, policy and bucket is byte-identical
    for kind in ("AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::KMS::Key"):
        for logical, resource in example.resources(kind).items():
            assert changed.json["Resources"][logical] == resource


def test_the_definition_changed_as_asked(example: Synth, changed: Synth) -> None:
    before = example.definition()["Steps"][0]["Arguments"]
    after = changed.definition()["Steps"][0]["Arguments"]
    assert before["ResourceConfig"]["InstanceType"] == "ml.g5.12xlarge"
    assert after["ResourceConfig"]["InstanceType"] == "ml.p3.2xlarge"
    assert after["HyperParameters"]["epochs"] == "25"
    assert after["Environment"]["LOG_LEVEL"] == "debug"
    # the code package carries no hyperparameters file when every value fits inline
    assert example.asset_hashes() == changed.asset_hashes()


def test_a_code_change_changes_no_iam_statement(example: Synth, code_changed: Synth) -> None:
    """A new training script (another code asset) leaves every IAM statement as it was: the job role reads
    this pipeline's code by its key suffix, not by the content hash."""
    assert example.asset_hashes() != code_changed.asset_hashes()
    for kind in ("AWS::IAM::Role", "AWS::IAM::Policy"):
        for logical, resource in example.resources(kind).items():
            assert code_changed.json["Resources"][logical] == resource, logical
