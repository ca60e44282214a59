"""Large pipelines: the job role's inline policy stays under IAM's 10,240-character limit because the
per-step artifact prefixes are merged into the pipeline's prefix beyond MAX_EXACT_ARTIFACT_PREFIXES."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from synth_support import CONTEXT, REGION

from constructs_lib import PipelineBuilderTemplate, PipelineDAG, TabularPreprocessingConfig
from constructs_lib.constructs import SageMakerPipeline
from constructs_lib.constructs.pipeline import MAX_EXACT_ARTIFACT_PREFIXES
from constructs_lib.examples import seed_training_config

IAM_INLINE_POLICIES_MAX_CHARS = 10_240  # per role, all inline policies together (IAM quota)


def fan_out(n_train: int) -> PipelineBuilderTemplate:
    dag = PipelineDAG()
    dag.add_node("prep")
    config_map: dict[str, Any] = {"prep": TabularPreprocessingConfig(label_name="target")}
    for i in range(n_train):
        node = f"train{i:02d}"
        dag.add_node(node)
        dag.add_edge("prep", node)
        config_map[node] = seed_training_config(source_dir="s3://code-bucket/v1/sourcedir.tar.gz")
    return PipelineBuilderTemplate(dag=dag, config_map=config_map, region=REGION)


def job_policy(n_train: int) -> tuple[str, list[str]]:
    app = cdk.App(context=CONTEXT)
    stack = cdk.Stack(app, "Big", env=cdk.Environment(region=REGION))
    pipeline = SageMakerPipeline(stack, "Pipeline", template=fan_out(n_train), pipeline_name="big")
    template = app.synth().get_stack_by_name("Big").template
    job_role_id = stack.get_logical_id(pipeline.job_role.node.default_child)  # type: ignore[arg-type]
    policies = [
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": job_role_id} in r["Properties"].get("Roles", [])
    ]
    role_inline = template["Resources"][job_role_id]["Properties"].get("Policies", [])
    documents = policies + [p["PolicyDocument"] for p in role_inline]
    text = json.dumps(documents, separators=(",", ":"))
    objects = [
        json.dumps(res)
        for doc in documents
        for st in doc["Statement"]
        for res in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
        if "s3:PutObject" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    ]
    return text, objects


@pytest.mark.slow
def test_many_steps_share_the_pipeline_prefix() -> None:
    _, small_writes = job_policy(2)
    assert len(small_writes) >= 2 and not any(
        '"/big/*"' in w for w in small_writes
    )  # exact per-step prefixes
    text, writes = job_policy(MAX_EXACT_ARTIFACT_PREFIXES + 4)
    assert any("/big/*" in w for w in writes) and not any("/big/train" in w for w in writes)
    assert len(text) < IAM_INLINE_POLICIES_MAX_CHARS / 2
