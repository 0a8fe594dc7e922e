"""A rollout acts for the version it started for, against moto: a newer challenger, a person's
promote or rollback, and a retraining trigger meet a running rollout; a decision the pipeline no
longer waits for is refused."""

import json
from datetime import UTC, datetime

import boto3
import pytest
from moto.core.config import default_user_config

from mlops import api
from mlops.data.spec import ModelSpec
from mlops.monitoring.retraining import Retrainer
from mlops.registry.versions import PENDING
from mlops.serving import rollout
from mlops.serving.traffic import TrafficStore
from mlops.shared.settings import get_settings
from tests.api_events import proxy_event
from tests.unit.specs import CHURN_SPEC

MODEL = "churn"


class FakeCloudWatch:
    def __init__(self, firing: bool = False) -> None:
        self.firing = firing

    def put_metric_alarm(self, **alarm):
        pass

    def describe_alarms(self, AlarmNames):
        return {"MetricAlarms": [{"AlarmName": name, "StateValue": "ALARM" if self.firing else "OK"} for name in AlarmNames]}


def spec(strategy: str = "canary") -> ModelSpec:
    return ModelSpec.model_validate({**CHURN_SPEC, "rollout": {"strategy": strategy, "ab": {"minimum_detectable_effect": 0.25}}})


def register(registry, run: str, accuracy: float = 0.8) -> int:
    record = {"artifact": {"key": f"{run}.onnx", "sha256": "ab" * 32}, "metrics": {"accuracy": accuracy}}
    return registry.register(MODEL, run, record)["version"]


def started(registry, traffic, version: int, strategy: str = "canary") -> dict:
    """A rollout of `version` past its first traffic step, as the state machine would carry it."""
    execution = f"arn:aws:states:us-east-1:123456789012:execution:MlopsPlatform-Rollout:{MODEL}-v{version}"
    state = rollout.plan(
        {"model": MODEL, "version": version, "execution": execution},
        spec(strategy),
        registry,
        traffic,
        FakeCloudWatch(),
        "ns",
        by="rollout",
    )
    return rollout.shift(state, registry, traffic, by="rollout")


@pytest.fixture
def traffic(model_tables) -> TrafficStore:
    return TrafficStore(*model_tables)


@pytest.fixture
def champion(registry) -> int:
    return register(registry, "r1")


def audit_actions(registry) -> list[str]:
    return [r["action"] for r in registry._audit.records(MODEL)]


def test_a_newer_challenger_ends_the_older_rollout_without_touching_its_own(registry, traffic, champion):
    # Given version 2 in its canary step with 10% of the traffic
    older = started(registry, traffic, register(registry, "r2"))
    assert traffic.policy(MODEL)["challenger_percent"] == 10

    # When version 3 is registered (taking the challenger's place) and its rollout plans, then the older rollout's bake ends
    newer = rollout.plan(
        {"model": MODEL, "version": register(registry, "r3")}, spec(), registry, traffic, FakeCloudWatch(), "ns", by="rollout"
    )
    policy_after_newer_plan = traffic.policy(MODEL)
    checked = rollout.check(older, registry, FakeCloudWatch(firing=True))
    finished = rollout.finish(checked, registry, traffic, by="rollout")

    # Then version 3 started with no share of version 2's (the registry dropped it), and the older rollout ended superseded
    assert policy_after_newer_plan["challenger_percent"] == 0
    assert checked["healthy"] and not checked["more"]  # straight to finish, its alarm not read as version 3's
    assert finished["outcome"] == "superseded" and "version 3 replaced version 2" in finished["superseded"]
    assert registry.aliases(MODEL) == {"champion": champion, "challenger": 3}
    assert traffic.policy(MODEL) == policy_after_newer_plan
    assert traffic.running_rollout(MODEL)["version"] == 3  # the newer rollout's record stays
    # And version 3's own steps go on
    assert rollout.shift(newer, registry, traffic, by="rollout")["percent"] == 10


def test_a_person_who_promotes_during_a_rollout_is_not_undone_by_a_failing_step(registry, traffic, champion):
    # Given version 2 in its canary step
    state = started(registry, traffic, register(registry, "r2"))

    # When a person promotes it, and then a rollout step fails (its Catch goes to finish)
    registry.promote(MODEL, by="alice")
    finished = rollout.finish({**state, "error": {"Error": "Lambda.Unknown"}}, registry, traffic, by="rollout")

    # Then the promotion stands: no rollback to the previous champion
    assert finished["outcome"] == "superseded" and finished["superseded"] == "version 2 was promoted meanwhile"
    assert registry.aliases(MODEL) == {"champion": 2}
    assert "traffic.rollback" not in audit_actions(registry)
    assert traffic.running_rollout(MODEL) is None


def test_a_person_who_rolls_back_during_a_rollout_ends_it_and_the_champion_stays(registry, traffic, champion):
    # Given version 2 promoted once (so a previous champion exists), then version 3 rolling out
    register(registry, "r2")
    registry.promote(MODEL, by="alice")
    state = started(registry, traffic, register(registry, "r3"))

    # When a person rolls version 3 back, and the rollout's alarm check then fires
    registry.rollback(MODEL, by="alice", reason="looks wrong")
    finished = rollout.finish(rollout.check(state, registry, FakeCloudWatch(firing=True)), registry, traffic, by="rollout")

    # Then the rollout does not roll back again (which would have restored version 1 over version 2)
    assert finished["outcome"] == "superseded"
    assert registry.aliases(MODEL) == {"champion": 2}


def test_an_older_ab_tests_verdict_never_lands_on_a_newer_challenger(registry, traffic, champion):
    # Given an A/B test of version 2 that has started
    older = started(registry, traffic, register(registry, "r2"), strategy="ab")

    # When version 3 takes the challenger's place and starts its own test
    started(registry, traffic, register(registry, "r3"), strategy="ab")
    newer_test = traffic.experiment(MODEL)
    judged = rollout.judge(older, spec("ab"), registry, boto3.client("s3"), "no-capture-read", traffic, boto3.client("cloudwatch"))
    finished = rollout.finish(judged, registry, traffic, by="rollout")

    # Then the older test ends superseded, and the experiment shown is version 3's, untouched
    assert judged["decision"] == "superseded" and finished["outcome"] == "superseded"
    assert traffic.experiment(MODEL) == newer_test and newer_test["challenger_version"] == 3
    # And a verdict computed while the challenger changed is refused by the store itself
    assert not traffic.save_experiment(MODEL, {**older["experiment"], "status": "promote"})
    assert registry.aliases(MODEL) == {"champion": champion, "challenger": 3}


def test_a_retried_plan_of_an_older_rollout_cannot_take_the_newer_ones_record(registry, traffic, champion):
    register(registry, "r2")
    started(registry, traffic, register(registry, "r3"))
    assert not traffic.begin_rollout(MODEL, 2, "older-execution")
    assert traffic.running_rollout(MODEL)["version"] == 3


def test_automatic_retraining_waits_while_a_rollout_of_the_model_runs(registry, traffic, runs, model_tables, champion):
    # Given a rollout execution that runs (moto keeps an execution RUNNING until it is stopped)
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="MlopsPlatform-Rollout",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/rollout",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name=f"{MODEL}-v2")["executionArn"]
    registry.register(MODEL, "r2", {"artifact": {"key": "r2.onnx"}, "metrics": {"accuracy": 0.9}})
    assert traffic.begin_rollout(MODEL, 2, execution)
    retrainer = Retrainer(model_tables[0], runs, model_tables[1], sfn)
    now = datetime.now(UTC)

    # Then a finding does not start a run while it runs, and says why
    why = retrainer.refusal(MODEL, "drift", spec(), now)
    assert why == f"a rollout of version 2 is running ({MODEL}-v2); retraining waits for it"

    # And once the execution has ended (here, stopped past its own finish), nothing holds it back
    sfn.stop_execution(executionArn=execution)
    assert retrainer.refusal(MODEL, "drift", spec(), now) is None


def test_approving_with_a_token_step_functions_refuses_answers_409_and_the_version_expires(registry, model_tables, monkeypatch):
    # Given a version waiting for approval whose run no longer waits (moto's executing engine refuses
    # the token as AWS does; its default backend accepts any token)
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": True})
    monkeypatch.setenv("MODELS_TABLE", model_tables[0].name)
    monkeypatch.setenv("AUDIT_TABLE", model_tables[1].name)
    get_settings.cache_clear()
    registry.register(MODEL, "r1", {"metrics": {"accuracy": 0.8}, "task_token": "a-token-of-an-ended-run"}, status=PENDING)

    # When a person approves it
    response = api.app.resolve(proxy_event("POST", f"/models/{MODEL}/versions/1/approve", json.dumps({"reason": "late"})), None)

    # Then the answer is a 409 that says why, the version is expired, and no alias moved
    assert response["statusCode"] == 409 and "the run stopped waiting for it" in json.loads(response["body"])["message"]
    assert registry.version(MODEL, 1)["status"] == "expired" and registry.aliases(MODEL) == {}
    get_settings.cache_clear()
