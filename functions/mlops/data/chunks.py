"""A dataset object cut into byte ranges that each hold whole records, validated one by one (in turn in
one Lambda, or in parallel by a Distributed Map: mlops.data.validation_steps).

One sequential pass over the object's bytes (no parsing, S3's speed) finds, near each multiple of
the chunk size, the first record end after it: a newline outside quotes. RFC 4180 CSV quotes a
field with `"` and escapes a quote as `""`, so a newline ends a record exactly when the number of
`"` bytes before it is even; a JSON Lines record ends at every newline. Each chunk carries the
physical line number its first record starts on, so the report names the same lines as a
validation of the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mlops.data.readers import READ_CHUNK_BYTES, is_json_lines
from mlops.shared.errors import DatasetRejected

# 64 MiB: a chunk validates in 15 to 25 s (4.4 MB/s in bench/ingest.py, 2.8 in local mode), well inside 15 minutes.
DEFAULT_CHUNK_BYTES = 64 * 1024**2
# Upload metadata (x-amz-meta-*) that picks the path and the chunk size for one file.
PATH_METADATA = "validation"  # "distributed": the Distributed Map whatever the size
CHUNK_METADATA = "validation-chunk-bytes"
MIN_CHUNK_BYTES = 64 * 1024
# The Distributed Map's results (about 30 bytes a chunk) must fit in a state's 256 KiB.
MAX_CHUNKS = 5000
# The single path's budget: 1 GiB validates in 4 to 6.5 minutes of the 15 (4.4 to 2.8 MB/s measured).
SINGLE_PATH_BYTES = 1024**3


def choose_path(key: str, size: int, metadata: dict[str, str]) -> dict[str, Any]:
    """How an upload of `size` bytes is validated: {path, chunk_bytes, reason}."""
    chunk_bytes = DEFAULT_CHUNK_BYTES
    if CHUNK_METADATA in metadata:
        value = metadata[CHUNK_METADATA]
        if not value.isdigit() or int(value) < MIN_CHUNK_BYTES:
            raise DatasetRejected(f"{key}: metadata {CHUNK_METADATA}={value!r} must be a whole number of bytes, at least {MIN_CHUNK_BYTES}")
        chunk_bytes = int(value)
    if -(-size // chunk_bytes) > MAX_CHUNKS:
        raise DatasetRejected(f"{key}: {size} bytes in chunks of {chunk_bytes} would be over {MAX_CHUNKS} chunks; raise {CHUNK_METADATA}")
    asked = metadata.get(PATH_METADATA)
    if asked not in (None, "distributed"):
        raise DatasetRejected(f"{key}: metadata {PATH_METADATA}={asked!r} is not 'distributed' (the only path one can ask for)")
    if asked:
        return {"path": "distributed", "chunk_bytes": chunk_bytes, "reason": f"asked by the upload's {PATH_METADATA} metadata"}
    if size > SINGLE_PATH_BYTES:
        return {"path": "distributed", "chunk_bytes": chunk_bytes, "reason": f"over the single Lambda's {SINGLE_PATH_BYTES} bytes"}
    return {"path": "single", "chunk_bytes": chunk_bytes, "reason": f"within the single Lambda's {SINGLE_PATH_BYTES} bytes"}


def plan(blocks: Iterable[bytes], chunk_bytes: int, json_lines: bool) -> list[dict[str, int]]:
    """[{index, start, end, first_line}] covering the data records (after a CSV's header record):
    `start` inclusive, `end` exclusive, lines counted from 1 as csv.reader counts them."""
    ranges: list[dict[str, int]] = []
    quotes = lines = offset = 0  # `"` bytes, newlines and bytes seen so far
    start: int | None = 0 if json_lines else None  # a CSV's data starts after its header record
    first_line = 1
    for block in blocks:
        position = 0
        while (newline := block.find(b"\n", position)) >= 0:
            if not json_lines:
                quotes += block.count(b'"', position, newline)
            lines += 1
            position = newline + 1
            if quotes % 2:  # inside a quoted field
                continue
            end = offset + position
            if start is None:
                start, first_line = end, lines + 1
            elif end - start >= chunk_bytes:
                ranges.append(_chunk(len(ranges), start, end, first_line))
                start, first_line = end, lines + 1
        if not json_lines:
            quotes += block.count(b'"', position)
        offset += len(block)
    if start is not None and offset > start:
        ranges.append(_chunk(len(ranges), start, offset, first_line))
    return ranges


def _chunk(index: int, start: int, end: int, first_line: int) -> dict[str, int]:
    return {"index": index, "start": start, "end": end, "first_line": first_line}


def object_blocks(s3: Any, bucket: str, key: str) -> Iterator[bytes]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    return iter(lambda: body.read(READ_CHUNK_BYTES), b"")


def plan_object(s3: Any, bucket: str, key: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> list[dict[str, int]]:
    return plan(object_blocks(s3, bucket, key), chunk_bytes, is_json_lines(key))
