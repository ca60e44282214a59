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
    "WARM_TARGET",
    "cli_section",
    "coldstart_section",
    "growth_ratios",
    "growth_section",
    "overhead_section",
    "phases_section",
    "table",
]

#: ours (cold re-synth cache) / hand-written, whole-process synth: wall time and peak RSS (ratio of medians).
OVERHEAD_TARGET = 1.05
#: ours with a warm re-synth cache / the one-bucket CDK app, whole-process synth (ratio of medians).
WARM_TARGET = 1.30
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
    "one-bucket": "one-bucket CDK app (`bench/one_bucket_app.py`): `Stack` + `s3.Bucket`",
    "ours-warm": "constructs_lib, code in S3, **warm re-synth cache**",
    "ours-local-warm": "constructs_lib `--local`, **warm re-synth cache**",
}

#: What each app's ratios are against: the cold synths against the hand-written app, the warm re-synths
#: against the one-bucket app.
BASE_OF: dict[str, str] = {
    "baseline": "baseline",
    "ours": "baseline",
    "ours-local": "baseline",
    "one-bucket": "one-bucket",
    "ours-warm": "one-bucket",
    "ours-local-warm": "one-bucket",
}

_CACHE_LABELS = {"off": "-", "cold": "cold (empty)", "warm": "warm (hit)"}


def _overhead_rows(result: OverheadResult, cache_modes: dict[str, str]) -> list[list[str]]:
    rows = []
    for label, summary in result.seconds.items():
        base = BASE_OF.get(label, "baseline")
        if base not in result.seconds:
            base = label
        same = base == label
        rows.append(
            [
                _APP_LABELS.get(label, label),
                _CACHE_LABELS[cache_modes.get(label, "off")],
                "-" if same else _APP_LABELS.get(base, base).split(" (")[0],
                _spread(summary),
                _iqr(summary),
                "1.00" if same else f"{result.ratio(label, base):.3f}",
                _spread(result.cpu_seconds[label]),
                "1.00" if same else f"{result.cpu_ratio(label, base):.3f}",
                f"{result.rss_mib[label].median:,.0f}",
                "1.00" if same else f"{result.rss_ratio(label, base):.3f}",
            ]
        )
    return rows


_OVERHEAD_HEADER = [
    "app",
    "re-synth cache",
    "compared with",
    "wall, median (min-max)",
    "wall IQR",
    "wall ratio",
    "CPU (user+sys), median (min-max)",
    "CPU ratio",
    "peak RSS (MiB)",
    "RSS ratio",
]


def overhead_section(result: OverheadResult, pairs: int, equal: tuple[bool, str]) -> tuple[str, float]:
    """The overhead section and the headline ratio (ours, cold / hand-written)."""
    from bench.overhead import APPS

    modes = {label: APPS[label][2] for label in result.seconds if label in APPS}
    headline = result.ratio("ours")
    lines = [
        "## 1. Overhead against the hand-written peer",
        "",
        f"Whole-process `python bench/<app>.py OUTDIR` (imports, definition, `app.synth()` into a temporary "
        f"directory), one unrecorded warm-up each, then {pairs} alternated rounds. Re-synth cache: *cold* = a "
        "new, empty cache directory for every run (build, then store the entry); *warm* = one directory, "
        "filled by the row's warm-up run (every timed run is a hit).",
        "",
        table(_OVERHEAD_HEADER, _overhead_rows(result, modes)),
        "",
        f"Same pipeline: the two definitions are {'**equal**' if equal[0] else '**NOT equal**'} "
        f"({equal[1]}).",
        "",
        f"**ours (cold) / hand-written = {headline:.3f}** wall (target ≤ {OVERHEAD_TARGET:.2f}: "
        f"{'met' if headline <= OVERHEAD_TARGET else 'NOT met'}), {result.rss_ratio('ours'):.3f} peak RSS; "
        f"{result.cpu_ratio('ours'):.3f} in CPU time (user + system of Python and the jsii Node process, "
        "much less disturbed by other work on the machine).",
    ]
    if "ours-warm" in result.seconds and "one-bucket" in result.seconds:
        warm = result.ratio("ours-warm", "one-bucket")
        imported = result.warm_imports_sdk
        lines += [
            "",
            f"**warm re-synth / one-bucket app = {warm:.3f}** wall (target ≤ {WARM_TARGET:.2f}: "
            f"{'met' if warm <= WARM_TARGET else 'NOT met'}); {result.cpu_ratio('ours-warm', 'one-bucket'):.3f} "
            "CPU. A further run on each warm cache imported the SageMaker SDK: "
            + (", ".join(f"`{k}` {'**yes**' if v else 'no'}" for k, v in imported.items()) or "-")
            + ".",
        ]
    return "\n".join(lines), headline


def cli_section(result: OverheadResult, pairs: int, version: str) -> str:
    """``cdk synth`` through the pinned CLI."""
    from bench.overhead import APPS

    modes = {label: APPS[label][2] for label in result.seconds if label in APPS}
    lines = [
        "### `cdk synth` through the pinned CLI",
        "",
        f'`node_modules/.bin/cdk synth --app "python bench/<app>.py" --output TMP --quiet` (CLI {version}) in '
        "an empty working directory: what a user runs, the CLI's own Node start and its reading of the "
        f"assembly included; one unrecorded warm-up each, then {pairs} alternated rounds.",
        "",
        table(_OVERHEAD_HEADER, _overhead_rows(result, modes)),
    ]
    if "ours" in result.seconds and "baseline" in result.seconds:
        lines += [
            "",
            f"ours (cold) / hand-written = **{result.ratio('ours'):.3f}** wall, "
            f"{result.rss_ratio('ours'):.3f} peak RSS.",
        ]
    if "ours-warm" in result.seconds and "one-bucket" in result.seconds:
        lines[-1] += (
            f" warm re-synth / one-bucket app = **{result.ratio('ours-warm', 'one-bucket'):.3f}** wall."
        )
    return "\n".join(lines)


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
