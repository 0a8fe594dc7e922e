"""Dataset objects in S3: where they live and how they are read, streaming, row by row.

CSV (UTF-8, a BOM tolerated, RFC 4180 quoting) and JSON Lines (.jsonl, .ndjson: one object a line)
are read without holding the object in memory, and so are their gzip-compressed files (.csv.gz,
.jsonl.gz). Parquet (.parquet) is read a batch of rows at a time from a copy in /tmp (a Parquet
footer sits at the end of the file; mlops.data.parquet). Reading errors that make the whole file
unusable raise DatasetRejected; a single unreadable JSON line is handed back for the validator to
count.

Compressed and Parquet files cannot be cut into byte ranges of whole records, so validation first
writes them out as the plain file they stand for (`stage_plain`): a .csv.gz as its CSV, a Parquet
file as a CSV of its rows; every later step reads that.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from mlops.shared.errors import DatasetRejected
from mlops.shared.settings import DATASETS_PREFIX

READ_CHUNK_BYTES = 1024 * 1024
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
GZIP_SUFFIX = ".gz"
PARQUET_SUFFIXES = (".parquet", ".parq")
TABLE_SUFFIXES = (".csv", *JSON_LINES_SUFFIXES, *(s + GZIP_SUFFIX for s in (".csv", *JSON_LINES_SUFFIXES)), *PARQUET_SUFFIXES)
# A field larger than this is not a feature value; refusing it bounds the memory of one row.
MAX_FIELD_BYTES = 1024 * 1024

Row = tuple[int, list[str] | None, str]  # line number, fields (None when unreadable), problem

csv.field_size_limit(MAX_FIELD_BYTES)


def model_from_key(key: str) -> str:
    """datasets/<model>/<anything> -> <model>; anything else is not a dataset upload."""
    parts = key.split("/")
    if not key.startswith(DATASETS_PREFIX) or len(parts) < 3 or not parts[1] or not parts[-1]:
        raise DatasetRejected(f"{key!r} is not under {DATASETS_PREFIX}<model>/")
    return parts[1]


def is_table(key: str) -> bool:
    return key.lower().endswith(TABLE_SUFFIXES)


def is_json_lines(key: str) -> bool:
    return key.lower().removesuffix(GZIP_SUFFIX).endswith(JSON_LINES_SUFFIXES)


def is_plain(key: str) -> bool:
    """Plain text, which byte ranges can cut (not compressed, not Parquet)."""
    return not key.lower().endswith((GZIP_SUFFIX, *PARQUET_SUFFIXES))


def _text_lines(s3: Any, bucket: str, key: str, byte_range: tuple[int, int] | None = None) -> Iterator[str]:
    """The object's lines (or those of bytes [start, end)), decoded; a BOM is dropped at byte 0 only."""
    ranged = {"Range": f"bytes={byte_range[0]}-{byte_range[1] - 1}"} if byte_range else {}
    body = s3.get_object(Bucket=bucket, Key=key, **ranged)["Body"]
    encoding = "utf-8-sig" if not byte_range or byte_range[0] == 0 else "utf-8"
    lines = (
        _gunzipped_lines(body, key) if key.lower().endswith(GZIP_SUFFIX) else body.iter_lines(chunk_size=READ_CHUNK_BYTES, keepends=True)
    )
    try:
        yield from codecs.iterdecode(lines, encoding)
    except UnicodeDecodeError as error:
        raise DatasetRejected(f"{key} is not UTF-8 text ({error.reason} at byte {error.start} of a line)") from error


def _gunzipped_lines(body: Any, key: str) -> Iterator[bytes]:
    try:
        with gzip.GzipFile(fileobj=body, mode="rb") as stream:
            while lines := stream.readlines(READ_CHUNK_BYTES):
                yield from lines
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise DatasetRejected(f"{key} is not a whole gzip file ({error})") from error


def read_table(s3: Any, bucket: str, key: str, columns: list[str]) -> tuple[list[str], Iterator[Row]]:
    """(header, rows) of a CSV, JSON Lines or Parquet object, plain or gzip-compressed. JSON Lines
    rows follow `columns`."""
    if key.lower().endswith(PARQUET_SUFFIXES):
        return _parquet_table(s3, bucket, key)
    if is_json_lines(key):
        return list(columns), _json_rows(_text_lines(s3, bucket, key), columns)
    lines = _text_lines(s3, bucket, key)
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise DatasetRejected(f"{key} is not well-formed CSV: {error}") from error
    if not header or not any(name.strip() for name in header):
        raise DatasetRejected(f"{key} is empty: a CSV needs a header row and data rows")
    return header, _csv_rows(reader, key)


def _parquet_table(s3: Any, bucket: str, key: str) -> tuple[list[str], Iterator[Row]]:
    """A Parquet object's rows, numbered from 2 as a CSV of them would number its lines."""
    from mlops.data import parquet

    with tempfile.NamedTemporaryFile(suffix=".parquet", delete=False) as copy:
        s3.download_fileobj(Bucket=bucket, Key=key, Fileobj=copy)
    try:
        header, rows = parquet.read(copy.name)
    except ValueError as error:
        os.unlink(copy.name)
        raise DatasetRejected(f"{key}: {error}") from None

    def numbered() -> Iterator[Row]:
        try:
            for line, fields in enumerate(rows, start=2):
                yield line, fields, ""
        finally:
            os.unlink(copy.name)

    return header, numbered()


def plain_suffix(key: str) -> str:
    """The suffix of the plain file an object stands for (stage_plain)."""
    return ".jsonl" if is_json_lines(key) else ".csv"


def stage_plain(s3: Any, bucket: str, key: str, to_bucket: str, to_key: str) -> None:
    """Writes the plain file a compressed or Parquet object stands for (a .csv.gz as its CSV's
    bytes, a Parquet file as a CSV of its rows) to `to_key`."""
    with tempfile.TemporaryFile() as plain:
        if key.lower().endswith(PARQUET_SUFFIXES):
            text = codecs.getwriter("utf-8")(plain)
            writer = csv.writer(text, lineterminator="\n")
            header, rows = _parquet_table(s3, bucket, key)
            writer.writerow(header)
            writer.writerows(fields for _, fields, _ in rows if fields is not None)
        else:
            for line in _gunzipped_lines(s3.get_object(Bucket=bucket, Key=key)["Body"], key):
                plain.write(line)
        plain.seek(0)
        s3.upload_fileobj(plain, to_bucket, to_key)


def read_range(s3: Any, bucket: str, key: str, chunk: dict[str, int], columns: list[str]) -> Iterator[Row]:
    """The rows of one chunk (mlops.data.chunks), numbered by their line in the whole object."""
    lines = _text_lines(s3, bucket, key, (chunk["start"], chunk["end"]))
    if is_json_lines(key):
        return _json_rows(lines, columns, first_line=chunk["first_line"])
    return _csv_rows(csv.reader(lines, strict=True), key, lines_before=chunk["first_line"] - 1)


def _csv_rows(reader: Any, key: str, lines_before: int = 0) -> Iterator[Row]:
    try:
        for fields in reader:
            if fields:  # a blank line is not a row
                yield lines_before + reader.line_num, fields, ""
    except csv.Error as error:
        raise DatasetRejected(f"{key} is not well-formed CSV near line {lines_before + reader.line_num}: {error}") from error


def _json_rows(lines: Iterator[str], columns: list[str], first_line: int = 1) -> Iterator[Row]:
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield number, None, f"not valid JSON ({error.msg})"
            continue
        if not isinstance(record, dict):
            yield number, None, "not a JSON object"
            continue
        yield number, ["" if record.get(c) is None else str(record[c]) for c in columns], ""


def sha256_of_object(s3: Any, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(READ_CHUNK_BYTES), b""):
        digest.update(chunk)
    return digest.hexdigest()
