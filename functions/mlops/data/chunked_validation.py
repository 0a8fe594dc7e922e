"""Validation of a large upload in parallel: plan the chunks, validate each (a Distributed Map's
items), merge them in order into the report and the normalized content one pass would give.

Each chunk leaves three objects beside the run's report: its normalized rows, its row digests
(duplicates are counted across chunks) and its partial profile. The merge reads them in order,
hashes the rows as the single path does (the same version) and keeps them as the version's file.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from typing import Any

from mlops.data import chunks, readers
from mlops.data.spec import ModelSpec
from mlops.data.steps import HashingFile, keep_validated
from mlops.data.validation import DatasetValidator
from mlops.shared.settings import REPORTS_PREFIX
from mlops.training.runs import RunStore


def plan_validation(state: dict[str, Any], s3: Any, chunk_bytes: int = chunks.DEFAULT_CHUNK_BYTES) -> dict[str, Any]:
    """The header checked once (a file missing a column stops here), and the chunks to validate."""
    spec, source = ModelSpec.model_validate(state["spec"]), state["source"]
    header, _ = readers.read_table(s3, source["bucket"], source["key"], spec.columns)
    DatasetValidator(spec).read_header(header)
    plan = chunks.plan_object(s3, source["bucket"], source["key"], chunk_bytes)
    return {**state, "validation": {"header": header, "chunks": plan}}


def _folder(state: dict[str, Any], index: int) -> str:
    return f"{REPORTS_PREFIX}{state['model']}/{state['run_id']}/chunks/{index:06d}"


def validate_chunk(state: dict[str, Any], chunk: dict[str, int], s3: Any) -> dict[str, Any]:
    """One chunk checked row by row; its rows, digests and partial profile left for the merge."""
    spec, source = ModelSpec.model_validate(state["spec"]), state["source"]
    validator = DatasetValidator(spec, chunk=True)
    validator.read_header(state["validation"]["header"])
    folder = _folder(state, chunk["index"])
    with io.TextIOWrapper(tempfile.TemporaryFile(), encoding="utf-8", newline="") as text:
        writer = csv.writer(text, lineterminator="\n")
        for line, fields, problem in readers.read_range(s3, source["bucket"], source["key"], chunk, spec.columns):
            if fields is None:
                validator.reject_line(line, problem)
            elif (checked := validator.check_row(line, fields)) is not None:
                writer.writerow(checked)
        text.seek(0)  # flushes, and rewinds the binary buffer beneath
        s3.upload_fileobj(text.buffer, source["bucket"], f"{folder}/rows.csv")
    s3.put_object(Bucket=source["bucket"], Key=f"{folder}/digests.bin", Body=validator.digests)
    s3.put_object(Bucket=source["bucket"], Key=f"{folder}/partial.json", Body=json.dumps(validator.partial()).encode())
    return {"index": chunk["index"], "rows": validator.rows}


def merge_validation(state: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    """The chunks' partials merged in file order: the same report, content and version as one pass."""
    spec, bucket = ModelSpec.model_validate(state["spec"]), state["source"]["bucket"]
    merged = DatasetValidator(spec)
    merged.read_header(state["validation"]["header"])
    with tempfile.TemporaryFile() as normalized:
        sink = HashingFile(normalized)
        csv.writer(sink, lineterminator="\n").writerow(spec.columns)
        for chunk in state["validation"]["chunks"]:
            folder = _folder(state, chunk["index"])
            partial = json.loads(s3.get_object(Bucket=bucket, Key=f"{folder}/partial.json")["Body"].read())
            merged.merge(partial, s3.get_object(Bucket=bucket, Key=f"{folder}/digests.bin")["Body"].read())
            for block in chunks.object_blocks(s3, bucket, f"{folder}/rows.csv"):
                sink.write_bytes(block)
        rest = {k: v for k, v in state.items() if k != "validation"}
        return keep_validated(rest, s3, runs, merged.report(), normalized, sink.digest.hexdigest())
