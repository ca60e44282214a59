"""Jobs and instance-minutes per execution: the seed DAG through constructs_lib against the hand-written
SageMaker SDK pipeline, whose model step needs the SDK's repack job.

    python -m bench.cost                 # the Markdown table on stdout
    python -m bench.cost --json          # the counted jobs as JSON

Everything is counted from the two pipeline *definitions* (built offline, nothing deployed): every step
that starts a SageMaker job (``Training``, ``Processing``, ``Transform``; steps inside condition branches
included) with its instance type and count and its ``MaxRuntimeInSeconds``, which bounds what one
execution can bill. ``CreateModel``, ``CreateModelPackage``, conditions and fail steps start no instance.
The *typical* minutes are an estimate, stated in :data:`TYPICAL_MINUTES` with its reasons (no AWS account
is reachable from the build machines, so nothing here is a measurement in AWS).

The hand-written peer is what a user writes with the SDK alone: the same two processing jobs, the same
``PyTorch`` estimator, and ``PyTorchModel(entry_point="inference.py", source_dir=...)`` in a ``ModelStep``,
the SDK's way to get the handler into the model; the SDK then adds ``<model>-RepackModel-0``, an
``ml.m5.large`` training job that re-packs ``model.tar.gz`` with the code on every execution. (While it
builds that definition the SDK downloads the ``s3://`` code tarball, adds its repack script and uploads
it again; this module replaces that S3 round trip by a no-op, which changes no field of the definition.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

__all__ = ["TYPICAL_MINUTES", "Job", "count_jobs", "hand_written_definition", "main", "ours_definition"]

REGION = "us-east-1"
BUCKET = "cost-bench-artifacts"
ROLE_ARN = "arn:aws:iam::123456789012:role/cost-bench-job-role"
CODE = f"s3://{BUCKET}/code"

#: Estimated typical billable minutes of one job of each step, for the seed's data (a table of tens of
#: thousands of rows) - the reasons:
#:
#: * data_load, preprocess (``ml.m5.xlarge``, scikit-learn image): pandas reads, checks and splits a small
#:   table in seconds; SageMaker bills a processing job from container start to upload, about 2 minutes
#:   with image pull and S3 transfer.
#: * train (``ml.g5.12xlarge``, 4 GPUs, DDP): 10 epochs of a small MLP take under a minute; downloading the
#:   PyTorch GPU image's layers, installing requirements and the NCCL start-up dominate: about 6 minutes.
#: * evaluate (``ml.m5.xlarge``, PyTorch CPU image): extract the model, one forward pass over the held-out
#:   split (a few seconds in the local runs of the tests); the larger PyTorch image makes it about 3
#:   minutes.
#: * the SDK's repack job (``ml.m5.large``, scikit-learn image): download model.tar.gz and the code, tar them
#:   again, upload: about 2 minutes.
TYPICAL_MINUTES: Mapping[str, float] = {
    "data_load": 2.0,
    "preprocess": 2.0,
    "train": 6.0,
    "evaluate": 3.0,
    "model-RepackModel-0": 2.0,
}


@dataclass(frozen=True)
class Job:
    """One SageMaker job an execution starts."""

    step: str
    kind: str
    instance_type: str
    instance_count: int
    max_runtime_seconds: int

    @property
    def max_instance_minutes(self) -> float:
        """The upper bound: ``MaxRuntimeInSeconds`` on every instance."""
        return self.instance_count * self.max_runtime_seconds / 60.0

    @property
    def typical_instance_minutes(self) -> float:
        """:data:`TYPICAL_MINUTES` of the step on every instance."""
        return self.instance_count * TYPICAL_MINUTES[self.step]


def count_jobs(definition: Mapping[str, Any]) -> list[Job]:
    """Every job-starting step of ``definition`` (condition branches included), in definition order."""
    from constructs_lib.definition import all_steps

    jobs: list[Job] = []
    for step in all_steps(definition.get("Steps", [])):
        args = step.get("Arguments", {})
        kind = step.get("Type")
        if kind == "Training":
            resources, stop = args["ResourceConfig"], args["StoppingCondition"]
        elif kind == "Processing":
            resources, stop = args["ProcessingResources"]["ClusterConfig"], args["StoppingCondition"]
        elif kind == "Transform":
            resources, stop = args["TransformResources"], {"MaxRuntimeInSeconds": 3600}
        else:
            continue
        jobs.append(
            Job(
                step=str(step["Name"]),
                kind=str(kind),
                instance_type=str(resources["InstanceType"]),
                instance_count=int(resources["InstanceCount"]),
                max_runtime_seconds=int(stop["MaxRuntimeInSeconds"]),
            )
        )
    return jobs


def ours_definition(lifecycle: bool = False) -> dict[str, Any]:
    """The seed DAG (or the lifecycle DAG) as constructs_lib builds it."""
    from constructs_lib.examples import lifecycle_template, seed_dag_template

    template = lifecycle_template(REGION) if lifecycle else seed_dag_template(REGION)
    definition: dict[str, Any] = template.build("cost-bench").definition
    return definition


def hand_written_definition() -> dict[str, Any]:
    """The seed DAG written with the SageMaker SDK v2 alone (see the module docstring)."""
    import boto3
    import sagemaker.telemetry.telemetry_logging as telemetry
    from sagemaker import image_uris
    from sagemaker.inputs import TrainingInput
    from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
    from sagemaker.pytorch import PyTorch, PyTorchModel
    from sagemaker.workflow import _utils as workflow_utils
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.steps import ProcessingStep, TrainingStep

    telemetry._send_telemetry_request = lambda *a, **k: None  # fit() would call STS and HTTPS
    # The SDK would download the s3:// code, add its repack script and upload it while building the
    # definition; that S3 round trip changes no field of it.
    workflow_utils._RepackModelStep._prepare_for_repacking = lambda self: None

    class Offline(PipelineSession):  # type: ignore[misc]
        def expand_role(self, role: str) -> str:
            return role

        def default_bucket(self) -> str:
            return BUCKET

    session = Offline(
        boto_session=boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"),
        default_bucket=BUCKET,
        sagemaker_config={},
    )
    sklearn = image_uris.retrieve("sklearn", REGION, version="1.2-1", instance_type="ml.m5.xlarge")

    def processing(name: str, script: str, inputs: list[Any], output: str) -> ProcessingStep:
        processor = Processor(
            role=ROLE_ARN,
            image_uri=sklearn,
            instance_count=1,
            instance_type="ml.m5.xlarge",
            entrypoint=["python3", f"/opt/ml/processing/input/code/{script}"],
            max_runtime_in_seconds=24 * 3600,
            sagemaker_session=session,
        )
        code = ProcessingInput(source=f"{CODE}/{name}/", destination="/opt/ml/processing/input/code")
        return ProcessingStep(
            name=name,
            step_args=processor.run(
                inputs=[code, *inputs],
                outputs=[ProcessingOutput(output_name=output, source=f"/opt/ml/processing/output/{output}")],
            ),
        )

    raw = ParameterString(name="RawDataS3Uri", default_value=f"s3://{BUCKET}/raw/")
    load = processing(
        "data_load",
        "load.py",
        [ProcessingInput(source=raw, destination="/opt/ml/processing/input/raw_source")],
        "raw_data",
    )
    prep = processing(
        "preprocess",
        "preprocess.py",
        [
            ProcessingInput(
                source=load.properties.ProcessingOutputConfig.Outputs["raw_data"].S3Output.S3Uri,
                destination="/opt/ml/processing/input/raw",
            )
        ],
        "processed_data",
    )
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=f"{CODE}/train/sourcedir.tar.gz",
        framework_version="1.13.1",
        py_version="py39",
        instance_type="ml.g5.12xlarge",
        instance_count=1,
        max_run=24 * 3600,
        role=ROLE_ARN,
        sagemaker_session=session,
        output_path=f"s3://{BUCKET}/train/model",
        distribution={"torch_distributed": {"enabled": True}},
        debugger_hook_config=False,
        disable_profiler=True,
    )
    data = prep.properties.ProcessingOutputConfig.Outputs["processed_data"].S3Output.S3Uri
    train = TrainingStep(
        name="train",
        step_args=estimator.fit(inputs={"data": TrainingInput(s3_data=data, s3_data_type="S3Prefix")}),
    )
    model = PyTorchModel(
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        role=ROLE_ARN,
        entry_point="inference.py",
        source_dir=f"{CODE}/model/sourcedir.tar.gz",
        framework_version="1.13.1",
        py_version="py39",
        sagemaker_session=session,
    )
    create = ModelStep(name="model", step_args=model.create(instance_type="ml.m5.large"))
    pipeline = Pipeline(
        name="cost-bench",
        parameters=[raw],
        steps=[load, prep, train, create],
        sagemaker_session=session,
        pipeline_experiment_config=None,
    )
    definition: dict[str, Any] = json.loads(pipeline.definition())
    return definition


def _totals(jobs: Sequence[Job]) -> tuple[int, float, float]:
    return (
        len(jobs),
        sum(j.max_instance_minutes for j in jobs),
        sum(j.typical_instance_minutes for j in jobs),
    )


def report(pipelines: Mapping[str, Sequence[Job]]) -> str:
    """The Markdown tables: per job, then per pipeline."""
    lines = [
        "| pipeline | step | job | instance | count | upper bound (instance-min, MaxRuntimeInSeconds) "
        "| typical (instance-min, estimate) |",
        "| --- | --- | --- | --- | --: | --: | --: |",
    ]
    for name, jobs in pipelines.items():
        for job in jobs:
            lines.append(
                f"| {name} | `{job.step}` | {job.kind} | `{job.instance_type}` | {job.instance_count} "
                f"| {job.max_instance_minutes:,.0f} | {job.typical_instance_minutes:,.1f} |"
            )
    lines += [
        "",
        "| pipeline | jobs per execution | upper bound (instance-min) | typical (instance-min) |",
        "| --- | --: | --: | --: |",
    ]
    for name, jobs in pipelines.items():
        count, upper, typical = _totals(jobs)
        lines.append(f"| {name} | {count} | {upper:,.0f} | {typical:,.1f} |")
    return "\n".join(lines) + "\n"


def pipelines() -> dict[str, list[Job]]:
    """The counted jobs of the three pipelines the report compares."""
    from constructs_lib.sdk_adapter import sdk

    with sdk():
        ours = count_jobs(ours_definition())
        lifecycle = count_jobs(ours_definition(lifecycle=True))
    return {
        "seed DAG, hand-written SDK (repack)": count_jobs(hand_written_definition()),
        "seed DAG, constructs_lib": ours,
        "lifecycle DAG, constructs_lib (+ evaluate, gate, register)": lifecycle,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the counted jobs as JSON")
    args = parser.parse_args(argv)
    counted = pipelines()
    if args.json:
        print(json.dumps({k: [asdict(j) for j in v] for k, v in counted.items()}, indent=2, sort_keys=True))
    else:
        sys.stdout.write(report(counted))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
