"""The floor of any CDK app: one S3 bucket, nothing else.

    python bench/one_bucket_app.py OUTDIR      # synthesizes the app into OUTDIR

What a whole-process ``cdk synth`` costs before any pipeline is involved (Python start, ``import aws_cdk``,
the jsii Node process, ``app.synth()``); the warm re-synth of ``bench/ours_app.py`` is measured against it.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

ACCOUNT = "123456789012"
REGION = "us-east-1"


def main(argv: list[str] | None = None) -> int:
    """Synthesize the app into ``argv[0]`` (default: the CDK CLI's ``CDK_OUTDIR``, or a temporary
    directory)."""
    args = sys.argv[1:] if argv is None else argv
    app = cdk.App(outdir=args[0]) if args else cdk.App()
    stack = cdk.Stack(app, "OneBucket", env=cdk.Environment(account=ACCOUNT, region=REGION))
    s3.Bucket(stack, "Bucket")
    app.synth()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
