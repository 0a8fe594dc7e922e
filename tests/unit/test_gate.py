"""The validation gate's decision, metric by metric."""

from mlops.data.spec import ModelSpec
from mlops.training import gate
from tests.unit.specs import CHURN_SPEC


def spec(**gates) -> ModelSpec:
    return ModelSpec.model_validate({**CHURN_SPEC, "gates": gates})


def test_the_first_model_passes_on_absolute_thresholds_alone():
    decision = gate.decide(spec(minimum={"roc_auc": 0.8}), {"roc_auc": 0.85, "accuracy": 0.9}, None)
    assert decision["passed"] and decision["metric"] == "roc_auc" and "improvement" not in decision


def test_absolute_thresholds_name_the_metric_and_the_bound():
    decision = gate.decide(spec(minimum={"roc_auc": 0.8}, maximum={"log_loss": 0.4}), {"roc_auc": 0.7, "log_loss": 0.5}, None)
    assert decision["reasons"] == ["roc_auc 0.7000 is below the minimum 0.8", "log_loss 0.5000 is above the maximum 0.4"]


def test_a_metric_the_task_does_not_measure_is_a_failure_not_a_pass():
    assert gate.decide(spec(minimum={"r2": 0.5}), {"roc_auc": 0.9}, None)["reasons"] == ["r2 is not measured for a binary model"]


def test_the_candidate_must_beat_the_champion_by_the_required_margin():
    better = gate.decide(spec(min_improvement=0.01), {"roc_auc": 0.90}, {"roc_auc": 0.88})
    assert better["passed"] and abs(better["improvement"] - 0.02) < 1e-12
    marginal = gate.decide(spec(min_improvement=0.05), {"roc_auc": 0.90}, {"roc_auc": 0.88})
    assert not marginal["passed"] and "under the required +0.0500" in marginal["reasons"][0]


def test_a_negative_margin_allows_a_bounded_regression_and_lower_is_better_metrics_flip():
    assert gate.decide(spec(min_improvement=-0.02), {"roc_auc": 0.87}, {"roc_auc": 0.88})["passed"]
    regression = ModelSpec.model_validate(
        {**CHURN_SPEC, "target": {"name": "churned", "task": "regression"}, "training": {"algorithm": "ridge"}}
    )
    assert gate.primary_metric(regression) == "rmse"
    assert gate.decide(regression, {"rmse": 1.0}, {"rmse": 1.2})["passed"]
    assert not gate.decide(regression, {"rmse": 1.3}, {"rmse": 1.2})["passed"]


def test_a_bound_met_exactly_passes_and_only_its_far_side_fails():
    bounds = spec(minimum={"roc_auc": 0.75}, maximum={"log_loss": 0.25})
    assert gate.decide(bounds, {"roc_auc": 0.75, "log_loss": 0.25}, None)["passed"]  # at both bounds
    assert gate.decide(bounds, {"roc_auc": 0.875, "log_loss": 0.125}, None)["passed"]  # inside both
    assert gate.decide(bounds, {"roc_auc": 0.5, "log_loss": 0.5}, None)["reasons"] == [
        "roc_auc 0.5000 is below the minimum 0.75",
        "log_loss 0.5000 is above the maximum 0.25",
    ]
    # An improvement exactly at the required margin passes (0.75 - 0.5 is exact in binary floating point)
    assert gate.decide(spec(min_improvement=0.25), {"roc_auc": 0.75}, {"roc_auc": 0.5})["passed"]
    assert not gate.decide(spec(min_improvement=0.25), {"roc_auc": 0.625}, {"roc_auc": 0.5})["passed"]


def test_an_unmeasured_maximum_fails_like_an_unmeasured_minimum():
    assert gate.decide(spec(maximum={"rmse": 1.0}), {"roc_auc": 0.9}, None)["reasons"] == ["rmse is not measured for a binary model"]


def test_improvement_is_the_signed_difference_in_the_metrics_direction():
    assert gate.improvement("roc_auc", 0.9, 0.4) == 0.9 - 0.4
    assert gate.improvement("rmse", 0.4, 0.9) == 0.9 - 0.4
    assert gate.improvement("rmse", 0.9, 0.4) == 0.4 - 0.9


def test_rollout_plans_follow_the_strategy():
    from mlops.serving import rollout

    class Alarms:
        def __init__(self):
            self.names = []

        def put_metric_alarm(self, **alarm):
            self.names.append(alarm["AlarmName"])

    expected = {
        "all_at_once": ([], False),
        "canary": ([10], False),
        "linear": ([10, 25, 50, 75], False),
        "ab": ([50], False),  # an A/B test decides by itself (tests/integration/test_ab_rollout.py)
        "shadow": ([], True),
        "manual": ([], True),
    }

    class Registry:
        def aliases(self, model):
            return {"champion": 1, "challenger": 2}

        def version(self, model, number):
            return {"metrics": {"accuracy": 0.8}}

    class Traffic:
        def begin_rollout(self, model, version, execution):
            return True

        def policy(self, model):
            return {"challenger_percent": 0, "shadow": None, "revision": 0}

    for strategy, (steps, hold) in expected.items():
        alarms = Alarms()
        spec = ModelSpec.model_validate({**CHURN_SPEC, "rollout": {"strategy": strategy}})
        planned = rollout.plan({"model": "m", "version": 2}, spec, Registry(), Traffic(), alarms, "ns", by="test")
        assert (planned["steps"], planned["hold"]) == (steps, hold), strategy
        assert alarms.names == rollout.alarm_names("m")
