"""``PipelineBuilderTemplate``: DAG + configs + builders -> a real SageMaker ``Pipeline``, offline.

    template = PipelineBuilderTemplate(dag=dag, config_map=config_map, step_builder_map=step_builder_map)
    pipeline = template.generate_pipeline("my-pipeline")      # sagemaker.workflow.pipeline.Pipeline
    built = template.build("my-pipeline")                      # + canonical definition, code, wiring

Steps are built in the DAG's deterministic topological order; each step's dependencies are resolved from
its DAG predecessors' declared outputs (:mod:`constructs_lib.resolver`). The definition is produced once,
as canonical JSON (sorted keys), without any AWS call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from constructs_lib.builders.base import CodePackage, S3Access, StepBuilderBase
from constructs_lib.config.base import StrictModel
from constructs_lib.context import BuildContext, check_pipeline_name
from constructs_lib.dag import PipelineDAG
from constructs_lib.definition import canonical_json, check_definition_size
from constructs_lib.errors import ConfigError, ConstructsLibError, DagError, SynthError
from constructs_lib.resolver import DependencyResolver, Producer, Resolution

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession

__all__ = ["BuiltPipeline", "PipelineBuilderTemplate"]


@dataclass(frozen=True)
class BuiltPipeline:
    """Everything the CDK layer (or a user) needs from one build.

    Attributes:
        name: the pipeline's name.
        pipeline: the SageMaker SDK ``Pipeline`` object.
        definition: the definition as a dict (placeholders not yet substituted).
        definition_json: :func:`~constructs_lib.definition.canonical_json` of ``definition``.
        code_packages: local source directories to pack and upload, one per step that has local code.
        resolutions: how every dependency edge was wired, in build order.
        s3_access: per step, the S3 locations its job reads and writes.
        step_types: per step, its registered step type.
        timings: seconds spent in ``resolution``, ``steps`` (SDK step objects) and ``definition``.
    """

    name: str
    pipeline: Pipeline
    definition: dict[str, Any]
    definition_json: str
    code_packages: tuple[CodePackage, ...]
    resolutions: tuple[Resolution, ...]
    s3_access: Mapping[str, S3Access]
    step_types: Mapping[str, str]
    timings: Mapping[str, float] = field(default_factory=dict)

    def explain(self) -> str:
        """One line per resolved edge: which output feeds which input, and why."""
        if not self.resolutions:
            return "(no dependencies to resolve)\n"
        return "\n".join(r.explain() for r in self.resolutions) + "\n"


class PipelineBuilderTemplate:
    """Builds a SageMaker pipeline from a :class:`PipelineDAG`, a config per node and the builders.

    Args:
        dag: the step graph; its node names become the step names.
        config_map: node name -> that step's config. Every node needs one; extra keys are an error.
        step_builder_map: step type -> builder class (the seed's map). Default ``None``: the library's
            registry. Every key must be a registered step type mapped to its own builder class.
        sagemaker_session: a SageMaker session. Default ``None``: an offline session (no AWS calls).
        role: ARN of the role the jobs run as. Default ``None``: a placeholder the CDK construct replaces.
        region: AWS region. Default ``None``: the session's, else the configs' (which must agree).
        artifact_root: ``s3://bucket[/prefix]`` for default outputs. Default: a placeholder bucket the CDK
            construct replaces with its artifact bucket.
        overrides: ``{node: {dependency: (producer node, output name)}}`` to force edges.
        pipeline_description: free text stored with the pipeline (not in the definition).
    """

    def __init__(
        self,
        dag: PipelineDAG,
        config_map: Mapping[str, StrictModel],
        step_builder_map: Mapping[str, type[StepBuilderBase]] | None = None,
        sagemaker_session: PipelineSession | None = None,
        role: str | None = None,
        *,
        region: str | None = None,
        artifact_root: str | None = None,
        overrides: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
    ) -> None:
        from constructs_lib import registry

        if not isinstance(dag, PipelineDAG):
            raise DagError("dag must be a PipelineDAG", field="dag", value=type(dag).__name__)
        if len(dag) == 0:
            raise DagError("the DAG has no nodes", field="dag", hint="add_node(...) at least one step")
        self.dag = dag
        if not isinstance(config_map, Mapping):
            raise ConfigError(
                "config_map must map node names to configs",
                field="config_map",
                value=type(config_map).__name__,
                hint="e.g. {'train': PyTorchTrainingConfig(...)}",
            )
        self.config_map = dict(config_map)
        missing = [n for n in dag.nodes if n not in self.config_map]
        if missing:
            raise ConfigError(
                "every DAG node needs a config",
                field="config_map",
                value=missing,
                hint=f"add config_map entries for {', '.join(missing)}",
            )
        extra = sorted(set(self.config_map) - set(dag.nodes))
        if extra:
            raise ConfigError(
                "config_map has entries for nodes that are not in the DAG",
                field="config_map",
                value=extra,
                hint=f"DAG nodes: {', '.join(dag.nodes)}",
            )
        registered = registry.step_builder_map()
        if step_builder_map is None:
            step_builder_map = registered
        if not isinstance(step_builder_map, Mapping):
            raise ConfigError(
                "step_builder_map must map step types to builder classes",
                field="step_builder_map",
                value=type(step_builder_map).__name__,
            )
        for key, cls in step_builder_map.items():
            if key not in registered:
                raise ConfigError(
                    "unknown step type in step_builder_map",
                    field="step_builder_map",
                    value=key,
                    hint=f"registered step types: {', '.join(registered)}",
                )
            if cls is not registered[key]:
                raise ConfigError(
                    f"step_builder_map[{key!r}] is not the builder registered for it",
                    field="step_builder_map",
                    value=getattr(cls, "__name__", repr(cls)),
                    hint=f"use {registered[key].__name__}",
                )
        self.step_builder_map = dict(step_builder_map)
        self.node_types: dict[str, str] = {}
        for node in dag.nodes:
            step_type = registry.step_type_of(self.config_map[node])
            if step_type not in self.step_builder_map:
                raise ConfigError(
                    f"no builder for step type {step_type!r} in step_builder_map",
                    step=node,
                    field="step_builder_map",
                    value=step_type,
                    hint=f"add {step_type!r}: {registered[step_type].__name__}",
                )
            self.node_types[node] = step_type
        self.sagemaker_session = sagemaker_session
        self.role = role
        self.region = self._region(region)
        self.artifact_root = artifact_root
        if overrides is not None and (
            not isinstance(overrides, Mapping) or not all(isinstance(v, Mapping) for v in overrides.values())
        ):
            raise ConfigError(
                "overrides must be {node: {dependency: (producer node, output name)}}",
                field="overrides",
                value=overrides,
            )
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        bad = sorted(set(self.overrides) - set(dag.nodes))
        if bad:
            raise ConfigError("overrides for unknown nodes", field="overrides", value=bad)

    def _region(self, region: str | None) -> str:
        candidates: dict[str, str] = {}
        for node, cfg in self.config_map.items():
            value = getattr(cfg, "region", None)
            if value:
                candidates[node] = value
        chosen = region or (self.sagemaker_session.boto_region_name if self.sagemaker_session else None)
        distinct = sorted(set(candidates.values()))
        if chosen is None and len(distinct) == 1:
            chosen = distinct[0]
        if chosen is None:
            raise ConfigError(
                "no AWS region for the pipeline",
                field="region",
                hint="pass region='us-east-1' to the template (the CDK construct passes the stack's)",
            )
        conflicting = {n: r for n, r in candidates.items() if r != chosen}
        if conflicting:
            raise ConfigError(
                f"configs ask for a region other than the pipeline's {chosen!r}",
                field="region",
                value=conflicting,
                hint="a pipeline lives in one region: remove region from the configs or make them agree",
            )
        return chosen

    def context(self, name: str) -> BuildContext:
        """The :class:`BuildContext` the builders get for pipeline ``name``."""
        kwargs: dict[str, Any] = {"region": self.region, "pipeline_name": name}
        if self.role is not None:
            kwargs["role_arn"] = self.role
        if self.artifact_root is not None:
            kwargs["artifact_root"] = self.artifact_root
        return BuildContext(sagemaker_session=self.sagemaker_session, **kwargs)

    def builders(self, name: str, ctx: BuildContext | None = None) -> dict[str, StepBuilderBase]:
        """One builder per node, for pipeline ``name`` (no SDK steps built yet), sharing ``ctx`` (default: a
        new :meth:`context`)."""
        ctx = ctx if ctx is not None else self.context(name)
        return {
            node: self.step_builder_map[self.node_types[node]](
                self.config_map[node], step_name=node, context=ctx
            )
            for node in self.dag.topological_order()
        }

    def plan(self, name: str = "pipeline") -> list[Resolution]:
        """Resolve every edge from the specifications alone (no SDK step is built): for reports."""
        resolver = DependencyResolver()
        builders = self.builders(name)
        plan: list[Resolution] = []
        for node in self.dag.topological_order():
            producers = [Producer(p, builders[p].specification()) for p in self.dag.predecessors(node)]
            if producers:
                plan.extend(
                    resolver.resolve(
                        node,
                        builders[node].specification(),
                        producers,
                        overrides=self.overrides.get(node),
                        fallbacks=builders[node].fallback_inputs(has_predecessors=True),
                    )
                )
        return plan

    def build(self, name: str) -> BuiltPipeline:
        """Build steps, resolve edges, and produce the canonical definition of pipeline ``name``."""
        check_pipeline_name(name)
        from constructs_lib.sdk_adapter import import_sagemaker

        import_sagemaker()
        from sagemaker.workflow.pipeline import Pipeline

        ctx = self.context(name)
        builders = self.builders(name, ctx)
        steps: dict[str, Any] = {}
        resolutions: list[Resolution] = []
        parameters: list[Any] = []
        parameter_owner: dict[str, str] = {}
        t_resolve = 0.0
        t0 = time.perf_counter()
        resolver = DependencyResolver()
        for node in self.dag.topological_order():
            builder = builders[node]
            preds = self.dag.predecessors(node)
            tr = time.perf_counter()
            node_res = resolver.resolve(
                node,
                builder.specification(),
                [Producer(p, builders[p].specification(), steps[p]) for p in preds],
                overrides=self.overrides.get(node),
                fallbacks=builder.fallback_inputs(has_predecessors=bool(preds)),
            )
            t_resolve += time.perf_counter() - tr
            resolutions.extend(node_res)
            inputs = {r.dependency: r.reference for r in node_res}
            step = builder.create_step(inputs=inputs, depends_on=[steps[p] for p in preds])
            steps[node] = step
            for param in getattr(builder, "parameters", ()):
                owner = parameter_owner.setdefault(param.name, node)
                if owner != node:
                    raise ConfigError(
                        f"two steps define the pipeline parameter {param.name!r}",
                        step=node,
                        field="parameter_name",
                        value=param.name,
                        hint=f"steps {owner!r} and {node!r}: give one of them another parameter name",
                    )
                parameters.append(param)
        t_steps = time.perf_counter() - t0 - t_resolve
        t1 = time.perf_counter()
        pipeline = Pipeline(
            name=name,
            parameters=sorted(parameters, key=lambda p: p.name),
            steps=[steps[n] for n in self.dag.topological_order()],
            sagemaker_session=ctx.session,
            # The SDK's default makes SageMaker create Experiments entities per execution, which needs
            # permissions the pipeline role does not have and nobody asked for.
            pipeline_experiment_config=None,
        )
        try:
            definition = json.loads(pipeline.definition())
        except ConstructsLibError:
            raise
        except Exception as exc:
            raise SynthError(
                f"the SageMaker SDK failed to produce the definition: {type(exc).__name__}: {exc}",
                step=_failing_step(steps) or name,
                hint="check that step's config; report a bug if it is valid",
            ) from exc
        text = canonical_json(definition)
        check_definition_size(text, pipeline=name)
        t_def = time.perf_counter() - t1
        packages = tuple(p for n in self.dag.topological_order() for p in builders[n].code_packages())
        return BuiltPipeline(
            name=name,
            pipeline=pipeline,
            definition=json.loads(text),
            definition_json=text,
            code_packages=packages,
            resolutions=tuple(resolutions),
            s3_access={n: builders[n].s3_access() for n in self.dag.topological_order()},
            step_types=dict(self.node_types),
            timings={"resolution": t_resolve, "steps": t_steps, "definition": t_def},
        )

    def generate_pipeline(self, name: str) -> Pipeline:
        """The seed's entry point: the SageMaker ``Pipeline`` named ``name``."""
        return self.build(name).pipeline

    def explain(self, name: str = "pipeline") -> str:
        """How each edge is resolved and why (from the specifications; builds no SDK step)."""
        plan = self.plan(name)
        return "\n".join(r.explain() for r in plan) + "\n" if plan else "(no dependencies to resolve)\n"

    def to_mermaid(self, name: str = "pipeline") -> str:
        """The DAG as a Mermaid flowchart, each edge labelled ``output → input``."""
        labels: dict[str, list[str]] = {}
        for r in self.plan(name):
            labels.setdefault(f"{r.producer}->{r.consumer}", []).append(f"{r.output} → {r.dependency}")
        return self.dag.to_mermaid({k: ", ".join(v) for k, v in labels.items()})

    @classmethod
    def single_step(
        cls,
        config: StrictModel,
        *,
        node: str | None = None,
        **kwargs: Any,
    ) -> PipelineBuilderTemplate:
        """A one-node template for one config (what the construct does with a single training config)."""
        from constructs_lib import registry

        builder_cls = registry.builder_for_config(config)
        name = node or builder_cls.DEFAULT_STEP_NAME
        dag = PipelineDAG()
        dag.add_node(name)
        return cls(dag=dag, config_map={name: config}, **kwargs)


def _failing_step(steps: Mapping[str, Any]) -> str | None:
    """The first node whose SDK step cannot render its arguments (only called after a failure: the SDK
    defers most of its validation to ``definition()``, so this finds which step it was)."""
    for node, step in steps.items():
        try:
            step.arguments  # noqa: B018 - evaluated for its exception
        except Exception:
            return node
    return None


def topological_steps(template: PipelineBuilderTemplate) -> Sequence[str]:
    """The order in which ``template`` builds its steps."""
    return template.dag.topological_order()
