"""``python -m bench``: run the benchmarks and print a Markdown report.

    python -m bench                          # full run: 5 alternated pairs, sizes 1,10,50,200
    python -m bench --quick                  # smoke: 1 pair, sizes 1,10, no 200-step synth
    python -m bench --only overhead,coldstart --pairs 7 --out /tmp/bench.md
    python -m bench --only cli --cli-pairs 3     # `cdk synth` through the pinned CLI only

Progress goes to stderr; the report goes to stdout (and to ``--out`` when given). Nothing is written into
the source tree: every synth goes to a temporary directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.overhead import OverheadResult
from bench.report import GROWTH_TARGET, OVERHEAD_TARGET, WARM_TARGET, table

__all__ = ["SECTIONS", "main"]

SECTIONS: tuple[str, ...] = ("overhead", "cli", "growth", "coldstart")


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be integers >= 1")
    return sizes


def _sections(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"sections are {', '.join(SECTIONS)}; got {text!r}")
    return chosen


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="constructs_lib benchmarks (GitHub issue 6)"
    )
    parser.add_argument(
        "--pairs", type=int, default=None, help="alternated A/B rounds (default 5; --quick: 1)"
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=None, help="growth sizes, e.g. 1,10,50,200 (default; --quick: 1,10)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 pair, sizes 1,10, no synth of 200+ steps"
    )
    parser.add_argument(
        "--growth-rounds", type=int, default=None, help="rounds of the growth runs (default: --pairs)"
    )
    parser.add_argument(
        "--cli-pairs",
        type=int,
        default=None,
        help="alternated rounds of the `cdk synth` runs (default 3; --quick: 1)",
    )
    parser.add_argument(
        "--only", type=_sections, default=list(SECTIONS), help="overhead,cli,growth,coldstart"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    if args.pairs is None:
        args.pairs = 1 if args.quick else 5
    if args.pairs < 1:
        parser.error("--pairs must be >= 1")
    if args.growth_rounds is None:
        args.growth_rounds = args.pairs
    if args.growth_rounds < 1:
        parser.error("--growth-rounds must be >= 1")
    if args.cli_pairs is None:
        args.cli_pairs = 1 if args.quick else min(args.pairs, 3)
    if args.cli_pairs < 1:
        parser.error("--cli-pairs must be >= 1")
    if args.sizes is None:
        args.sizes = [1, 10] if args.quick else [1, 10, 50, 200]
    return args


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _command(args: argparse.Namespace) -> str:
    parts = ["python -m bench"]
    if args.quick:
        parts.append("--quick")
    parts += [f"--pairs {args.pairs}", f"--sizes {','.join(map(str, args.sizes))}"]
    if args.growth_rounds != args.pairs:
        parts.append(f"--growth-rounds {args.growth_rounds}")
    if "cli" in args.only:
        parts.append(f"--cli-pairs {args.cli_pairs}")
    if list(args.only) != list(SECTIONS):
        parts.append(f"--only {','.join(args.only)}")
    return " ".join(parts)


def _met(ok: bool) -> str:
    return "**yes**" if ok else "**NO**"


def _overhead_summary(result: OverheadResult, what: str) -> list[list[str]]:
    """Target rows of one overhead measurement: cold synth against the hand-written app (wall, peak RSS;
    CPU shown), warm re-synth against the one-bucket app."""
    rows: list[list[str]] = []
    if "ours" in result.seconds and "baseline" in result.seconds:
        wall, rss, cpu = result.ratio("ours"), result.rss_ratio("ours"), result.cpu_ratio("ours")
        rows += [
            [
                f"{what} wall time, ours (cold cache) / hand-written",
                f"{wall:.3f} ({result.seconds['ours'].median:.2f} s vs {result.seconds['baseline'].median:.2f} s)",
                f"≤ {OVERHEAD_TARGET:.2f}",
                _met(wall <= OVERHEAD_TARGET),
            ],
            [
                f"{what} peak RSS, ours (cold cache) / hand-written",
                f"{rss:.3f} ({result.rss_mib['ours'].median:,.0f} vs {result.rss_mib['baseline'].median:,.0f} MiB)",
                f"≤ {OVERHEAD_TARGET:.2f}",
                _met(rss <= OVERHEAD_TARGET),
            ],
            [
                f"{what} CPU time (user+sys), ours (cold cache) / hand-written",
                f"{cpu:.3f} ({result.cpu_seconds['ours'].median:.2f} s vs "
                f"{result.cpu_seconds['baseline'].median:.2f} s)",
                "(shown)",
                "-",
            ],
        ]
    if "ours-warm" in result.seconds and "one-bucket" in result.seconds:
        warm = result.ratio("ours-warm", "one-bucket")
        rows.append(
            [
                f"{what} wall time, ours (warm cache) / one-bucket app",
                f"{warm:.3f} ({result.seconds['ours-warm'].median:.2f} s vs "
                f"{result.seconds['one-bucket'].median:.2f} s)",
                f"≤ {WARM_TARGET:.2f}",
                _met(warm <= WARM_TARGET),
            ]
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen sections and print the report; 0 on success (targets missed are reported, not
    failed: timings on shared machines are evidence, not a gate)."""
    from bench.machine import machine_lines

    args = parse_args(argv)
    started = time.perf_counter()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    _log(f"{_command(args)}")
    sections: list[str] = []
    summary: list[list[str]] = []

    if "overhead" in args.only:
        from bench.overhead import definitions_match, measure_overhead
        from bench.phases import measure_phases
        from bench.report import overhead_section, phases_section

        _log("overhead: checking that both apps build the same definition")
        equal = definitions_match()
        labels = (
            ("baseline", "ours", "one-bucket", "ours-warm")
            if args.quick
            else ("baseline", "ours", "ours-local", "one-bucket", "ours-warm", "ours-local-warm")
        )
        _log(f"overhead: {' / '.join(labels)}, warm-up + {args.pairs} alternated rounds")
        result = measure_overhead(args.pairs, labels)
        text, _ = overhead_section(result, args.pairs, equal)
        _log(f"overhead: phase breakdown, warm-up + {args.pairs} alternated rounds")
        phases = measure_phases(args.pairs)
        sections.append(text + "\n\n" + phases_section(phases, args.pairs))
        summary += _overhead_summary(result, "whole-process synth")
        summary.append(
            [
                "same definition as the hand-written app",
                "equal" if equal[0] else equal[1],
                "equal",
                "**yes**" if equal[0] else "**NO**",
            ]
        )
        summary.append(
            [
                "a warm re-synth imports no SageMaker SDK",
                ", ".join(
                    f"{k}: {'imported' if v else 'not imported'}" for k, v in result.warm_imports_sdk.items()
                ),
                "not imported",
                _met(not any(result.warm_imports_sdk.values())),
            ]
        )

    if "cli" in args.only:
        from bench.cli_synth import CLI_LABELS, cli_version, measure_cli
        from bench.report import cli_section

        _log(f"cli: `cdk synth` of {' / '.join(CLI_LABELS)}, warm-up + {args.cli_pairs} alternated rounds")
        cli_result = measure_cli(args.cli_pairs)
        version = cli_version()
        if sections and "overhead" in args.only:
            sections[-1] += "\n\n" + cli_section(cli_result, args.cli_pairs, version)
        else:
            sections.append(cli_section(cli_result, args.cli_pairs, version))
        summary += _overhead_summary(cli_result, "`cdk synth` (CLI)")

    if "growth" in args.only:
        from bench.growth import measure_growth
        from bench.report import growth_section

        synth_max = 199 if args.quick else None
        _log(f"growth: sizes {args.sizes}, {args.growth_rounds} round(s)")
        growth = measure_growth(args.sizes, args.growth_rounds, synth_max=synth_max, log=_log)
        text, ratios = growth_section(growth, args.growth_rounds)
        sections.append(text)
        if len(growth.sizes) >= 2:
            small, large = growth.sizes[-2], growth.sizes[-1]
            target = GROWTH_TARGET * (large / small) / 4.0
            for shape, shape_ratios in ratios.items():
                for key, label in (
                    ("definition_s", "definition generation"),
                    ("build_cpu_s", "template.build() CPU time"),
                    ("resolution_s", "dependency resolution"),
                    ("synth_s", "construct synth (CDK only)"),
                ):
                    if key in shape_ratios:
                        summary.append(
                            [
                                f"{shape}: {label} time({large}) / time({small})",
                                f"{shape_ratios[key]:.2f}",
                                f"≤ {target:.2f}",
                                "**yes**" if shape_ratios[key] <= target else "**NO**",
                            ]
                        )

    if "coldstart" in args.only:
        from bench.coldstart import measure_cold_start
        from bench.report import coldstart_section

        _log(f"cold start: warm-up + {args.pairs} alternated rounds")
        cold = measure_cold_start(args.pairs)
        sections.append(coldstart_section(cold, args.pairs))
        summary.append(
            [
                "cold start imports neither sagemaker nor aws_cdk",
                f"+{cold.extra_ms:,.0f} ms over `python -c pass` ({cold.ratio:.1f}x)",
                "no SDK/CDK import",
                "**yes**",
            ]
        )

    elapsed = time.perf_counter() - started
    report = (
        "\n".join(
            [
                "# constructs_lib benchmarks",
                "",
                f"`{_command(args)}` - {stamp}, took {elapsed / 60:.1f} min. Times are medians (min-max) of "
                "alternated runs; verdicts are ratios against a baseline measured in the same run.",
                "",
                "## Machine",
                "",
                *machine_lines(),
                "",
                "## Targets",
                "",
                table(["check", "measured", "target", "met"], summary),
                "",
                *[s + "\n" for s in sections],
            ]
        ).rstrip()
        + "\n"
    )
    sys.stdout.write(report)
    sys.stdout.flush()
    if args.out is not None:
        args.out.write_text(report, encoding="utf-8")
        _log(f"report written to {args.out}")
    _log(f"done in {elapsed:.0f} s")
    return 0
