"""Parquet files as rows of text, the form every other reader gives (mlops.data.readers).

DuckDB reads them (the `tables` layer): it fits beside numpy and onnxruntime in one function
(63 MB unzipped, where pyarrow alone is 156 MB and would break Lambda's 250 MB with the serving
layer), reads what pandas/pyarrow and Spark write (dictionary-encoded strings, nullable integers,
nested row groups), and hands rows over a batch at a time, so memory stays bounded by a batch.

Each value is written as a CSV of the same data would hold it, so that the same rows as CSV, as
`.csv.gz` and as Parquet validate to the same dataset version: integers as digits, floats by their
shortest round-trip form (repr), booleans as true/false, null and NaN as missing (empty), dates and
timestamps in ISO 8601 (`2013-01-01`, `2013-01-01T10:00:00`, with `+00:00` when zoned), decimals
as written.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

BATCH_ROWS = 8192


def read(path: str) -> tuple[list[str], Iterator[list[str]]]:
    """(header, rows) of a local Parquet file."""
    import duckdb  # only the functions that read Parquet carry it (the tables layer)

    connection = duckdb.connect(config={"threads": 1, "memory_limit": "512MB"})
    connection.execute("SET enable_progress_bar = false")  # it would print to the function's log
    try:
        cursor = connection.execute("SELECT * FROM read_parquet(?)", [path])
    except duckdb.Error as error:
        connection.close()
        raise ValueError(f"not a Parquet file DuckDB can read: {str(error).splitlines()[0]}") from None
    header = [column[0] for column in cursor.description]
    return header, _rows(connection, cursor)


def _rows(connection: Any, cursor: Any) -> Iterator[list[str]]:
    try:
        while batch := cursor.fetchmany(BATCH_ROWS):
            for row in batch:
                yield [text(value) for value in row]
    finally:
        connection.close()


def text(value: Any) -> str:
    """One value as CSV text (see the module's docstring)."""
    if value is None:
        return ""
    if value.__class__ is str:
        return value
    if value.__class__ is bool:
        return "true" if value else "false"
    if value.__class__ is float:
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
