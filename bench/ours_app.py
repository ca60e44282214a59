"""The same pipeline as :mod:`bench.baseline_app`, written with constructs_lib.

    python bench/ours_app.py OUTDIR            # the seed config with code at s3://…/sourcedir.tar.gz
    python bench/ours_app.py OUTDIR --local    # the example app's default: the reference code, packed

The first form is the like-for-like peer of ``baseline_app.py`` (both reference an existing
``sourcedir.tar.gz`` in S3); ``--local`` adds what the hand-written app cannot do offline: packing the
reference training directory into a deterministic tarball shipped as a CDK asset.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from constructs import Construct

from constructs_lib.constructs import PyTorchTrainingPipeline
from constructs_lib.examples import seed_training_config

ACCOUNT = "123456789012"
REGION = "us-east-1"
PIPELINE_NAME = "pytorch-training"
SOURCE_DIR = "s3://my-bucket/scripts/sourcedir.tar.gz"


class OursStack(cdk.Stack):
    """One ``PyTorchTrainingPipeline`` for the seed's training config."""

    def __init__(self, scope: Construct, construct_id: str, *, local_code: bool, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        config = seed_training_config() if local_code else seed_training_config(SOURCE_DIR)
        PyTorchTrainingPipeline(self, "Training", config=config, pipeline_name=PIPELINE_NAME)


def main(argv: list[str] | None = None) -> int:
    """Synthesize the app into ``argv[0]`` (default: the CDK CLI's ``CDK_OUTDIR``, or a temporary
    directory); ``--local`` packs the reference code."""
    args = sys.argv[1:] if argv is None else argv
    local_code = "--local" in args
    positional = [a for a in args if not a.startswith("--")]
    app = cdk.App(outdir=positional[0]) if positional else cdk.App()
    OursStack(
        app,
        "OursPyTorchTraining",
        local_code=local_code,
        env=cdk.Environment(account=ACCOUNT, region=REGION),
    )
    app.synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
