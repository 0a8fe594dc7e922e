"""The pipeline's validate step, on one of two paths that do the same arithmetic.

Every upload is cut into byte ranges of whole records (mlops.data.chunks), and each range is
validated by a validator of its own whose partial profile is merged in file order. The single
path (`validate`, one Lambda) walks the ranges in turn. The distributed path, for files over the
Lambda's budget, validates them in parallel in a Distributed Map (`plan_validation`, then
`validate_chunk` per item, then `merge_validation`). Both merge the same partials in the same
order, so the report, the normalized content (hence the version) and the baseline built from
them are the same to the byte on either path, for the same chunk size.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from typing import IO, Any

from mlops.data import chunks, readers
from mlops.data.quarantine import object_exists
from mlops.data.spec import ModelSpec
from mlops.data.validation import DatasetValidator
from mlops.shared.aws import delete_prefix
from mlops.shared.errors import DatasetRejected
from mlops.shared.items import now_iso
from mlops.shared.settings import REPORTS_PREFIX, VERSIONS_PREFIX
from mlops.training.runs import RunStore


class HashingFile:
    """A sink for csv.writer (text) and for copied bytes that hashes what it writes to a file."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.digest = file, hashlib.sha256()

    def write(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8"))

    def write_bytes(self, data: bytes) -> None:
        self.digest.update(data)
        self.file.write(data)


def _readable(state: dict[str, Any], s3: Any, working_bucket: str) -> dict[str, Any]:
    """The source, with where its plain form is read (`read`): a CSV or JSON Lines upload itself;
    for a compressed or Parquet one, the plain file it stands for, staged among the run's working
    files (deleted with them). Every later read of the validation goes there."""
    source = state["source"]
    if readers.is_plain(source["key"]):
        return {**source, "read": {"bucket": source["bucket"], "key": source["key"]}}
    key = f"{_folder(state)}/source{readers.plain_suffix(source['key'])}"
    readers.stage_plain(s3, source["bucket"], source["key"], working_bucket, key)
    return {**source, "read": {"bucket": working_bucket, "key": key}}


def _header(spec: ModelSpec, source: dict[str, Any], s3: Any) -> list[str]:
    """The file's header, checked once: a file missing a column stops here."""
    header, _ = readers.read_table(s3, source["read"]["bucket"], source["read"]["key"], spec.columns)
    DatasetValidator(spec).read_header(header)
    return header


def _plan(source: dict[str, Any], s3: Any) -> list[dict[str, int]]:
    chunk_bytes = source.get("validation", {}).get("chunk_bytes", chunks.DEFAULT_CHUNK_BYTES)
    return chunks.plan_object(s3, source["read"]["bucket"], source["read"]["key"], chunk_bytes)


def _validate_range(
    spec: ModelSpec, source: dict[str, Any], header: list[str], chunk: dict[str, int], s3: Any, writer: Any
) -> DatasetValidator:
    """One chunk's rows checked by a validator of its own; its normalized rows go to `writer`."""
    validator = DatasetValidator(spec, chunk=True)
    validator.read_header(header)
    for line, fields, problem in readers.read_range(s3, source["read"]["bucket"], source["read"]["key"], chunk, spec.columns):
        if fields is None:
            validator.reject_line(line, problem)
        elif (checked := validator.check_row(line, fields)) is not None:
            writer.writerow(checked)
    return validator


def _merger(spec: ModelSpec, header: list[str]) -> DatasetValidator:
    merged = DatasetValidator(spec)
    merged.read_header(header)
    return merged


def validate(state: dict[str, Any], s3: Any, runs: RunStore, working_bucket: str) -> dict[str, Any]:
    """The single path: the chunks validated in turn in this Lambda, merged as they come."""
    spec = ModelSpec.model_validate(state["spec"])
    source = state["source"]
    try:
        source = _readable(state, s3, working_bucket)
        header = _header(spec, source, s3)
        merged = _merger(spec, header)
        with tempfile.TemporaryFile() as normalized:
            sink = HashingFile(normalized)
            writer = csv.writer(sink, lineterminator="\n")
            writer.writerow(spec.columns)
            for chunk in _plan(source, s3):
                part = _validate_range(spec, source, header, chunk, s3, writer)
                merged.merge(part.partial(), part.digests)
            return keep_validated(state, s3, runs, merged.report(), normalized, sink.digest.hexdigest())
    finally:
        if not readers.is_plain(source["key"]):  # only a staged plain copy leaves working files
            delete_prefix(s3, working_bucket, f"{_folder(state)}/")


def _folder(state: dict[str, Any]) -> str:
    """The run's working files in the artifacts bucket (a failed run's are discarded with it)."""
    return f"runs/{state['run_id']}/validation"


def plan_validation(state: dict[str, Any], s3: Any, runs: RunStore, artifacts_bucket: str) -> dict[str, Any]:
    """The distributed path's first step: the header checked, the chunks listed in an object the
    Distributed Map reads its items from (a long list would not fit in the execution's state)."""
    spec, source = ModelSpec.model_validate(state["spec"]), _readable(state, s3, artifacts_bucket)
    header, plan = _header(spec, source, s3), _plan(source, s3)
    key = f"{_folder(state)}/chunks.json"
    s3.put_object(Bucket=artifacts_bucket, Key=key, Body=json.dumps(plan).encode())
    validation = {"header": header, "bucket": artifacts_bucket, "chunks_key": key, "chunks": len(plan)}
    runs.record_step(state["run_id"], "plan_validation", {"chunks": len(plan), "chunks_key": key})
    return {**state, "source": source, "validation": validation}


def validate_chunk(state: dict[str, Any], chunk: dict[str, int], s3: Any) -> dict[str, Any]:
    """One item of the Distributed Map: its rows, row digests and partial profile left for the merge.

    A chunk that cannot be read (a broken record, bytes that are not UTF-8) says why in its partial
    instead of failing: a failed child reaches the map's Catch only as "tolerated failure threshold
    exceeded", and the merge raises the first such reason in file order, as the single path would.
    """
    validation = state["validation"]
    folder, bucket = f"{_folder(state)}/{chunk['index']:06d}", validation["bucket"]
    with io.TextIOWrapper(tempfile.TemporaryFile(), encoding="utf-8", newline="") as text:
        try:
            writer = csv.writer(text, lineterminator="\n")
            part = _validate_range(ModelSpec.model_validate(state["spec"]), state["source"], validation["header"], chunk, s3, writer)
        except DatasetRejected as rejected:
            s3.put_object(Bucket=bucket, Key=f"{folder}/partial.json", Body=json.dumps({"rejected": str(rejected)}).encode())
            return {"index": chunk["index"], "rejected": True}
        text.seek(0)  # flushes, and rewinds the binary buffer beneath
        s3.upload_fileobj(text.buffer, bucket, f"{folder}/rows.csv")
    s3.put_object(Bucket=bucket, Key=f"{folder}/digests.bin", Body=part.digests)
    s3.put_object(Bucket=bucket, Key=f"{folder}/partial.json", Body=json.dumps(part.partial()).encode())
    return {"index": chunk["index"], "rows": part.rows}


def merge_validation(state: dict[str, Any], s3: Any, runs: RunStore) -> dict[str, Any]:
    """The chunks' partials merged in file order, as the single path merges them; the working
    files deleted once the report and the version are kept."""
    validation, spec = state["validation"], ModelSpec.model_validate(state["spec"])
    bucket = validation["bucket"]
    plan = json.loads(s3.get_object(Bucket=bucket, Key=validation["chunks_key"])["Body"].read())
    merged = _merger(spec, validation["header"])
    rest = {k: v for k, v in state.items() if k != "validation"}
    with tempfile.TemporaryFile() as normalized:
        sink = HashingFile(normalized)
        csv.writer(sink, lineterminator="\n").writerow(spec.columns)
        for chunk in plan:
            folder = f"{_folder(state)}/{chunk['index']:06d}"
            partial = json.loads(s3.get_object(Bucket=bucket, Key=f"{folder}/partial.json")["Body"].read())
            if "rejected" in partial:
                raise DatasetRejected(partial["rejected"])
            merged.merge(partial, s3.get_object(Bucket=bucket, Key=f"{folder}/digests.bin")["Body"].read())
            for block in chunks.object_blocks(s3, bucket, f"{folder}/rows.csv"):
                sink.write_bytes(block)
        result = keep_validated(rest, s3, runs, merged.report(), normalized, sink.digest.hexdigest())
    delete_prefix(s3, bucket, f"{_folder(state)}/")
    return result


def keep_validated(
    state: dict[str, Any], s3: Any, runs: RunStore, report: dict[str, Any], normalized: IO[bytes], version: str
) -> dict[str, Any]:
    """The report written and recorded; a usable file's normalized content kept as its version."""
    source, run_id = {k: v for k, v in state["source"].items() if k != "read"}, state["run_id"]
    report = {**report, "source": source, "spec_version": state["spec_version"], "at": now_iso()}
    report_key = f"{REPORTS_PREFIX}{state['model']}/{run_id}/quality.json"
    s3.put_object(Bucket=source["bucket"], Key=report_key, Body=json.dumps(report, indent=1).encode())
    runs.record_step(run_id, "validate", {**_report_summary(report), "report_key": report_key})
    if report["failures"]:
        raise DatasetRejected("; ".join(report["failures"]))
    key = f"{VERSIONS_PREFIX}{state['model']}/{version}/data.csv"
    if not object_exists(s3, source["bucket"], key):  # versions are immutable: never rewritten
        normalized.seek(0)
        s3.upload_fileobj(normalized, source["bucket"], key)
    dataset = {
        "version": version,
        "bucket": source["bucket"],
        "key": key,
        "report": {**_report_summary(report), "key": report_key},
    }
    return {**state, "dataset": dataset}


def _report_summary(report: dict[str, Any]) -> dict[str, Any]:
    return {"rows": report["rows"], "labels": report["labels"], "warnings": report["warnings"], "failures": report["failures"]}
