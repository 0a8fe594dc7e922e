"""Register and RequestApproval are idempotent per run: Step Functions retries a step whose answer
was lost (Lambda.ServiceException after the function ran, a timed-out attempt still running), and a
retry must find the version its run registered, never take a new number or move an alias again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from local.moto_patches import atomic_dynamodb_writes
from mlops.registry.versions import CHALLENGER, CHAMPION, PENDING, RUN_PREFIX, version_key

RECORD = {"artifact": {"bucket": "b", "key": "k", "sha256": "s", "card_key": "c"}, "metrics": {"roc_auc": 0.9}}


def registrations(registry, model: str) -> list[dict]:
    return [r for r in registry._audit.records(model) if r["action"] == "version.registered"]  # noqa: SLF001


def test_a_retried_registration_returns_the_runs_version_and_registers_nothing_more(registry):
    first = registry.register("m", "run-1", RECORD)
    again = registry.register("m", "run-1", RECORD)
    assert (first["version"], first["status"]) == (again["version"], again["status"]) == (1, CHAMPION)
    assert len(registrations(registry, "m")) == 1
    second = registry.register("m", "run-2", RECORD)
    assert (second["version"], second["status"]) == (2, CHALLENGER)
    # run-1 retried after run-2 registered: still version 1, champion; the challenger is untouched.
    assert registry.register("m", "run-1", RECORD)["status"] == CHAMPION
    assert registry.aliases("m") == {CHAMPION: 1, CHALLENGER: 2}
    assert len(registrations(registry, "m")) == 2


def test_a_retry_after_a_crash_between_the_runs_number_and_its_version_completes_it(registry, model_tables):
    models, _ = model_tables
    registry.register("m", "run-1", RECORD)
    models.delete_item(Key={"model": "m", "sk": version_key(1)})  # as if the first attempt died after recording its number
    models.update_item(Key={"model": "m", "sk": "STATE"}, UpdateExpression="REMOVE champion")
    again = registry.register("m", "run-1", RECORD)
    assert (again["version"], again["status"]) == (1, CHAMPION)
    assert models.get_item(Key={"model": "m", "sk": f"{RUN_PREFIX}run-1"})["Item"]["version"] == 1


@pytest.fixture
def atomic_writes():
    """DynamoDB's conditional writes are atomic; moto's are not unless local mode makes them so."""
    atomic_dynamodb_writes()
    yield
    atomic_dynamodb_writes(enabled=False)


def test_concurrent_attempts_of_one_run_all_answer_the_same_version(registry, atomic_writes):
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: registry.register("m", "run-1", RECORD), range(8)))
    assert {a["version"] for a in answers} == {answers[0]["version"]}
    assert registry.aliases("m") == {CHAMPION: answers[0]["version"]}  # champion once, never its own challenger
    assert registry.version("m", answers[0]["version"])["status"] == CHAMPION
    assert len(registrations(registry, "m")) == 1


def test_a_retried_approval_request_keeps_its_version_and_takes_the_new_task_token(registry):
    first = registry.register("m", "run-1", {**RECORD, "task_token": "token-of-attempt-1"}, status=PENDING)
    again = registry.register("m", "run-1", {**RECORD, "task_token": "token-of-attempt-2"}, status=PENDING)
    assert first["version"] == again["version"] == 1
    stored = registry.version("m", 1)
    assert (stored["status"], stored["task_token"]) == (PENDING, "token-of-attempt-2")
    assert len(registrations(registry, "m")) == 1
    assert not any("token" in str(r["detail"]) for r in registry._audit.records("m"))  # noqa: SLF001 - tokens stay out of the trail
