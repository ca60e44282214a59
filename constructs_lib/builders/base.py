"""``StepBuilderBase``: turns one validated config into one SageMaker pipeline step, and returns values.

Every concrete builder declares its registry key (``STEP_TYPE``, equal to its class name without the
``Builder`` suffix, so the documented ``step_builder_map`` keys can never drift from the class names), the
config class it accepts and its :class:`~constructs_lib.ports.StepPorts` (from which its specification,
script contract and channel mapping derive). :meth:`StepBuilderBase.build` returns one immutable
:class:`StepResult` — the SDK step, the pipeline parameters it made, how its dependencies were wired and its
complete :class:`~constructs_lib.access.AccessNeeds` — and the builder keeps no state between calls.
``create_step(dependencies=[...])`` (the seed's entry point) returns just the SDK step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from constructs_lib.access import AccessNeeds
from constructs_lib.builders.settings import BuildWarning
from constructs_lib.codeartifact import CA_REPOSITORY_ARN_ENV, parse_repository_arn
from constructs_lib.config.base import StrictModel, check_s3_uri
from constructs_lib.context import BuildContext, resolve_region
from constructs_lib.errors import ConfigError, ConstructsLibError, ResolutionError, SynthError
from constructs_lib.names import check_step_name
from constructs_lib.resolver import DependencyResolver, Producer, Resolution
from constructs_lib.specs.base import attach_spec, property_reference, spec_of

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.steps import Step

    from constructs_lib.contracts.base import ScriptContract
    from constructs_lib.packaging import ExtraDir
    from constructs_lib.ports import StepPorts
    from constructs_lib.specs.base import StepSpecification

__all__ = [
    "CodePackage",
    "FactValue",
    "InputValue",
    "OutputFacts",
    "StepBuilderBase",
    "StepResult",
    "Upstream",
    "attach_facts",
    "check_step_name",
    "facts_of",
    "static_uris",
]

#: An input value: a plain S3 URI string or a SageMaker pipeline variable (property reference, parameter).
InputValue = Any

#: One fact a builder states about one of its outputs: a string, or a tuple of strings.
FactValue = str | tuple[str, ...]
#: Output logical name -> the facts about it (e.g. ``{"model_artifacts": {"inference_entry_point":
#: "inference.py"}}``).
OutputFacts = Mapping[str, Mapping[str, FactValue]]

_FACTS_ATTR = "_constructs_lib_facts"


def attach_facts(step: object, facts: OutputFacts) -> None:
    """Remember on an SDK step what its builder states about its outputs (read by :func:`facts_of`)."""
    object.__setattr__(step, _FACTS_ATTR, facts)


def facts_of(step: object) -> OutputFacts:
    """The facts the step's builder stated about its outputs (``{}`` for steps built elsewhere)."""
    facts = getattr(step, _FACTS_ATTR, None)
    return facts if isinstance(facts, Mapping) else {}


@dataclass(frozen=True)
class Upstream:
    """What feeds one input of a step, as a consumer's :meth:`StepBuilderBase.for_inputs` sees it.

    Attributes:
        producer: the producing step's name (DAG node).
        producer_type: its step type.
        output: the logical name of its output that feeds the input.
        facts: what the producer's builder states about that output (see
            :meth:`StepBuilderBase.output_facts`); ``{}`` when it states nothing.
    """

    producer: str
    producer_type: str
    output: str
    facts: Mapping[str, FactValue]


def check_input_value(value: object, *, step: str, field: str) -> object:
    """An input is an ``s3://`` URI string or a SageMaker pipeline variable (parameter, property)."""
    if isinstance(value, str):
        try:
            check_s3_uri(value, field=field)
        except ConfigError as exc:
            raise ConfigError(exc.message, step=step, field=field, value=value, hint=exc.hint) from None
        return value
    from constructs_lib.sdk_adapter import sdk

    with sdk():
        from sagemaker.workflow.entities import PipelineVariable

    if not isinstance(value, PipelineVariable):
        raise ConfigError(
            "an input must be an s3:// URI or a pipeline variable",
            step=step,
            field=field,
            value=value,
            hint="e.g. 's3://bucket/prefix/', a ParameterString, or another step's property",
        )
    return value


def static_uris(values: Sequence[InputValue]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(URIs, parameter names)`` known at synth time among input values: plain ``s3://`` strings and the
    default values of pipeline parameters (whose names are returned too). Property references of other steps
    are theirs to declare (their outputs)."""
    uris: set[str] = set()
    names: set[str] = set()
    for value in values:
        if isinstance(value, str):
            uris.add(value)
        elif isinstance(getattr(value, "default_value", None), str) and isinstance(
            getattr(value, "name", None), str
        ):
            uris.add(value.default_value)
            names.add(value.name)
    return tuple(sorted(uris)), tuple(sorted(names))


@dataclass(frozen=True)
class CodePackage:
    """A local source directory that must be packed and uploaded before the pipeline runs.

    Attributes:
        node: the DAG node (step name) whose code it is.
        placeholder_uri: the ``s3://`` URI the definition holds until the CDK layer substitutes the asset URI.
        source_dir: the local directory.
        entry_point: the script inside it (checked to exist when packing).
        extra_files: files added to the archive (e.g. the hyperparameters JSON at the root), archive path
            -> bytes.
        extra_dirs: local directories packed below archive directories of their own (e.g. the inference
            code), archive directory -> :class:`~constructs_lib.packaging.ExtraDir`; read when packing.
            Default ``{}``.
    """

    node: str
    placeholder_uri: str
    source_dir: str
    entry_point: str
    extra_files: Mapping[str, bytes] = field(default_factory=dict)
    extra_dirs: Mapping[str, ExtraDir] = field(default_factory=dict)

    def pack(self) -> bytes:
        """The deterministic ``sourcedir.tar.gz`` bytes of this package
        (:func:`~constructs_lib.packaging.pack_source_dir`); its ``ConfigError`` names the step (``node``)."""
        from constructs_lib.packaging import in_step, pack_source_dir

        try:
            return pack_source_dir(
                self.source_dir,
                entry_point=self.entry_point,
                extra_files=self.extra_files,
                extra_dirs=self.extra_dirs,
            )
        except ConfigError as exc:
            raise in_step(exc, self.node) from None


@dataclass(frozen=True)
class StepResult:
    """Everything building one step gives; nothing else about the build is kept anywhere.

    Attributes:
        node: the step's name in the pipeline (its DAG node).
        step_type: the registered step type.
        step: the SageMaker SDK step (for a model node, the SDK's ``ModelStep``).
        parameters: the pipeline parameters the step uses (sorted by name).
        resolutions: how each dependency was wired from a predecessor (empty for explicit inputs).
        access: what the step's jobs need at run time (see :class:`~constructs_lib.access.AccessNeeds`).
        code_packages: local code to pack and upload for the step.
        warnings: what the build found risky (stable ids; the CDK construct adds them as annotations).
            Default ``()``.
        facts: what the builder states about the step's outputs (see
            :meth:`StepBuilderBase.output_facts`). Default ``{}``.
        gates_successors: the step is a gate (a SageMaker ``ConditionStep``): its DAG successors run only
            when it passes, so the template builds them as usual and places them in its branch
            (:meth:`StepBuilderBase.with_branch`) instead of the pipeline's top-level steps. Default
            ``False``.
    """

    node: str
    step_type: str
    step: Step
    parameters: tuple[Any, ...]
    resolutions: tuple[Resolution, ...]
    access: AccessNeeds
    code_packages: tuple[CodePackage, ...]
    warnings: tuple[BuildWarning, ...] = ()
    facts: OutputFacts = field(default_factory=dict)
    gates_successors: bool = False


@dataclass(frozen=True)
class BuiltStep:
    """What a builder's :meth:`StepBuilderBase._build` returns: the SDK step, its access needs and any
    pipeline parameter it created itself (parameters among the inputs are collected by the base class)."""

    step: Step
    access: AccessNeeds
    parameters: tuple[Any, ...] = ()
    warnings: tuple[BuildWarning, ...] = ()


class StepBuilderBase(ABC):
    """Base of every step builder.

    Args:
        config: the step's validated config (an instance of ``CONFIG_CLASS``).
        sagemaker_session: a SageMaker session to build with. Default ``None``: an offline
            ``PipelineSession`` that never calls AWS.
        role: ARN of the role the job runs as. Default ``None``: a placeholder that the CDK construct
            replaces with its job role's ARN.
        region: AWS region. Default ``None``: see :func:`~constructs_lib.context.resolve_region` (the
            config's ``region``, the session's, then ``AWS_REGION``/``AWS_DEFAULT_REGION``).
        step_name: the step's name in the pipeline. Default: ``DEFAULT_STEP_NAME`` of the builder.
        pipeline_name: used in default S3 locations. Default ``"pipeline"``.
        artifact_root: ``s3://bucket[/prefix]`` for default output locations. Default: a placeholder that
            the CDK construct replaces with its artifact bucket.
        context: a ready :class:`BuildContext` (the template passes one); overrides the four above.
    """

    STEP_TYPE: ClassVar[str]
    CONFIG_CLASS: ClassVar[type[StrictModel]]
    DEFAULT_STEP_NAME: ClassVar[str]
    PORTS: ClassVar[StepPorts]
    #: True for a gate: a step whose DAG successors run only when it passes (see ``StepResult``).
    GATES_SUCCESSORS: ClassVar[bool] = False

    def __init__(
        self,
        config: StrictModel,
        sagemaker_session: PipelineSession | None = None,
        role: str | None = None,
        *,
        region: str | None = None,
        step_name: str | None = None,
        pipeline_name: str = "pipeline",
        artifact_root: str | None = None,
        context: BuildContext | None = None,
    ) -> None:
        if not isinstance(config, self.CONFIG_CLASS):
            raise ConfigError(
                f"{type(self).__name__} needs a {self.CONFIG_CLASS.__name__}",
                field="config",
                value=type(config).__name__,
                hint=f"pass a {self.CONFIG_CLASS.__name__}(...)",
            )
        self.config = config
        self.step_name = check_step_name(step_name or self.DEFAULT_STEP_NAME)
        if context is None:
            try:
                resolved_region = resolve_region(region, {self.step_name: config}, sagemaker_session)
            except ConfigError as exc:
                raise ConfigError(
                    exc.message,
                    step=self.step_name,
                    field="region",
                    value=exc.value,
                    hint=exc.hint,
                    has_value=exc.has_value,
                ) from None
            kwargs: dict[str, Any] = {"region": resolved_region, "pipeline_name": pipeline_name}
            if role is not None:
                kwargs["role_arn"] = role
            if artifact_root is not None:
                kwargs["artifact_root"] = artifact_root
            context = BuildContext(sagemaker_session=sagemaker_session, **kwargs)
        self.context = context

    # ------------------------------------------------------------------ declarations
    @classmethod
    def specification(cls) -> StepSpecification:
        """The step type's specification (derived from ``PORTS``)."""
        return cls.PORTS.specification()

    @classmethod
    def contract(cls) -> ScriptContract:
        """The contract of the step's script (derived from ``PORTS``)."""
        return cls.PORTS.contract()

    @classmethod
    def shipped_script(cls) -> Path | None:
        """The script the library ships for this step type (checked against the contract by
        :func:`~constructs_lib.alignment.check_alignment`). Default ``None``: none."""
        return None

    @classmethod
    def default_entry_point(cls) -> str | None:
        """The config class's default entry point (``SHIPPED_ENTRY_POINT`` or the default of its
        ``*entry_point`` field); ``None`` when it has none."""
        shipped = getattr(cls.CONFIG_CLASS, "SHIPPED_ENTRY_POINT", None)
        if isinstance(shipped, str) and shipped:
            return shipped
        for name, info in cls.CONFIG_CLASS.model_fields.items():
            if name.endswith("entry_point") and isinstance(info.default, str) and info.default:
                return info.default
        return None

    def code_packages(self) -> tuple[CodePackage, ...]:
        """Local code this step needs uploaded (default: none)."""
        return ()

    def fallback_inputs(self, *, has_predecessors: bool) -> frozenset[str]:
        """Required dependencies this step fills itself when no predecessor provides them: with no
        predecessors, all of them (via :meth:`default_inputs`); otherwise those its config sets."""
        if not has_predecessors:
            return frozenset(d.logical_name for d in self.specification().dependencies)
        return frozenset(self.configured_inputs())

    def configured_inputs(self) -> dict[str, InputValue]:
        """Dependencies whose value the config sets explicitly (e.g. ``input_path``). Default: none."""
        return {}

    def default_inputs(self, resolved: Mapping[str, InputValue]) -> dict[str, InputValue]:
        """Values for inputs nobody provided (the config's value, or a pipeline parameter). Default: none."""
        return {}

    def output_facts(self) -> dict[str, dict[str, FactValue]]:
        """Facts about this step's outputs that consumers may check or use (output logical name -> facts),
        e.g. the inference handler a training step packs into its model. Default: for each output port
        that declares a property file, ``property_file`` and ``json_paths``."""
        facts: dict[str, dict[str, FactValue]] = {}
        for port in self.PORTS.outputs:
            if port.property_file is not None:
                facts[port.name] = {
                    "property_file": port.property_file.name,
                    "property_file_path": port.property_file.path,
                    "json_paths": port.property_file.json_paths,
                }
        return facts

    def for_inputs(self, upstream: Mapping[str, Upstream]) -> StepBuilderBase:
        """The builder that builds this step given what feeds its inputs (dependency logical name ->
        :class:`Upstream`, for the inputs resolved from predecessor steps). Default: ``self``.

        A consumer checks here that its producers fit (raising :class:`ConfigError` that names both
        steps and the fix), and may return a builder of a completed config (e.g. the framework version
        its producer trained with). It must not change ``self``.
        """
        return self

    def with_branch(self, result: StepResult, steps: Sequence[Step]) -> StepResult:
        """For a gate (``GATES_SUCCESSORS``): ``result`` with ``steps`` (its DAG successors, in build
        order) placed in the branch that runs when the gate passes."""
        raise SynthError(
            f"{self.STEP_TYPE} is not a gate: it cannot hold other steps",
            step=self.step_name,
            hint="report a bug: only builders with GATES_SUCCESSORS = True get branch steps",
        )

    def codeartifact_repositories(self) -> tuple[str, ...]:
        """Repository ARNs named by ``CA_REPOSITORY_ARN`` in the config's ``env`` (validated)."""
        env = getattr(self.config, "env", None) or {}
        arn = env.get(CA_REPOSITORY_ARN_ENV)
        if arn is None:
            return ()
        return (parse_repository_arn(arn, field=f"env[{CA_REPOSITORY_ARN_ENV!r}]").repository_arn,)

    # ------------------------------------------------------------------ resolution
    def resolve_dependencies(
        self,
        producers: Sequence[Producer],
        *,
        explicit: Sequence[str] = (),
        overrides: Mapping[str, tuple[str, str]] | None = None,
    ) -> tuple[Resolution, ...]:
        """Wire this step's dependencies from ``producers`` (specifications only): the one resolution path
        of ``create_step``, the template's build and the template's reports."""
        return tuple(
            DependencyResolver().resolve(
                self.step_name,
                self.specification(),
                producers,
                explicit=explicit,
                overrides=overrides,
                fallbacks=self.fallback_inputs(has_predecessors=bool(producers)),
            )
        )

    # ------------------------------------------------------------------ building
    def build(
        self,
        inputs: Mapping[str, InputValue] | None = None,
        dependencies: Sequence[Step] | None = None,
        *,
        overrides: Mapping[str, tuple[str, str]] | None = None,
        depends_on: Sequence[Step] | None = None,
    ) -> StepResult:
        """Build the SageMaker step and say everything about it.

        Args:
            inputs: explicit values for dependencies, logical name -> S3 URI or pipeline variable. These win
                over anything resolved from ``dependencies``.
            dependencies: predecessor steps (built by this library); each of this step's dependencies is
                wired to exactly one of their declared outputs by the dependency resolver, and the step
                depends on all of them.
            overrides: dependency logical name -> (predecessor step name, output name), to force an edge.
            depends_on: further steps to run after, without wiring their outputs.
        """
        spec = self.specification()
        dep_names = [d.logical_name for d in spec.dependencies]
        explicit = dict(inputs or {})
        unknown = sorted(set(explicit) - set(dep_names))
        if unknown:
            raise ConfigError(
                "unknown input",
                step=self.step_name,
                field="inputs",
                value=unknown,
                hint=f"{self.STEP_TYPE} accepts: {', '.join(dep_names) or '(no inputs)'}",
            )
        for name, value in explicit.items():
            check_input_value(value, step=self.step_name, field=f"inputs.{name}")
        steps = list(dependencies or ())
        producers: list[Producer] = []
        for step in steps:
            producer_spec = spec_of(step)
            if producer_spec is None:
                raise ResolutionError(
                    "a dependency was not built by a constructs_lib step builder, so its outputs are unknown",
                    step=self.step_name,
                    value=getattr(step, "name", repr(step)),
                    hint="pass its outputs explicitly with inputs={...} instead",
                )
            producers.append(Producer(name=step.name, spec=producer_spec))
        resolutions = self.resolve_dependencies(producers, explicit=list(explicit), overrides=overrides)
        by_name = {step.name: step for step in steps}
        types = {p.name: p.spec.step_type for p in producers}
        upstream = {
            r.dependency: Upstream(
                producer=r.producer,
                producer_type=types[r.producer],
                output=r.output,
                facts=dict(facts_of(by_name[r.producer]).get(r.output, {})),
            )
            for r in resolutions
        }
        builder = self.for_inputs(upstream)
        values: dict[str, InputValue] = {
            r.dependency: property_reference(by_name[r.producer], r.property_path) for r in resolutions
        }
        values.update(explicit)
        values = {**builder.default_inputs(values), **values}
        missing = [d.logical_name for d in spec.dependencies if d.required and d.logical_name not in values]
        if missing:
            raise ConfigError(
                "required input has no value",
                step=self.step_name,
                field="inputs",
                value=missing,
                hint="pass it in inputs=..., add a predecessor that provides it, or set it on the config",
            )
        from constructs_lib.sdk_adapter import sdk

        try:
            with sdk():
                built = builder._build(values, depends_on=[*steps, *(depends_on or ())])
        except ConstructsLibError:
            raise
        except Exception as exc:  # SDK errors get the step's context, never a raw traceback
            raise SynthError(
                f"the SageMaker SDK failed to build the step: {type(exc).__name__}: {exc}",
                step=self.step_name,
                hint="check the step's config; report a bug if the config is valid",
            ) from exc
        attach_spec(built.step, spec)
        facts = {name: dict(f) for name, f in sorted(builder.output_facts().items())}
        attach_facts(built.step, facts)
        parameters: dict[str, Any] = {}
        for value in (*values.values(), *built.parameters):
            if _is_parameter(value):
                parameters.setdefault(str(value.name), value)
        return StepResult(
            node=self.step_name,
            step_type=self.STEP_TYPE,
            step=built.step,
            parameters=tuple(parameters[n] for n in sorted(parameters)),
            resolutions=resolutions,
            access=built.access,
            code_packages=builder.code_packages(),
            warnings=built.warnings,
            facts=facts,
            gates_successors=type(builder).GATES_SUCCESSORS,
        )

    def create_step(
        self,
        inputs: Mapping[str, InputValue] | None = None,
        dependencies: Sequence[Step] | None = None,
        *,
        overrides: Mapping[str, tuple[str, str]] | None = None,
        depends_on: Sequence[Step] | None = None,
    ) -> Step:
        """The seed's entry point: :meth:`build` and return just the SageMaker step."""
        return self.build(inputs, dependencies, overrides=overrides, depends_on=depends_on).step

    @abstractmethod
    def _build(self, inputs: Mapping[str, InputValue], depends_on: Sequence[Step]) -> BuiltStep:
        """Build the SDK step from resolved inputs (every required dependency has a value)."""


def _is_parameter(value: object) -> bool:
    from constructs_lib.sdk_adapter import sdk

    with sdk():
        from sagemaker.workflow.parameters import Parameter

    return isinstance(value, Parameter)
