"""Local data files as a header and rows of text, whatever their format: CSV, JSON Lines, either
gzip-compressed, or Parquet (with pyarrow: `pip install 'mlops-cli[parquet]'`).

Values are written as the platform's Parquet reader writes them (functions/mlops/data/parquet.py),
so a draft sees the same text from a Parquet file as from the CSV of the same rows.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mlops_cli.errors import UserError

JSON_LINES = (".jsonl", ".ndjson")
PARQUET = (".parquet", ".parq")


def rows_of(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    name = path.name.lower()
    if name.endswith(PARQUET):
        return _parquet(path)
    opened = _open_text(path)
    if name.removesuffix(".gz").endswith(JSON_LINES):
        return _json_lines(opened, path)
    reader = csv.reader(opened, strict=True)
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError, OSError) as error:
        raise UserError(f"{path}: cannot read its header ({error})") from None
    if not header:
        raise UserError(f"{path} is empty: a CSV needs a header row and data rows")
    return header, _checked(reader, path)


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _checked(rows: Any, path: Path) -> Iterator[list[str]]:
    try:
        yield from (fields for fields in rows if fields)
    except (csv.Error, UnicodeDecodeError, OSError, EOFError) as error:
        raise UserError(f"{path}: cannot be read past a point ({error})") from None


def _json_lines(opened: IO[str], path: Path) -> tuple[list[str], Iterator[list[str]]]:
    first = next((line for line in opened if line.strip()), None)
    if first is None:
        raise UserError(f"{path} has no records")
    try:
        record = json.loads(first)
    except ValueError as error:
        raise UserError(f"{path}: its first record is not JSON ({error})") from None
    header = list(record)

    def rows() -> Iterator[list[str]]:
        for line in (first, *opened):
            if line.strip():
                try:
                    item = json.loads(line)
                except ValueError:
                    continue  # validation counts such lines; a draft only skips them
                yield [text(item.get(name)) for name in header]

    return header, _checked(rows(), path)


def _parquet(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError("reading Parquet needs pyarrow: pip install 'mlops-cli[parquet]'") from None
    try:
        file = pq.ParquetFile(path)
    except Exception as error:  # noqa: BLE001 - pyarrow raises several kinds for a file it cannot read
        raise UserError(f"{path} is not a Parquet file pyarrow can read ({error})") from None
    header = list(file.schema_arrow.names)

    def rows() -> Iterator[list[str]]:
        for batch in file.iter_batches():
            columns = [[text(v) for v in column.to_pylist()] for column in batch.columns]
            yield from (list(row) for row in zip(*columns, strict=True))

    return header, rows()


def text(value: Any) -> str:
    """A value as CSV text: digits, shortest round-trip floats, true/false, ISO 8601; null and NaN empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
