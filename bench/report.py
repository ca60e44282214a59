"""Markdown rendering of the benchmark results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.coldstart import ColdStartResult
from bench.growth import GrowthResult
from bench.overhead import OverheadResult
from bench.stats import Summary, summarize

__all__ = [
    "GROWTH_COLUMNS",
    "GROWTH_TARGET",
    "OVERHEAD_TARGET",
    "coldstart_section",
    "growth_ratios",
    "growth_section",
    "overhead_section",
    "phases_section",
    "table",
]

#: ours / hand-written, whole-process synth (ratio of medians).
OVERHEAD_TARGET = 1.10
#: time(200) / time(50) per phase: 4.0 is linear; 4.5 allows a little super-linear cost.
GROWTH_TARGET = 4.5

#: Columns of every growth table (the smoke test checks them).
GROWTH_COLUMNS: tuple[str, ...] = (
    "N",
    "edges",
    "definition generation (steps + definition)",
    "dependency resolution (in build)",
    "resolution: template.plan()",
    "construct synth (CDK only)",
    "definition size (chars)",
    "definition storage",
    "template size (bytes)",
    "RSS after build (MiB)",
    "peak RSS (MiB)",
)

#: Phases compared between the two largest sizes: (result key, label).
GROWTH_PHASES: tuple[tuple[str, str], ...] = (
    ("definition_s", "definition generation (steps + definition)"),
    ("steps_s", "  of which: SDK step objects"),
    ("definition_only_s", "  of which: Pipeline.definition()"),
    ("build_cpu_s", "template.build(), CPU time"),
    ("resolution_s", "dependency resolution (in build)"),
    ("plan_s", "resolution: template.plan()"),
    ("synth_s", "construct synth (CDK only)"),
    ("process_s", "whole child process"),
    ("process_cpu_s", "whole child process, CPU time (with Node)"),
)


#: Phases the growth target applies to (the others are shown for explanation).
GROWTH_TARGET_PHASES: frozenset[str] = frozenset(
    {"definition_s", "build_cpu_s", "resolution_s", "plan_s", "synth_s"}
)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table (first column left-aligned, the others right-aligned)."""
    align = [":--"] + ["--:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _yes(ok: bool) -> str:
    return "**yes**" if ok else "**NO**"


def _spread(s: Summary) -> str:
    return s.auto()


def _iqr(s: Summary) -> str:
    if s.median < 1.0:
        return f"{s.q1 * 1e3:,.0f}-{s.q3 * 1e3:,.0f} ms"
    return f"{s.q1:,.2f}-{s.q3:,.2f} s"


# ----------------------------------------------------------------------------------------- overhead
_APP_LABELS = {
    "baseline": "hand-written (`bench/baseline_app.py`): SDK + `CfnPipeline` + bucket + role",
    "ours": "constructs_lib (`bench/ours_app.py`): `PyTorchTrainingPipeline`, code in S3",
    "ours-local": "constructs_lib (`bench/ours_app.py --local`): packs the reference code into an asset",
}


def overhead_section(result: OverheadResult, pairs: int, equal: tuple[bool, str]) -> tuple[str, float]:
    """The overhead section and the headline ratio (ours / hand-written)."""
    rows = []
    for label, summary in result.seconds.items():
        rows.append(
            [
                _APP_LABELS.get(label, label),
                _spread(summary),
                _iqr(summary),
                "1.00" if label == "baseline" else f"{result.ratio(label):.3f}",
                _spread(result.cpu_seconds[label]),
                "1.00" if label == "baseline" else f"{result.cpu_ratio(label):.3f}",
                f"{result.rss_mib[label].median:,.0f}",
            ]
        )
    headline = result.ratio("ours")
    text = "\n".join(
        [
            "## 1. Overhead against the hand-written peer",
            "",
            f"Whole-process `python bench/<app>.py OUTDIR` (imports, definition, `app.synth()` into a temporary "
            f"directory), one unrecorded warm-up each, then {pairs} alternated rounds.",
            "",
            table(
                [
                    "app",
                    "wall, median (min-max)",
                    "wall IQR",
                    "wall ratio",
                    "CPU (user+sys), median (min-max)",
                    "CPU ratio",
                    "peak RSS (MiB)",
                ],
                rows,
            ),
            "",
            f"Same pipeline: the two definitions are {'**equal**' if equal[0] else '**NOT equal**'} "
            f"({equal[1]}).",
            "",
            f"**ours / hand-written = {headline:.3f}** wall (target ≤ {OVERHEAD_TARGET:.2f}: "
            f"{'met' if headline <= OVERHEAD_TARGET else 'NOT met'}); "
            f"{result.cpu_ratio('ours'):.3f} in CPU time (user + system of Python and the jsii Node process, "
            "much less disturbed by other work on the machine).",
        ]
    )
    return text, headline


def phases_section(phases: dict[str, dict[str, list[float]]], pairs: int) -> str:
    """Per-phase medians of both apps and the difference (where ours spends its extra time)."""
    from bench.phases import PHASES

    rows = []
    totals = {app: 0.0 for app in phases}
    for key, label in PHASES:
        base = summarize(phases["baseline"][key])
        ours = summarize(phases["ours"][key])
        totals["baseline"] += base.median
        totals["ours"] += ours.median
        rows.append([label, _spread(base), _spread(ours), f"{ours.median - base.median:+.2f} s"])
    rows.append(
        [
            "**sum of medians**",
            f"{totals['baseline']:.2f} s",
            f"{totals['ours']:.2f} s",
            f"{totals['ours'] - totals['baseline']:+.2f} s",
        ]
    )
    return "\n".join(
        [
            "### Where the time goes",
            "",
            "`python -m bench.phases worker APP`: the same apps with the same import order (CDK, then the SDK, "
            f"then the app module), timed phase by phase in-process; warm-up + {pairs} alternated rounds.",
            "",
            table(["phase", "hand-written", "constructs_lib", "difference of medians"], rows),
        ]
    )


# ----------------------------------------------------------------------------------------- growth
def _metric(runs: Sequence[dict[str, Any]], key: str) -> Summary | None:
    values = [r[key] for r in runs if key in r]
    return summarize(values) if values else None


def _fmt_time(s: Summary | None) -> str:
    return "-" if s is None else s.auto()


def growth_rows(result: GrowthResult, shape: str) -> list[list[str]]:
    """One row per size, columns :data:`GROWTH_COLUMNS`."""
    rows = []
    for n in result.sizes:
        runs = result.runs[shape][n]
        first = runs[0]
        storage = "-"
        if "s3_hosted" in first:
            storage = "S3" if first["s3_hosted"] else "inline"
        tb = _metric(runs, "template_bytes")
        rows.append(
            [
                str(n),
                str(first["edges"]),
                _fmt_time(_metric(runs, "definition_s")),
                _fmt_time(_metric(runs, "resolution_s")),
                _fmt_time(_metric(runs, "plan_s")),
                _fmt_time(_metric(runs, "synth_s")),
                f"{first['definition_chars']:,}",
                storage,
                "-" if tb is None else f"{tb.median:,.0f}",
                f"{_metric(runs, 'rss_build_mib').median:,.0f}",  # type: ignore[union-attr]
                f"{_metric(runs, 'rss_peak_mib').median:,.0f}",  # type: ignore[union-attr]
            ]
        )
    return rows


def growth_ratios(result: GrowthResult, shape: str) -> dict[str, float]:
    """time(largest N) / time(second largest N) per phase (ratio of medians); empty with one size."""
    if len(result.sizes) < 2:
        return {}
    small, large = result.sizes[-2], result.sizes[-1]
    out: dict[str, float] = {}
    for key, _ in GROWTH_PHASES:
        a = _metric(result.runs[shape][large], key)
        b = _metric(result.runs[shape][small], key)
        if a is not None and b is not None and b.median > 0:
            out[key] = a.median / b.median
    return out


def growth_section(result: GrowthResult, rounds: int) -> tuple[str, dict[str, dict[str, float]]]:
    """The growth section and, per shape, the phase ratios between the two largest sizes."""
    parts = [
        "## 2. Growth with the number of steps",
        "",
        "Each (shape, N) in a fresh child process (`python -m bench.growth worker SHAPE N ...`), "
        f"{rounds} round(s), sizes in ascending then descending order on alternate rounds; medians (min-max). "
        "Definition generation = `BuiltPipeline.timings['steps'] + timings['definition']`; dependency "
        "resolution = `template.plan()` (the resolution path the build shares, without SDK steps); construct "
        "synth = `SageMakerPipeline(...)` + `app.synth()`, with the construct's own `template.build()` answered "
        "from the build just measured (so it is the construct's and CDK's time only); peak RSS = the child's `wait4` rusage (Python and the jsii Node process it reaps).",
        "",
    ]
    ratios: dict[str, dict[str, float]] = {}
    for shape in result.runs:
        note = result.runs[shape][result.sizes[0]][0]["note"]
        title = "fan-out" if shape == "fanout" else "linear chain"
        parts += [f"### {title}: {note}", "", table(GROWTH_COLUMNS, growth_rows(result, shape)), ""]
        ratios[shape] = growth_ratios(result, shape)
    if len(result.sizes) >= 2:
        small, large = result.sizes[-2], result.sizes[-1]
        linear = large / small
        target = GROWTH_TARGET * linear / 4.0
        header = ["phase", *(f"{'fan-out' if s == 'fanout' else 'chain'}" for s in ratios), "linear"]
        rows = []
        for key, label in GROWTH_PHASES:
            cells = []
            for shape in ratios:
                value = ratios[shape].get(key)
                if value is None:
                    cells.append("-")
                else:
                    mark = "" if key not in GROWTH_TARGET_PHASES else (" ✓" if value <= target else " ✗")
                    cells.append(f"{value:.2f}{mark}")
            rows.append([label, *cells, f"{linear:.2f}"])
        parts += [
            f"### time({large}) / time({small}) (target ≤ {target:.2f}; {linear:.2f} is linear)",
            "",
            table(header, rows),
            "",
        ]
    return "\n".join(parts), ratios


# ----------------------------------------------------------------------------------------- cold start
def coldstart_section(result: ColdStartResult, pairs: int) -> str:
    """The cold-start section."""
    rows = [
        ["`python -c pass`", _spread(result.baseline), _iqr(result.baseline), "1.00"],
        [
            "`import constructs_lib` + validate a `PyTorchTrainingConfig`",
            _spread(result.ours),
            _iqr(result.ours),
            f"{result.ratio:.1f}",
        ],
    ]
    return "\n".join(
        [
            "## 3. Cold start",
            "",
            f"Fresh interpreters, one unrecorded warm-up each, then {pairs} alternated rounds. The script asserts "
            "that neither `sagemaker` nor `aws_cdk` was imported (it would exit non-zero).",
            "",
            table(["process", "median (min-max)", "IQR", "ratio of medians"], rows),
            "",
            f"Extra over a bare interpreter: **{result.extra_ms:,.0f} ms**; SDK/CDK imported: **no** "
            f"(heavy modules loaded: {result.heavy_modules or '-'}).",
        ]
    )
