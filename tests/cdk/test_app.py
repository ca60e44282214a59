"""The example app: region resolution, its stacks, and cdk-nag attached to it."""

from __future__ import annotations

import json

import pytest
from synth_support import ROOT, Synth


@pytest.mark.parametrize(
    ("context", "environ", "expected"),
    [
        ("eu-west-1", {"CDK_DEFAULT_REGION": "us-west-2", "AWS_REGION": "ap-south-1"}, "eu-west-1"),
        (None, {"CDK_DEFAULT_REGION": "us-west-2", "AWS_REGION": "ap-south-1"}, "us-west-2"),
        (None, {"AWS_REGION": "ap-south-1"}, "ap-south-1"),
        (None, {}, "us-east-1"),
        ("", {}, "us-east-1"),
    ],
)
def test_region_resolution_order(example_app_module, context, environ, expected) -> None:  # type: ignore[no-untyped-def]
    assert example_app_module.resolve_region(context, environ) == expected


def test_cdk_json_runs_the_app_offline() -> None:
    config = json.loads((ROOT / "cdk.json").read_text())
    assert config["app"] == "python3 app.py"
    assert config["context"]["cli-telemetry"] is False


def test_app_has_the_example_stacks(example_app: dict[str, Synth]) -> None:
    assert {"ConstructsLibExample", "ConstructsLibByoRoleExample"} <= set(example_app)
    for synth in example_app.values():
        assert synth.stack.region == "us-east-1"


def test_app_uses_the_packaged_reference_script(example: Synth) -> None:
    from constructs_lib.examples import SEED_CA_REPOSITORY_ARN, seed_training_config

    config = seed_training_config()
    assert config.source_dir.endswith("constructs_lib/scripts/pytorch_training")
    assert config.env == {"CA_REPOSITORY_ARN": SEED_CA_REPOSITORY_ARN}
    # the reference code packs the reference inference code: the launcher's two variables are added
    assert example.definition()["Steps"][0]["Arguments"]["Environment"] == {
        **config.env,
        "CONSTRUCTS_LIB_ENTRY_POINT": "train.py",
        "CONSTRUCTS_LIB_INFERENCE_CODE": "constructs_lib_inference",
    }
    assert (config.framework_version, config.py_version) == ("1.13.1", "py39")


def test_app_attaches_cdk_nag(example_app_module, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """GIVEN the example app plus a stack with an unacknowledged finding WHEN synthesized THEN it fails."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3
    from synth_support import CONTEXT

    app = cdk.App(outdir=str(tmp_path), context=CONTEXT)
    example_app_module.build_app(app, environ={})
    bad = cdk.Stack(app, "Bad", env=cdk.Environment(region="us-east-1"))
    s3.Bucket(bad, "Unlogged")
    with pytest.raises(Exception, match=r"AwsSolutions-S1|Validation failed|validation"):
        app.synth()
