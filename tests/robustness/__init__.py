"""Robustness tests: bad inputs, limits, source-dir safety and environment faults (GitHub issue 7)."""
