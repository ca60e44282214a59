"""Dependency resolution: for each dependency of a step, choose the one predecessor output that feeds it.

Deterministic and explainable:

1. **Override** — an edge the user forced, ``(producer, output)``; checked to exist.
2. **Name** — an output whose logical name or alias equals the dependency's name (types must agree).
3. **Typed compatibility** — outputs whose ``output_type`` equals the ``dependency_type``, scored:
   ``0.5`` type + ``0.2`` same ``data_type`` + ``0.2`` producer in ``compatible_sources`` (``0.1`` when the
   dependency lists none) + up to ``0.1`` for semantic keywords found in the output's names.

Within a tier the single best candidate wins. Two candidates with the same best score, or a required
dependency with no candidate, raise :class:`~constructs_lib.errors.ResolutionError` naming the step, the
dependency and every candidate with its score. Nothing is ever picked by chance or by order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from constructs_lib.errors import ResolutionError
from constructs_lib.specs.base import DependencySpec, OutputSpec, StepSpecification

__all__ = ["Candidate", "DependencyResolver", "Producer", "Resolution"]

_TIER_OVERRIDE = "override"
_TIER_NAME = "name"
_TIER_TYPED = "typed"


@dataclass(frozen=True)
class Producer:
    """A predecessor that may feed dependencies: its step name and specification."""

    name: str
    spec: StepSpecification


@dataclass(frozen=True)
class Candidate:
    """One predecessor output considered for a dependency, with its score and why."""

    producer: str
    producer_type: str
    output: str
    score: float
    tier: str
    reason: str

    def describe(self) -> str:
        """``producer.output (score 0.90, typed: ...)``."""
        return f"{self.producer}.{self.output} (score {self.score:.2f}, {self.tier}: {self.reason})"


@dataclass(frozen=True)
class Resolution:
    """How one dependency of one step was wired.

    Attributes:
        consumer: the step that needs the input.
        dependency: the dependency's logical name.
        producer: the predecessor step chosen.
        output: the predecessor's output logical name.
        score: the winning score (1.0 for overrides and name matches).
        tier: ``override``, ``name`` or ``typed``.
        reason: why it won.
        candidates: every candidate considered, best first.
        property_path: the producer output's property path (the builder turns it into the SDK's property
            reference of the producer's step).
    """

    consumer: str
    dependency: str
    producer: str
    output: str
    score: float
    tier: str
    reason: str
    candidates: tuple[Candidate, ...]
    property_path: str

    def explain(self) -> str:
        """One line: ``train.input_path <- preprocess.processed_data [typed 0.95: ...]``."""
        others = [c for c in self.candidates if (c.producer, c.output) != (self.producer, self.output)]
        tail = f"; also considered: {', '.join(c.describe() for c in others)}" if others else ""
        return (
            f"{self.consumer}.{self.dependency} <- {self.producer}.{self.output} "
            f"[{self.tier} {self.score:.2f}: {self.reason}]{tail}"
        )


def _keyword_score(dep: DependencySpec, out: OutputSpec) -> tuple[float, list[str]]:
    if not dep.semantic_keywords:
        return 0.0, []
    words = {w for name in out.names for w in name.lower().split("_")}
    hits = sorted({k for k in dep.semantic_keywords if k.lower() in words})
    return 0.1 * len(hits) / len(dep.semantic_keywords), hits


def _typed(dep: DependencySpec, producer: Producer, out: OutputSpec) -> Candidate:
    if out.output_type != dep.dependency_type:
        return Candidate(
            producer.name,
            producer.spec.step_type,
            out.logical_name,
            0.0,
            _TIER_TYPED,
            f"type {out.output_type.value} != {dep.dependency_type.value}",
        )
    score = 0.5
    parts = [f"type {dep.dependency_type.value}"]
    if out.data_type == dep.data_type:
        score += 0.2
        parts.append(f"data type {dep.data_type}")
    if not dep.compatible_sources:
        score += 0.1
        parts.append("any source")
    elif producer.spec.step_type in dep.compatible_sources:
        score += 0.2
        parts.append(f"compatible source {producer.spec.step_type}")
    kw, hits = _keyword_score(dep, out)
    if hits:
        score += kw
        parts.append(f"keywords {'/'.join(hits)}")
    return Candidate(
        producer.name,
        producer.spec.step_type,
        out.logical_name,
        round(score, 4),
        _TIER_TYPED,
        ", ".join(parts),
    )


class DependencyResolver:
    """Resolves the dependencies of one step against the outputs of its predecessors, from their
    specifications alone (no SDK step is needed: reports, builds and ``create_step`` share this path)."""

    def candidates(self, dep: DependencySpec, producers: Sequence[Producer]) -> list[Candidate]:
        """Every predecessor output scored for ``dep``, best first (ties in a stable, named order)."""
        result: list[Candidate] = []
        for producer in producers:
            for out in producer.spec.outputs:
                if dep.logical_name in out.names and out.output_type == dep.dependency_type:
                    how = "logical name" if out.logical_name == dep.logical_name else "alias"
                    result.append(
                        Candidate(
                            producer.name,
                            producer.spec.step_type,
                            out.logical_name,
                            1.0,
                            _TIER_NAME,
                            f"{how} {dep.logical_name!r}",
                        )
                    )
                    continue
                result.append(_typed(dep, producer, out))
        tier_rank = {_TIER_NAME: 0, _TIER_TYPED: 1}
        return sorted(result, key=lambda c: (tier_rank[c.tier], -c.score, c.producer, c.output))

    def resolve(
        self,
        consumer: str,
        spec: StepSpecification,
        producers: Sequence[Producer],
        *,
        explicit: Iterable[str] = (),
        overrides: Mapping[str, tuple[str, str]] | None = None,
        fallbacks: Iterable[str] = (),
    ) -> list[Resolution]:
        """Resolve every dependency of ``consumer`` not in ``explicit`` (those have values already).

        ``fallbacks`` names required dependencies the step can fill itself (e.g. from its config) when no
        predecessor provides them: for those, "no candidate" is not an error.

        Raises :class:`ResolutionError` on a tie, an unresolved required dependency or a bad override.
        """
        overrides = dict(overrides or {})
        by_name = {p.name: p for p in producers}
        unknown = sorted(set(overrides) - {d.logical_name for d in spec.dependencies})
        if unknown:
            raise ResolutionError(
                "override for a dependency the step does not have",
                step=consumer,
                value=unknown,
                hint=f"{spec.step_type} dependencies: {', '.join(d.logical_name for d in spec.dependencies)}",
            )
        explicit_set = set(explicit)
        fallback_set = set(fallbacks)
        resolutions: list[Resolution] = []
        for dep in spec.dependencies:
            if dep.logical_name in explicit_set:
                continue
            if dep.logical_name in overrides:
                resolutions.append(self._override(consumer, dep, by_name, overrides[dep.logical_name]))
                continue
            cands = self.candidates(dep, producers)
            viable = [c for c in cands if c.score > 0]
            if not viable:
                if dep.required and dep.logical_name not in fallback_set:
                    listing = "; ".join(c.describe() for c in cands) or "no predecessor outputs"
                    raise ResolutionError(
                        f"required dependency {dep.logical_name!r} ({dep.dependency_type.value}) has no "
                        f"compatible predecessor output; candidates: {listing}",
                        step=consumer,
                        field=dep.logical_name,
                        hint="add a predecessor that provides it, pass it explicitly, or override the edge",
                    )
                continue
            best = viable[0]
            tied = [c for c in viable if c.tier == best.tier and c.score == best.score]
            if len(tied) > 1:
                raise ResolutionError(
                    f"dependency {dep.logical_name!r} is ambiguous: {len(tied)} candidates tie at "
                    f"{best.score:.2f} ({best.tier}): " + "; ".join(c.describe() for c in tied),
                    step=consumer,
                    field=dep.logical_name,
                    hint="override the edge explicitly, e.g. overrides={"
                    f"{dep.logical_name!r}: ({tied[0].producer!r}, {tied[0].output!r})}}",
                )
            producer = by_name[best.producer]
            out = producer.spec.output(best.output)
            resolutions.append(
                Resolution(
                    consumer=consumer,
                    dependency=dep.logical_name,
                    producer=best.producer,
                    output=best.output,
                    score=best.score,
                    tier=best.tier,
                    reason=best.reason,
                    candidates=tuple(cands),
                    property_path=out.property_path,
                )
            )
        return resolutions

    def _override(
        self,
        consumer: str,
        dep: DependencySpec,
        by_name: Mapping[str, Producer],
        target: tuple[str, str],
    ) -> Resolution:
        if (
            not isinstance(target, tuple | list)
            or len(target) != 2
            or not all(isinstance(t, str) for t in target)
        ):
            raise ResolutionError(
                "an override is a (producer step, output name) pair",
                step=consumer,
                field=dep.logical_name,
                value=target,
                hint=f"e.g. overrides={{{dep.logical_name!r}: ('preprocess', 'processed_data')}}",
            )
        producer_name, output_name = target
        producer = by_name.get(producer_name)
        if producer is None:
            raise ResolutionError(
                "override names a step that is not a direct predecessor",
                step=consumer,
                field=dep.logical_name,
                value=producer_name,
                hint=f"predecessors: {', '.join(sorted(by_name)) or '(none)'}",
            )
        names = {n: o for o in producer.spec.outputs for n in o.names}
        out = names.get(output_name)
        if out is None:
            raise ResolutionError(
                f"override names an output {producer_name!r} does not have",
                step=consumer,
                field=dep.logical_name,
                value=output_name,
                hint=f"outputs of {producer_name}: {', '.join(o.logical_name for o in producer.spec.outputs)}",
            )
        cand = Candidate(
            producer_name, producer.spec.step_type, out.logical_name, 1.0, _TIER_OVERRIDE, "user override"
        )
        return Resolution(
            consumer=consumer,
            dependency=dep.logical_name,
            producer=producer_name,
            output=out.logical_name,
            score=1.0,
            tier=_TIER_OVERRIDE,
            reason="user override",
            candidates=(cand,),
            property_path=out.property_path,
        )
