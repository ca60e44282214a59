"""A packaging error in a pipeline of several steps names the step whose code it is about."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from synth_support import CONTEXT, REGION

from constructs_lib import ConfigError, PipelineBuilderTemplate, PipelineDAG, TabularPreprocessingConfig
from constructs_lib.constructs import SageMakerPipeline
from constructs_lib.examples import seed_dag_config_map


def _four_steps(preprocess: TabularPreprocessingConfig) -> PipelineBuilderTemplate:
    dag = PipelineDAG()
    for node in ("data_load", "preprocess", "train", "model"):
        dag.add_node(node)
    dag.add_edge("data_load", "preprocess")
    dag.add_edge("preprocess", "train")
    dag.add_edge("train", "model")
    config_map = {**seed_dag_config_map(), "preprocess": preprocess}
    return PipelineBuilderTemplate(dag=dag, config_map=config_map, region=REGION)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("layout", "fragment"),
    [
        ("empty", "entry point 'preprocess.py' not found"),
        ("missing", "directory does not exist"),
    ],
)
def test_a_packaging_error_names_the_step(
    tmp_path: Path, staging_dir: Path, layout: str, fragment: str
) -> None:
    """GIVEN the seed's four-step DAG whose preprocessing code directory lacks its script (or is missing)
    WHEN the construct packs the code THEN the error names step 'preprocess' and its source_dir."""
    source = tmp_path / "preprocessing-code"
    if layout == "empty":
        source.mkdir()
        (source / "README.md").write_text("no script here\n", encoding="utf-8")
    template = _four_steps(TabularPreprocessingConfig(label_name="target", source_dir=str(source)))
    app = cdk.App(outdir=str(tmp_path / "out"), context=CONTEXT)
    stack = cdk.Stack(app, "FourSteps", env=cdk.Environment(region=REGION))
    with pytest.raises(ConfigError) as err:
        SageMakerPipeline(stack, "Pipeline", template=template, pipeline_name="four-steps")
    assert err.value.step == "preprocess"
    text = str(err.value)
    assert text.startswith("step 'preprocess', field 'source_dir': ") and fragment in text
