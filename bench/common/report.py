"""What a benchmark prints: plain-text tables, the targets section every benchmark ends with,
and progress lines.

The report (tables, targets) goes to stdout and progress to stderr, so that
`python -m bench.x > report.txt` keeps a clean report while the terminal shows where the run is.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field


def fmt_rate(per_second: float) -> str:
    """`12,345/s`."""
    return f"{per_second:,.0f}/s"


def fmt_ms(milliseconds: float) -> str:
    """`3.21 ms` (two decimals under 10 ms, one under 100, none above)."""
    if milliseconds < 10:
        return f"{milliseconds:.2f} ms"
    if milliseconds < 100:
        return f"{milliseconds:.1f} ms"
    return f"{milliseconds:,.0f} ms"


def fmt_count(count: int) -> str:
    """`20,000`."""
    return f"{count:,}"


def progress(text: str) -> None:
    """A progress line on stderr; the report goes to stdout."""
    print(f"  .. {text}", file=sys.stderr, flush=True)


@dataclass
class Table:
    """A titled table printed with aligned columns; text columns left, figures right."""

    title: str
    columns: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        """Append a row; cells are formatted with str()."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([str(cell) for cell in cells])

    def note(self, text: str) -> None:
        """A line printed under the table."""
        self.notes.append(text)

    def render(self) -> str:
        """The table as text."""
        widths = [len(name) for name in self.columns]
        for row in self.rows:
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
        left = [all(not _looks_numeric(row[index]) for row in self.rows) for index in range(len(self.columns))]
        left[0] = True

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                cell.ljust(width) if is_left else cell.rjust(width)
                for cell, width, is_left in zip(cells, widths, left, strict=True)
            ).rstrip()

        rule = "-" * len(line(["-" * width for width in widths]))
        out = [self.title, rule, line(list(self.columns)), rule, *(line(row) for row in self.rows), rule]
        out.extend(f"  {text}" for text in self.notes)
        return "\n".join(out)

    def print(self) -> None:
        """Print the table followed by a blank line."""
        print(self.render() + "\n", flush=True)


@dataclass
class Targets:
    """The targets a benchmark checks: each with its measured figure and PASS / MISS.

    A target that could not be measured is reported as NOT MEASURED, never as a pass.
    """

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def check(self, name: str, target: str, measured: str, passed: bool | None) -> None:
        """Record one target; `passed` None means it was not measured."""
        verdict = "NOT MEASURED" if passed is None else ("PASS" if passed else "MISS")
        self.rows.append((name, target, measured, verdict))

    @property
    def all_passed(self) -> bool:
        """Whether every target was measured and met."""
        return bool(self.rows) and all(row[3] == "PASS" for row in self.rows)

    def print(self, title: str = "Targets") -> None:
        """Print the targets table."""
        table = Table(title, ["target", "goal", "measured", "verdict"])
        for row in self.rows:
            table.add(*row)
        table.print()


def _looks_numeric(cell: str) -> bool:
    stripped = cell.strip().replace(",", "").replace("%", "").replace("/s", "").replace(" ms", "")
    stripped = stripped.replace("x", "").replace("-", "")
    if not stripped:
        return True
    try:
        float(stripped)
    except ValueError:
        return False
    return True
