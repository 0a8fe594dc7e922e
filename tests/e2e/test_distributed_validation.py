"""Validation of a large upload by a Distributed Map, in local mode. The same file uploaded to two
models, one validated in one Lambda and one forced through the map in many chunks, gives the same
version hash, report, baseline and model; a broken record in one chunk fails its run naming the
line, quarantines the file, and leaves the champion and no working files behind."""

import json

import pytest

from local.demo import CHURN_SPEC, synthetic_dataset

CHUNK = {"validation-chunk-bytes": "65536"}  # the smallest chunk an upload may ask for
ROWS = 20_000  # about 580 KB: 9 chunks


def upload(local_stack, executions, model: str, name: str, body: bytes, metadata: dict) -> dict:
    """An upload as a client sends it (x-amz-meta-* headers), and its finished run."""
    bucket = local_stack.outputs["DataBucketName"]
    local_stack.client("s3").put_object(Bucket=bucket, Key=f"datasets/{model}/{name}", Body=body, Metadata=metadata)
    execution = local_stack.wait_for_execution(executions, timeout_s=300)
    return {**local_stack.api("GET", f"runs/{execution['name']}")[1], "execution": execution}


@pytest.fixture(scope="module")
def validated_both_ways(local_stack, executions):
    data = synthetic_dataset(rows=ROWS, seed=31)
    runs = {}
    for path, metadata in (("single", CHUNK), ("distributed", {**CHUNK, "validation": "distributed"})):
        model = f"validate-{path}"
        assert local_stack.api("PUT", f"models/{model}", CHURN_SPEC)[0] in (200, 201)
        run = upload(local_stack, executions, model, "large.csv", data, metadata)
        assert run["status"] == "SUCCEEDED", run.get("failure")
        runs[path] = run
    return runs


def stored(local_stack, key: str) -> dict:
    return json.loads(local_stack.client("s3").get_object(Bucket=local_stack.outputs["DataBucketName"], Key=key)["Body"].read())


def test_both_paths_give_the_same_version_report_baseline_and_model(local_stack, validated_both_ways):
    single, distributed = validated_both_ways["single"], validated_both_ways["distributed"]
    assert single["steps"]["ingest"]["validation"]["path"] == "single"
    assert distributed["steps"]["ingest"]["validation"] == {
        "path": "distributed",
        "chunk_bytes": 65536,
        "reason": "asked by the upload's validation metadata",
    }
    assert single["steps"]["version"]["version"] == distributed["steps"]["version"]["version"]
    reports = [stored(local_stack, run["steps"]["validate"]["report_key"]) for run in (single, distributed)]
    for report in reports:
        del report["at"], report["source"]
    assert json.dumps(reports[0]) == json.dumps(reports[1])  # every count, float and example line
    assert reports[0]["rows"]["invalid"] > 0 and reports[0]["invalid_examples"][0]["line"] > 1
    baselines = [stored(local_stack, run["steps"]["prepare"]["baseline_key"]) for run in (single, distributed)]
    assert json.dumps(baselines[0]) == json.dumps(baselines[1])
    assert single["steps"]["export"]["sha256"] == distributed["steps"]["export"]["sha256"]


def test_the_chunks_ran_as_a_map_run_of_child_executions(local_stack, validated_both_ways):
    sfn = local_stack.client("stepfunctions")
    (map_run,) = sfn.list_map_runs(executionArn=validated_both_ways["distributed"]["execution"]["executionArn"])["mapRuns"]
    counts = sfn.describe_map_run(mapRunArn=map_run["mapRunArn"])["itemCounts"]
    assert counts["total"] == counts["succeeded"] == validated_both_ways["distributed"]["steps"]["plan_validation"]["chunks"] >= 8
    assert sfn.list_map_runs(executionArn=validated_both_ways["single"]["execution"]["executionArn"])["mapRuns"] == []
    # The working files went with the merge.
    artifacts = local_stack.outputs["ArtifactsBucketName"]
    prefix = f"runs/{validated_both_ways['distributed']['run_id']}/validation/"
    assert local_stack.client("s3").list_objects_v2(Bucket=artifacts, Prefix=prefix).get("KeyCount") == 0


def test_a_broken_record_in_one_chunk_fails_the_run_naming_its_line_and_the_champion_stays(local_stack, validated_both_ways, executions):
    lines = synthetic_dataset(rows=ROWS, seed=32).split(b"\n")
    lines[15_000] = b'C15000,12.0,"70"x,1,basic,no'  # text after a closing quote
    body = b"\n".join(lines)
    run = upload(local_stack, executions, "validate-distributed", "broken.csv", body, {**CHUNK, "validation": "distributed"})
    assert run["status"] == "FAILED" and run["failure"]["error"] == "DatasetRejected"
    assert "not well-formed CSV near line 15001" in run["failure"]["reason"], run["failure"]
    s3, bucket = local_stack.client("s3"), local_stack.outputs["DataBucketName"]
    assert s3.get_object(Bucket=bucket, Key=run["failure"]["quarantined"])["Body"].read() == body
    versions = local_stack.api("GET", "models/validate-distributed/versions")[1]
    assert versions["aliases"]["champion"] == 1 and len(versions["versions"]) == 1
    artifacts = local_stack.outputs["ArtifactsBucketName"]
    assert s3.list_objects_v2(Bucket=artifacts, Prefix=f"runs/{run['run_id']}/").get("KeyCount") == 0


def test_bad_validation_metadata_is_refused_naming_it(local_stack, validated_both_ways, executions):
    tiny = {"validation-chunk-bytes": "100"}
    run = upload(local_stack, executions, "validate-single", "tiny-chunks.csv", synthetic_dataset(seed=33), tiny)
    assert run["status"] == "FAILED" and "metadata validation-chunk-bytes='100'" in run["failure"]["reason"]
