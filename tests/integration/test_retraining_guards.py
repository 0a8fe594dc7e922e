"""Retraining guards against moto: what stops an automatic run, and one run per slot."""

from datetime import UTC, datetime, timedelta

import pytest

from mlops.registry import STATE_KEY
from mlops.retraining import Retrainer, run_id_for
from mlops.spec import ModelSpec
from tests.unit.specs import CHURN_SPEC

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def spec(**retraining) -> ModelSpec:
    return ModelSpec.model_validate({**CHURN_SPEC, "monitoring": {"retraining": {"cooldown_minutes": 60, "max_per_day": 2, **retraining}}})


@pytest.fixture
def retrainer(runs, model_tables):
    models, audit = model_tables
    models.put_item(Item={"model": "churn", "sk": STATE_KEY, "champion": 1})
    return Retrainer(models, runs, audit)


def test_a_first_finding_may_start_and_then_the_cool_down_holds(retrainer):
    assert retrainer.refusal("churn", "drift", spec(), NOW) is None
    assert retrainer.claim("churn", "check-1", NOW)
    assert retrainer.refusal("churn", "drift", spec(), NOW + timedelta(minutes=5)).startswith("cool-down")


def test_two_claims_from_the_same_reading_start_one_run(retrainer, monkeypatch):
    state = retrainer._state("churn")
    monkeypatch.setattr(retrainer, "_state", lambda model: state)  # both saw the state before either wrote
    assert retrainer.claim("churn", "check-1", NOW)
    assert not retrainer.claim("churn", "check-2", NOW)


def test_the_daily_maximum_and_the_cool_down(retrainer):
    rules = spec(cooldown_minutes=0, max_per_day=2)
    assert retrainer.claim("churn", "a", NOW) and retrainer.claim("churn", "b", NOW + timedelta(minutes=1))
    assert "daily maximum" in retrainer.refusal("churn", "drift", rules, NOW + timedelta(minutes=2))
    assert retrainer.refusal("churn", "drift", rules, NOW + timedelta(days=1)) is None


def test_a_running_run_of_the_model_blocks_a_second(retrainer, runs):
    runs.start("churn-upload-1", "churn", trigger={"trigger": "upload"})
    assert "still running" in retrainer.refusal("churn", "drift", spec(), datetime.now(UTC))


def test_the_spec_decides_which_findings_retrain(retrainer):
    assert "does not retrain on performance" in retrainer.refusal("churn", "performance", spec(on=["drift"]), NOW)
    assert "off" in retrainer.refusal("churn", "drift", spec(max_per_day=0), NOW)


def test_run_ids_are_named_after_the_check():
    assert run_id_for("churn", "drift", "20261126T120000Z-abc123") == "churn-drift-20261126T120000Z-abc123"
