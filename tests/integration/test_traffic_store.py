"""The traffic policy's writes against DynamoDB in moto: each is conditional on the revision read, and a
rollout's write also on its version still being the challenger; a lost race is a Conflict that says why."""

import pytest
from pydantic import ValidationError

from mlops.registry.versions import STATE_KEY
from mlops.serving.traffic import TrafficPolicy, TrafficStore
from mlops.shared.errors import Conflict


@pytest.fixture
def store(model_tables):
    models, audit = model_tables
    models.put_item(Item={"model": "churn", "sk": STATE_KEY, "champion": 1, "challenger": 2})
    return TrafficStore(models, audit), models


def test_each_write_needs_the_revision_just_read(store):
    traffic, _ = store
    assert traffic.set("churn", 10, None, expected_revision=0, by="ana")["revision"] == 1
    assert traffic.set("churn", 20, None, expected_revision=1, by="ana")["revision"] == 2
    with pytest.raises(Conflict) as stale:
        traffic.set("churn", 30, None, expected_revision=1, by="bob")
    assert str(stale.value) == "the traffic policy of 'churn' is not at revision 1; read it again"
    assert traffic.policy("churn")["challenger_percent"] == 20


def test_a_rollouts_write_needs_its_version_to_be_the_challenger_still(store):
    traffic, models = store
    # The rollout of version 2 moves its share while 2 is the challenger
    assert traffic.set("churn", 10, None, expected_revision=0, by="rollout", challenger=2)["challenger_percent"] == 10
    # Then a person makes version 3 the challenger: version 2's rollout may not give it a share
    models.update_item(Key={"model": "churn", "sk": STATE_KEY}, UpdateExpression="SET challenger = :v", ExpressionAttributeValues={":v": 3})
    with pytest.raises(Conflict) as lost:
        traffic.set("churn", 50, None, expected_revision=1, by="rollout", challenger=2)
    assert str(lost.value) == "the traffic policy of 'churn' is not at revision 1 with version 2 as its challenger; read it again"
    assert traffic.policy("churn")["challenger_percent"] == 10
    # A person's write names no challenger and needs none
    assert traffic.set("churn", 0, None, expected_revision=1, by="ana")["revision"] == 2


def test_a_revision_is_never_negative():
    with pytest.raises(ValidationError):
        TrafficPolicy(challenger_percent=0, revision=-1)


@pytest.mark.parametrize(
    ("fields", "valid"),
    [
        ({}, True),
        ({"challenger_percent": 0}, True),
        ({"challenger_percent": 100}, True),
        ({"challenger_percent": -1}, False),
        ({"challenger_percent": 101}, False),
        ({"shadow": 1}, True),
        ({"shadow": 0}, False),
        ({"revision": 0}, True),
        ({"revision": -1}, False),
    ],
)
def test_a_policy_holds_a_share_from_0_to_100_a_version_from_1_and_a_revision_from_0(fields, valid):
    if valid:
        policy = TrafficPolicy(**fields)
        assert (policy.challenger_percent, policy.shadow, policy.revision) == (
            fields.get("challenger_percent", 0),
            fields.get("shadow"),
            fields.get("revision", 0),
        )
    else:
        with pytest.raises(ValidationError):
            TrafficPolicy(**fields)


def test_a_tests_record_lands_only_while_its_challenger_is_the_challenger_and_a_decision_is_audited(store, model_tables):
    traffic, models = store
    _, audit = model_tables
    collecting = {"challenger_version": 2, "status": "collecting"}
    assert traffic.save_experiment("churn", collecting) is True and traffic.experiment("churn") == collecting
    decided = {"challenger_version": 2, "status": "challenger better"}
    assert traffic.save_experiment("churn", decided) is True
    assert traffic.save_experiment("churn", {"challenger_version": 1, "status": "challenger worse"}) is False
    assert traffic.experiment("churn") == decided
    decisions = [item for item in audit.scan()["Items"] if item["action"] == "traffic.ab_decision"]
    assert [d["detail"]["status"] for d in decisions] == ["challenger better"]  # the decision, not the collecting


def test_one_rollout_record_per_model_the_newest_version_wins_and_only_its_own_end_clears_it(store):
    traffic, _ = store
    assert traffic.running_rollout("churn") is None
    assert traffic.begin_rollout("churn", 2, "exec-2") is True
    assert traffic.begin_rollout("churn", 1, "exec-1") is False  # an older version's rollout holds nothing
    traffic.hand_over_rollout("churn", 2, "exec-2b")
    traffic.hand_over_rollout("churn", 1, "exec-1b")  # not its record: nothing changes
    assert traffic.running_rollout("churn")["execution"] == "exec-2b"
    traffic.end_rollout("churn", 1, "failed", "not its record")
    assert traffic.running_rollout("churn")["version"] == 2
    assert traffic.begin_rollout("churn", 3, "exec-3") is True
    traffic.end_rollout("churn", 3, "succeeded", "done")
    assert traffic.running_rollout("churn") is None


def test_the_first_write_needs_no_policy_yet_and_a_later_one_needs_the_model(store, model_tables):
    traffic, _ = store
    models, audit = model_tables
    with pytest.raises(Conflict):
        TrafficStore(models, audit).set("ghost", 10, None, expected_revision=3, by="ana")
    assert traffic.set("churn", 10, None, expected_revision=0, by="ana")["revision"] == 1
    with pytest.raises(Conflict):
        traffic.set("churn", 10, None, expected_revision=0, by="ana")  # a policy exists now: 0 is stale
