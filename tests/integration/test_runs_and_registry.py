from concurrent.futures import ThreadPoolExecutor

import pytest

from mlops.errors import NotFound
from mlops.runs import STATUS_FAILED, STATUS_SUCCEEDED


def test_a_run_records_its_steps_and_ends_once(runs):
    # Given a started run
    runs.start("r1", "churn", {"type": "s3-upload"})
    runs.record_step("r1", "validate", {"rows": 10, "score": 0.25})
    # When it succeeds and a late duplicate tries to fail it
    runs.finish("r1", STATUS_SUCCEEDED)
    runs.finish("r1", STATUS_FAILED, {"error": "X", "reason": "late"})
    # Then the first outcome stands and floats survive the round trip
    run = runs.get("r1")
    assert run["status"] == STATUS_SUCCEEDED and "failure" not in run
    assert run["steps"]["validate"]["rows"] == 10 and run["steps"]["validate"]["score"] == 0.25


def test_starting_twice_keeps_the_first_record(runs):
    runs.start("r1", "churn", {"type": "first"})
    runs.record_step("r1", "ingest", {"size": 1})
    runs.start("r1", "churn", {"type": "second"})
    assert runs.get("r1")["trigger"] == {"type": "first"} and "ingest" in runs.get("r1")["steps"]


def test_runs_are_listed_per_model_newest_first(runs):
    for run_id in ("a", "b", "c"):
        runs.start(run_id, "churn" if run_id != "b" else "other", {})
    assert [r["run_id"] for r in runs.list_for_model("churn")] == ["c", "a"]


def test_an_unknown_run_is_not_found(runs):
    with pytest.raises(NotFound):
        runs.get("missing")


def test_the_first_version_becomes_champion_and_later_ones_stay_candidates(registry):
    artifact = {"key": "models/churn/r1/model.onnx", "sha256": "ab" * 32}
    first = registry.register("churn", "r1", artifact, {"accuracy": 0.9})
    second = registry.register("churn", "r2", artifact, {"accuracy": 0.8})
    assert (first["version"], first["status"]) == (1, "champion")
    assert (second["version"], second["status"]) == (2, "candidate")
    assert registry.champion("churn") == 1


def test_concurrent_registrations_get_distinct_numbers_and_one_champion(registry):
    # When eight pipelines register at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: registry.register("fraud", f"r{i}", {"key": f"k{i}"}, {}), range(8)))
    # Then every version number is used exactly once and exactly one version is champion
    assert sorted(r["version"] for r in results) == list(range(1, 9))
    assert [r["status"] for r in results].count("champion") == 1
    assert registry.champion("fraud") == next(r["version"] for r in results if r["status"] == "champion")
