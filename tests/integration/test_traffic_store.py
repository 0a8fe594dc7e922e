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
