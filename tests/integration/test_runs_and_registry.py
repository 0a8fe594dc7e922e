import pytest

from mlops.shared.errors import NotFound
from mlops.training.runs import STATUS_FAILED, STATUS_SUCCEEDED


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


def record(run: str) -> dict:
    return {"artifact": {"key": f"models/churn/{run}/model.onnx", "sha256": "ab" * 32}, "metrics": {"accuracy": 0.9}}


def test_the_first_approved_version_is_champion_the_next_challenger_and_older_challengers_archive(registry):
    first = registry.register("churn", "r1", record("r1"))
    second = registry.register("churn", "r2", record("r2"))
    third = registry.register("churn", "r3", record("r3"))
    assert [(v["version"], v["status"]) for v in (first, second, third)] == [(1, "champion"), (2, "challenger"), (3, "challenger")]
    assert registry.version("churn", 2)["status"] == "archived"
    assert registry.aliases("churn") == {"champion": 1, "challenger": 3}


def test_a_pending_version_is_decided_once_and_every_change_is_audited(registry, model_tables):
    from mlops.registry.audit import AuditLog
    from mlops.shared.errors import Conflict

    pending = registry.register("churn", "r1", {**record("r1"), "task_token": "token-1"}, status="pending_approval")
    assert pending["status"] == "pending_approval" and registry.aliases("churn") == {}
    decided = registry.decide("churn", 1, approve=True, by="arn:aws:iam::123456789012:user/alice", reason="looks good")
    assert (decided["status"], decided["task_token"], decided["decided_by"]) == (
        "approved",
        "token-1",
        "arn:aws:iam::123456789012:user/alice",
    )
    with pytest.raises(Conflict, match="is not pending_approval"):
        registry.decide("churn", 1, approve=False, by="bob")
    assert registry.settle("churn", 1)["status"] == "champion"
    actions = [r["action"] for r in AuditLog(model_tables[1]).records("churn")]
    assert sorted(actions) == sorted(["version.registered", "version.status", "alias.champion", "version.status"])


def test_two_writers_racing_for_the_champion_alias_cannot_both_win(registry):
    # Both writers saw no champion and try to claim it. (Deterministic on purpose: moto applies
    # conditions without a lock, so a threaded race tests the emulator rather than this code.)
    first = registry.register("fraud", "r1", record("r1"), status="pending_approval")["version"]
    second = registry.register("fraud", "r2", record("r2"), status="pending_approval")["version"]
    assert registry._claim_alias("fraud", "champion", first, expected=None) is True
    assert registry._claim_alias("fraud", "champion", second, expected=None) is False
    assert registry.aliases("fraud") == {"champion": first}
    # A challenger swap must name the challenger it replaces; a stale writer loses.
    assert registry._claim_alias("fraud", "challenger", second, expected=None) is True
    assert registry._claim_alias("fraud", "challenger", first, expected=None) is False


def test_version_numbers_are_never_reused(registry):
    numbers = [registry.register("fraud", f"r{i}", record(f"r{i}"))["version"] for i in range(5)]
    assert numbers == [1, 2, 3, 4, 5]
