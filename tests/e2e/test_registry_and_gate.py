"""Registry, validation gate, search and manual approval in local mode, driven over HTTP and S3."""

import time

import pytest

from local.demo import CHURN_SPEC, synthetic_dataset

REVIEWED = "churn-reviewed"
REVIEWED_SPEC = {
    **CHURN_SPEC,
    "training": {"algorithm": "logistic_regression", "search": [{"C": 0.01}, {"C": 1.0}, {"C": 100.0}]},
    "gates": {"minimum": {"roc_auc": 0.75}, "manual_approval": True},
}


def upload(local_stack, model: str, name: str, body: bytes) -> None:
    local_stack.client("s3").put_object(Bucket=local_stack.outputs["DataBucketName"], Key=f"datasets/{model}/{name}", Body=body)


@pytest.fixture(scope="module")
def trained_churn(local_stack, executions):
    """churn with a champion (the lifecycle module may have made it already)."""
    assert local_stack.api("PUT", "models/churn", CHURN_SPEC)[0] in (200, 201)
    if local_stack.api("GET", "models/churn/versions")[1]["aliases"].get("champion") is None:
        upload(local_stack, "churn", "2026-11-26.csv", synthetic_dataset())
        assert local_stack.wait_for_execution(executions)["status"] == "SUCCEEDED"
    return local_stack.api("GET", "models/churn/versions")[1]["aliases"]["champion"]


def test_worse_data_is_rejected_by_the_gate_with_the_comparison_and_the_champion_stays(local_stack, trained_churn, executions):
    upload(local_stack, "churn", "scrambled-export.csv", synthetic_dataset(seed=11, labels_lost=True))
    execution = local_stack.wait_for_execution(executions)
    assert execution["status"] == "FAILED"
    status, run = local_stack.api("GET", f"runs/{execution['name']}")
    assert run["failure"]["error"] == "GateFailed"
    assert "roc_auc" in run["failure"]["reason"] and "below the minimum 0.75" in run["failure"]["reason"]
    gate = run["steps"]["evaluate"]["gate"]
    assert gate["passed"] is False and gate["champion_version"] == trained_churn
    # Both were scored on the same held-out rows: the comparison is there for a person to read.
    assert set(gate["champion"]) == set(gate["candidate"]) and isinstance(gate["improvement"], float)
    versions = local_stack.api("GET", "models/churn/versions")[1]
    assert versions["aliases"]["champion"] == trained_churn
    assert all(v["run_id"] != execution["name"] for v in versions["versions"])


def test_runs_filter_sort_and_compare(local_stack, trained_churn):
    status, listing = local_stack.api("GET", "runs?model=churn&status=SUCCEEDED&sort=-roc_auc")
    assert status == 200 and listing["runs"]
    scores = [r["metrics"]["roc_auc"] for r in listing["runs"]]
    assert scores == sorted(scores, reverse=True)
    ids = ",".join(r["run_id"] for r in listing["runs"][:2])
    status, comparison = local_stack.api("GET", f"runs/compare?ids={ids}")
    assert status == 200 and "roc_auc" in comparison["metrics"]
    assert all(row["params"]["algorithm"] == "logistic_regression" for row in comparison["runs"])


def test_search_then_manual_approval_then_registration(local_stack, executions):
    # Given a model whose spec asks for a search and a person's approval
    assert local_stack.api("PUT", f"models/{REVIEWED}", REVIEWED_SPEC)[0] in (200, 201)
    upload(local_stack, REVIEWED, "data.csv", synthetic_dataset(seed=5))
    # When the pipeline reaches the approval step, it waits with the version pending
    pending = wait_for_pending(local_stack)
    status, runs = local_stack.api("GET", f"runs?model={REVIEWED}")
    trials = [r for r in runs["runs"] if r["trigger"].get("type") == "search"]
    assert sorted(r["params"]["C"] for r in trials) == [0.01, 1.0, 100.0]
    parent = local_stack.api("GET", f"runs/{pending['run_id']}")[1]
    assert parent["status"] == "RUNNING" and parent["steps"]["search"]["best"] in {r["run_id"] for r in trials}
    # Then approving it lets the run finish and the version become champion, audited with who and when
    status, approved = local_stack.api("POST", f"models/{REVIEWED}/versions/{pending['version']}/approve", {"reason": "checked the card"})
    assert status == 200 and approved["status"] == "approved"
    execution = local_stack.wait_for_execution(executions)
    assert execution["status"] == "SUCCEEDED"
    version = local_stack.api("GET", f"models/{REVIEWED}/versions/{pending['version']}")[1]
    # Signed with local mode's default key, the account's root: the caller API Gateway authenticated.
    root = "arn:aws:iam::123456789012:root"
    assert (version["status"], version["decided_by"], version["decision_reason"]) == ("champion", root, "checked the card")
    assert local_stack.api("POST", f"models/{REVIEWED}/versions/{pending['version']}/approve", {})[0] == 409
    audit = local_stack.api("GET", f"audit?model={REVIEWED}")[1]["records"]
    assert {"version.registered", "version.status", "alias.champion", "spec.registered"} <= {r["action"] for r in audit}


def test_an_approval_window_that_closes_expires_the_version_and_removes_its_artifacts(local_stack, executions):
    # Given a model whose versions wait 3 seconds for a person
    spec = {**CHURN_SPEC, "gates": {"manual_approval": True, "approval_timeout_seconds": 3}}
    assert local_stack.api("PUT", "models/churn-unattended", spec)[0] in (200, 201)

    # When nobody decides in time
    upload(local_stack, "churn-unattended", "data.csv", synthetic_dataset(seed=6))
    execution = local_stack.wait_for_execution(executions)

    # Then the run failed saying so, the version is expired, and its model and card are gone
    run = local_stack.api("GET", f"runs/{execution['name']}")[1]
    assert execution["status"] == "FAILED" and run["failure"]["error"] == "ApprovalExpired", run.get("failure")
    (version,) = local_stack.api("GET", "models/churn-unattended/versions")[1]["versions"]
    assert version["status"] == "expired" and f"version {version['version']} expired" in run["failure"]["reason"]
    artifacts = local_stack.client("s3").list_objects_v2(
        Bucket=version["artifact"]["bucket"], Prefix=f"models/churn-unattended/{run['run_id']}/"
    )
    assert artifacts.get("KeyCount") == 0
    # And a late approval answers 409 and changes nothing
    status, answer = local_stack.api("POST", f"models/churn-unattended/versions/{version['version']}/approve", {})
    assert status == 409 and "not pending_approval" in answer["message"]
    assert local_stack.api("GET", "models/churn-unattended/versions")[1] == {"aliases": {}, "versions": [version]}


def wait_for_pending(local_stack, model: str = REVIEWED, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, listing = local_stack.api("GET", f"models/{model}/versions")
        pending = [v for v in listing.get("versions", []) if v["status"] == "pending_approval"]
        if pending:
            return pending[0]
        time.sleep(0.5)
    raise TimeoutError("no version became pending approval")
