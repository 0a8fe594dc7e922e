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
        ({"features": [{"name": "x\ty", "type": "numeric"}]}, ("features", 0, "name"), "control characters"),
        ({"features": [{"name": "x", "type": "numeric"}, {"name": "x", "type": "numeric"}]}, (), "named more than once"),
        ({"features": [{"name": "churned", "type": "numeric"}]}, (), "also listed as a feature"),
        ({"training": {"algorithm": "ridge"}}, (), "does not fit a binary target"),
        ({"data": {"min_rows": 0}}, ("data", "min_rows"), "greater than or equal to 1"),
        ({"unexpected": 1}, ("unexpected",), "Extra inputs are not permitted"),
        ({"rollout": {"ab": {"segment": "tenure_months"}}}, (), "not a categorical feature"),
        ({"monitoring": {"false_alarm_days": 0}}, ("monitoring", "false_alarm_days"), "greater than 0"),
    ],
)
def test_invalid_specs_name_the_field_at_fault(change, location, message):
    found = errors({**CHURN_SPEC, **change})
    assert any(loc[: len(location)] == location and message in msg for loc, msg in found), found


def _with_feature(name: str) -> dict:
    from tests.unit.specs import CHURN_SPEC

    return {**CHURN_SPEC, "features": [*CHURN_SPEC["features"], {"name": name, "type": "numeric"}]}


def test_column_names_are_taken_as_data_sets_publish_them():
    from mlops.data.spec import ModelSpec

    for name in ("mean radius", "od280/od315_of_diluted_wines", "Größe (cm)", "x" * 128, 'a,b "quoted"'):
        assert ModelSpec.model_validate(_with_feature(name)).features[-1].name == name


def test_names_the_platform_cannot_hold_are_refused_saying_why():
    import pytest
    from pydantic import ValidationError

    from mlops.data.spec import ModelSpec

    for name, why in (
        ("line\nbreak", "control characters"),
        ("   ", "visible character"),
        ("x" * 129, "at most 128"),
        ("prediction_error", "batch scoring adds"),
        ("predicted_churned", "batch scoring adds"),
        ("probability_yes", "batch scoring adds"),
    ):
        with pytest.raises(ValidationError, match=why):
            ModelSpec.model_validate(_with_feature(name))


def test_a_column_name_becomes_an_ascii_dimension_value_that_stays_distinct():
    from mlops.monitoring.telemetry import dimension_value

    assert dimension_value("mean radius") == "mean radius"
    assert dimension_value("Größe") == "Gr\\xf6\\xdfe" and dimension_value("Große") != dimension_value("Grösse")
