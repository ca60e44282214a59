"""The README's "Bad inputs and what they get" table stays true.

The cases are defined once (``tests/robustness/cases.py``); this test parses the Markdown table between
``<!-- bad-inputs:start -->`` and ``<!-- bad-inputs:end -->`` in README.md and checks that (a) its rows are
exactly the cases (same descriptions, error types and message fragments) and (b) each case, run, raises
exactly that error type with a message naming those fragments.

To change the table: edit ``cases.py`` and run ``python tests/robustness/test_readme_table.py`` to rewrite
the README section (only the text between the markers changes).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from constructs_lib.errors import ConstructsLibError

if __name__ == "__main__":  # pragma: no cover - `python tests/robustness/test_readme_table.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robustness.cases import CASES, Case

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- bad-inputs:start -->", "<!-- bad-inputs:end -->"
HEADER = ("input", "error type", "the message names")
NO_ERROR = "none (builds)"


def error_cell(case: Case) -> str:
    return NO_ERROR if case.error is None else f"`{case.error.__name__}`"


def render_table(cases: tuple[Case, ...] = CASES) -> str:
    """The Markdown table of ``cases``."""
    lines = [
        f"| {' | '.join(HEADER)} |",
        "| --- | --- | --- |",
        *(
            f"| {c.description} | {error_cell(c)} | {', '.join(f'`{f}`' for f in c.fragments)} |"
            for c in cases
        ),
    ]
    return "\n".join(lines) + "\n"


INTRO = (
    "Each row is run by `tests/robustness/test_readme_table.py`: the input raises exactly that error type "
    "(all are subclasses of `constructs_lib.ConstructsLibError`) and its message contains each listed "
    "fragment. The CLI prints such an error as one line on stderr and exits with status 2."
)


def render_section() -> str:
    """What goes between the markers: the intro line and the table."""
    return f"{INTRO}\n\n{render_table()}"


def readme_section(text: str) -> str:
    assert text.count(START) == 1 and text.count(END) == 1, "README must hold each marker exactly once"
    return text.split(START, 1)[1].split(END, 1)[0]


def parse_table(section: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(input, error type cell, fragments) per data row of the one table in ``section``."""
    rows = [line.strip() for line in section.splitlines() if line.strip().startswith("|")]
    assert len(rows) >= 2, "no table between the markers"
    header = tuple(cell.strip() for cell in rows[0].strip("|").split("|"))
    assert header == HEADER, header
    assert re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|){3}", rows[1]), rows[1]
    parsed = []
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 3, row
        parsed.append((cells[0], cells[1], tuple(re.findall(r"`([^`]*)`", cells[2]))))
    return parsed


def test_readme_rows_are_exactly_the_cases() -> None:
    rows = parse_table(readme_section(README.read_text(encoding="utf-8")))
    expected = [(c.description, error_cell(c), c.fragments) for c in CASES]
    assert sorted(rows) == sorted(expected)
    assert len(rows) == len(expected)


def test_readme_table_is_the_rendered_one() -> None:
    # same content *and* layout: regenerate with `python tests/robustness/test_readme_table.py`
    assert readme_section(README.read_text(encoding="utf-8")).strip() == render_section().strip()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_behaves_as_documented(case: Case) -> None:
    if case.error is None:
        text = str(case.trigger())
    else:
        with pytest.raises(ConstructsLibError) as info:
            case.trigger()
        assert type(info.value) is case.error, f"{type(info.value).__name__}: {info.value}"
        text = str(info.value)
        assert "\n" not in info.value.one_line()
    missing = [f for f in case.fragments if f not in text]
    assert not missing, f"message lacks {missing}: {text}"


def write_readme() -> None:  # pragma: no cover - maintenance helper
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{render_section()}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    write_readme()
