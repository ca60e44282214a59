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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from constructs_lib.access import AccessNeeds
from constructs_lib.builders.base import CodePackage, StepBuilderBase, StepResult
from constructs_lib.builders.settings import BuildWarning
from constructs_lib.config.base import StrictModel
from constructs_lib.context import BuildContext, Infrastructure, resolve_region
from constructs_lib.dag import PipelineDAG
from constructs_lib.definition import canonical_json, check_definition_size
from constructs_lib.errors import ConfigError, ConstructsLibError, DagError, SynthError
from constructs_lib.names import check_pipeline_name
from constructs_lib.resolver import Producer, Resolution

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession

__all__ = ["BuiltPipeline", "PipelineBuilderTemplate", "PipelineParameter"]


@dataclass(frozen=True)
class PipelineParameter:
    """A pipeline parameter as the definition declares it (what executions may override)."""

    name: str
    type: str
    default: Any


@dataclass(frozen=True)
class BuiltPipeline:
    """Everything the CDK layer (or a user) needs from one build; plain values except ``pipeline``.

    Attributes:
        name: the pipeline's name.
        definition: the definition as a dict (placeholders not yet substituted).
        definition_json: :func:`~constructs_lib.definition.canonical_json` of ``definition``.
        code_packages: local source directories to pack and upload, one per step that has local code.
        resolutions: how every dependency edge was wired, in build order.
        access: per step (DAG node), what its jobs need at run time; the CDK layer's only source of
            permissions.
        step_types: per step, its registered step type.
        parameters: the definition's pipeline parameters.
        warnings: what the build found risky, per step (stable ids).
        pipeline: the SageMaker SDK ``Pipeline`` object (``None`` when the build came from a cache).
        timings: seconds spent in ``resolution``, ``steps`` (SDK step objects) and ``definition``.
    """

    name: str
    definition: dict[str, Any]
    definition_json: str
    code_packages: tuple[CodePackage, ...]
    resolutions: tuple[Resolution, ...]
    access: Mapping[str, AccessNeeds]
    step_types: Mapping[str, str]
    parameters: tuple[PipelineParameter, ...] = ()
    warnings: tuple[BuildWarning, ...] = ()
    pipeline: Pipeline | None = field(default=None, compare=False)
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)

    def explain(self) -> str:
        """One line per resolved edge: which output feeds which input, and why."""
        if not self.resolutions:
            return "(no dependencies to resolve)\n"
        return "\n".join(r.explain() for r in self.resolutions) + "\n"

    def pipeline_access(self) -> AccessNeeds:
        """The union of every step's needs (the jobs share one role)."""
        return AccessNeeds.merge(self.access[n] for n in self.access)


class PipelineBuilderTemplate:
    """Builds a SageMaker pipeline from a :class:`PipelineDAG`, a config per node and the builders.

    Args:
        dag: the step graph; its node names become the step names.
        config_map: node name -> that step's config. Every node needs one; extra keys are an error.
        step_builder_map: step type -> builder class (the seed's map). Default ``None``: the library's
            registry. Every key must be a registered step type mapped to its own builder class.
        sagemaker_session: a SageMaker session. Default ``None``: an offline session (no AWS calls).
        role: ARN of the role the jobs run as. Default ``None``: a placeholder the CDK construct replaces.
        region: AWS region. Default ``None``: see :func:`~constructs_lib.context.resolve_region` (the configs'
            region, which must agree, the session's, then ``AWS_REGION``/``AWS_DEFAULT_REGION``).
        artifact_root: ``s3://bucket[/prefix]`` for default outputs. Default: a placeholder bucket the CDK
            construct replaces with its artifact bucket.
        overrides: ``{node: {dependency: (producer node, output name)}}`` to force edges.
        pipeline_description: free text stored with the pipeline (not in the definition).

    Attributes:
        step_types: node name -> the registered step type its config builds (``PyTorchTrainingStep``...).
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
        # the registry's own (lazy) view is right by construction: reading its values would import every
        # builder; any other mapping is checked entry by entry
        given = {} if isinstance(step_builder_map, registry.StepBuilderMap) else step_builder_map
        for key, cls in given.items():
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
        self.step_builder_map: Mapping[str, type[StepBuilderBase]] = (
            step_builder_map
            if isinstance(step_builder_map, registry.StepBuilderMap)
            else dict(step_builder_map)
        )
        self.step_types: dict[str, str] = {}
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
            self.step_types[node] = step_type
        self.sagemaker_session = sagemaker_session
        self.role = role
        self.region = resolve_region(region, self.config_map, sagemaker_session)
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

    def context(self, name: str, infrastructure: Infrastructure | None = None) -> BuildContext:
        """The :class:`BuildContext` the builders get for pipeline ``name`` (with ``infrastructure``: the
        network, KMS keys and tags every job gets; default none)."""
        kwargs: dict[str, Any] = {"region": self.region, "pipeline_name": name}
        if infrastructure is not None:
            kwargs["infrastructure"] = infrastructure
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
            node: self.step_builder_map[self.step_types[node]](
                self.config_map[node], step_name=node, context=ctx
            )
            for node in self.dag.topological_order()
        }

    @property
    def node_types(self) -> dict[str, str]:
        """The former name of :attr:`step_types` (node name -> step type), kept so existing code runs."""
        return self.step_types

    def plan(self, name: str = "pipeline") -> list[Resolution]:
        """Resolve every edge from the specifications alone (no SDK step is built): for reports. The same
        resolution path as :meth:`build` (each builder's ``resolve_dependencies``)."""
        builders = self.builders(name)
        plan: list[Resolution] = []
        for node in self.dag.topological_order():
            producers = [Producer(p, builders[p].specification()) for p in self.dag.predecessors(node)]
            if producers:
                plan.extend(
                    builders[node].resolve_dependencies(producers, overrides=self.overrides.get(node))
                )
        return plan

    def build_steps(self, name: str, ctx: BuildContext | None = None) -> dict[str, StepResult]:
        """Build every step (DAG order) and return each node's :class:`StepResult`; each step's
        dependencies are resolved from its DAG predecessors' steps."""
        from constructs_lib.sdk_adapter import sdk

        builders = self.builders(name, ctx)
        results: dict[str, StepResult] = {}
        parameter_owner: dict[str, str] = {}
        with sdk():
            for node in self.dag.topological_order():
                # a gate's successors go into its branch: they neither wire from it nor depend on it
                preds = [
                    results[p].step for p in self.dag.predecessors(node) if not results[p].gates_successors
                ]
                result = builders[node].build(dependencies=preds, overrides=self.overrides.get(node))
                for param in result.parameters:
                    owner = parameter_owner.setdefault(param.name, node)
                    if owner != node:
                        raise ConfigError(
                            f"two steps define the pipeline parameter {param.name!r}",
                            step=node,
                            field="parameter_name",
                            value=param.name,
                            hint=f"steps {owner!r} and {node!r}: give one of them another parameter name",
                        )
                results[node] = result
            return self._place_in_branches(builders, results)

    def placement(self, results: Mapping[str, StepResult]) -> dict[str, str | None]:
        """For each node, the gate whose branch holds it (the nearest gate among its DAG ancestors), or
        ``None`` for a top-level step. A node below two gates neither of which is below the other is a
        :class:`DagError`."""
        order = self.dag.topological_order()
        ancestors: dict[str, set[str]] = {}
        for node in order:
            ancestors[node] = set()
            for pred in self.dag.predecessors(node):
                ancestors[node] |= {pred, *ancestors[pred]}
        placed: dict[str, str | None] = {}
        for node in order:
            gates = {g for g in ancestors[node] if results[g].gates_successors}
            inner = [g for g in gates if gates - {g} <= ancestors[g]]
            if gates and len(inner) != 1:
                raise DagError(
                    "a step is below several gates that are not below one another, so it belongs to no "
                    "single branch",
                    step=node,
                    field="dag",
                    value=sorted(gates),
                    hint="chain the gates (gate_a -> gate_b -> step), or give the step one gate",
                )
            placed[node] = inner[0] if gates else None
        return placed

    def _place_in_branches(
        self, builders: Mapping[str, StepBuilderBase], results: dict[str, StepResult]
    ) -> dict[str, StepResult]:
        """Each gate's result with its branch (the nodes placed under it, in DAG order), innermost first."""
        placed = self.placement(results)
        order = self.dag.topological_order()
        for gate in reversed(order):
            if not results[gate].gates_successors:
                continue
            branch = [results[n].step for n in order if placed[n] == gate]
            results[gate] = builders[gate].with_branch(results[gate], branch)
        return results

    def build(self, name: str, infrastructure: Infrastructure | None = None) -> BuiltPipeline:
        """Build steps, resolve edges, and produce the canonical definition of pipeline ``name``.

        Args:
            name: the pipeline's name.
            infrastructure: the network, KMS keys and tags every job gets (the CDK construct passes its
                props as placeholders). Default ``None``: none of them.
        """
        from constructs_lib.sdk_adapter import definition_of, pipeline, sdk

        check_pipeline_name(name)
        with sdk():
            ctx = self.context(name, infrastructure)
            t0 = time.perf_counter()
            results = self.build_steps(name, ctx)
            t_steps = time.perf_counter() - t0
            t1 = time.perf_counter()
            order = self.dag.topological_order()
            placed = self.placement(results)
            parameters = sorted((p for r in results.values() for p in r.parameters), key=lambda p: p.name)
            pipe = pipeline(
                name,
                parameters=parameters,
                steps=[results[n].step for n in order if placed[n] is None],
                session=ctx.session,
            )
            try:
                definition = definition_of(pipe)
            except ConstructsLibError:
                raise
            except Exception as exc:
                raise SynthError(
                    f"the SageMaker SDK failed to produce the definition: {type(exc).__name__}: {exc}",
                    step=_failing_step({n: r.step for n, r in results.items()}) or name,
                    hint="check that step's config; report a bug if it is valid",
                ) from exc
        text = canonical_json(definition)
        check_definition_size(text, pipeline=name)
        t_def = time.perf_counter() - t1
        return BuiltPipeline(
            name=name,
            definition=json.loads(text),
            definition_json=text,
            code_packages=tuple(p for n in order for p in results[n].code_packages),
            resolutions=tuple(r for n in order for r in results[n].resolutions),
            access={n: results[n].access for n in order},
            step_types=dict(self.step_types),
            parameters=tuple(
                PipelineParameter(str(p["Name"]), str(p["Type"]), p.get("DefaultValue"))
                for p in definition.get("Parameters") or ()
            ),
            warnings=tuple(w for n in order for w in results[n].warnings),
            pipeline=pipe,
            timings={"steps": t_steps, "definition": t_def},
        )

    def generate_pipeline(self, name: str) -> Pipeline:
        """The seed's entry point: the SageMaker ``Pipeline`` named ``name``."""
        pipe = self.build(name).pipeline
        if pipe is None:  # pragma: no cover - a fresh build always has it
            raise SynthError("the build returned no SDK pipeline", step=name)
        return pipe

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
    from constructs_lib.sdk_adapter import sdk

    with sdk():
        return _first_failing(steps)


def _first_failing(steps: Mapping[str, Any]) -> str | None:
    for node, step in steps.items():
        try:
            step.arguments  # noqa: B018 - evaluated for its exception
        except Exception:
            return node
    return None
