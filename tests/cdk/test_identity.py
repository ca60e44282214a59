"""Stable identity: changing hyperparameters, instance type and environment changes the pipeline
definition (and the code asset, which carries the hyperparameters file), nothing else."""

from __future__ import annotations

import json
import re
from typing import Any

from synth_support import Synth

_HASH = re.compile(r"[0-9a-f]{64}")


def _masked(resource: dict[str, Any], hashes: set[str]) -> str:
    text = json.dumps(resource, sort_keys=True)
    for h in hashes:
        text = text.replace(h, "<asset-hash>")
    return text


def test_logical_ids_are_unchanged(example: Synth, changed: Synth) -> None:
    assert sorted(example.json["Resources"]) == sorted(changed.json["Resources"])


def test_only_the_definition_and_code_asset_differ(example: Synth, changed: Synth) -> None:
    hashes = example.asset_hashes() | changed.asset_hashes()
    differing = []
    for logical, resource in example.json["Resources"].items():
        other = changed.json["Resources"][logical]
        if resource != other:
            differing.append(logical)
            if resource["Type"] != "AWS::SageMaker::Pipeline":
                # only the code asset's key differs (the packed hyperparameters file changed)
                assert _masked(resource, hashes) == _masked(other, hashes), logical
    (pipeline_logical,) = [
        k for k, v in example.json["Resources"].items() if v["Type"] == "AWS::SageMaker::Pipeline"
    ]
    assert pipeline_logical in differing
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
    assert example.asset_hashes() != changed.asset_hashes()
