"""Validation of a file cut into byte ranges (mlops.data.chunks), each chunk validated on its own and
the partials merged: the same report and the same normalized content as one pass over the file."""

import csv
import io
import json
import random

import boto3
import pytest

from mlops.data import chunks, readers, splitting, steps, validation_steps
from mlops.data.spec import ModelSpec
from mlops.data.validation import DatasetValidator
from mlops.shared.errors import DatasetRejected
from mlops.shared.settings import Settings
from tests.integration.conftest import ARTIFACTS, BUCKET

SETTINGS = Settings(DATA_BUCKET=BUCKET)

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


def run_upload(model: str, key: str, runs, specs, data) -> dict:
    """The data steps in the state machine's order, down either validation path; then Prepare."""
    s3 = boto3.client("s3")
    specs.put(model, SPEC)
    request = {"model": model, "trigger": "upload", "source": {"bucket": BUCKET, "key": key}}
    state = steps.ingest({"request": request, "run_id": f"run-{model}"}, s3, runs, specs, data, SETTINGS)
    if state["source"]["validation"]["path"] == "distributed":
        state = validation_steps.plan_validation(state, s3, runs, ARTIFACTS)
        plan = json.loads(s3.get_object(Bucket=ARTIFACTS, Key=state["validation"]["chunks_key"])["Body"].read())
        assert len(plan) == state["validation"]["chunks"] > 1
        item = {k: state[k] for k in ("run_id", "model", "spec", "source", "validation")}  # the Map's ItemSelector
        for chunk in reversed(plan):  # a Distributed Map finishes them in any order
            validation_steps.validate_chunk({**item, "chunk": chunk}, chunk, s3)
        state = validation_steps.merge_validation(state, s3, runs)
    else:
        state = validation_steps.validate(state, s3, runs, ARTIFACTS)
    state = steps.version(state, s3, runs, data)
    return splitting.prepare(state, s3, runs, data)


def stored(key: str) -> dict:
    return json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_the_distributed_path_gives_the_single_paths_report_version_and_baseline_to_the_byte(aws, runs, specs, data):
    key = "datasets/m/messy-large.csv"
    body = messy_csv(20_000, seed=5)
    small = {"validation-chunk-bytes": "65536"}
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=small)
    single = run_upload("single", key, runs, specs, data)
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body, Metadata={**small, "validation": "distributed"})
    distributed = run_upload("distributed", key, runs, specs, data)
    assert (single["source"]["validation"]["path"], distributed["source"]["validation"]["path"]) == ("single", "distributed")
    assert len(chunks.plan_object(boto3.client("s3"), BUCKET, key, 65536)) > 10
    assert distributed["dataset"]["version"] == single["dataset"]["version"]
    reports = [stored(state["dataset"]["report"]["key"]) for state in (single, distributed)]
    for report in reports:
        del report["at"], report["source"]
    assert json.dumps(reports[0]) == json.dumps(reports[1])  # floats and order included
    assert reports[0]["columns"]["note"]["truncated"] and reports[0]["rows"]["duplicates"] > 0 and reports[0]["invalid_examples"]
    assert json.dumps(stored(single["baseline_key"])) == json.dumps(stored(distributed["baseline_key"]))
    # The working files are gone once the version is kept.
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=ARTIFACTS, Prefix="runs/run-distributed/")


def test_a_broken_record_fails_both_paths_naming_the_same_line(aws, runs, specs, data):
    lines = messy_csv(6000).split(b"\r\n")
    lines[4321] = b'1.0,"open quote"x,basic,no,0'  # text after a closing quote: not RFC 4180
    key = "datasets/m/broken.csv"
    reasons = []
    for model, metadata in (("single", {}), ("distributed", {"validation": "distributed"})):
        body = b"\r\n".join(lines)
        boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body, Metadata={"validation-chunk-bytes": "65536", **metadata})
        with pytest.raises(DatasetRejected) as rejected:
            run_upload(model, key, runs, specs, data)
        reasons.append(str(rejected.value))
    with pytest.raises(DatasetRejected) as one_pass:  # the file read whole, in one csv.reader
        whole(key)
    assert reasons == [str(one_pass.value)] * 2 and "near line 5791" in reasons[0]


def test_a_gzip_upload_down_the_distributed_path_is_the_plain_files_version(aws, runs, specs, data):
    # Given the same messy rows uploaded plain (single path) and gzip-compressed down the Distributed Map
    import gzip

    body = messy_csv(8000, seed=9)
    small = {"validation-chunk-bytes": "65536"}
    boto3.client("s3").put_object(Bucket=BUCKET, Key="datasets/m/plain.csv", Body=body, Metadata=small)
    single = run_upload("plain", "datasets/m/plain.csv", runs, specs, data)
    boto3.client("s3").put_object(
        Bucket=BUCKET, Key="datasets/m/packed.csv.gz", Body=gzip.compress(body), Metadata={**small, "validation": "distributed"}
    )
    # When the compressed one is planned, its chunks validated and merged
    distributed = run_upload("packed", "datasets/m/packed.csv.gz", runs, specs, data)
    # Then it is the same version, from chunks of its plain form, whose staged copy is gone
    assert (
        distributed["source"]["validation"]["path"] == "distributed" and distributed["dataset"]["version"] == single["dataset"]["version"]
    )
    assert json.dumps(stored(single["baseline_key"])) == json.dumps(stored(distributed["baseline_key"]))
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=ARTIFACTS, Prefix="runs/run-packed/")
