import pytest
from pydantic import ValidationError

from mlops.data.spec import ModelSpec
from tests.unit.specs import CHURN_SPEC


def errors(document: dict) -> list[tuple]:
    with pytest.raises(ValidationError) as raised:
        ModelSpec.model_validate(document)
    return [(e["loc"], e["msg"]) for e in raised.value.errors()]


def test_a_valid_spec_fills_defaults_and_orders_columns():
    spec = ModelSpec.model_validate(CHURN_SPEC)
    assert spec.columns == ["tenure_months", "monthly_charges", "plan", "churned"]
    assert spec.training.algorithm == "logistic_regression" and spec.rollout.strategy == "canary"
    assert spec.is_classification


@pytest.mark.parametrize(
    ("change", "location", "message"),
    [
        ({"target": {"name": "y", "task": "ordinal"}}, ("target", "task"), "Input should be"),
        ({"target": {"name": "y", "task": "binary", "classes": ["a", "b", "c"]}}, ("target",), "exactly 2 classes"),
        ({"features": []}, ("features",), "at least 1 item"),
        ({"features": [{"name": "x", "type": "numeric", "minimum": 5, "maximum": 1}]}, ("features", 0), "above maximum"),
        ({"features": [{"name": "x", "type": "categorical", "minimum": 1}]}, ("features", 0), "numeric features only"),
        ({"features": [{"name": "x y", "type": "numeric"}]}, ("features", 0, "name"), "should match pattern"),
        ({"features": [{"name": "x", "type": "numeric"}, {"name": "x", "type": "numeric"}]}, (), "named more than once"),
        ({"features": [{"name": "churned", "type": "numeric"}]}, (), "also listed as a feature"),
        ({"training": {"algorithm": "ridge"}}, (), "does not fit a binary target"),
        ({"data": {"min_rows": 0}}, ("data", "min_rows"), "greater than or equal to 1"),
        ({"unexpected": 1}, ("unexpected",), "Extra inputs are not permitted"),
    ],
)
def test_invalid_specs_name_the_field_at_fault(change, location, message):
    found = errors({**CHURN_SPEC, **change})
    assert any(loc[: len(location)] == location and message in msg for loc, msg in found), found
