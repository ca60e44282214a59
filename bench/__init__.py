"""Benchmarks of constructs_lib (GitHub issue 6): overhead against a hand-written SDK + CDK app, growth
with the number of steps, and cold start.

Run ``python -m bench`` (or ``make bench``) from the repository root; it prints a Markdown report to
stdout and writes only into temporary directories (``--out FILE`` also writes the report to ``FILE``).
Every timing is a median over alternated runs (A/B/A/B...) and every verdict is a ratio against a
baseline measured in the same run, because the build machines are small and shared.
"""

from __future__ import annotations

__all__: list[str] = []
