"""Batch inference: every data file under batch/<model>/... scored by one model version.

The batch state machine resolves the version once (the champion unless one is named), so every
file of a job is scored by the same model even if a promotion happens meanwhile; a Distributed Map
then hands each object to `score_file`. Rows are checked by the same rules as online predictions
(mlops.serving.validate_records): a bad row gets its reason in `prediction_error` and the rest of
the file is still scored. Files are CSV, .csv.gz or Parquet (mlops.data.readers); missing values
follow mlops.data.missing. Output goes beside the input: x.csv (x.csv.gz, x.parquet) ->
x.predictions.csv, the input's columns followed by the predictions.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from itertools import islice
from typing import Any

from mlops.data import missing
from mlops.data.readers import PARQUET_SUFFIXES, read_table
from mlops.data.spec import PREDICTION_ERROR_COLUMN, ModelSpec, predicted_column, probability_column
from mlops.registry.versions import CHAMPION, Registry
from mlops.serving.predictor import InvalidRecords, NoModel, model_classes, run_session, validate_records
from mlops.shared.errors import DatasetRejected
from mlops.shared.settings import BATCH_PREFIX

CHUNK_ROWS = 1000
PREDICTIONS_SUFFIX = ".predictions.csv"
ERROR_COLUMN = PREDICTION_ERROR_COLUMN


class BatchRejected(DatasetRejected):
    """The job or the file cannot be scored at all; the message says why."""


def resolve(job: dict[str, Any], registry: Registry, data_bucket: str) -> dict[str, Any]:
    """The job as the Distributed Map runs it: bucket, prefix and a fixed model version."""
    model, prefix = job["model"], job.get("prefix", "")
    if not prefix.startswith(f"{BATCH_PREFIX}{model}/"):
        raise BatchRejected(f"prefix {prefix!r} must start with {BATCH_PREFIX}{model}/ in the data bucket")
    version = job.get("version") or registry.aliases(model).get(CHAMPION)
    if version is None:
        raise NoModel(f"model {model!r} has no champion; name a version to score with")
    registry.version(model, int(version))  # NotFound names an unknown version
    return {"model": model, "prefix": prefix, "version": int(version), "bucket": data_bucket}


INPUT_SUFFIXES = (".csv", ".csv.gz", *PARQUET_SUFFIXES)


def output_key(key: str) -> str:
    suffix = next(s for s in INPUT_SUFFIXES if key.lower().endswith(s))
    return key[: -len(suffix)] + PREDICTIONS_SUFFIX


def is_scoreable(key: str) -> bool:
    return key.lower().endswith(INPUT_SUFFIXES) and not key.endswith(PREDICTIONS_SUFFIX)


def score_file(item: dict[str, Any], spec: ModelSpec, session: Any, s3: Any) -> dict[str, Any]:
    """Scores one object; returns counts. A file that cannot be read raises BatchRejected."""
    bucket, key = item["bucket"], item["key"]
    if not is_scoreable(key):
        return {"key": key, "skipped": "not an input file (CSV, .csv.gz or Parquet)"}
    header, rows = read_table(s3, bucket, key, [])
    names = [name.strip() for name in header]
    absent = [f.name for f in spec.features if f.name not in names]
    if absent:
        raise BatchRejected(f"{key}: feature columns missing: {absent}")
    positions = {f.name: names.index(f.name) for f in spec.features}
    columns = prediction_columns(spec, model_classes(session) or [])
    scored = invalid = 0
    with tempfile.NamedTemporaryFile("w", newline="", suffix=".csv", delete=False) as out:
        writer = csv.writer(out)
        writer.writerow(header + columns)
        markers = missing.markers(spec.data.missing_values)
        for chunk in _chunks(rows, CHUNK_ROWS):
            records = [_record(spec, fields, positions, markers) for fields in chunk]
            answers, problems = _predict(spec, session, records)
            for fields, answer, problem in zip(chunk, answers, problems, strict=True):
                writer.writerow(fields + _prediction_cells(answer, problem, len(columns)))
            invalid += sum(1 for p in problems if p)
            scored += sum(1 for p in problems if not p)
    try:
        s3.upload_file(out.name, bucket, output_key(key))
    finally:
        os.unlink(out.name)
    return {"key": key, "output": output_key(key), "scored": scored, "invalid": invalid}


def prediction_columns(spec: ModelSpec, classes: list[str]) -> list[str]:
    probabilities = [probability_column(c) for c in classes] if spec.is_classification else []
    return [predicted_column(spec.target.name), *probabilities, ERROR_COLUMN]


def _chunks(rows: Iterator[Any], size: int) -> Iterator[list[list[str]]]:
    while chunk := [fields for _, fields, _ in islice(rows, size) if fields is not None]:
        yield chunk


def _record(spec: ModelSpec, fields: list[str], positions: dict[str, int], markers: frozenset[str]) -> dict[str, Any]:
    """CSV text -> the typed record /predict would receive; text that is no number stays text (and is reported)."""
    record: dict[str, Any] = {}
    for feature in spec.features:
        position = positions[feature.name]
        raw = fields[position].strip() if position < len(fields) else ""
        if missing.is_missing(raw, markers):
            record[feature.name] = None
        elif feature.type == "numeric":
            try:
                record[feature.name] = float(raw)
            except ValueError:
                record[feature.name] = raw
        else:
            record[feature.name] = raw
    return record


def _predict(spec: ModelSpec, session: Any, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any] | None], list[str]]:
    """Answers for the valid records, and per record the reason it was not scored ("" when it was)."""
    problems = [""] * len(records)
    try:
        rows = validate_records(spec, records)
    except InvalidRecords as error:
        for problem in error.errors:
            index, field = problem["loc"][2], problem["loc"][3] if len(problem["loc"]) > 3 else "record"
            problems[index] = "; ".join(filter(None, [problems[index], f"{field}: {problem['msg']}"]))
        rows = validate_records(spec, [r for r, p in zip(records, problems, strict=True) if not p]) if not all(problems) else []
    results = iter(run_session(session, spec, rows) if rows else [])
    return [None if p else next(results) for p in problems], problems


def _prediction_cells(answer: dict[str, Any] | None, problem: str, width: int) -> list[str]:
    if answer is None:
        return [""] * (width - 1) + [problem]
    if "value" in answer:
        return [repr(answer["value"]), ""]
    return [answer["label"], *(f"{p:.6g}" for p in answer["probabilities"].values()), ""]
