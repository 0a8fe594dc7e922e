"""How answers look: a Rich table for a person, the API's JSON as it came for a script (`--json`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

# Markup off: names and messages come from data and the API, and a `[` in them is text, not style.
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, markup=False)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    shown = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for column in columns:
        shown.add_column(column, overflow="fold")
    for row in rows:
        shown.add_row(*(cell(value) for value in row))
    out.print(shown)


def fields(pairs: Iterable[tuple[str, Any]]) -> None:
    """Name: value lines, for one object."""
    for name, value in pairs:
        out.print(Text.assemble((name, "bold"), f": {cell(value)}"))


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return str(value)


def metrics(values: dict[str, Any] | None) -> str:
    return ", ".join(f"{name} {value:.4g}" for name, value in sorted((values or {}).items()) if isinstance(value, int | float)) or "-"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def marked(mark: str, style: str, text: str) -> Text:
    """A line led by a coloured mark (✓, error, note), the rest as plain text."""
    return Text.assemble((mark, style), text)
