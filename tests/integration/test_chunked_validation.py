"""Validation of a file cut into byte ranges (mlops.data.chunks), each chunk validated on its own and
the partials merged: the same report and the same normalized content as one pass over the file."""

import csv
import io
import json
import random

import boto3
import pytest

from mlops.data import chunks, readers
from mlops.data.spec import ModelSpec
from mlops.data.validation import DatasetValidator
from tests.integration.conftest import BUCKET

SPEC = ModelSpec.model_validate(
    {
        "target": {"name": "label", "task": "binary", "classes": ["no", "yes"]},
        "features": [
            {"name": "x", "type": "numeric", "nullable": True, "minimum": 0},
            {"name": "note", "type": "categorical"},
            {"name": "plan", "type": "categorical", "categories": ["basic", "pro"]},
        ],
        "data": {"max_invalid_row_fraction": 0.5, "max_duplicate_row_fraction": 0.9},
    }
)


def messy_csv(rows: int, seed: int = 3) -> bytes:
    """Quoted newlines and quotes, a BOM, nulls, invalid rows, duplicates and 1,500 distinct notes
    (past the 1,000 categories a report tracks)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["x", "note", "plan", "label", "extra"])
    for i in range(rows):
        x = "" if i % 13 == 0 else ("-1" if i % 97 == 0 else f"{rng.gauss(50, 10):.3f}")
        note = rng.choice([f"line one\nline {i % 1500}", f'say "{i % 1500}"', "plain"])
        writer.writerow([x, note, rng.choice(["basic", "pro", "gold" if i % 211 == 0 else "pro"]), rng.choice(["no", "yes"]), i])
        if i % 50 == 0:
            writer.writerow([x, note, "basic", "no", i])  # a duplicate of the spec's columns
    return b"\xef\xbb\xbf" + out.getvalue().encode()


def whole(key: str) -> tuple[dict, list[list[str]]]:
    validator = DatasetValidator(SPEC)
    header, rows = readers.read_table(boto3.client("s3"), BUCKET, key, SPEC.columns)
    validator.read_header(header)
    normalized = [checked for line, fields, _ in rows if (checked := validator.check_row(line, fields)) is not None]
    return validator.report(), normalized


def chunked(key: str, chunk_bytes: int) -> tuple[dict, list[list[str]], int]:
    s3 = boto3.client("s3")
    header, _ = readers.read_table(s3, BUCKET, key, SPEC.columns)
    merged = DatasetValidator(SPEC)
    merged.read_header(header)
    normalized: list[list[str]] = []
    plan = chunks.plan_object(s3, BUCKET, key, chunk_bytes)
    for chunk in plan:
        part = DatasetValidator(SPEC, chunk=True)
        part.read_header(header)
        for line, fields, _ in readers.read_range(s3, BUCKET, key, chunk, SPEC.columns):
            if (checked := part.check_row(line, fields)) is not None:
                normalized.append(checked)
        partial = json.loads(json.dumps(part.partial()))  # as it would travel through S3
        merged.merge(partial, part.digests)
    return merged.report(), normalized, len(plan)


@pytest.mark.parametrize("chunk_bytes", [4096, 50_000])
def test_a_file_cut_into_many_chunks_gives_the_report_and_content_of_one_pass(aws, chunk_bytes):
    key = "datasets/m/messy.csv"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=messy_csv(3000))
    one_pass, content = whole(key)
    report, merged_content, pieces = chunked(key, chunk_bytes)
    assert pieces >= 3
    assert merged_content == content  # so the version's hash is the same
    for name, column in one_pass["columns"].items():
        merged_column = report["columns"][name]
        for statistic in ("mean", "std"):  # batches end at chunk boundaries: the last bits may differ
            if statistic in column:
                assert merged_column.pop(statistic) == pytest.approx(column.pop(statistic), rel=1e-12)
    assert report == one_pass
    assert one_pass["columns"]["note"]["truncated"] and one_pass["rows"]["duplicates"] > 0 and one_pass["invalid_examples"]


def test_the_pipelines_chunk_steps_keep_the_same_version_and_report_as_the_validate_step(aws, runs):
    from mlops.data import chunked_validation, steps

    s3 = boto3.client("s3")
    key = "datasets/m/messy-steps.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=messy_csv(2000, seed=5))
    state = {
        "run_id": "one-pass",
        "model": "m",
        "spec": SPEC.model_dump(mode="json"),
        "spec_version": 1,
        "source": {"bucket": BUCKET, "key": key},
    }
    runs.start("one-pass", "m", {})
    runs.start("chunked", "m", {})
    one_pass = steps.validate(state, s3, runs)["dataset"]
    planned = chunked_validation.plan_validation({**state, "run_id": "chunked"}, s3, chunk_bytes=4096)
    assert len(planned["validation"]["chunks"]) > 10
    for chunk in reversed(planned["validation"]["chunks"]):  # a Distributed Map finishes them in any order
        chunked_validation.validate_chunk(planned, chunk, s3)
    merged = chunked_validation.merge_validation(planned, s3, runs)["dataset"]
    assert merged["version"] == one_pass["version"] and merged["key"] == one_pass["key"]
    assert merged["report"]["rows"] == one_pass["report"]["rows"] and merged["report"]["warnings"] == one_pass["report"]["warnings"]
