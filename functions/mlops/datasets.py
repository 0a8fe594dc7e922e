"""Dataset objects in S3: where they live, how they are read, and what makes one unusable.

This is the walking-skeleton reader (header, consistent rows, UTF-8). Schema validation against a
model spec, quality reports and quarantine build on it.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from typing import Any

from mlops.errors import DatasetRejected
from mlops.settings import DATASETS_PREFIX

READ_CHUNK_BYTES = 1024 * 1024


def model_from_key(key: str) -> str:
    """datasets/<model>/<anything> -> <model>; anything else is not a dataset upload."""
    parts = key.split("/")
    if not key.startswith(DATASETS_PREFIX) or len(parts) < 3 or not parts[1] or not parts[-1]:
        raise DatasetRejected(f"{key!r} is not under {DATASETS_PREFIX}<model>/")
    return parts[1]


def iter_rows(s3: Any, bucket: str, key: str) -> Iterator[list[str]]:
    """Streams CSV rows from S3 without holding the object in memory."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    lines = codecs.iterdecode(body.iter_lines(keepends=True), "utf-8")
    try:
        yield from csv.reader(lines, strict=True)
    except UnicodeDecodeError as error:
        raise DatasetRejected(f"{key} is not UTF-8 text (byte {error.start} of a line)") from error
    except csv.Error as error:
        raise DatasetRejected(f"{key} is not well-formed CSV: {error}") from error


def profile_csv(s3: Any, bucket: str, key: str) -> dict[str, Any]:
    """Checks the shape every dataset must have and counts its rows."""
    rows = iter_rows(s3, bucket, key)
    header = next(rows, None)
    if not header or not any(name.strip() for name in header):
        raise DatasetRejected(f"{key} is empty: a CSV needs a header row and data rows")
    if len(set(header)) != len(header):
        raise DatasetRejected(f"{key} repeats a column name in its header: {header}")
    count = 0
    for line_number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise DatasetRejected(f"{key} line {line_number} has {len(row)} fields where the header has {len(header)}")
        count += 1
    if count == 0:
        raise DatasetRejected(f"{key} has a header but no data rows")
    return {"columns": header, "rows": count}


def sha256_of_object(s3: Any, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(READ_CHUNK_BYTES), b""):
        digest.update(chunk)
    return digest.hexdigest()
